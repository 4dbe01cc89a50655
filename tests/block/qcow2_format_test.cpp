// The qcow2 header parser: what QEMU writes parses; what is out of range is
// a BlockError naming the field.
#include "block/qcow2_format.h"

#include <catch2/catch.hpp>

using namespace vireo;

namespace {

std::vector<uint8_t> valid_header() {
  Qcow2Header header;
  header.size_bytes = 1 << 30;
  header.l1_size = 2;
  header.l1_table_offset = 3 * 65536;
  header.refcount_table_offset = 65536;
  header.refcount_table_clusters = 1;
  header.backing_file = "base.img";
  header.backing_format = "raw";
  return serialize_qcow2_header(header);
}

}  // namespace

TEST_CASE("qcow2 header: serialize and parse agree", "[block][qcow2]") {
  auto bytes = valid_header();
  Qcow2Header header = parse_qcow2_header(bytes, 4 * 65536);
  CHECK(header.version == 3);
  CHECK(header.size_bytes == 1u << 30);
  CHECK(header.backing_file == "base.img");
  CHECK(header.backing_format == "raw");
  CHECK(header.feature_names.size() == 8);
  CHECK(qcow2_feature_list(header, 0, kIncompatExtendedL2 | kIncompatDirty) == "dirty bit, extended L2 entries");
}

TEST_CASE("qcow2 header: invalid fields are refused", "[block][qcow2]") {
  auto bytes = valid_header();
  SECTION("cluster size above 2 MiB") { bytes[23] = 22; }
  SECTION("L1 table too small for the size") { bytes[39] = 1; }
  SECTION("L1 table outside the file") { bytes[41] = 0x10; }
  SECTION("refcount table unaligned") { bytes[55] = 8; }
  SECTION("unknown incompatible feature") { bytes[79] = 0x20; }
  SECTION("extended L2 entries") { bytes[79] = 0x10; }
  SECTION("refcount order 7") { bytes[99] = 7; }
  SECTION("backing name past the cluster") { bytes[14] = 0x01; }
  SECTION("encryption") { bytes[35] = 1; }
  SECTION("zstd") { bytes[79] = 0x08; bytes[104] = 1; }
  CHECK_THROWS_AS(parse_qcow2_header(bytes, 4 * 65536), BlockError);
}

TEST_CASE("qcow2 header: unsupported features are named as QEMU names them", "[block][qcow2]") {
  auto bytes = valid_header();
  bytes[79] = 0x10;
  CHECK_THROWS_WITH(parse_qcow2_header(bytes, 4 * 65536), "Unsupported qcow2 feature(s): extended L2 entries");
}
