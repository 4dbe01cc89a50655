// The CMOS fields firmware reads, compared with what QEMU 7.2's pc machine
// writes. The expected bytes were read from qemu-system-x86_64 -nodefaults
// -accel tcg -m SIZE -smp N with tests/hw/roms/cmos_dump.asm as -bios.
#include "machine/pc_cmos.h"

#include <catch2/catch.hpp>

#include "hw/rtc/mc146818.h"

using vireo::ManualClock;
using vireo::Mc146818;
using vireo::PcMemoryLayout;
using vireo::TimerService;

namespace {

struct QemuCmos {
  const char* size;
  uint64_t ram_bytes;
  unsigned cpus;
  uint8_t bytes_14_18[5];  // equipment, base memory, extended memory
  uint8_t bytes_30_31[2];
  uint8_t bytes_34_35[2];
  uint8_t bytes_5b_5f[5];
};

constexpr uint64_t kMiB = 1ull << 20;

const QemuCmos kQemu[] = {
    {"8M", 8 * kMiB, 1, {0x06, 0x80, 0x02, 0x00, 0x1c}, {0x00, 0x1c}, {0x00, 0x00}, {0, 0, 0, 0, 0}},
    {"20M", 20 * kMiB, 1, {0x06, 0x80, 0x02, 0x00, 0x4c}, {0x00, 0x4c}, {0x40, 0x00}, {0, 0, 0, 0, 0}},
    {"64M", 64 * kMiB, 1, {0x06, 0x80, 0x02, 0x00, 0xfc}, {0x00, 0xfc}, {0x00, 0x03}, {0, 0, 0, 0, 0}},
    {"128M", 128 * kMiB, 2, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0x07}, {0, 0, 0, 0, 1}},
    {"1G", 1024 * kMiB, 4, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0x3f}, {0, 0, 0, 0, 3}},
    {"3G", 3072 * kMiB, 1, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0xbf}, {0, 0, 0, 0, 0}},
    {"3584M", 3584 * kMiB, 1, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0xbf}, {0x00, 0x20, 0x00, 0, 0}},
    {"4G", 4096 * kMiB, 1, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0xbf}, {0x00, 0x40, 0x00, 0, 0}},
    {"6G", 6144 * kMiB, 8, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0xbf}, {0x00, 0xc0, 0x00, 0, 7}},
    {"12G", 12288 * kMiB, 1, {0x06, 0x80, 0x02, 0xff, 0xff}, {0xff, 0xff}, {0x00, 0xbf}, {0x00, 0x40, 0x02, 0, 0}},
};

}  // namespace

TEST_CASE("CMOS memory, CPU and equipment fields match QEMU's pc for several -m sizes", "[cmos]") {
  for (const QemuCmos& q : kQemu) {
    INFO("-m " << q.size << " -smp " << q.cpus);
    ManualClock clock;
    TimerService timers(clock);
    Mc146818 rtc(timers, vireo::IrqLine(), 1'700'000'000'000'000'000);
    vireo::write_pc_cmos(rtc, PcMemoryLayout::for_ram_size(q.ram_bytes), q.cpus);
    for (int i = 0; i < 5; ++i) CHECK(rtc.nvram(static_cast<uint8_t>(0x14 + i)) == q.bytes_14_18[i]);
    for (int i = 0; i < 2; ++i) CHECK(rtc.nvram(static_cast<uint8_t>(0x30 + i)) == q.bytes_30_31[i]);
    for (int i = 0; i < 2; ++i) CHECK(rtc.nvram(static_cast<uint8_t>(0x34 + i)) == q.bytes_34_35[i]);
    for (int i = 0; i < 5; ++i) CHECK(rtc.nvram(static_cast<uint8_t>(0x5b + i)) == q.bytes_5b_5f[i]);
    // The rest QEMU sets at power-on: no floppies, boot order "cad", the century.
    CHECK(rtc.nvram(0x10) == 0x00);
    CHECK(rtc.nvram(0x3d) == 0x12);
    CHECK(rtc.nvram(0x38) == 0x30);
    CHECK(rtc.nvram(0x32) == 0x20);
    CHECK(rtc.nvram(0x37) == 0x20);
  }
}
