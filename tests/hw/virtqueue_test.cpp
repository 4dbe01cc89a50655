// The split virtqueue against well-formed and hostile drivers: every
// malformed ring must end in a VirtqueueError (which the transport turns
// into DEVICE_NEEDS_RESET), never a crash or an access outside RAM.
#include "hw/virtio/virtqueue.h"

#include <catch2/catch.hpp>

#include "tests/hw/virtq_builder.h"

using namespace vireo;
using vireo::test::TestRam;
using vireo::test::VirtqBuilder;

namespace {
constexpr uint64_t kRingBase = 0x1000;
constexpr uint64_t kData = 0x10000;
constexpr uint64_t kRamSize = 1 << 20;
}  // namespace

TEST_CASE("A readable + writable chain pops with its buffers in order, and push publishes it") {
  TestRam ram;
  VirtqBuilder b(ram.memory, 8, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  REQUIRE_NOTHROW(q.validate(ram.memory));
  b.set_desc(2, kData, 16, virtq::kDescNext, 5);
  b.set_desc(5, kData + 0x100, 512, virtq::kDescNext | virtq::kDescWrite, 1);
  b.set_desc(1, kData + 0x400, 1, virtq::kDescWrite);
  b.make_available(2);
  VirtqChain chain;
  REQUIRE(q.pop(ram.memory, chain));
  CHECK(chain.head == 2);
  REQUIRE(chain.buffers.size() == 3);
  CHECK(chain.readable_bytes == 16);
  CHECK(chain.writable_bytes == 513);
  CHECK_FALSE(chain.buffers[0].device_writable);
  CHECK(chain.buffers[2].address == kData + 0x400);
  CHECK_FALSE(q.pop(ram.memory, chain));  // nothing more
  q.push(ram.memory, chain.head, 513);
  CHECK(b.used_idx() == 1);
  CHECK(b.used_elem(0) == std::pair<uint32_t, uint32_t>{2, 513});
  CHECK(q.driver_wants_interrupt(ram.memory, 0));
  // VIRTQ_AVAIL_F_NO_INTERRUPT: no interrupt wanted.
  const uint16_t no_interrupt = virtq::kAvailNoInterrupt;
  ram.memory.write(b.avail, &no_interrupt, 2);
  CHECK_FALSE(q.driver_wants_interrupt(ram.memory, 0));
  CHECK_FALSE(q.arm_notification(ram.memory));  // without EVENT_IDX: nothing to arm
}

TEST_CASE("EVENT_IDX: interrupts when the used index passes used_event; avail_event is armed") {
  TestRam ram;
  VirtqBuilder b(ram.memory, 8, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  q.event_idx = true;
  b.set_desc(0, kData, 8, 0);
  auto set_used_event = [&](uint16_t v) { ram.memory.write(b.avail + 4 + 2 * 8, &v, 2); };
  auto avail_event = [&] {
    uint16_t v = 0;
    ram.memory.read(b.used + 4 + 8 * 8, &v, 2);
    return v;
  };
  VirtqChain chain;
  for (int i = 0; i < 3; ++i) {
    b.make_available(0);
    REQUIRE(q.pop(ram.memory, chain));
    q.push(ram.memory, 0, 0);
  }
  // Used index went 0 -> 3.
  set_used_event(5);
  CHECK_FALSE(q.driver_wants_interrupt(ram.memory, 0));  // wants one after entry 5
  set_used_event(2);
  CHECK(q.driver_wants_interrupt(ram.memory, 0));  // 2 was passed
  CHECK_FALSE(q.driver_wants_interrupt(ram.memory, 3));  // nothing new since 3
  // Empty queue: avail_event = what was taken, and no race.
  CHECK_FALSE(q.arm_notification(ram.memory));
  CHECK(avail_event() == 3);
  // A buffer that arrived before the arm is reported, not left waiting.
  b.make_available(0);
  CHECK(q.arm_notification(ram.memory));
}

TEST_CASE("Indirect descriptor tables are followed") {
  TestRam ram;
  VirtqBuilder b(ram.memory, 4, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  const uint64_t table = 0x8000;
  b.put_desc(table, 0, kData, 16, virtq::kDescNext, 1);
  b.put_desc(table, 1, kData + 0x200, 4096, virtq::kDescNext | virtq::kDescWrite, 2);
  b.put_desc(table, 2, kData + 0x2000, 1, virtq::kDescWrite, 0);
  b.set_desc(0, table, 48, virtq::kDescIndirect);
  b.make_available(0);
  VirtqChain chain;
  REQUIRE(q.pop(ram.memory, chain));
  CHECK(chain.buffers.size() == 3);
  CHECK(chain.writable_bytes == 4097);
}

TEST_CASE("The ring wraps its 16-bit indexes") {
  TestRam ram;
  VirtqBuilder b(ram.memory, 4, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  b.set_desc(0, kData, 8, 0);
  for (unsigned i = 0; i < 70000; ++i) {
    b.make_available(0);
    VirtqChain chain;
    REQUIRE(q.pop(ram.memory, chain));
    q.push(ram.memory, chain.head, 0);
  }
  CHECK(b.used_idx() == static_cast<uint16_t>(70000));
}

TEST_CASE("Hostile rings raise VirtqueueError") {
  TestRam ram;
  VirtqBuilder b(ram.memory, 8, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  VirtqChain chain;

  SECTION("head index outside the queue") {
    b.make_available(8);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("a buffer outside RAM") {
    b.set_desc(0, kRamSize - 8, 16, 0);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("a buffer whose end wraps the address space") {
    b.set_desc(0, ~0ull - 4, 16, 0);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("a loop in the chain") {
    b.set_desc(0, kData, 8, virtq::kDescNext, 1);
    b.set_desc(1, kData, 8, virtq::kDescNext, 0);
    b.make_available(0);
    CHECK_THROWS_WITH(q.pop(ram.memory, chain), Catch::Contains("loops"));
  }
  SECTION("a self loop") {
    b.set_desc(3, kData, 8, virtq::kDescNext, 3);
    b.make_available(3);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("next index outside the table") {
    b.set_desc(0, kData, 8, virtq::kDescNext, 200);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("the available index runs more than a queue ahead") {
    b.set_avail_idx(9);
    CHECK_THROWS_WITH(q.pop(ram.memory, chain), Catch::Contains("ahead"));
  }
  SECTION("a readable buffer after a writable one") {
    b.set_desc(0, kData, 8, virtq::kDescNext | virtq::kDescWrite, 1);
    b.set_desc(1, kData, 8, 0);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("nested indirect tables") {
    const uint64_t table = 0x8000;
    b.put_desc(table, 0, table, 16, virtq::kDescIndirect, 0);
    b.set_desc(0, table, 16, virtq::kDescIndirect);
    b.make_available(0);
    CHECK_THROWS_WITH(q.pop(ram.memory, chain), Catch::Contains("nested"));
  }
  SECTION("an indirect table with a partial descriptor, or outside RAM") {
    b.set_desc(0, 0x8000, 20, virtq::kDescIndirect);
    b.set_desc(1, kRamSize - 16, 32, virtq::kDescIndirect);
    b.set_desc(2, 0x8000, 0, virtq::kDescIndirect);
    for (uint16_t head : {0, 1, 2}) {
      SplitVirtqueue fresh;
      VirtqBuilder b2(ram.memory, 8, kRingBase);
      b2.configure(fresh);
      b2.set_avail_idx(0);
      b2.make_available(head);
      CHECK_THROWS_AS(fresh.pop(ram.memory, chain), VirtqueueError);
    }
  }
  SECTION("a loop inside an indirect table") {
    const uint64_t table = 0x8000;
    b.put_desc(table, 0, kData, 8, virtq::kDescNext, 1);
    b.put_desc(table, 1, kData, 8, virtq::kDescNext, 0);
    b.set_desc(0, table, 32, virtq::kDescIndirect);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
  SECTION("INDIRECT together with NEXT") {
    b.set_desc(0, 0x8000, 16, virtq::kDescIndirect | virtq::kDescNext, 1);
    b.make_available(0);
    CHECK_THROWS_AS(q.pop(ram.memory, chain), VirtqueueError);
  }
}

TEST_CASE("Rings outside RAM, misaligned or of a bad size are refused at enable") {
  TestRam ram;
  SplitVirtqueue q;
  VirtqBuilder(ram.memory, 8, kRingBase).configure(q);
  CHECK_NOTHROW(q.validate(ram.memory));
  SplitVirtqueue bad = q;
  bad.size = 6;
  CHECK_THROWS_AS(bad.validate(ram.memory), VirtqueueError);
  bad = q;
  bad.descriptor_table = kRingBase + 8;
  CHECK_THROWS_AS(bad.validate(ram.memory), VirtqueueError);
  bad = q;
  bad.device_area = kRamSize - 8;
  CHECK_THROWS_AS(bad.validate(ram.memory), VirtqueueError);
  // A used ring outside RAM found at push time, if the driver lied later.
  SplitVirtqueue late = q;
  late.device_area = kRamSize + 0x1000;
  CHECK_THROWS_AS(late.push(ram.memory, 0, 0), VirtqueueError);
}

TEST_CASE("A buffer spanning two adjacent RAM regions is accepted piece by piece") {
  GuestMemory memory;
  uint8_t* ram = memory.allocate("ram", 0x40000);
  memory.map({"low", 0, 0x20000, ram, false});
  memory.map({"high", 0x20000, 0x20000, ram + 0x20000, false});
  VirtqBuilder b(memory, 4, kRingBase);
  SplitVirtqueue q;
  b.configure(q);
  b.set_desc(0, 0x1f000, 0x2000, virtq::kDescWrite);
  b.make_available(0);
  VirtqChain chain;
  REQUIRE(q.pop(memory, chain));
  unsigned pieces = 0;
  CHECK(for_each_guest_piece(memory, 0x1f000, 0x2000, true, [&](std::span<uint8_t>) { ++pieces; }));
  CHECK(pieces == 2);
  CHECK_FALSE(for_each_guest_piece(memory, 0x3f000, 0x2000, true, [&](std::span<uint8_t>) {}));
}
