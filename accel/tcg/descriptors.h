// Segment descriptors, gates and TSS stack pointers as the processor reads
// them from the GDT, LDT, IDT and TSS (Intel SDM vol. 3 §3.4-3.5, §5.8,
// §6.11, §6.14, §7.2, §7.7), and the stack a privilege change builds.
//
// Every read here is an implicit supervisor access (Cpu::read_system), as
// the SDM says descriptor-table and TSS accesses are, whatever the CPL.
#pragma once

#include <cstdint>

#include "accel/tcg/cpu.h"

namespace vireo::tcg {

// Type field of a system descriptor (S = 0), SDM vol. 3 table 3-2. In
// IA-32e mode 9/11/12/14/15 are the 64-bit TSS, call, interrupt and trap
// gates, and the 16-bit forms and task gates do not exist.
enum SystemType : uint8_t {
  kTss16Available = 1,
  kLdtDescriptor = 2,
  kTss16Busy = 3,
  kCallGate16 = 4,
  kTaskGate = 5,
  kInterruptGate16 = 6,
  kTrapGate16 = 7,
  kTss32Available = 9,
  kTss32Busy = 11,
  kCallGate32 = 12,
  kInterruptGate32 = 14,
  kTrapGate32 = 15,
};

// Type bits of code and data descriptors (S = 1), SDM vol. 3 table 3-1.
inline constexpr uint8_t kTypeAccessed = 1u << 0;
inline constexpr uint8_t kTypeWritable = 1u << 1;    // data
inline constexpr uint8_t kTypeReadable = 1u << 1;    // code
inline constexpr uint8_t kTypeExpandDown = 1u << 2;  // data
inline constexpr uint8_t kTypeConforming = 1u << 2;  // code
inline constexpr uint8_t kTypeCode = 1u << 3;
inline constexpr uint8_t kTssBusy = 1u << 1;

// An 8-byte descriptor, or a 16-byte one (IA-32e system descriptors and
// gates) whose bits 127:64 are in `upper` / `upper_high`.
struct Descriptor {
  uint32_t low = 0;         // bits 31:0
  uint32_t high = 0;        // bits 63:32
  uint32_t upper = 0;       // bits 95:64: base or offset bits 63:32
  uint32_t upper_high = 0;  // bits 127:96: its type field must be zero

  uint8_t type() const { return static_cast<uint8_t>((high >> 8) & 0xf); }
  bool s() const { return high & (1u << 12); }
  unsigned dpl() const { return (high >> 13) & 3; }
  bool present() const { return high & (1u << 15); }
  bool l() const { return high & (1u << 21); }
  bool db() const { return high & (1u << 22); }
  bool g() const { return high & (1u << 23); }

  bool is_code() const { return s() && (type() & kTypeCode); }
  bool is_data() const { return s() && !(type() & kTypeCode); }
  bool conforming() const { return is_code() && (type() & kTypeConforming); }
  bool readable() const { return is_data() || (type() & kTypeReadable); }
  bool writable_data() const { return is_data() && (type() & kTypeWritable); }

  uint64_t base() const {
    return (low >> 16) | ((uint64_t{high} & 0xff) << 16) | (uint64_t{high} & 0xff000000u) |
           (uint64_t{upper} << 32);
  }
  // Byte-granular limit (4 KiB units expanded when G = 1).
  uint32_t limit() const {
    uint32_t raw = (low & 0xffff) | (high & 0xf0000);
    return g() ? (raw << 12) | 0xfff : raw;
  }

  // Gates (SDM vol. 3 figures 5-8, 5-9, 6-2, 6-8).
  uint16_t gate_selector() const { return static_cast<uint16_t>(low >> 16); }
  uint64_t gate_offset() const {
    return (low & 0xffff) | (uint64_t{high} & 0xffff0000u) | (uint64_t{upper} << 32);
  }
  unsigned gate_parameter_count() const { return high & 0x1f; }
  unsigned gate_ist() const { return high & 7; }
};

// Error code naming a selector (SDM vol. 3 §6.13): index and TI, plus EXT.
inline uint32_t selector_error(uint16_t selector, bool ext) { return (selector & 0xfffcu) | (ext ? 1u : 0u); }

inline bool is_null_selector(uint16_t selector) { return (selector & 0xfffc) == 0; }

// 64-bit linear addresses must be sign-extended from bit 47 (SDM vol. 1 §3.3.7.1).
inline bool canonical_address(uint64_t lin) {
  return static_cast<uint64_t>(static_cast<int64_t>(lin << 16) >> 16) == lin;
}

// Reads the descriptor `selector` names from the GDT or LDT. Returns false
// when it lies outside the table (or TI names an unusable LDT); the caller
// raises the fault its instruction specifies. `wide` reads 16 bytes (IA-32e
// system descriptors and gates). *address receives the descriptor's linear
// address for set_accessed / the TSS busy bit.
bool read_descriptor(Cpu& cpu, uint16_t selector, Descriptor& out, uint64_t* address = nullptr,
                     bool wide = false);

// Sets the accessed bit in the descriptor in memory if it is clear, as the
// processor does when it loads a segment register (SDM vol. 3 §3.4.5.1).
void set_accessed(Cpu& cpu, uint64_t address, Descriptor& d);

// The hidden part of a segment register loaded from `d`.
SegmentCache segment_cache(const Descriptor& d, uint16_t selector);
// A segment register holding a null selector: unusable until reloaded.
// `dpl` keeps SS.DPL = CPL for the null SS of 64-bit mode.
SegmentCache null_segment(uint16_t selector, unsigned dpl = 0);

// Commits a code-segment load: CS with RPL = new_cpl, the CPL, the mode.
void load_code_segment(Cpu& cpu, const Descriptor& d, uint16_t selector, unsigned new_cpl);

// After a return to an outer privilege level, DS/ES/FS/GS that the new CPL
// may not use are loaded with null (SDM vol. 2 "RET", "IRET"). Null FS/GS
// keep their bases, which 64-bit code sets through MSRs.
void drop_inaccessible_data_segments(Cpu& cpu);

// The inner-level stack of the current TSS (SDM vol. 3 §7.2.1, §7.7):
// SS:ESP for privilege `dpl` from a 16/32-bit TSS, raising #TS(TR | EXT)
// if the TSS is too short.
struct StackPointer {
  uint16_t ss;
  uint64_t sp;
};
StackPointer legacy_tss_stack(Cpu& cpu, unsigned dpl, bool ext);
// RSP0-2 (index 0-2) or IST1-7 (index 4-10; index 3 is reserved) of a
// 64-bit TSS (SDM vol. 3 figure 7-11).
uint64_t long_mode_tss_stack(Cpu& cpu, unsigned index, bool ext);

// Checks the SS a stack switch goes to: `selector` from a TSS for
// privilege `cpl` (SDM vol. 3 §6.12.1, vol. 2 "CALL"): #TS for a null,
// out-of-table, wrong-privilege or unwritable one, #SS if not present.
Descriptor check_tss_stack_segment(Cpu& cpu, uint16_t selector, unsigned cpl, bool ext,
                                   uint64_t* address);

// A stack that pushes are built on before any register is committed: the
// inner stack of a privilege change, or the current one. A push that does
// not fit raises #SS(fault_error).
class FrameBuilder {
 public:
  FrameBuilder(Cpu& cpu, const SegmentCache& ss, uint64_t sp, unsigned address_bits, bool user,
               uint32_t fault_error)
      : cpu_(cpu), ss_(ss), sp_(sp), bits_(address_bits), user_(user), fault_error_(fault_error) {}

  template <typename T>
  void push(T value) {
    sp_ = wrap(sp_ - sizeof(T));
    uint64_t lin = linear(sp_, sizeof(T));
    cpu_.write_slow(lin, &value, sizeof(T), user_);
  }
  // Pushes `value` as 2, 4 or 8 bytes.
  void push_sized(unsigned bytes, uint64_t value);
  uint64_t sp() const { return sp_; }
  // Makes sp() the stack pointer (the caller loads SS first if it changes).
  void commit_stack_pointer();

 private:
  uint64_t wrap(uint64_t v) const;
  uint64_t linear(uint64_t offset, unsigned size) const;

  Cpu& cpu_;
  const SegmentCache& ss_;
  uint64_t sp_;
  unsigned bits_;
  bool user_;
  uint32_t fault_error_;
};

// Stack-address size of a stack segment outside 64-bit mode.
inline unsigned stack_bits(const SegmentCache& ss) { return ss.db ? 32 : 16; }

}  // namespace vireo::tcg
