// The port-I/O and MMIO buses (hw/core/io_bus.cpp): ranges, offsets and what
// an access no device claims does.
#include "hw/core/io_bus.h"

#include <catch2/catch.hpp>

#include <vector>

#include "util/error.h"

using vireo::BusDevice;
using vireo::Error;
using vireo::IoBus;
using vireo::OffsetWindow;

namespace {

// Remembers every access and answers reads with a value derived from it.
class ProbeDevice final : public BusDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
    bool operator==(const Access&) const = default;
  };
  uint64_t read(uint64_t offset, unsigned size) override {
    accesses.push_back({false, offset, size, 0});
    return 0x1122334455667700ull | offset;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    accesses.push_back({true, offset, size, value});
  }
  std::vector<Access> accesses;
};

}  // namespace

TEST_CASE("a device sees offsets relative to its range, never the address", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  ProbeDevice uart;
  bus.add(0x3f8, 8, &uart, "serial");
  bus.write(0x3f8, 1, 'A');
  bus.write(0x3fb, 1, 0x83);
  CHECK(bus.read(0x3fd, 1) == 0x05);  // masked to the access size
  REQUIRE(uart.accesses.size() == 3);
  CHECK(uart.accesses[0] == ProbeDevice::Access{true, 0, 1, 'A'});
  CHECK(uart.accesses[1] == ProbeDevice::Access{true, 3, 1, 0x83});
  CHECK(uart.accesses[2] == ProbeDevice::Access{false, 5, 1, 0});
  CHECK(bus.unclaimed_accesses() == 0);
}

TEST_CASE("values are masked to the access size both ways", "[bus]") {
  IoBus bus("mmio", IoBus::UnclaimedReads::Zero);
  ProbeDevice dev;
  bus.add(0xfed00000, 0x1000, &dev, "hpet");
  bus.write(0xfed00010, 2, 0xabcdef12);
  CHECK(dev.accesses.back().value == 0xef12);
  CHECK(bus.read(0xfed00000, 4) == 0x55667700);
  CHECK(bus.read(0xfed00008, 8) == 0x1122334455667708ull);
}

TEST_CASE("overlapping ranges are refused, naming both devices", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  ProbeDevice a, b;
  bus.add(0x3f8, 8, &a, "serial");
  CHECK_THROWS_WITH(bus.add(0x3ff, 1, &b, "debug"),
                    "ioport: debug at 0x3ff+0x1 overlaps serial at 0x3f8+0x8");
  CHECK_THROWS_AS(bus.add(0x3f0, 0x10, &b, "wide"), Error);  // covers it
  CHECK_THROWS_AS(bus.add(0x3fa, 2, &b, "inside"), Error);   // inside it
  CHECK_THROWS_AS(bus.add(0x3f0, 0, &b, "empty"), Error);
  CHECK_THROWS_AS(bus.add(~0ull, 2, &b, "wraps"), Error);
  // Touching ranges are fine on both sides.
  CHECK_NOTHROW(bus.add(0x3f0, 8, &b, "below"));
  CHECK_NOTHROW(bus.add(0x400, 1, &b, "above"));
  CHECK(bus.ranges().size() == 3);
  CHECK(bus.ranges()[0].device_name == "below");  // sorted by base
}

TEST_CASE("unclaimed port reads float to all ones; writes vanish", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  CHECK(bus.read(0x2f8, 1) == 0xff);
  CHECK(bus.read(0x2f8, 2) == 0xffff);
  CHECK(bus.read(0x2f8, 4) == 0xffffffff);
  bus.write(0x2f8, 1, 0);
  CHECK(bus.unclaimed_accesses() == 4);
}

TEST_CASE("unclaimed MMIO reads as zero, as in QEMU", "[bus]") {
  IoBus bus("mmio", IoBus::UnclaimedReads::Zero);
  CHECK(bus.read(0xe0000000, 4) == 0);
  CHECK(bus.read(0xe0000000, 8) == 0);
  CHECK(bus.unclaimed_accesses() == 2);
}

TEST_CASE("an access straddling a range's edge is unclaimed", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  ProbeDevice dev;
  bus.add(0x60, 1, &dev, "i8042");
  CHECK(bus.read(0x60, 2) == 0xffff);  // runs past the end
  CHECK(bus.read(0x5f, 2) == 0xffff);  // starts before the start
  bus.write(0x5f, 4, 0);
  CHECK(dev.accesses.empty());
  CHECK(bus.unclaimed_accesses() == 3);
  CHECK(bus.read(0x60, 1) == 0x00);  // the exact byte is claimed
  CHECK(dev.accesses.size() == 1);
}

TEST_CASE("a removed range is unclaimed again and can be re-added", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  ProbeDevice dev, other;
  bus.add(0xf4, 4, &dev, "isa-debug-exit");
  bus.remove(0xf4, &other);  // not its range: nothing happens
  CHECK(bus.ranges().size() == 1);
  bus.remove(0xf4, &dev);
  CHECK(bus.read(0xf4, 1) == 0xff);
  CHECK_NOTHROW(bus.add(0xf4, 4, &other, "again"));
}

TEST_CASE("an OffsetWindow lets one device own two separate ranges", "[bus]") {
  IoBus bus("ioport", IoBus::UnclaimedReads::AllOnes);
  ProbeDevice i8042;
  OffsetWindow command(i8042, 4);
  bus.add(0x60, 1, &i8042, "i8042");
  bus.add(0x64, 1, &command, "i8042");
  bus.write(0x64, 1, 0xfe);
  bus.write(0x60, 1, 0xf4);
  CHECK(i8042.accesses[0] == ProbeDevice::Access{true, 4, 1, 0xfe});
  CHECK(i8042.accesses[1] == ProbeDevice::Access{true, 0, 1, 0xf4});
  CHECK(bus.read(0x61, 1) == 0xff);  // the gap belongs to nobody here
}
