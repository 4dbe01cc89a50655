// Port I/O: IN and OUT with immediate or DX port numbers (Intel SDM vol. 2).
// Protected-mode I/O permission (IOPL and the TSS bitmap) is checked here.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "hw/core/io_bus.h"

namespace vireo::tcg {

// SDM vol. 1 §19.5: with CPL > IOPL (or in virtual-8086 mode) the TSS I/O
// bitmap must allow every byte of the access.
void check_io_permission(Cpu& cpu, uint16_t port, unsigned size) {
  bool protected_mode = cpu.cr0 & kCr0Pe;
  unsigned iopl = static_cast<unsigned>((cpu.rflags & kIopl) >> 12);
  if (!protected_mode || (!(cpu.rflags & kVm) && cpu.cpl <= iopl)) return;
  const SegmentCache& tss = cpu.tr;
  if (tss.limit < 0x67) raise_gp(0);
  uint16_t bitmap_offset = cpu.read_system<uint16_t>(tss.base + 0x66);
  uint64_t byte = uint64_t{bitmap_offset} + port / 8;
  if (byte + 1 > tss.limit) raise_gp(0);
  uint16_t bits = cpu.read_system<uint16_t>(tss.base + byte);
  uint16_t mask = static_cast<uint16_t>(((1u << size) - 1) << (port % 8));
  if (bits & mask) raise_gp(0);
}

namespace {

template <typename T, bool>
struct InImm {
  static void run(Cpu& cpu, const Insn& i) {
    uint16_t port = static_cast<uint8_t>(i.imm);
    check_io_permission(cpu, port, sizeof(T));
    cpu.set<T>(kRax, static_cast<T>(cpu.pio->read(port, sizeof(T))));
    next(cpu, i);
  }
};
template <typename T, bool>
struct InDx {
  static void run(Cpu& cpu, const Insn& i) {
    uint16_t port = static_cast<uint16_t>(cpu.gpr[kRdx]);
    check_io_permission(cpu, port, sizeof(T));
    cpu.set<T>(kRax, static_cast<T>(cpu.pio->read(port, sizeof(T))));
    next(cpu, i);
  }
};
template <typename T, bool>
struct OutImm {
  static void run(Cpu& cpu, const Insn& i) {
    uint16_t port = static_cast<uint8_t>(i.imm);
    check_io_permission(cpu, port, sizeof(T));
    next(cpu, i);
    // A device may stop the machine or raise an interrupt: leave the block
    // so the loop notices promptly.
    cpu.end_block = true;
    cpu.pio->write(port, sizeof(T), cpu.get<T>(kRax));
  }
};
template <typename T, bool>
struct OutDx {
  static void run(Cpu& cpu, const Insn& i) {
    uint16_t port = static_cast<uint16_t>(cpu.gpr[kRdx]);
    check_io_permission(cpu, port, sizeof(T));
    next(cpu, i);
    cpu.end_block = true;
    cpu.pio->write(port, sizeof(T), cpu.get<T>(kRax));
  }
};

}  // namespace

void add_io_rows(std::vector<OpcodeRow>& t) {
  // Port I/O operands are at most 32 bits: REX.W does not make them 64.
  auto io = [](HandlerSet h) {
    h.reg[kSize64] = h.reg[kSize32];
    h.mem[kSize64] = h.mem[kSize32];
    return h;
  };
  t.push_back({op1(0xe4), -1, kAnyPrefix, "in", "AL,Ib", 0, sized_handlers<InImm>()});
  t.push_back({op1(0xe5), -1, kAnyPrefix, "in", "eAX,Ib", 0, io(sized_handlers<InImm>())});
  t.push_back({op1(0xec), -1, kAnyPrefix, "in", "AL,DX", 0, sized_handlers<InDx>()});
  t.push_back({op1(0xed), -1, kAnyPrefix, "in", "eAX,DX", 0, io(sized_handlers<InDx>())});
  t.push_back({op1(0xe6), -1, kAnyPrefix, "out", "Ib,AL", 0, sized_handlers<OutImm>()});
  t.push_back({op1(0xe7), -1, kAnyPrefix, "out", "Ib,eAX", 0, io(sized_handlers<OutImm>())});
  t.push_back({op1(0xee), -1, kAnyPrefix, "out", "DX,AL", 0, sized_handlers<OutDx>()});
  t.push_back({op1(0xef), -1, kAnyPrefix, "out", "DX,eAX", 0, io(sized_handlers<OutDx>())});
}

}  // namespace vireo::tcg
