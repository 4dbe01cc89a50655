// The qcow2 engine: allocation, refcounts, backing reads, partial-cluster
// COW, zero clusters, discard, compressed clusters, dirty/corrupt bits.
// Every test ends with check(): the image must be consistent.
#include "block/qcow2.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tests/block/temp_dir.h"

using namespace vireo;
using vireo::test::pattern;
using vireo::test::TempDir;

namespace {

std::unique_ptr<Qcow2Image> open_rw(const std::string& path) {
  BlockOpenOptions options;
  options.path = path;
  options.format = "qcow2";
  return open_qcow2(options, 0);
}

std::vector<uint8_t> read_all(BlockBackend& image, uint64_t offset, uint64_t bytes) {
  std::vector<uint8_t> out(bytes);
  image.read(offset, out);
  return out;
}

void require_clean(Qcow2Image& image) {
  Qcow2CheckResult result = image.check(Qcow2Repair::None);
  INFO((result.messages.empty() ? std::string() : result.messages.front()));
  REQUIRE(result.corruptions == 0);
  REQUIRE(result.leaks == 0);
}

}  // namespace

TEST_CASE("qcow2: a new image reads as zeroes and is consistent", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 64 << 20});
  auto image = open_rw(dir.file("a.qcow2"));
  CHECK(image->size_bytes() == 64u << 20);
  CHECK(image->header().version == 3);
  CHECK(image->header().refcount_order == 4);
  CHECK(read_all(*image, 0, 1 << 20) == std::vector<uint8_t>(1 << 20, 0));
  require_clean(*image);
}

TEST_CASE("qcow2: writes read back, across clusters and L2 tables, after reopening", "[block][qcow2]") {
  TempDir dir;
  // 4 KiB clusters: one L2 table covers 2 MiB, so this write spans two.
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 16 << 20, .cluster_size = 4096});
  auto data = pattern(3 << 20, 1);
  {
    auto image = open_rw(dir.file("a.qcow2"));
    image->write(1000, data);
    CHECK(read_all(*image, 1000, data.size()) == data);
    require_clean(*image);
  }
  auto image = open_rw(dir.file("a.qcow2"));
  CHECK(read_all(*image, 1000, data.size()) == data);
  CHECK(read_all(*image, 0, 1000) == std::vector<uint8_t>(1000, 0));
  // Overwrites of allocated clusters stay in place.
  auto before = image->cluster_status(8192);
  image->write(8192 + 17, pattern(100, 2));
  CHECK(image->cluster_status(8192) == before);
  Qcow2CheckResult result = image->check(Qcow2Repair::None);
  CHECK(result.allocated_clusters == (1000 + data.size() + 4095) / 4096);
  require_clean(*image);
}

TEST_CASE("qcow2: partial cluster writes copy the rest from the backing file", "[block][qcow2]") {
  TempDir dir;
  auto base = pattern(1 << 20, 3);
  vireo::test::write_file(dir.file("base.raw"), base);
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 1 << 20, .backing_file = "base.raw", .backing_format = "raw"});
  auto image = open_rw(dir.file("top.qcow2"));
  REQUIRE(image->backing() != nullptr);
  CHECK(read_all(*image, 0, 1 << 20) == base);

  auto data = pattern(300, 4);
  image->write(65536 + 5000, data);
  auto expected = base;
  std::memcpy(&expected[65536 + 5000], data.data(), data.size());
  CHECK(read_all(*image, 0, 1 << 20) == expected);
  CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Normal);
  CHECK(image->cluster_status(0).first == Qcow2ClusterKind::Unallocated);
  // The backing file is never written.
  CHECK(vireo::test::read_file(dir.file("base.raw")) == base);
  require_clean(*image);
}

TEST_CASE("qcow2: a qcow2 backing file whose size differs reads as zeroes past its end", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("base.qcow2"), {.size_bytes = 100000});
  {
    auto base = open_rw(dir.file("base.qcow2"));
    base->write(0, pattern(100000, 5));
  }
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 1 << 20, .backing_file = dir.file("base.qcow2"), .backing_format = "qcow2"});
  auto image = open_rw(dir.file("top.qcow2"));
  CHECK(read_all(*image, 0, 100000) == pattern(100000, 5));
  CHECK(read_all(*image, 100000, 200000) == std::vector<uint8_t>(200000, 0));
  // A write straddling the end of the backing file.
  image->write(99990, pattern(20, 6));
  auto got = read_all(*image, 65536, 65536);
  auto base = pattern(100000, 5);
  auto written = pattern(20, 6);
  CHECK(std::equal(got.begin(), got.begin() + 34454, base.begin() + 65536));
  CHECK(std::equal(got.begin() + 34454, got.begin() + 34474, written.begin()));
  CHECK(std::all_of(got.begin() + 34474, got.end(), [](uint8_t b) { return b == 0; }));
  require_clean(*image);
}

TEST_CASE("qcow2: write_zeroes makes zero clusters that hide the backing file", "[block][qcow2]") {
  TempDir dir;
  vireo::test::write_file(dir.file("base.raw"), pattern(1 << 20, 7));
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 1 << 20, .backing_file = "base.raw", .backing_format = "raw"});
  auto image = open_rw(dir.file("top.qcow2"));
  image->write(0, pattern(65536 * 2, 8));
  image->write_zeroes(1000, 65536 * 3);  // partial, two whole clusters, partial
  CHECK(read_all(*image, 1000, 65536 * 3) == std::vector<uint8_t>(65536 * 3, 0));
  CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Zero);
  CHECK(image->cluster_status(131072).first == Qcow2ClusterKind::Zero);
  auto head = read_all(*image, 0, 1000);
  auto written = pattern(65536 * 2, 8);
  CHECK(std::equal(head.begin(), head.end(), written.begin()));
  require_clean(*image);
}

TEST_CASE("qcow2: version 2 images have no zero flag; zeroes over a backing file are written", "[block][qcow2]") {
  TempDir dir;
  vireo::test::write_file(dir.file("base.raw"), pattern(1 << 20, 9));
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 1 << 20, .version = 2, .backing_file = "base.raw", .backing_format = "raw"});
  auto image = open_rw(dir.file("top.qcow2"));
  CHECK(image->header().version == 2);
  CHECK(image->header().backing_format == "raw");
  image->write_zeroes(65536, 65536);
  CHECK(read_all(*image, 65536, 65536) == std::vector<uint8_t>(65536, 0));
  CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Normal);
  require_clean(*image);
}

TEST_CASE("qcow2: discard frees clusters and the space is reused", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 8 << 20});
  auto image = open_rw(dir.file("a.qcow2"));
  image->write(0, pattern(4 << 20, 10));
  uint64_t freed_host = image->cluster_status(65536).second;
  image->discard(65536 - 1, 65536 * 2);  // only the whole cluster at 64 KiB goes
  CHECK(image->cluster_status(0).first == Qcow2ClusterKind::Normal);
  CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Unallocated);
  CHECK(read_all(*image, 65536, 65536) == std::vector<uint8_t>(65536, 0));
  require_clean(*image);
  image->write(6 << 20, pattern(65536, 11));
  CHECK(image->cluster_status(6 << 20).second == freed_host);
  CHECK(read_all(*image, 6 << 20, 65536) == pattern(65536, 11));
  require_clean(*image);
}

TEST_CASE("qcow2: compressed clusters read back and share host clusters", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  std::vector<uint8_t> text(65536);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>("compressible "[i % 13]);
  {
    auto image = open_rw(dir.file("a.qcow2"));
    image->write_compressed(0, text);
    image->write_compressed(65536, text);
    image->write_compressed(131072, pattern(65536, 12));  // incompressible: stored plainly
    CHECK(image->cluster_status(0).first == Qcow2ClusterKind::Compressed);
    CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Compressed);
    CHECK(image->cluster_status(0).second / 65536 == image->cluster_status(65536).second / 65536);
    CHECK(image->cluster_status(131072).first == Qcow2ClusterKind::Normal);
    Qcow2CheckResult result = image->check(Qcow2Repair::None);
    CHECK(result.compressed_clusters == 2);
    require_clean(*image);
  }
  auto image = open_rw(dir.file("a.qcow2"));
  CHECK(read_all(*image, 0, 65536) == text);
  CHECK(read_all(*image, 65536, 65536) == text);
  CHECK(read_all(*image, 131072, 65536) == pattern(65536, 12));
  // Overwriting part of a compressed cluster decompresses it into a new one.
  image->write(65536 + 10, pattern(10, 13));
  auto expected = text;
  std::memcpy(&expected[10], pattern(10, 13).data(), 10);
  CHECK(read_all(*image, 65536, 65536) == expected);
  CHECK(image->cluster_status(65536).first == Qcow2ClusterKind::Normal);
  require_clean(*image);
}

TEST_CASE("qcow2: every refcount width, and refcount table growth", "[block][qcow2]") {
  for (uint32_t bits : {1u, 2u, 4u, 8u, 16u, 32u, 64u}) {
    DYNAMIC_SECTION("refcount_bits=" << bits) {
      TempDir dir;
      // 512-byte clusters and wide refcounts: a block covers few clusters,
      // so 4 MiB of data needs many blocks and a bigger refcount table.
      create_qcow2(dir.file("a.qcow2"), {.size_bytes = 8 << 20, .cluster_size = 512, .refcount_bits = bits});
      auto data = pattern(4 << 20, bits);
      {
        auto image = open_rw(dir.file("a.qcow2"));
        for (uint64_t at = 0; at < data.size(); at += 256 << 10) {
          image->write(at, std::span(data.data() + at, 256 << 10));
        }
        require_clean(*image);
      }
      auto image = open_rw(dir.file("a.qcow2"));
      CHECK(read_all(*image, 0, data.size()) == data);
      if (bits == 64) CHECK(image->header().refcount_table_clusters > 1);
      require_clean(*image);
    }
  }
}

TEST_CASE("qcow2: compressed clusters never overflow a narrow refcount", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20, .refcount_bits = 1});
  auto image = open_rw(dir.file("a.qcow2"));
  std::vector<uint8_t> zeroes(65536, 0);
  image->write_compressed(0, zeroes);
  image->write_compressed(65536, zeroes);
  // With a 1-bit refcount a host cluster holds one compressed cluster.
  CHECK(image->cluster_status(0).second / 65536 != image->cluster_status(65536).second / 65536);
  CHECK(read_all(*image, 0, 131072) == std::vector<uint8_t>(131072, 0));
  require_clean(*image);
}

TEST_CASE("qcow2: the dirty bit makes a writable open recount refcounts", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20, .lazy_refcounts = true});
  {
    auto image = open_rw(dir.file("a.qcow2"));
    image->write(0, pattern(65536, 14));
  }
  // Simulate a crash with lazy refcounts: the data cluster's refcount was
  // never written, and the dirty bit is set.
  auto bytes = vireo::test::read_file(dir.file("a.qcow2"));
  bytes[72 + 7] |= 1;                   // incompatible features: dirty
  bytes[0x20000 + 4 * 2 + 1] = 0;       // cluster 4 (the L2 table) refcount 0
  vireo::test::write_file(dir.file("a.qcow2"), bytes);
  {
    BlockOpenOptions options{.path = dir.file("a.qcow2"), .format = "qcow2", .read_only = true};
    auto image = open_qcow2(options, 0);
    // The refcount itself, and the L1 entry's COPIED flag that no longer
    // matches it.
    CHECK(image->check(Qcow2Repair::None).corruptions == 2);
  }
  auto image = open_rw(dir.file("a.qcow2"));
  CHECK((image->header().incompatible_features & kIncompatDirty) == 0);
  CHECK(read_all(*image, 0, 65536) == pattern(65536, 14));
  require_clean(*image);
}

TEST_CASE("qcow2: a corrupt image opens read-only only, and bad tables are errors", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  {
    auto image = open_rw(dir.file("a.qcow2"));
    image->write(0, pattern(65536, 15));
  }
  auto bytes = vireo::test::read_file(dir.file("a.qcow2"));
  // The L1 entry now points into the middle of a cluster.
  bytes[0x30000 + 6] = 0x12;
  vireo::test::write_file(dir.file("a.qcow2"), bytes);
  {
    auto image = open_rw(dir.file("a.qcow2"));
    std::vector<uint8_t> out(512);
    CHECK_THROWS_AS(image->read(0, out), BlockError);
  }
  // Reading it marked it corrupt: no more writable opens.
  CHECK_THROWS_WITH(open_rw(dir.file("a.qcow2")), Catch::Contains("corrupt"));
  BlockOpenOptions options{.path = dir.file("a.qcow2"), .format = "qcow2", .read_only = true};
  CHECK_NOTHROW(open_qcow2(options, 0));
}

TEST_CASE("open_block_backend: probes qcow2 and raw, and names a wrong format", "[block]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  vireo::test::write_file(dir.file("b.raw"), std::vector<uint8_t>(4096, 1));
  {
    auto qcow2 = open_block_backend({.path = dir.file("a.qcow2")});
    CHECK(dynamic_cast<Qcow2Image*>(qcow2.get()) != nullptr);
    CHECK(qcow2->size_bytes() == 1 << 20);
    auto raw = open_block_backend({.path = dir.file("b.raw")});
    CHECK(raw->size_bytes() == 4096);
  }
  CHECK_THROWS_WITH(open_block_backend({.path = dir.file("b.raw"), .format = "qcow2"}),
                    "Could not open '" + dir.file("b.raw") + "': Image is not in qcow2 format");
  CHECK_THROWS_WITH(open_block_backend({.path = dir.file("missing")}),
                    "Could not open '" + dir.file("missing") + "': No such file or directory");
  create_qcow2(dir.file("c.qcow2"), {.size_bytes = 1 << 20, .backing_file = "gone.qcow2"});
  CHECK_THROWS_WITH(open_block_backend({.path = dir.file("c.qcow2")}),
                    Catch::StartsWith("Could not open backing file: Could not open '" + dir.file("gone.qcow2")));
  // An image that is its own backing file.
  create_qcow2(dir.file("loop.qcow2"), {.size_bytes = 1 << 20, .backing_file = "loop.qcow2", .backing_format = "qcow2"});
  CHECK_THROWS_AS(open_block_backend({.path = dir.file("loop.qcow2")}), BlockError);
}

TEST_CASE("qcow2: snapshots keep their data while the image changes, and apply back", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  auto image = open_rw(dir.file("a.qcow2"));
  image->write(0, pattern(200000, 20));
  std::vector<uint8_t> zeroes(65536, 0);
  image->write_compressed(5 * 65536, pattern(65536, 21));  // incompressible: normal
  image->create_snapshot("one", 1000, 0);
  auto list = image->snapshots();
  REQUIRE(list.size() == 1);
  CHECK(list[0].id == "1");
  CHECK(list[0].name == "one");
  CHECK(list[0].disk_size_bytes == 1u << 20);
  require_clean(*image);
  // Writes now copy the shared clusters (and the shared L2 table).
  uint64_t shared_host = image->cluster_status(0).second;
  image->write(100, pattern(1000, 22));
  CHECK(image->cluster_status(0).second != shared_host);
  image->write_zeroes(65536, 65536);
  require_clean(*image);
  image->create_snapshot("two", 2000, 0);
  CHECK(image->snapshots().back().id == "2");
  image->apply_snapshot("one");
  CHECK(read_all(*image, 0, 200000) == pattern(200000, 20));
  require_clean(*image);
  image->apply_snapshot("2");
  auto expected = pattern(200000, 20);
  std::memcpy(&expected[100], pattern(1000, 22).data(), 1000);
  std::fill(expected.begin() + 65536, expected.begin() + 131072, uint8_t{0});
  CHECK(read_all(*image, 0, 200000) == expected);
  image->delete_snapshot("one");
  image->delete_snapshot("two");
  CHECK(image->snapshots().empty());
  CHECK_THROWS_AS(image->delete_snapshot("one"), BlockError);
  // With no snapshot left every cluster is the image's own again.
  Qcow2CheckResult result = image->check(Qcow2Repair::None);
  CHECK(result.corruptions == 0);
  CHECK(result.leaks == 0);
  image->write(0, pattern(10, 23));
  CHECK(read_all(*image, 0, 10) == pattern(10, 23));
  require_clean(*image);
}

TEST_CASE("qcow2: resize grows the L1 table and shrink frees clusters", "[block][qcow2]") {
  TempDir dir;
  // 512-byte clusters: one L1 entry covers 32 KiB, so growing to 64 MiB
  // needs a bigger L1 table than the 1 MiB image had.
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20, .cluster_size = 512});
  auto image = open_rw(dir.file("a.qcow2"));
  image->write(0, pattern(1 << 20, 24));
  uint64_t old_l1 = image->header().l1_size;
  image->resize(64 << 20);
  CHECK(image->size_bytes() == 64u << 20);
  CHECK(image->header().l1_size > old_l1);
  image->write((64 << 20) - 4096, pattern(4096, 25));
  CHECK(read_all(*image, 0, 1 << 20) == pattern(1 << 20, 24));
  require_clean(*image);
  image->resize(1000);
  require_clean(*image);
  CHECK(image->check(Qcow2Repair::None).allocated_clusters == 2);
  image.reset();
  auto reopened = open_rw(dir.file("a.qcow2"));
  CHECK(reopened->size_bytes() == 1000);
  auto head = pattern(1000, 24);
  CHECK(read_all(*reopened, 0, 1000) == head);
}

TEST_CASE("qcow2: make_empty and set_backing", "[block][qcow2]") {
  TempDir dir;
  vireo::test::write_file(dir.file("base.raw"), pattern(1 << 20, 26));
  vireo::test::write_file(dir.file("other.raw"), pattern(1 << 20, 27));
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 1 << 20, .backing_file = "base.raw", .backing_format = "raw"});
  {
    auto image = open_rw(dir.file("top.qcow2"));
    image->write(4096, pattern(100000, 28));
    image->make_empty();
    CHECK(read_all(*image, 0, 1 << 20) == pattern(1 << 20, 26));
    require_clean(*image);
    image->set_backing("other.raw", "raw");
  }
  auto image = open_rw(dir.file("top.qcow2"));
  CHECK(image->header().backing_file == "other.raw");
  CHECK(read_all(*image, 0, 1 << 20) == pattern(1 << 20, 27));
  require_clean(*image);
}

TEST_CASE("image locks: QEMU's lock bytes keep a second writer out, and qemu-img sees them", "[block]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  auto writer = open_block_backend({.path = dir.file("a.qcow2")});
  CHECK_THROWS_WITH(open_block_backend({.path = dir.file("a.qcow2")}),
                    "Could not open '" + dir.file("a.qcow2") + "': Failed to get \"write\" lock\n"
                    "Is another process using the image [" + dir.file("a.qcow2") + "]?");
  CHECK_THROWS_WITH(open_block_backend({.path = dir.file("a.qcow2"), .read_only = true}),
                    Catch::Contains("Failed to get shared \"write\" lock"));
  CHECK_NOTHROW(open_block_backend({.path = dir.file("a.qcow2"), .read_only = true, .force_share = true}));
  // QEMU's own tool honours our locks (needs qemu-img; skipped without it).
  if (std::system("command -v qemu-img >/dev/null 2>&1") == 0) {
    std::string command = "qemu-img info '" + dir.file("a.qcow2") + "' >/dev/null 2>&1";
    CHECK(std::system(command.c_str()) != 0);
    command = "qemu-img info -U '" + dir.file("a.qcow2") + "' >/dev/null 2>&1";
    CHECK(std::system(command.c_str()) == 0);
  }
  writer.reset();
  CHECK_NOTHROW(open_block_backend({.path = dir.file("a.qcow2")}));
  // Two readers share.
  auto reader = open_block_backend({.path = dir.file("a.qcow2"), .read_only = true});
  CHECK_NOTHROW(open_block_backend({.path = dir.file("a.qcow2"), .read_only = true}));
}

TEST_CASE("qcow2: cache=none (O_DIRECT) writes and reads through bounce buffers", "[block][qcow2]") {
  // tmpfs has no O_DIRECT: use the build tree's (disk) file system.
  std::string path = (std::filesystem::current_path() / "qcow2_direct_test.qcow2").string();
  create_qcow2(path, {.size_bytes = 4 << 20, .cluster_size = 4096});
  std::unique_ptr<BlockBackend> image;
  try {
    image = open_block_backend({.path = path, .cache = CacheMode::None});
  } catch (const BlockError& error) {
    std::filesystem::remove(path);
    WARN("O_DIRECT unavailable here: " << error.what());
    return;
  }
  // Unaligned guest offsets: partial clusters, 8-byte L2 and 2-byte
  // refcount updates all go through read-modify-write of aligned blocks.
  auto data = pattern(100000, 30);
  image->write(777, data);
  std::vector<uint8_t> out(data.size());
  image->read(777, out);
  CHECK(out == data);
  image->flush();
  image.reset();
  auto reopened = open_rw(path);
  reopened->read(777, out);
  CHECK(out == data);
  require_clean(*reopened);
  reopened.reset();
  std::filesystem::remove(path);
}

TEST_CASE("qcow2: version 2 images with refcount growth and snapshots stay version 2", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 2 << 20, .cluster_size = 512, .version = 2});
  auto image = open_rw(dir.file("a.qcow2"));
  image->write(0, pattern(1 << 20, 31));
  image->create_snapshot("s", 1, 0);
  image->write(4096, pattern(4096, 32));
  image->write_zeroes(8192, 4096);
  require_clean(*image);
  CHECK(image->header().version == 2);
  image->apply_snapshot("s");
  CHECK(read_all(*image, 0, 1 << 20) == pattern(1 << 20, 31));
  require_clean(*image);
}

TEST_CASE("snapshot=on: writes go to a temporary overlay that is already deleted", "[block]") {
  TempDir dir;
  vireo::test::write_file(dir.file("disk.raw"), pattern(1 << 20, 40));
  setenv("TMPDIR", dir.file("").c_str(), 1);
  {
    auto image = open_block_backend({.path = dir.file("disk.raw"), .snapshot = true});
    CHECK(!image->read_only());
    CHECK(image->size_bytes() == 1 << 20);
    image->write(1000, pattern(5000, 41));
    auto expected = pattern(1 << 20, 40);
    std::memcpy(&expected[1000], pattern(5000, 41).data(), 5000);
    CHECK(read_all(*image, 0, 1 << 20) == expected);
    // Only the image is in the directory: the overlay was unlinked.
    size_t files = 0;
    for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir.file(""))) ++files;
    CHECK(files == 1);
    // Another reader may share the image meanwhile; a writer may not.
    CHECK_NOTHROW(open_block_backend({.path = dir.file("disk.raw"), .read_only = true}));
    CHECK_THROWS_AS(open_block_backend({.path = dir.file("disk.raw")}), BlockError);
  }
  unsetenv("TMPDIR");
  CHECK(vireo::test::read_file(dir.file("disk.raw")) == pattern(1 << 20, 40));
}

TEST_CASE("qcow2: tables pointing past the end of the file are corruption, not growth", "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20});
  auto bytes = vireo::test::read_file(dir.file("a.qcow2"));
  // Refcount table entry 0 -> a block at 2^40.
  std::fill(bytes.begin() + 0x10000, bytes.begin() + 0x10008, uint8_t{0});
  bytes[0x10000 + 2] = 0x01;
  vireo::test::write_file(dir.file("a.qcow2"), bytes);
  {
    auto image = open_rw(dir.file("a.qcow2"));
    CHECK_THROWS_AS(image->write(0, pattern(512, 50)), BlockError);
  }
  CHECK(std::filesystem::file_size(dir.file("a.qcow2")) == bytes.size());
}

TEST_CASE("qcow2: readv over backing, zero, compressed, contiguous and scattered clusters reads what read does",
          "[block][qcow2]") {
  TempDir dir;
  auto base = pattern(2 << 20, 21);
  vireo::test::write_file(dir.file("base.raw"), base);
  // 4 KiB clusters: a 2 MiB image spans two L2 tables.
  create_qcow2(dir.file("top.qcow2"), {.size_bytes = 2 << 20, .cluster_size = 4096, .backing_file = "base.raw",
                                       .backing_format = "raw"});
  auto image = open_rw(dir.file("top.qcow2"));
  image->write(100000, pattern(300000, 22));            // contiguous host clusters
  for (uint64_t at = 1500000; at < 1900000; at += 8192) {  // every other cluster: scattered on the host
    image->write(at, pattern(4096, static_cast<uint32_t>(at)));
  }
  image->write(1000000, pattern(4096, 23));  // one host cluster out of guest order
  image->write_zeroes(600000, 40000);
  std::vector<uint8_t> text(4096, 'v');
  image->write_compressed(800 * 1024, text);
  image->write_compressed(804 * 1024, text);

  auto expected = read_all(*image, 0, 2 << 20);
  for (uint64_t start : {uint64_t{0}, uint64_t{4095}, uint64_t{99999}}) {
    std::vector<uint8_t> out((2 << 20) - start);
    image->readv(start, vireo::test::scatter(out));
    CHECK(std::equal(out.begin(), out.end(), expected.begin() + static_cast<ptrdiff_t>(start)));
  }
  require_clean(*image);
}

TEST_CASE("qcow2: lazy refcounts defer refcount writes under the dirty bit, and a clean close clears it",
          "[block][qcow2]") {
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 4 << 20, .lazy_refcounts = true});
  auto dirty_on_disk = [&] { return (vireo::test::read_file(dir.file("a.qcow2"))[72 + 7] & 1) != 0; };
  {
    auto image = open_rw(dir.file("a.qcow2"));
    CHECK_FALSE(dirty_on_disk());  // nothing deferred yet
    image->write(0, pattern(3 << 20, 31));
    image->discard(1 << 20, 65536);
    CHECK(dirty_on_disk());
    // What a crash now would leave: refcounts on disk that miss the new
    // clusters (so they were really deferred), under the dirty bit.
    std::filesystem::copy_file(dir.file("a.qcow2"), dir.file("crash.qcow2"));
    {
      BlockOpenOptions options{.path = dir.file("crash.qcow2"), .format = "qcow2", .read_only = true};
      CHECK(open_qcow2(options, 0)->check(Qcow2Repair::None).corruptions > 0);
    }
    // A flush writes them back but keeps the bit, as QEMU does.
    image->flush();
    CHECK(dirty_on_disk());
    std::filesystem::copy_file(dir.file("a.qcow2"), dir.file("flushed.qcow2"));
    {
      BlockOpenOptions options{.path = dir.file("flushed.qcow2"), .format = "qcow2", .read_only = true};
      Qcow2CheckResult result = open_qcow2(options, 0)->check(Qcow2Repair::None);
      CHECK(result.corruptions == 0);
      CHECK(result.leaks == 0);
    }
    image->write(3 << 20, pattern(65536, 32));
  }
  CHECK_FALSE(dirty_on_disk());
  auto expected = pattern(3 << 20, 31);
  std::fill(expected.begin() + (1 << 20), expected.begin() + (1 << 20) + 65536, uint8_t{0});
  {
    auto image = open_rw(dir.file("a.qcow2"));
    CHECK(read_all(*image, 0, 3 << 20) == expected);
    CHECK(read_all(*image, 3 << 20, 65536) == pattern(65536, 32));
    require_clean(*image);
  }
  // The image a crash left: a writable open rebuilds the refcounts.
  auto image = open_rw(dir.file("crash.qcow2"));
  CHECK((image->header().incompatible_features & kIncompatDirty) == 0);
  CHECK(read_all(*image, 0, 3 << 20) == expected);
  require_clean(*image);
}

TEST_CASE("qcow2: check -r on a lazy-refcounts image writes its repaired refcounts", "[block][qcow2]") {
  // Regression: the repair changed refcounts through the lazy cache and
  // then dropped the cache, losing them.
  TempDir dir;
  create_qcow2(dir.file("a.qcow2"), {.size_bytes = 1 << 20, .lazy_refcounts = true});
  {
    auto image = open_rw(dir.file("a.qcow2"));
    image->write(0, pattern(65536, 41));
  }
  auto bytes = vireo::test::read_file(dir.file("a.qcow2"));
  bytes.resize(8 * 65536);
  bytes[0x20000 + 6 * 2 + 1] = 1;  // cluster 6, after the data cluster: leaked
  vireo::test::write_file(dir.file("a.qcow2"), bytes);
  {
    auto image = open_rw(dir.file("a.qcow2"));
    Qcow2CheckResult result = image->check(Qcow2Repair::Leaks);
    CHECK(result.leaks == 1);
    CHECK(result.leaks_fixed == 1);
    require_clean(*image);
  }
  auto image = open_rw(dir.file("a.qcow2"));
  CHECK((image->header().incompatible_features & kIncompatDirty) == 0);
  require_clean(*image);
  CHECK(read_all(*image, 0, 65536) == pattern(65536, 41));
}
