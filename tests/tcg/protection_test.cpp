// The protected-mode and long-mode system architecture where it cannot be
// compared with QEMU (tests/tcg/roms/sys_*.asm are, through
// run_rom_tests.py): behaviour the SDM specifies and QEMU 7.2's TCG does
// not implement. Each case builds descriptor tables in a small guest RAM,
// puts the CPU in the mode it needs, and runs one instruction (decoded
// from its bytes) or one delivery, checking the exception it raises.
#include <catch2/catch.hpp>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>

#include "accel/tcg/cpu.h"
#include "accel/tcg/decoder.h"
#include "accel/tcg/interp.h"
#include "accel/tcg/phys_memory.h"
#include "accel/tcg/system.h"
#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"
#include "hw/core/timer.h"
#include "hw/intc/lapic.h"
#include "accel/tcg/msr.h"

namespace vireo::tcg {
namespace {

constexpr uint64_t kRamSize = 0x100000;
constexpr uint64_t kGdt = 0x1000;
constexpr uint64_t kIdt = 0x2000;
constexpr uint64_t kTss = 0x3000;
constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kStack = 0x8000;
constexpr uint64_t kPml4 = 0x20000;

// GDT selectors of the test guest.
constexpr uint16_t kCode32 = 0x08, kData32 = 0x10, kCode64 = 0x18, kSmallData = 0x20,
                   kCodeLD = 0x28, kUserCode64 = 0x33, kUserData = 0x3b, kTss64 = 0x40;

uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (limit & 0xffffull) | (uint64_t{base & 0xffffff} << 16) | (uint64_t{access} << 40) |
         (uint64_t{(limit >> 16) & 0xf} << 48) | ((uint64_t{flags} & 0xf) << 52) |
         (uint64_t{base >> 24} << 56);
}

struct Fault {
  uint8_t vector;
  uint32_t error;
};

class Guest {
 public:
  Guest() {
    ram_ = memory_.allocate("ram", kRamSize);
    memory_.map({"ram", 0, kRamSize, ram_, false});
    phys_ = std::make_unique<PhysMemory>(memory_, mmio_);
    cpu.phys = phys_.get();
    cpu.pio = &pio_;
    put64(kGdt + kCode32, descriptor(0, 0xfffff, 0x9b, 0xc));
    put64(kGdt + kData32, descriptor(0, 0xfffff, 0x93, 0xc));
    put64(kGdt + kCode64, descriptor(0, 0xfffff, 0x9b, 0xa));
    put64(kGdt + kSmallData, descriptor(0, 0xff, 0x93, 0x4));
    put64(kGdt + kCodeLD, descriptor(0, 0xfffff, 0x9b, 0xe));  // L and D both set
    put64(kGdt + (kUserCode64 & ~3), descriptor(0, 0xfffff, 0xfb, 0xa));
    put64(kGdt + (kUserData & ~3), descriptor(0, 0xfffff, 0xf3, 0xc));
    put64(kGdt + kTss64, descriptor(kTss, 0x67, 0x8b, 0));
    cpu.gdtr = {kGdt, 0x4f};
  }

  void put64(uint64_t address, uint64_t value) { std::memcpy(ram_ + address, &value, 8); }
  uint32_t get32(uint64_t address) const {
    uint32_t v;
    std::memcpy(&v, ram_ + address, 4);
    return v;
  }

  // Flat 32-bit protected mode at CPL 0, IDT of 32-bit interrupt gates
  // (all present unless marked otherwise) to kCode + 0x800.
  void protected_mode() {
    cpu.cr0 = kCr0Pe | kCr0Et;
    cpu.efer = 0;
    cpu.cr4 = 0;
    load(kCs, kCode32, 0x9b, 0xc);
    for (unsigned s : {kEs, kSs, kDs, kFs, kGs}) load(s, kData32, 0x93, 0xc);
    cpu.cpl = 0;
    cpu.rflags = kRflagsFixed;
    cpu.gpr[kRsp] = kStack;
    for (unsigned v = 0; v < 256; ++v) set_gate32(v, true);
    cpu.idtr = {kIdt, 256 * 8 - 1};
    cpu.update_mode();
  }

  void set_gate32(unsigned vector, bool present, unsigned dpl = 0) {
    const uint64_t offset = kCode + 0x800;
    uint64_t gate = (offset & 0xffff) | (uint64_t{kCode32} << 16) |
                    (uint64_t{(present ? 0x80u : 0u) | (dpl << 5) | 0xeu} << 40) |
                    ((offset >> 16) << 48);
    put64(kIdt + vector * 8, gate);
  }

  // IA-32e mode with identity paging of the first 1 GiB (2 MiB pages),
  // 64-bit code at `cpl`, 64-bit interrupt gates to kCode + 0x800.
  void long_mode(unsigned cpl) {
    put64(kPml4, (kPml4 + 0x1000) | 7);
    put64(kPml4 + 0x1000, (kPml4 + 0x2000) | 7);
    for (uint64_t i = 0; i < 512; ++i) put64(kPml4 + 0x2000 + i * 8, (i << 21) | 0x87);
    cpu.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    cpu.cr3 = kPml4;
    cpu.cr4 = kCr4Pae;
    cpu.efer = kEferLme | kEferLma;
    if (cpl == 3) {
      load(kCs, kUserCode64, 0xfb, 0xa);
      load(kSs, kUserData, 0xf3, 0xc);
    } else {
      load(kCs, kCode64, 0x9b, 0xa);
      load(kSs, kData32, 0x93, 0xc);
    }
    cpu.cpl = cpl;
    cpu.rflags = kRflagsFixed;
    cpu.gpr[kRsp] = kStack;
    for (unsigned v = 0; v < 256; ++v) set_gate64(v, true);
    cpu.idtr = {kIdt, 256 * 16 - 1};
    cpu.tr.base = kTss;
    cpu.tr.limit = 0x67;
    cpu.tr.type = 0xb;
    cpu.tr.s = false;
    put64(kTss + 4, kStack - 0x1000);  // RSP0
    cpu.update_mode();
    cpu.flush_tlb();
  }

  void set_gate64(unsigned vector, bool present, unsigned dpl = 0, unsigned ist = 0) {
    const uint64_t offset = kCode + 0x800;
    uint64_t low = (offset & 0xffff) | (uint64_t{kCode64} << 16) | (uint64_t{ist} << 32) |
                   (uint64_t{(present ? 0x80u : 0u) | (dpl << 5) | 0xeu} << 40) |
                   ((offset >> 16) << 48);
    put64(kIdt + vector * 16, low);
    put64(kIdt + vector * 16 + 8, 0);
  }

  // Runs the instruction `bytes` at kCode; the fault it raised, if any.
  std::optional<Fault> run(std::initializer_list<uint8_t> bytes) {
    std::memcpy(ram_ + kCode, bytes.begin(), bytes.size());
    Insn insn;
    REQUIRE(decode(ram_ + kCode, bytes.size(), cpu.code_bits, insn) == DecodeStatus::Ok);
    cpu.rip = kCode - cpu.seg[kCs].base;
    try {
      insn.exec(cpu, insn);
    } catch (const GuestFault& f) {
      return Fault{f.vector, f.has_error_code ? f.error_code : 0};
    }
    return std::nullopt;
  }

  // Delivers `vector`; the fault raised while delivering it, if any.
  std::optional<Fault> deliver(uint8_t vector, bool software) {
    try {
      deliver_interrupt(cpu, vector, false, 0, software, cpu.rip);
    } catch (const GuestFault& f) {
      return Fault{f.vector, f.has_error_code ? f.error_code : 0};
    }
    return std::nullopt;
  }

  std::optional<Fault> call(void (*fn)(Cpu&, uint64_t), uint64_t value) {
    try {
      fn(cpu, value);
    } catch (const GuestFault& f) {
      return Fault{f.vector, f.has_error_code ? f.error_code : 0};
    }
    return std::nullopt;
  }

  Cpu cpu;

 private:
  void load(unsigned segment, uint16_t selector, uint8_t access, uint8_t flags) {
    SegmentCache& s = cpu.seg[segment];
    s = SegmentCache{};
    s.selector = selector;
    s.base = 0;
    s.limit = 0xffffffff;
    s.type = access & 0xf;
    s.s = true;
    s.dpl = (access >> 5) & 3;
    s.present = true;
    s.g = true;
    s.l = flags & 2;
    s.db = flags & 4;
  }

  GuestMemory memory_;
  IoBus pio_{"pio", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio_{"mmio", IoBus::UnclaimedReads::Zero};
  uint8_t* ram_ = nullptr;
  std::unique_ptr<PhysMemory> phys_;
};

void check(const std::optional<Fault>& fault, uint8_t vector, uint32_t error) {
  REQUIRE(fault.has_value());
  CHECK(unsigned{fault->vector} == unsigned{vector});
  CHECK(fault->error == error);
}

TEST_CASE("protection: a null data selector loads, and using it raises #GP(0)", "[protection]") {
  Guest g;
  g.protected_mode();
  CHECK_FALSE(g.run({0x31, 0xc0}));        // xor eax, eax
  CHECK_FALSE(g.run({0x8e, 0xd8}));        // mov ds, ax
  CHECK(g.cpu.seg[kDs].unusable);
  check(g.run({0x8b, 0x03}), kGeneralProtection, 0);  // mov eax, [ebx]
}

TEST_CASE("protection: data segment limits and code-segment writes raise #GP(0)", "[protection]") {
  Guest g;
  g.protected_mode();
  g.cpu.gpr[kRax] = kSmallData;
  CHECK_FALSE(g.run({0x8e, 0xe8}));        // mov gs, ax
  g.cpu.gpr[kRbx] = 0xfc;
  CHECK_FALSE(g.run({0x65, 0x8b, 0x03}));  // mov eax, [gs:ebx]: the last dword inside
  g.cpu.gpr[kRbx] = 0xfd;
  check(g.run({0x65, 0x8b, 0x03}), kGeneralProtection, 0);
  g.cpu.gpr[kRbx] = 0x500;
  CHECK_FALSE(g.run({0x2e, 0x8b, 0x03}));  // mov eax, [cs:ebx]: readable code
  check(g.run({0x2e, 0x89, 0x03}), kGeneralProtection, 0);  // mov [cs:ebx], eax
}

TEST_CASE("protection: a stack access past the SS limit raises #SS(0)", "[protection]") {
  Guest g;
  g.protected_mode();
  g.cpu.gpr[kRax] = kSmallData;
  CHECK_FALSE(g.run({0x8e, 0xd0}));        // mov ss, ax
  g.cpu.gpr[kRsp] = 0x102;
  check(g.run({0x50}), kStackFault, 0);    // push eax: writes 0xfe..0x101
  CHECK(g.cpu.gpr[kRsp] == 0x102);         // unchanged by the fault
}

TEST_CASE("protection: INT1 delivers a trap-like #DB without the gate DPL check", "[protection]") {
  Guest g;
  g.protected_mode();
  g.set_gate32(kDebug, true, 0);
  g.cpu.cpl = 0;
  CHECK_FALSE(g.run({0xf1}));              // int1
  CHECK(g.cpu.rip == kCode + 0x800);
  CHECK(g.get32(kStack - 12) == kCode + 1);  // return EIP: after the INT1
}

TEST_CASE("protection: EXT is set in error codes of faults while delivering an event", "[protection]") {
  Guest g;
  g.protected_mode();
  g.set_gate32(kInvalidOpcode, false);
  // An exception (not a software interrupt) through an absent gate.
  check(g.deliver(kInvalidOpcode, false), kSegmentNotPresent, kInvalidOpcode * 8 + 2 + 1);
  // INT 6 through the same gate: EXT clear.
  check(g.deliver(kInvalidOpcode, true), kSegmentNotPresent, kInvalidOpcode * 8 + 2);
  // Beyond the IDT limit.
  g.cpu.idtr.limit = 0x7f;
  check(g.deliver(0x40, false), kGeneralProtection, 0x40 * 8 + 2 + 1);
}

TEST_CASE("protection: a 16-bit gate ignores its reserved high word and pushes 16-bit slots", "[protection]") {
  Guest g;
  g.protected_mode();
  // A 286 interrupt gate whose bytes 6-7 are not zero (QEMU 7.2 takes them
  // as offset bits 31:16).
  const uint64_t gate = 0x1234 | (uint64_t{kCode32} << 16) | (uint64_t{0x86} << 40) | (0xabcdull << 48);
  g.put64(kIdt + 0x40 * 8, gate);
  g.cpu.rip = 0x5678;
  CHECK_FALSE(g.deliver(0x40, true));
  CHECK(g.cpu.rip == 0x1234);
  CHECK(g.cpu.gpr[kRsp] == kStack - 6);
  CHECK((g.get32(kStack - 6) & 0xffff) == 0x5678);
  CHECK((g.cpu.rflags & kIf) == 0);
}

TEST_CASE("protection: long-mode IDT error codes name the vector as index * 8", "[protection]") {
  Guest g;
  g.long_mode(3);
  g.set_gate64(0x80, true, 0);
  // INT 0x80 from ring 3 through a DPL 0 gate: #GP(0x402), as Linux reports
  // for int $0x80 without IA-32 emulation (QEMU 7.2 says 0x802).
  check(g.deliver(0x80, true), kGeneralProtection, 0x80 * 8 + 2);
  g.set_gate64(0x81, false, 3);
  check(g.deliver(0x81, true), kSegmentNotPresent, 0x81 * 8 + 2);
  // A present DPL 3 gate: delivered on RSP0, aligned, with SS:RSP.
  g.set_gate64(0x82, true, 3);
  g.cpu.gpr[kRsp] = kStack - 8;
  CHECK_FALSE(g.deliver(0x82, true));
  CHECK(g.cpu.cpl == 0);
  CHECK(g.cpu.seg[kSs].selector == 0);
  CHECK(g.cpu.gpr[kRsp] == kStack - 0x1000 - 40);
}

TEST_CASE("protection: IST stacks come from TSS + 0x24 + 8 * (n - 1), SS kept without a privilege change", "[protection]") {
  Guest g;
  g.long_mode(0);
  g.put64(kTss + 0x1c, 0x1111000);      // reserved: must not be used
  g.put64(kTss + 0x24, 0x6000);         // IST1
  g.put64(kTss + 0x2c, 0x5008);         // IST2, aligned down to 0x5000
  g.set_gate64(0x31, true, 0, 2);
  CHECK_FALSE(g.deliver(0x31, true));
  CHECK(g.cpu.gpr[kRsp] == 0x5000 - 40);
  CHECK(g.cpu.seg[kSs].selector == kData32);  // QEMU 7.2 loads a null SS here
  g.cpu.gpr[kRsp] = kStack;
  g.set_gate64(kDoubleFault, true, 0, 1);
  CHECK_FALSE(g.deliver(kDoubleFault, false));
  CHECK(g.cpu.gpr[kRsp] == 0x6000 - 40);
}

TEST_CASE("protection: a far jump to a code segment with L and D set raises #GP(selector)", "[protection]") {
  Guest g;
  g.long_mode(0);
  // jmp far [rip + 0] -> the m16:32 after it, with selector kCodeLD.
  check(g.run({0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, kCodeLD, 0x00}),
        kGeneralProtection, kCodeLD);
}

TEST_CASE("protection: control-register writes refuse invalid combinations", "[protection]") {
  Guest g;
  g.long_mode(0);
  // Paging off or PAE off while in 64-bit mode.
  check(g.call(&write_cr0, kCr0Pe | kCr0Et), kGeneralProtection, 0);
  check(g.call(&write_cr4, 0), kGeneralProtection, 0);
  CHECK(g.cpu.long_mode);
  g.protected_mode();
  check(g.call(&write_cr0, kCr0Pg | kCr0Et), kGeneralProtection, 0);   // PG without PE
  check(g.call(&write_cr0, kCr0Pe | kCr0Nw), kGeneralProtection, 0);   // NW without CD
  check(g.call(&write_cr0, kCr0Pe | (1ull << 32)), kGeneralProtection, 0);
  check(g.call(&write_cr4, 1), kGeneralProtection, 0);                 // VME: not implemented
  check(g.call(&write_cr8, 0x10), kGeneralProtection, 0);
  // Long mode needs PAE when paging turns on.
  g.cpu.efer = kEferLme;
  check(g.call(&write_cr0, kCr0Pe | kCr0Pg), kGeneralProtection, 0);
  g.cpu.cr4 = kCr4Pae;
  g.cpu.cr3 = kPml4;
  CHECK_FALSE(g.call(&write_cr0, kCr0Pe | kCr0Pg));
  CHECK((g.cpu.efer & kEferLma) != 0);
  CHECK(g.cpu.long_mode);
  CHECK(g.cpu.code_bits == 32);  // compatibility mode until a 64-bit CS
}

TEST_CASE("protection: DR4/DR5 alias DR6/DR7 unless CR4.DE", "[protection]") {
  Guest g;
  g.protected_mode();
  g.cpu.dr[6] = 0xffff0ff1;
  CHECK_FALSE(g.run({0x0f, 0x21, 0xe0}));  // mov eax, dr4
  CHECK(g.cpu.gpr[kRax] == 0xffff0ff1);
  g.cpu.cr4 = 1u << 3;                     // DE
  check(g.run({0x0f, 0x21, 0xe0}), kInvalidOpcode, 0);
  g.cpu.cpl = 3;
  check(g.run({0x0f, 0x21, 0xf0}), kGeneralProtection, 0);  // mov eax, dr6 at CPL 3
}

TEST_CASE("protection: a fault while delivering #DF shuts the CPU down", "[protection]") {
  Guest g;
  g.protected_mode();
  g.cpu.idtr.limit = 0;  // every delivery faults
  Interpreter interpreter(g.cpu);
  // ud2 at kCode
  g.put64(kCode, 0x0b0f);
  g.cpu.rip = kCode;
  CHECK_FALSE(interpreter.step_block());
  // After the shutdown (a reset, on a PC) the next exception is a first
  // one again: #UD is delivered, not taken for a fault during #DF.
  g.protected_mode();
  g.cpu.rip = kCode;
  CHECK(interpreter.step_block());
  CHECK(g.cpu.rip == kCode + 0x800);
}

TEST_CASE("protection: CR8 is the local APIC's TPR[7:4] in both directions", "[protection]") {
  ManualClock clock;
  TimerService timers(clock);
  std::mutex irqchip_mutex;
  ApicBus bus;
  LocalApic apic(0, irqchip_mutex, timers, bus);
  Guest g;
  g.long_mode(0);
  g.cpu.interrupts = &apic;
  CHECK_FALSE(g.call(&write_cr8, 0x9));
  CHECK(apic.registers().read(0x80, 4) == 0x90);  // the APIC page's TPR
  apic.registers().write(0x80, 4, 0x50);
  CHECK(apic.read_cr8() == 5);
  CHECK(read_msr(g.cpu, 0x6e0) == 0);  // TSC-deadline mode is off: reads 0
  g.cpu.interrupts = nullptr;
}

}  // namespace
}  // namespace vireo::tcg
