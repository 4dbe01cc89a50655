// fw_cfg as firmware drives it (QEMU docs/specs/fw_cfg.rst): the directory
// sorted by name, DMA transfers through guest memory and their failures,
// and saved state that must be checked before use.
#include "hw/misc/fw_cfg.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "hw/core/guest_memory.h"

using vireo::FwCfg;
using vireo::GuestMemory;

namespace {

constexpr uint64_t kRamBytes = 1 << 20;

struct Fixture {
  GuestMemory memory;
  FwCfg fw_cfg{memory};
  Fixture() {
    uint8_t* ram = memory.allocate("ram", kRamBytes);
    memory.map({"ram", 0, kRamBytes, ram, false});
  }
  void select(uint16_t key) { fw_cfg.write(0, 2, key); }
  uint8_t data() { return static_cast<uint8_t>(fw_cfg.read(1, 1)); }
  // Writes an FWCfgDmaAccess at `at` and starts it with one 8-byte write of
  // the big-endian address. Returns the control word left there.
  uint32_t dma(uint64_t at, uint32_t control, uint32_t length, uint64_t address) {
    uint8_t access[16];
    for (int i = 0; i < 4; ++i) access[i] = static_cast<uint8_t>(control >> (24 - 8 * i));
    for (int i = 0; i < 4; ++i) access[4 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) access[8 + i] = static_cast<uint8_t>(address >> (56 - 8 * i));
    memory.write(at, access, sizeof access);
    fw_cfg.write(FwCfg::kDmaPortOffset, 8, __builtin_bswap64(at));
    uint8_t c[4];
    memory.read(at, c, 4);
    return uint32_t{c[0]} << 24 | uint32_t{c[1]} << 16 | uint32_t{c[2]} << 8 | c[3];
  }
};

}  // namespace

TEST_CASE("fw_cfg: signature and ID over the data port; wide reads move nothing", "[fw_cfg]") {
  Fixture f;
  f.select(FwCfg::kSignature);
  CHECK(f.fw_cfg.read(0, 2) == 0);
  std::string sig;
  for (int i = 0; i < 4; ++i) sig += static_cast<char>(f.data());
  CHECK(sig == "QEMU");
  CHECK(f.data() == 0);  // past the end
  f.select(FwCfg::kId);
  CHECK(f.data() == (FwCfg::kIdTraditional | FwCfg::kIdDma));
}

TEST_CASE("fw_cfg: the directory is sorted by name and selectors follow it", "[fw_cfg]") {
  Fixture f;
  f.fw_cfg.add_file("etc/e820", {1, 2, 3});
  f.fw_cfg.add_file("bootorder", {});
  f.fw_cfg.add_file("etc/boot-fail-wait", {0xff, 0xff, 0xff, 0xff});
  auto files = f.fw_cfg.files();
  REQUIRE(files.size() == 3);
  CHECK(files[0] == std::pair<std::string, uint16_t>{"bootorder", 0x20});
  CHECK(files[1] == std::pair<std::string, uint16_t>{"etc/boot-fail-wait", 0x21});
  CHECK(files[2] == std::pair<std::string, uint16_t>{"etc/e820", 0x22});
  f.select(FwCfg::kFileDir);
  uint32_t count = 0;
  for (int i = 0; i < 4; ++i) count = count << 8 | f.data();
  CHECK(count == 3);
  f.select(0x22);
  CHECK(f.data() == 1);
  CHECK_THROWS(f.fw_cfg.add_file(std::string(56, 'x'), {}));
  CHECK_THROWS(f.fw_cfg.set_item(0x20, {}));
}

TEST_CASE("fw_cfg: DMA reads, zero-fills past the end, and refuses what it must", "[fw_cfg]") {
  Fixture f;
  std::vector<uint8_t> fill(16, 0xaa);
  f.memory.write(0x2000, fill.data(), fill.size());
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 8, 0x2000) == 0);
  uint8_t got[8];
  f.memory.read(0x2000, got, 8);
  CHECK(std::memcmp(got, "QEMU\0\0\0\0", 8) == 0);
  // Outside RAM, a range wrapping past 2^64, a write to a read-only item.
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, kRamBytes) == FwCfg::kDmaError);
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 0x100, ~uint64_t{0} - 8) == FwCfg::kDmaError);
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaWrite, 4, 0x2000) == FwCfg::kDmaError);
  // A read that ends just past RAM: the error bit, and the part inside RAM
  // written (the transfer fails at the first byte no RAM holds).
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, kRamBytes - 2) == FwCfg::kDmaError);
  // A missing selector reads zeros; skip moves the offset.
  f.memory.write(0x2000, fill.data(), fill.size());
  CHECK(f.dma(0x1000, (0x0123u << 16) | FwCfg::kDmaSelect | FwCfg::kDmaRead, 4, 0x2000) == 0);
  f.memory.read(0x2000, got, 4);
  CHECK(std::memcmp(got, "\0\0\0\0", 4) == 0);
  CHECK(f.dma(0x1000, FwCfg::kDmaSelect | FwCfg::kDmaSkip, 3, 0) == 0);
  CHECK(f.data() == 'U');
  // A descriptor outside RAM: nothing happens, nothing breaks.
  f.fw_cfg.write(FwCfg::kDmaPortOffset, 8, __builtin_bswap64(uint64_t{1} << 40));
  CHECK(f.fw_cfg.dma_errors() >= 5);
  // The DMA register reads back "QEMU CFG".
  CHECK(f.fw_cfg.read(FwCfg::kDmaPortOffset, 4) == 0x554d4551);
}

TEST_CASE("fw_cfg: DMA crosses RAM region boundaries as one flat range", "[fw_cfg]") {
  GuestMemory memory;
  uint8_t* ram = memory.allocate("ram", 0x20000);
  memory.map({"low", 0, 0x10000, ram, false});
  memory.map({"high", 0x10000, 0x10000, ram + 0x10000, false});
  FwCfg fw_cfg(memory);
  fw_cfg.add_file("f", std::vector<uint8_t>(32, 0x5a));
  uint8_t access[16] = {0, 0x20, 0, FwCfg::kDmaSelect | FwCfg::kDmaRead, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0xff, 0xf0};
  memory.write(0x100, access, 16);
  fw_cfg.write(FwCfg::kDmaPortOffset, 8, __builtin_bswap64(uint64_t{0x100}));
  uint8_t control[4];
  memory.read(0x100, control, 4);
  CHECK(control[3] == 0);
  CHECK(ram[0xfff0] == 0x5a);
  CHECK(ram[0x1000f] == 0x5a);
}

TEST_CASE("fw_cfg: saved state round-trips and a bad selector is refused", "[fw_cfg]") {
  Fixture f;
  f.select(FwCfg::kId);
  f.data();
  auto out = vireo::StateStream::for_saving();
  f.fw_cfg.serialize(out);
  Fixture g;
  auto in = vireo::StateStream::for_loading(out.bytes());
  g.fw_cfg.serialize(in);
  CHECK(g.data() == 0);  // the ID's second byte
  std::vector<uint8_t> bad = out.bytes();
  bad[0] = 0x00;
  bad[1] = 0x40;  // the write-channel bit: never stored
  auto corrupt = vireo::StateStream::for_loading(bad);
  CHECK_THROWS(g.fw_cfg.serialize(corrupt));
}
