// The qcow2 on-disk format, as QEMU's docs/interop/qcow2.txt specifies it:
// the header (version 2 and 3), its extensions, and the bits of L1, L2 and
// refcount entries. Everything read from an image is untrusted:
// parse_qcow2_header() validates every field it returns and throws
// BlockError naming what is wrong.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "block/block_backend.h"

namespace vireo {

inline constexpr uint32_t kQcow2Magic = 0x514649fb;  // "QFI\xfb"
inline constexpr uint32_t kQcow2V2HeaderBytes = 72;
// Version 3 header up to and including compression_type, padded to 8.
inline constexpr uint32_t kQcow2V3HeaderBytes = 112;
inline constexpr uint32_t kQcow2MinClusterBits = 9;   // 512 B
inline constexpr uint32_t kQcow2MaxClusterBits = 21;  // 2 MiB
// QEMU's limits on table sizes (QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE),
// which also bound what we allocate for an untrusted header.
inline constexpr uint64_t kQcow2MaxL1Bytes = 32u << 20;
inline constexpr uint64_t kQcow2MaxRefcountTableBytes = 8u << 20;
inline constexpr uint32_t kQcow2MaxBackingNameBytes = 1023;
inline constexpr uint32_t kQcow2MaxSnapshots = 65536;

// Feature bits (qcow2.txt, header bytes 72-95).
inline constexpr uint64_t kIncompatDirty = 1ull << 0;
inline constexpr uint64_t kIncompatCorrupt = 1ull << 1;
inline constexpr uint64_t kIncompatExternalData = 1ull << 2;
inline constexpr uint64_t kIncompatCompressionType = 1ull << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1ull << 4;
inline constexpr uint64_t kIncompatSupported = kIncompatDirty | kIncompatCorrupt | kIncompatCompressionType;
inline constexpr uint64_t kCompatLazyRefcounts = 1ull << 0;
inline constexpr uint64_t kAutoclearBitmaps = 1ull << 0;
inline constexpr uint64_t kAutoclearRawExternal = 1ull << 1;

// Header extension types.
inline constexpr uint32_t kExtEnd = 0;
inline constexpr uint32_t kExtBackingFormat = 0xe2792aca;
inline constexpr uint32_t kExtFeatureNames = 0x6803f857;

// L1 and L2 entries (qcow2.txt, "Cluster mapping").
inline constexpr uint64_t kEntryCopied = 1ull << 63;      // refcount is exactly 1
inline constexpr uint64_t kEntryCompressed = 1ull << 62;  // L2 only
inline constexpr uint64_t kEntryZero = 1ull << 0;         // L2 only, version 3
inline constexpr uint64_t kEntryOffsetMask = 0x00fffffffffffe00ull;  // bits 9-55

// Header byte offsets of the fields updated in place.
inline constexpr uint64_t kHeaderRefcountTableOffset = 48;  // u64, then u32 clusters
inline constexpr uint64_t kHeaderIncompatibleFeatures = 72;
inline constexpr uint64_t kHeaderAutoclearFeatures = 88;

struct Qcow2FeatureName {
  uint8_t type;  // 0 incompatible, 1 compatible, 2 autoclear
  uint8_t bit;
  std::string name;
};

struct Qcow2Header {
  uint32_t version = 3;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 16;
  uint64_t size_bytes = 0;
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = kQcow2V3HeaderBytes;
  uint8_t compression_type = 0;  // 0 zlib, 1 zstd

  // From the extensions and the backing file name field.
  std::string backing_file;
  std::string backing_format;
  std::vector<Qcow2FeatureName> feature_names;

  uint64_t cluster_size() const { return 1ull << cluster_bits; }
};

// Parses and validates the header in the image's first bytes (at least the
// first cluster, or the whole file when it is shorter). `file_bytes` is the
// image file's size, to reject tables that cannot be inside it.
Qcow2Header parse_qcow2_header(std::span<const uint8_t> head, uint64_t file_bytes);

// The first cluster of an image with this header: the header fields, the
// backing format and feature name extensions (version 3), and the backing
// file name. Throws BlockError when they do not fit in one cluster.
std::vector<uint8_t> serialize_qcow2_header(const Qcow2Header& header);

// The names of set feature bits, from the image's own table where it has
// one: "dirty bit, extended L2 entries" (for error messages).
std::string qcow2_feature_list(const Qcow2Header& header, uint8_t type, uint64_t bits);

// Big-endian accessors for on-disk fields.
inline uint64_t load_be(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}
inline void store_be(uint8_t* p, int bytes, uint64_t value) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

}  // namespace vireo
