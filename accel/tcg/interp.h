// The interpreter loop: finds (or decodes) the block of pre-decoded
// instructions at the current rip and runs it, handling exceptions,
// interrupts, HLT and kicks between blocks.
//
// Blocks are decoded once per physical address and code size and reused
// until a write to their page makes them stale (PhysMemory's generations).
//
// Threads: an Interpreter belongs to its vCPU's thread, except post_event(),
// which any thread may call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "accel/tcg/cpu.h"
#include "accel/tcg/insn.h"

namespace vireo::tcg {

struct Block;

// Where execution went after a block, remembered in the block so that the
// next lookup need not hash into the jump cache: `block` ran at `linear`
// under this address mapping and code mode. Checked in full at every use;
// `epoch` guards against `block` having been freed since.
struct BlockLink {
  uint64_t linear = ~0ull;
  uint64_t mapping_generation = 0;
  uint64_t epoch = 0;
  Block* block = nullptr;
  unsigned code_bits = 0;
  bool user = false;
};

struct Block {
  uint64_t phys_page[2] = {~0ull, ~0ull};  // pages its bytes come from
  uint32_t generation[2] = {0, 0};         // their generations when decoded
  std::vector<Insn> insns;
  // A branch has two successors (taken, not taken); a return has many,
  // and then the two most recent are kept.
  BlockLink links[2];
  unsigned next_link = 0;  // the slot the next new successor replaces
};

enum class RunResult { Kicked, TripleFault };

class Interpreter {
 public:
  explicit Interpreter(Cpu& cpu) : cpu_(cpu) {}

  // Runs until kicked or the CPU shuts down.
  RunResult run();

  // Sets event bits (Cpu::events) and wakes the vCPU if it is halted.
  void post_event(uint32_t bits);

  // Executes at most one block; for tests. Returns false on triple fault.
  bool step_block();

  size_t cached_blocks() const { return blocks_.size(); }

 private:
  struct JumpCacheEntry {
    uint64_t linear = ~0ull;
    uint64_t mapping_generation = 0;
    unsigned code_bits = 0;
    // Whether the fetch was checked as a user (CPL 3) access: a block the
    // kernel ran must not be reused at CPL 3 without the U/S check.
    bool user = false;
    Block* block = nullptr;
  };
  static constexpr size_t kJumpCacheSize = 4096;

  Block* find_block_slow(uint64_t linear, JumpCacheEntry& slot);
  void retire_block(std::unique_ptr<Block> block);
  // Frees retired blocks after dropping every pointer to them (the jump
  // cache, and the links through the epoch).
  void free_retired_blocks();

  // The linear address of rip (#GP past CS's limit outside 64-bit mode).
  uint64_t current_linear();
  Block* find_block();
  Block* find_block_at(uint64_t linear);
  // The block after `previous`: through its links, else find_block(),
  // recording the result as a link.
  Block* next_block(Block& previous);
  Block* decode_block(uint64_t linear, uint64_t paddr);
  bool block_is_current(const Block& b) const {
    // Written-to pages have a new generation; the second page is rare.
    return cpu_.phys->generation(b.phys_page[0]) == b.generation[0] &&
           (b.phys_page[1] == ~0ull || cpu_.phys->generation(b.phys_page[1]) == b.generation[1]);
  }
  void execute(Block& block);
  void deliver_fault(const GuestFault& fault);
  void service_events();
  bool take_external_interrupt();

  Cpu& cpu_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;  // key: paddr << 2 | mode
  // Blocks replaced because their code changed, kept until the next
  // free_retired_blocks().
  std::vector<std::unique_ptr<Block>> retired_blocks_;
  uint64_t blocks_epoch_ = 1;  // moves whenever blocks are freed: every BlockLink goes stale
  std::vector<JumpCacheEntry> jump_cache_ = std::vector<JumpCacheEntry>(kJumpCacheSize);
  std::mutex wait_mutex_;
  std::condition_variable wake_;
  // Nested-fault tracking for double/triple faults while delivering.
  int delivering_vector_ = -1;
};

}  // namespace vireo::tcg
