#include "accel/tcg/interp.h"

#include <algorithm>
#include <cstring>

#include "accel/tcg/decoder.h"
#include "accel/tcg/system.h"
#include "accel/tcg/trace.h"

namespace vireo::tcg {

namespace {

constexpr size_t kMaxBlockInsns = 64;
constexpr size_t kMaxCachedBlocks = 1u << 20;
constexpr size_t kMaxRetiredBlocks = 4096;

unsigned mode_index(unsigned code_bits) { return code_bits == 16 ? 0 : code_bits == 32 ? 1 : 2; }

// Exception classes for the double-fault rules (SDM vol. 3 §6.15, table 6-5).
bool contributory(uint8_t v) { return v == 0 || (v >= 10 && v <= 13); }

}  // namespace

void Interpreter::post_event(uint32_t bits) {
  cpu_.events.fetch_or(bits, std::memory_order_acq_rel);
  std::lock_guard lock(wait_mutex_);
  wake_.notify_all();
}

inline uint64_t Interpreter::current_linear() {
  if (cpu_.code_bits == 64) [[likely]] return cpu_.rip;
  const SegmentCache& cs = cpu_.seg[kCs];
  if (cpu_.rip > cs.limit) raise_gp(0);
  return (cs.base + cpu_.rip) & 0xffffffffull;
}

Block* Interpreter::find_block() { return find_block_at(current_linear()); }

inline Block* Interpreter::find_block_at(uint64_t linear) {
  JumpCacheEntry& slot = jump_cache_[(linear ^ (linear >> 12)) % kJumpCacheSize];
  if (slot.linear == linear && slot.code_bits == cpu_.code_bits && slot.user == (cpu_.cpl == 3) &&
      slot.mapping_generation == cpu_.mapping_generation && block_is_current(*slot.block)) [[likely]] {
    return slot.block;
  }
  return find_block_slow(linear, slot);
}

inline Block* Interpreter::next_block(Block& previous) {
  const uint64_t linear = current_linear();
  const bool user = cpu_.cpl == 3;
  for (const BlockLink& link : previous.links) {
    // None of these loads waits for rip, so the CPU runs ahead of the
    // compare with `linear`; the jump cache's index does wait for it.
    if (link.linear == linear && link.epoch == blocks_epoch_ &&
        link.mapping_generation == cpu_.mapping_generation && link.code_bits == cpu_.code_bits &&
        link.user == user && block_is_current(*link.block)) [[likely]] {
      return link.block;
    }
  }
  const uint64_t epoch = blocks_epoch_;
  Block* next = find_block_at(linear);
  if (epoch == blocks_epoch_) {  // else `previous` may be gone
    previous.links[previous.next_link] = {linear, cpu_.mapping_generation, epoch, next, cpu_.code_bits, user};
    previous.next_link ^= 1;
  }
  return next;
}

void Interpreter::retire_block(std::unique_ptr<Block> block) {
  // Jump-cache slots and links may still name it: it stays allocated (and
  // fails block_is_current(), its page having moved on) until they are
  // all dropped together.
  retired_blocks_.push_back(std::move(block));
  if (retired_blocks_.size() >= kMaxRetiredBlocks) free_retired_blocks();
}

void Interpreter::free_retired_blocks() {
  std::fill(jump_cache_.begin(), jump_cache_.end(), JumpCacheEntry{});
  ++blocks_epoch_;  // every BlockLink
  retired_blocks_.clear();
}

Block* Interpreter::find_block_slow(uint64_t linear, JumpCacheEntry& slot) {
  uint64_t paddr = cpu_.translate(linear, Access::Execute, cpu_.cpl == 3);
  uint64_t key = (paddr << 2) | mode_index(cpu_.code_bits);
  auto it = blocks_.find(key);
  Block* block;
  if (it != blocks_.end() && block_is_current(*it->second)) {
    block = it->second.get();
  } else {
    if (blocks_.size() >= kMaxCachedBlocks) {
      blocks_.clear();
      free_retired_blocks();
    }
    block = decode_block(linear, paddr);
    std::unique_ptr<Block>& entry = blocks_[key];
    if (entry != nullptr) retire_block(std::move(entry));
    entry.reset(block);
  }
  slot = {linear, cpu_.mapping_generation, cpu_.code_bits, cpu_.cpl == 3, block};
  VIREO_TCG_TRACE(kTraceExec, "tcg: cpu%u block %#llx (%u-bit, %zu insns)\n", cpu_.index,
                  static_cast<unsigned long long>(linear), cpu_.code_bits, block->insns.size());
  return block;
}

Block* Interpreter::decode_block(uint64_t linear, uint64_t paddr) {
  auto block = std::make_unique<Block>();
  // Mark the page as code and take its generation before reading it: a
  // write that lands after this bumps the generation, so a block decoded
  // from bytes it changed is never used.
  block->phys_page[0] = paddr & kPageMask;
  cpu_.phys->mark_code(paddr);
  block->generation[0] = cpu_.phys->generation(paddr);
  // Pages just marked as code lose their fast write entries before this
  // block runs, or it could rewrite itself unnoticed.
  cpu_.check_code_epoch();

  // Decode straight from guest RAM; MMIO (or the APIC page) is copied.
  const size_t in_page = kPageSize - (linear & 0xfff);
  bool writable;
  const uint8_t* host = cpu_.phys->page(paddr, &writable);
  std::unique_ptr<uint8_t[]> copy;
  const uint8_t* code;
  if (host != nullptr && !cpu_.is_local_apic_page(paddr)) {
    code = host + (paddr & 0xfff);
  } else {
    copy = std::make_unique<uint8_t[]>(in_page);
    cpu_.read_slow(linear, copy.get(), static_cast<unsigned>(in_page), cpu_.cpl == 3);
    code = copy.get();
  }

  size_t pos = 0;
  while (block->insns.size() < kMaxBlockInsns && pos < in_page) {
    Insn insn;
    DecodeStatus status = decode(code + pos, in_page - pos, cpu_.code_bits, insn);
    if (status == DecodeStatus::NeedMoreBytes) {
      // The instruction straddles into the next page. Only the block's
      // first instruction may fault fetching it; a later one ends the
      // block so that the fault comes when (and if) it runs.
      uint64_t next_linear = (linear & kPageMask) + kPageSize;
      if (cpu_.code_bits != 64) next_linear &= 0xffffffffull;
      uint64_t next_paddr;
      uint8_t straddle[32] = {};
      size_t tail = in_page - pos;  // fewer than 15 bytes, or decode would have finished
      try {
        next_paddr = cpu_.translate(next_linear, Access::Execute, cpu_.cpl == 3);
        cpu_.phys->mark_code(next_paddr);
        block->phys_page[1] = next_paddr & kPageMask;
        block->generation[1] = cpu_.phys->generation(next_paddr);
        cpu_.check_code_epoch();
        std::memcpy(straddle, code + pos, tail);
        cpu_.read_slow(next_linear, straddle + tail, 15, cpu_.cpl == 3);
      } catch (const GuestFault&) {
        if (!block->insns.empty()) break;
        throw;
      }
      if (decode(straddle, tail + 15, cpu_.code_bits, insn) != DecodeStatus::Ok) break;
      block->insns.push_back(insn);
      break;  // the next instruction starts on the other page: a new block
    }
    pos += insn.length;
    block->insns.push_back(insn);
    if (ends_block(insn)) break;
  }
  return block.release();
}

inline __attribute__((always_inline)) void Interpreter::execute(Block& block) {
  cpu_.end_block = false;
  const Insn* insn = block.insns.data();
  const Insn* end = insn + block.insns.size();
  if (cpu_.interrupt_shadow) end = insn + 1;  // one instruction, then interrupts may come
  const Insn* first = insn;
  try {
    for (; insn != end; ++insn) {
      insn->exec(cpu_, *insn);
      if (cpu_.end_block) {
        ++insn;
        break;
      }
    }
  } catch (...) {
    cpu_.instructions += static_cast<uint64_t>(insn - first);
    cpu_.interrupt_shadow = false;
    throw;
  }
  cpu_.instructions += static_cast<uint64_t>(insn - first);
  if (insn != first) cpu_.interrupt_shadow = cpu_.interrupt_shadow && (insn - first) == 0;
}

void Interpreter::deliver_fault(const GuestFault& fault) {
  // A fault while delivering another becomes #DF when both are
  // contributory or a page fault is involved; a fault while delivering #DF
  // shuts the CPU down.
  uint8_t vector = fault.vector;
  bool has_error = fault.has_error_code;
  uint32_t error = fault.error_code;
  if (delivering_vector_ >= 0) {
    uint8_t first = static_cast<uint8_t>(delivering_vector_);
    if (first == kDoubleFault) throw TripleFault{};
    bool to_double = (contributory(first) && contributory(vector)) ||
                     (first == kPageFault && (contributory(vector) || vector == kPageFault));
    if (to_double) {
      vector = kDoubleFault;
      has_error = true;
      error = 0;
    }
  }
  VIREO_TCG_TRACE(kTraceInt, "tcg: cpu%u exception %u error %#x at %04x:%#llx cr2=%#llx\n", cpu_.index,
                  vector, has_error ? error : 0, cpu_.seg[kCs].selector,
                  static_cast<unsigned long long>(cpu_.rip), static_cast<unsigned long long>(cpu_.cr2));
  if (vector == kInvalidOpcode && (trace_mask() & kTraceUnimp)) {
    uint8_t bytes[16] = {};
    try {
      uint64_t linear = cpu_.code_bits == 64 ? cpu_.rip : cpu_.seg[kCs].base + cpu_.rip;
      cpu_.read_slow(linear, bytes, sizeof bytes, false);
    } catch (const GuestFault&) {
    }
    std::fprintf(trace_file(), "tcg: cpu%u #UD at %#llx (%u-bit):", cpu_.index,
                 static_cast<unsigned long long>(cpu_.rip), cpu_.code_bits);
    for (uint8_t b : bytes) std::fprintf(trace_file(), " %02x", b);
    std::fprintf(trace_file(), "\n");
  }
  // Restored however this ends, a triple fault included, so that a later
  // exception does not count as nested in this one.
  struct RestoreOnExit {
    int& slot;
    int saved;
    ~RestoreOnExit() { slot = saved; }
  } restore{delivering_vector_, delivering_vector_};
  delivering_vector_ = vector;
  try {
    deliver_interrupt(cpu_, vector, has_error, error, false, cpu_.rip);
  } catch (const GuestFault& nested) {
    deliver_fault(nested);
  }
}

bool Interpreter::take_external_interrupt() {
  if (cpu_.interrupts == nullptr || !(cpu_.rflags & kIf) || cpu_.interrupt_shadow) return false;
  if (cpu_.interrupts->pending_vector() < 0) return false;
  int vector = cpu_.interrupts->acknowledge();
  if (vector < 0) return false;
  cpu_.halted = false;
  try {
    deliver_interrupt(cpu_, static_cast<uint8_t>(vector), false, 0, false, cpu_.rip);
  } catch (const GuestFault& fault) {
    deliver_fault(fault);
  }
  return true;
}

void Interpreter::service_events() {
  uint32_t events = cpu_.events.load(std::memory_order_acquire);
  auto take = [&](uint32_t bit) {
    if (!(events & bit)) return false;
    cpu_.events.fetch_and(~bit, std::memory_order_acq_rel);
    return true;
  };
  if (take(kEventTlbFlush)) cpu_.flush_tlb();
  if (take(kEventInit)) enter_init_state(cpu_);
  if (take(kEventSipi) && cpu_.waiting_for_sipi) start_from_sipi(cpu_, cpu_.sipi_vector);
  if (cpu_.waiting_for_sipi) return;  // INIT/SIPI only, until started
  take(kEventInterrupt);
  if ((events & kEventNmi) && !cpu_.nmi_blocked) {
    take(kEventNmi);
    // NMIs stay blocked until the next IRET (SDM vol. 3 §6.7.1).
    cpu_.nmi_blocked = true;
    cpu_.halted = false;
    try {
      deliver_interrupt(cpu_, kNmiVector, false, 0, false, cpu_.rip);
    } catch (const GuestFault& fault) {
      deliver_fault(fault);
    }
  }
  take_external_interrupt();
}

bool Interpreter::step_block() {
  try {
    cpu_.check_code_epoch();
    execute(*find_block());
  } catch (const GuestFault& fault) {
    try {
      deliver_fault(fault);
    } catch (const TripleFault&) {
      return false;
    }
  } catch (const TripleFault&) {
    return false;
  }
  return true;
}

RunResult Interpreter::run() {
  for (;;) {
    if (cpu_.events.load(std::memory_order_acquire) & kEventKick) {
      cpu_.events.fetch_and(~kEventKick, std::memory_order_acq_rel);
      return RunResult::Kicked;
    }
    try {
      service_events();
    } catch (const TripleFault&) {
      return RunResult::TripleFault;
    }
    if (cpu_.halted || cpu_.waiting_for_sipi) {
      std::unique_lock lock(wait_mutex_);
      // Sleep until an event; a pending external interrupt that is already
      // deliverable also ends HLT (checked by service_events next time round).
      wake_.wait(lock, [this] {
        return cpu_.events.load(std::memory_order_acquire) != 0 ||
               (cpu_.halted && !cpu_.waiting_for_sipi && (cpu_.rflags & kIf) && cpu_.interrupts &&
                cpu_.interrupts->pending_vector() >= 0);
      });
      continue;
    }
    // The hot loop: block after block until an event needs the outer loop.
    // Exceptions leave it at the instruction boundary.
    try {
      cpu_.check_code_epoch();
      Block* block = find_block();
      for (unsigned n = 0; n < 4096; ++n) {
        execute(*block);
        if (cpu_.halted || cpu_.events.load(std::memory_order_relaxed) != 0) [[unlikely]] break;
        cpu_.check_code_epoch();
        block = next_block(*block);
      }
    } catch (const GuestFault& fault) {
      try {
        deliver_fault(fault);
      } catch (const TripleFault&) {
        return RunResult::TripleFault;
      }
    } catch (const TripleFault&) {
      return RunResult::TripleFault;
    }
  }
}
}  // namespace vireo::tcg
