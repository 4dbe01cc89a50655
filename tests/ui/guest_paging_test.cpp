// The monitor's page walk: 4-level long mode with 4 KiB and 2 MiB pages,
// PAE, 32-bit with 4 MiB pages, not-present entries (Intel SDM vol. 3 §4).
#include <catch2/catch.hpp>

#include <cstring>

#include "hw/core/guest_memory.h"
#include "ui/monitor/guest_paging.h"

using namespace vireo;

namespace {

struct Memory {
  GuestMemory memory;
  uint8_t* ram;
  Memory() {
    ram = memory.allocate("ram", 4 << 20);
    memory.map({"ram", 0, 4 << 20, ram, false});
  }
  void put64(uint64_t address, uint64_t value) { std::memcpy(ram + address, &value, 8); }
  void put32(uint64_t address, uint32_t value) { std::memcpy(ram + address, &value, 4); }
};

}  // namespace

TEST_CASE("paging: long mode 4 KiB and 2 MiB pages, and a hole", "[monitor]") {
  Memory m;
  X86CpuState cpu;
  cpu.cr0 = kCr0Pe | kCr0Pg;
  cpu.cr4 = kCr4Pae;
  cpu.efer = kEferLme | kEferLma;
  cpu.cr3 = 0x10000;
  uint64_t va = 0xffffffff81234567ull;  // PML4 511, PDPT 510, PD 9, PT 0x34
  m.put64(0x10000 + 511 * 8, 0x11000 | 1);
  m.put64(0x11000 + 510 * 8, 0x12000 | 1);
  m.put64(0x12000 + 9 * 8, 0x13000 | 1);
  m.put64(0x13000 + 0x34 * 8, 0x345000 | 1);
  CHECK(translate_guest_virtual(m.memory, cpu, va) == 0x345567u);
  m.put64(0x12000 + 8 * 8, 0x200000 | 0x80 | 1);  // a 2 MiB page
  CHECK(translate_guest_virtual(m.memory, cpu, 0xffffffff81012345ull) == 0x212345u);
  CHECK_FALSE(translate_guest_virtual(m.memory, cpu, 0x1000).has_value());
}

TEST_CASE("paging: 32-bit paging with a 4 MiB page, PAE, and paging off", "[monitor]") {
  Memory m;
  X86CpuState cpu;
  cpu.cr0 = kCr0Pe | kCr0Pg;
  cpu.cr4 = 1u << 4;  // PSE
  cpu.cr3 = 0x20000;
  m.put32(0x20000 + 0x300 * 4, 0x00400000 | 0x80 | 1);
  CHECK(translate_guest_virtual(m.memory, cpu, 0xc0012345u) == 0x412345u);

  cpu.cr4 = kCr4Pae;
  cpu.cr3 = 0x30000;
  m.put64(0x30000 + 3 * 8, 0x31000 | 1);
  m.put64(0x31000 + 0 * 8, 0x32000 | 1);
  m.put64(0x32000 + 5 * 8, 0x7000 | 1);
  CHECK(translate_guest_virtual(m.memory, cpu, 0xc0005abcu) == 0x7abcu);

  cpu.cr0 = kCr0Pe;
  CHECK(translate_guest_virtual(m.memory, cpu, 0x12345) == 0x12345u);
}
