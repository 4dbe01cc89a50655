// x87 instructions executed by the host's x87 unit.
//
// The guest's x87 registers are loaded into the host FPU with FRSTOR, the
// guest's own instruction bytes run there (a register form as-is, a memory
// form re-addressed to a host buffer through ModRM rm = [rdi]), and FNSAVE
// brings the state back. The host is the same architecture, so results,
// rounding under the guest's FCW, C0-C3, the exception flags, denormal
// handling, tags, stack overflow/underflow, the masked responses (QNaN
// indefinite) and the unmasked ones (destination and TOP left alone, biased
// exponents on overflow/underflow) are exactly the hardware's. Transcendental
// instructions (FSIN, FPATAN, F2XM1...) give the host CPU's own results.
//
// Safety of running guest-chosen state on the host:
//  - the guest's sticky exception flags are cleared in the loaded FSW, so the
//    host never sees a pending unmasked exception: FRSTOR and the one guest
//    instruction are the only waiting instructions, and FNSAVE, which follows,
//    is non-waiting and re-initialises the FPU. The flags are merged back.
//  - only rows of the decode table reach here, all valid x87 encodings.
//  - EFLAGS are loaded only for FCMOVcc/FCOMI, and only the six arithmetic
//    flags; the push/pop steps over the red zone first.
//  - the host FCW is saved and restored around each run; the x87 stack is
//    declared clobbered so the compiler keeps nothing there.
#include <array>
#include <utility>

#include "accel/tcg/exec/x87.h"

namespace vireo::tcg::x87 {

namespace {

// The FNSAVE/FRSTOR image in the 32-bit protected-mode layout, the one a
// 64-bit host uses (SDM vol. 1 §8.1.10, figures 8-9 and 8-13).
struct HostFrame {
  uint16_t fcw, fcw_high;
  uint16_t fsw, fsw_high;
  uint16_t ftw, ftw_high;
  uint32_t fip;
  uint16_t fcs, fop;
  uint32_t fdp;
  uint16_t fds, fds_high;
  uint8_t st[8][kRegBytes];  // ST(0)..ST(7), stack order
};
static_assert(sizeof(HostFrame) == 108);

struct StubIo {
  HostFrame in;
  HostFrame out;
  uint64_t rflags;
  uint8_t* mem;
};

using Stub = void (*)(StubIo&);

// FCMOVcc reads EFLAGS, FCOMI/FUCOMI(P) write them.
constexpr bool uses_eflags(uint8_t op, uint8_t modrm) {
  if (modrm < 0xc0) return false;
  if ((op == 0xda || op == 0xdb) && modrm < 0xe0) return true;   // FCMOVcc
  if ((op == 0xdb || op == 0xdf) && modrm >= 0xe8 && modrm < 0xf8) return true;  // FUCOMI, FCOMI
  return false;
}

#define VIREO_X87_CLOBBERS "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

// One instruction: `Op` `Modrm`, where a memory form addresses [rdi].
template <uint8_t Op, uint8_t Modrm>
void stub(StubIo& io) {
  uint16_t host_fcw;
  if constexpr (uses_eflags(Op, Modrm)) {
    asm volatile(
        "fnstcw %[cw]\n\t"
        "frstor %[in]\n\t"
        "lea -128(%%rsp), %%rsp\n\t"  // step over the red zone before pushing
        "pushq %[fl]\n\t"
        "popfq\n\t"
        ".byte %c[op], %c[modrm]\n\t"
        "pushfq\n\t"
        "popq %[fl]\n\t"
        "lea 128(%%rsp), %%rsp\n\t"
        "fnsave %[out]\n\t"
        "fldcw %[cw]"
        : [out] "=m"(io.out), [cw] "=m"(host_fcw), [fl] "+r"(io.rflags)
        : [in] "m"(io.in), [op] "i"(Op), [modrm] "i"(Modrm), "D"(io.mem)
        : "cc", VIREO_X87_CLOBBERS);
  } else {
    asm volatile(
        "fnstcw %[cw]\n\t"
        "frstor %[in]\n\t"
        ".byte %c[op], %c[modrm]\n\t"
        "fnsave %[out]\n\t"
        "fldcw %[cw]"
        : [out] "=m"(io.out), [cw] "=m"(host_fcw)
        : [in] "m"(io.in), [op] "i"(Op), [modrm] "i"(Modrm), "D"(io.mem)
        : "cc", VIREO_X87_CLOBBERS);
  }
}

#undef VIREO_X87_CLOBBERS

// Register forms: Op D8+o, ModRM C0..FF.
template <uint8_t Op, size_t... M>
constexpr std::array<Stub, 64> register_stubs(std::index_sequence<M...>) {
  return {&stub<Op, static_cast<uint8_t>(0xc0 + M)>...};
}
template <size_t... O>
constexpr std::array<std::array<Stub, 64>, 8> all_register_stubs(std::index_sequence<O...>) {
  return {register_stubs<static_cast<uint8_t>(0xd8 + O)>(std::make_index_sequence<64>())...};
}
// Memory forms: ModRM mod 00, reg r, rm 111 = [rdi].
template <uint8_t Op, size_t... R>
constexpr std::array<Stub, 8> memory_stubs(std::index_sequence<R...>) {
  return {&stub<Op, static_cast<uint8_t>((R << 3) | 7)>...};
}
template <size_t... O>
constexpr std::array<std::array<Stub, 8>, 8> all_memory_stubs(std::index_sequence<O...>) {
  return {memory_stubs<static_cast<uint8_t>(0xd8 + O)>(std::make_index_sequence<8>())...};
}

constexpr auto kRegisterStubs = all_register_stubs(std::make_index_sequence<8>());
constexpr auto kMemoryStubs = all_memory_stubs(std::make_index_sequence<8>());

}  // namespace

unsigned tag_of(const uint8_t reg[kRegBytes]) {
  uint64_t significand;
  uint16_t sign_exponent;
  std::memcpy(&significand, reg, 8);
  std::memcpy(&sign_exponent, reg + 8, 2);
  unsigned exponent = sign_exponent & 0x7fff;
  if (exponent == 0x7fff) return kTagSpecial;                         // infinity, NaN
  if (exponent == 0) return significand == 0 ? kTagZero : kTagSpecial;  // zero; denormal, pseudo-denormal
  return (significand >> 63) ? kTagValid : kTagSpecial;               // normal; unnormal
}

uint16_t full_tag_word(const FpuState& f) {
  uint16_t word = 0;
  for (unsigned p = 0; p < 8; ++p) {
    unsigned tag = kTagEmpty;
    if (!is_empty(f, p)) {
      uint8_t reg[kRegBytes];
      get_reg(f, p, reg);
      tag = tag_of(reg);
    }
    word = static_cast<uint16_t>(word | (tag << (2 * p)));
  }
  return word;
}

uint16_t tags_from_full(uint16_t stored) {
  uint16_t word = 0;
  for (unsigned p = 0; p < 8; ++p) {
    if (((stored >> (2 * p)) & 3) == kTagEmpty) word = static_cast<uint16_t>(word | (kTagEmpty << (2 * p)));
  }
  return word;
}

void run_on_host(FpuState& f, uint8_t op, uint8_t modrm, HostRun& run) {
  StubIo io{};
  io.in.fcw = f.fcw;
  // C0-C3 and TOP only: the guest's sticky flags stay out of the host FPU.
  io.in.fsw = f.fsw & (kC0 | kC1 | kC2 | kC3 | kTopMask);
  io.in.ftw = full_tag_word(f);
  for (unsigned st = 0; st < 8; ++st) get_reg(f, physical(f, st), io.in.st[st]);
  io.rflags = (run.rflags & kArithmeticFlags) | kRflagsFixed | kRflagsIf;
  io.mem = run.mem;

  unsigned row = static_cast<unsigned>(op - 0xd8) & 7;
  Stub s = modrm >= 0xc0 ? kRegisterStubs[row][modrm - 0xc0] : kMemoryStubs[row][(modrm >> 3) & 7];
  s(io);

  const uint16_t raised = io.out.fsw & kStickyFlags;
  f.ftw = io.out.ftw;
  f.fsw = static_cast<uint16_t>((io.out.fsw & (kC0 | kC1 | kC2 | kC3 | kTopMask)) |
                                ((f.fsw | raised) & kStickyFlags));
  f.fsw = with_summary(f.fsw, f.fcw);
  for (unsigned st = 0; st < 8; ++st) set_reg(f, physical(f, st), io.out.st[st]);
  run.rflags = io.rflags & kArithmeticFlags;
  run.raised = raised;
}

}  // namespace vireo::tcg::x87
