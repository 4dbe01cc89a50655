// Where the pc machine puts RAM and what the e820 map tells the guest
// (machine/e820.cpp).
#include "machine/e820.h"

#include <catch2/catch.hpp>

using vireo::E820Entry;
using vireo::E820Type;
using vireo::PcMemoryLayout;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kSplit = 0xe0000000;  // 3.5 GiB

}  // namespace

namespace vireo {
// Found by argument-dependent lookup, so it must sit in E820Entry's namespace.
bool operator==(const E820Entry& a, const E820Entry& b) {
  return a.address == b.address && a.size == b.size && a.type == b.type;
}
}  // namespace vireo

namespace Catch {
template <>
struct StringMaker<E820Entry> {
  static std::string convert(const E820Entry& e) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "{0x%llx, 0x%llx, type %u}",
                  static_cast<unsigned long long>(e.address),
                  static_cast<unsigned long long>(e.size), static_cast<unsigned>(e.type));
    return buf;
  }
};
}  // namespace Catch

TEST_CASE("RAM below 3.5 GiB is all mapped below 4 GiB", "[e820]") {
  for (uint64_t ram : {1 * MiB, 128 * MiB, 512 * MiB, 3 * GiB, kSplit - 8192}) {
    INFO("ram " << ram);
    PcMemoryLayout layout = PcMemoryLayout::for_ram_size(ram);
    CHECK(layout.below_4g == ram);
    CHECK(layout.above_4g == 0);
  }
}

TEST_CASE("from 3.5 GiB on, 3 GiB stay low and the rest goes above 4 GiB", "[e820]") {
  PcMemoryLayout at_split = PcMemoryLayout::for_ram_size(kSplit);
  CHECK(at_split.below_4g == 3 * GiB);
  CHECK(at_split.above_4g == 512 * MiB);
  PcMemoryLayout eight = PcMemoryLayout::for_ram_size(8 * GiB);
  CHECK(eight.below_4g == 3 * GiB);
  CHECK(eight.above_4g == 5 * GiB);
}

TEST_CASE("the e820 map of a 128 MiB PC", "[e820]") {
  const std::vector<E820Entry> expected = {
      {0, 0x9fc00, E820Type::Ram},
      {0x9fc00, 0x400, E820Type::Reserved},        // EBDA
      {0xf0000, 0x10000, E820Type::Reserved},      // BIOS segment
      {0x100000, 127 * MiB, E820Type::Ram},
      {0xfffc0000, 0x40000, E820Type::Reserved},   // firmware ROM below 4 GiB
  };
  CHECK(PcMemoryLayout::for_ram_size(128 * MiB).e820() == expected);
}

TEST_CASE("the e820 map of a 4 GiB PC has RAM above 4 GiB", "[e820]") {
  std::vector<E820Entry> map = PcMemoryLayout::for_ram_size(4 * GiB).e820();
  REQUIRE(map.size() == 6);
  CHECK(map[3] == E820Entry{0x100000, 3 * GiB - MiB, E820Type::Ram});
  CHECK(map[5] == E820Entry{4 * GiB, GiB, E820Type::Ram});
}

TEST_CASE("e820 entries are sorted, disjoint, and report all RAM but the ISA hole", "[e820]") {
  for (uint64_t ram : {2 * MiB, 128 * MiB, kSplit, 6 * GiB}) {
    INFO("ram " << ram);
    PcMemoryLayout layout = PcMemoryLayout::for_ram_size(ram);
    std::vector<E820Entry> map = layout.e820();
    uint64_t ram_reported = 0;
    for (size_t i = 0; i < map.size(); ++i) {
      CHECK(map[i].size > 0);
      if (i > 0) CHECK(map[i - 1].address + map[i - 1].size <= map[i].address);
      if (map[i].type == E820Type::Ram) ram_reported += map[i].size;
    }
    // 0x9fc00-0xfffff is the EBDA, VGA window and BIOS area, never RAM.
    CHECK(ram_reported == ram - (PcMemoryLayout::kHighMemoryStart - PcMemoryLayout::kEbdaStart));
  }
}
