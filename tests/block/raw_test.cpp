// The raw format, and HostFile's bounce buffers for O_DIRECT
// (cache=none): unaligned guest requests must still work.
#include "block/raw.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "tests/block/temp_dir.h"

using namespace vireo;
using vireo::test::pattern;

TEST_CASE("raw: unaligned reads and writes with cache=none go through bounce buffers", "[block][raw]") {
  // O_DIRECT needs a file system that supports it (tmpfs does not): use the
  // build tree's file system, which is a disk.
  std::string path = (std::filesystem::current_path() / "raw_direct_test.img").string();
  vireo::test::write_file(path, pattern(1 << 20, 1));
  std::unique_ptr<BlockBackend> image;
  try {
    image = open_block_backend({.path = path, .format = "raw", .cache = CacheMode::None});
  } catch (const BlockError& error) {
    std::filesystem::remove(path);
    WARN("O_DIRECT unavailable here: " << error.what());
    return;
  }
  auto expected = pattern(1 << 20, 1);
  auto data = pattern(5000, 2);
  image->write(4097, data);  // unaligned offset, length and (likely) buffer
  std::memcpy(&expected[4097], data.data(), data.size());
  std::vector<uint8_t> out(300000);
  image->read(3, out);
  CHECK(std::equal(out.begin(), out.end(), expected.begin() + 3));
  image->flush();
  image.reset();
  CHECK(vireo::test::read_file(path) == expected);
  std::filesystem::remove(path);
}

TEST_CASE("raw: write_zeroes and read-only", "[block][raw]") {
  vireo::test::TempDir dir;
  vireo::test::write_file(dir.file("a.raw"), pattern(65536, 3));
  {
    auto image = open_block_backend({.path = dir.file("a.raw"), .format = "raw"});
    image->write_zeroes(100, 1000);
    std::vector<uint8_t> out(1000);
    image->read(100, out);
    CHECK(out == std::vector<uint8_t>(1000, 0));
  }
  auto image = open_block_backend({.path = dir.file("a.raw"), .format = "raw", .read_only = true});
  CHECK(image->read_only());
  std::vector<uint8_t> one(1, 0);
  CHECK_THROWS_AS(image->write(0, one), BlockError);
}

TEST_CASE("raw: readv into a scatter list of more than IOV_MAX pieces reads what read does", "[block][raw]") {
  vireo::test::TempDir dir;
  auto bytes = pattern(12 << 20, 5);
  vireo::test::write_file(dir.file("a.raw"), bytes);
  auto image = open_block_backend({.path = dir.file("a.raw"), .format = "raw"});
  std::vector<uint8_t> out(bytes.size() - 777);
  auto pieces = vireo::test::scatter(out);
  REQUIRE(pieces.size() > 1024);  // more than one preadv call
  image->readv(777, pieces);
  CHECK(std::equal(out.begin(), out.end(), bytes.begin() + 777));
}
