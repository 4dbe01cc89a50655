#include "block/qcow2_format.h"

#include <cstdio>
#include <cstring>

namespace vireo {

namespace {

[[noreturn]] void invalid(const std::string& why) { throw BlockError("qcow2 header: " + why); }

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}

// The default names QEMU writes in its feature name table, used when an
// image has no table of its own.
const char* default_feature_name(uint8_t type, uint8_t bit) {
  if (type == 0) {
    switch (bit) {
      case 0: return "dirty bit";
      case 1: return "corrupt bit";
      case 2: return "external data file";
      case 3: return "compression type";
      case 4: return "extended L2 entries";
    }
  } else if (type == 1 && bit == 0) {
    return "lazy refcounts";
  } else if (type == 2) {
    if (bit == 0) return "bitmaps";
    if (bit == 1) return "raw external data";
  }
  return nullptr;
}

void check_table(const char* what, uint64_t offset, uint64_t bytes, uint64_t cluster_size, uint64_t file_bytes) {
  if (offset % cluster_size != 0) invalid(std::string(what) + " offset " + hex(offset) + " is not cluster aligned");
  if (offset > file_bytes || bytes > file_bytes - offset) {
    invalid(std::string(what) + " at " + hex(offset) + " (" + std::to_string(bytes) +
            " bytes) lies outside the image file");
  }
}

}  // namespace

Qcow2Header parse_qcow2_header(std::span<const uint8_t> head, uint64_t file_bytes) {
  if (head.size() < kQcow2V2HeaderBytes) invalid("the file is too short for a qcow2 header");
  const uint8_t* p = head.data();
  if (load_be(p, 4) != kQcow2Magic) invalid("bad magic");
  Qcow2Header h;
  h.version = static_cast<uint32_t>(load_be(p + 4, 4));
  if (h.version != 2 && h.version != 3) invalid("unsupported qcow2 version " + std::to_string(h.version));
  h.backing_file_offset = load_be(p + 8, 8);
  h.backing_file_size = static_cast<uint32_t>(load_be(p + 16, 4));
  h.cluster_bits = static_cast<uint32_t>(load_be(p + 20, 4));
  h.size_bytes = load_be(p + 24, 8);
  h.crypt_method = static_cast<uint32_t>(load_be(p + 32, 4));
  h.l1_size = static_cast<uint32_t>(load_be(p + 36, 4));
  h.l1_table_offset = load_be(p + 40, 8);
  h.refcount_table_offset = load_be(p + 48, 8);
  h.refcount_table_clusters = static_cast<uint32_t>(load_be(p + 56, 4));
  h.nb_snapshots = static_cast<uint32_t>(load_be(p + 60, 4));
  h.snapshots_offset = load_be(p + 64, 8);

  if (h.cluster_bits < kQcow2MinClusterBits || h.cluster_bits > kQcow2MaxClusterBits) {
    invalid("unsupported cluster size: 2^" + std::to_string(h.cluster_bits));
  }
  const uint64_t cluster_size = h.cluster_size();
  if (h.version == 2) {
    h.header_length = kQcow2V2HeaderBytes;
    h.refcount_order = 4;
  } else {
    if (head.size() < 104) invalid("the file is too short for a version 3 header");
    h.incompatible_features = load_be(p + 72, 8);
    h.compatible_features = load_be(p + 80, 8);
    h.autoclear_features = load_be(p + 88, 8);
    h.refcount_order = static_cast<uint32_t>(load_be(p + 96, 4));
    h.header_length = static_cast<uint32_t>(load_be(p + 100, 4));
    if (h.header_length < 104 || h.header_length % 8 != 0 || h.header_length > cluster_size ||
        h.header_length > head.size()) {
      invalid("invalid header length " + std::to_string(h.header_length));
    }
    if (h.header_length > 104) h.compression_type = p[104];
  }
  if (h.refcount_order > 6) invalid("refcount width 2^" + std::to_string(h.refcount_order) + " bits is too large");
  if (h.crypt_method != 0) invalid("encrypted images are not supported");

  // Header extensions run from the end of the header to the backing file
  // name, or to the end of the first cluster.
  uint64_t extensions_end = std::min<uint64_t>(cluster_size, head.size());
  if (h.backing_file_offset != 0) {
    if (h.backing_file_offset > extensions_end || h.backing_file_size > kQcow2MaxBackingNameBytes ||
        h.backing_file_size > extensions_end - h.backing_file_offset) {
      invalid("invalid backing file name location");
    }
    extensions_end = h.backing_file_offset;
    h.backing_file.assign(reinterpret_cast<const char*>(p + h.backing_file_offset), h.backing_file_size);
  }
  {  // version 2 images may have extensions too, after the 72-byte header
    uint64_t at = h.header_length;
    while (at + 8 <= extensions_end) {
      uint32_t type = static_cast<uint32_t>(load_be(p + at, 4));
      uint32_t length = static_cast<uint32_t>(load_be(p + at + 4, 4));
      at += 8;
      if (type == kExtEnd) break;
      if (length > extensions_end - at) invalid("header extension " + hex(type) + " is too long");
      if (type == kExtBackingFormat) {
        h.backing_format.assign(reinterpret_cast<const char*>(p + at), length);
      } else if (type == kExtFeatureNames) {
        for (uint32_t entry = 0; entry + 48 <= length; entry += 48) {
          const uint8_t* e = p + at + entry;
          const char* name = reinterpret_cast<const char*>(e + 2);
          h.feature_names.push_back({e[0], e[1], std::string(name, strnlen(name, 46))});
        }
      }
      // Other extensions (bitmaps, encryption, external data file) are
      // either refused through their feature bits or do not matter here.
      at += (uint64_t{length} + 7) & ~uint64_t{7};
    }
  }

  uint64_t unsupported = h.incompatible_features & ~kIncompatSupported;
  if (unsupported != 0) {
    throw BlockError("Unsupported qcow2 feature(s): " + qcow2_feature_list(h, 0, unsupported));
  }
  if (h.compression_type != 0) {
    if (!(h.incompatible_features & kIncompatCompressionType)) {
      invalid("compression type is set without the compression type feature bit");
    }
    if (h.compression_type == 1) throw BlockError("qcow2: zstd compressed images are not supported");
    invalid("unknown compression type " + std::to_string(h.compression_type));
  }

  // The guest size and the tables the rest of the driver trusts.
  const uint64_t l2_entries = cluster_size / 8;
  if (h.size_bytes > (1ull << 62)) invalid("virtual size is too large");
  uint64_t l1_needed = (h.size_bytes + cluster_size * l2_entries - 1) / (cluster_size * l2_entries);
  if (uint64_t{h.l1_size} * 8 > kQcow2MaxL1Bytes) invalid("L1 table is too large");
  if (h.l1_size < l1_needed) invalid("L1 table is too small for the virtual size");
  if (h.l1_size > 0) check_table("L1 table", h.l1_table_offset, uint64_t{h.l1_size} * 8, cluster_size, file_bytes);
  if (h.refcount_table_clusters == 0) invalid("the image has no refcount table");
  if (uint64_t{h.refcount_table_clusters} * cluster_size > kQcow2MaxRefcountTableBytes) {
    invalid("refcount table is too large");
  }
  check_table("refcount table", h.refcount_table_offset, uint64_t{h.refcount_table_clusters} * cluster_size,
              cluster_size, file_bytes);
  if (h.nb_snapshots > kQcow2MaxSnapshots) invalid("too many snapshots");
  if (h.nb_snapshots > 0) check_table("snapshot table", h.snapshots_offset, 0, cluster_size, file_bytes);
  return h;
}

std::vector<uint8_t> serialize_qcow2_header(const Qcow2Header& h) {
  std::vector<uint8_t> out(h.cluster_size(), 0);
  uint8_t* p = out.data();
  store_be(p, 4, kQcow2Magic);
  store_be(p + 4, 4, h.version);
  store_be(p + 20, 4, h.cluster_bits);
  store_be(p + 24, 8, h.size_bytes);
  store_be(p + 32, 4, h.crypt_method);
  store_be(p + 36, 4, h.l1_size);
  store_be(p + 40, 8, h.l1_table_offset);
  store_be(p + 48, 8, h.refcount_table_offset);
  store_be(p + 56, 4, h.refcount_table_clusters);
  store_be(p + 60, 4, h.nb_snapshots);
  store_be(p + 64, 8, h.snapshots_offset);
  uint64_t at = kQcow2V2HeaderBytes;
  auto need = [&](uint64_t bytes) {
    if (at + bytes > out.size()) throw BlockError("qcow2 header does not fit in one cluster");
  };
  if (h.version == 3) {
    store_be(p + 72, 8, h.incompatible_features);
    store_be(p + 80, 8, h.compatible_features);
    store_be(p + 88, 8, h.autoclear_features);
    store_be(p + 96, 4, h.refcount_order);
    store_be(p + 100, 4, kQcow2V3HeaderBytes);
    p[104] = h.compression_type;
    at = kQcow2V3HeaderBytes;
  }
  if (!h.backing_format.empty()) {
    need(8 + ((h.backing_format.size() + 7) & ~size_t{7}));
    store_be(p + at, 4, kExtBackingFormat);
    store_be(p + at + 4, 4, h.backing_format.size());
    std::memcpy(p + at + 8, h.backing_format.data(), h.backing_format.size());
    at += 8 + ((h.backing_format.size() + 7) & ~size_t{7});
  }
  if (h.version == 3) {
    // The same feature name table QEMU writes, so that tools that do not
    // know a feature can still name it.
    static const Qcow2FeatureName kNames[] = {
        {0, 0, "dirty bit"}, {0, 1, "corrupt bit"}, {0, 2, "external data file"},
        {0, 3, "compression type"}, {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
        {2, 0, "bitmaps"}, {2, 1, "raw external data"}};
    need(8 + sizeof kNames / sizeof kNames[0] * 48);
    store_be(p + at, 4, kExtFeatureNames);
    store_be(p + at + 4, 4, sizeof kNames / sizeof kNames[0] * 48);
    at += 8;
    for (const Qcow2FeatureName& name : kNames) {
      p[at] = name.type;
      p[at + 1] = name.bit;
      std::memcpy(p + at + 2, name.name.data(), name.name.size());
      at += 48;
    }
  }
  if (h.version == 3 || !h.backing_format.empty()) {
    need(8);
    at += 8;  // the end-of-extensions marker: type 0, length 0
  }
  if (!h.backing_file.empty()) {
    if (h.backing_file.size() > kQcow2MaxBackingNameBytes) throw BlockError("backing file name is too long");
    need(h.backing_file.size());
    store_be(p + 8, 8, at);
    store_be(p + 16, 4, h.backing_file.size());
    std::memcpy(p + at, h.backing_file.data(), h.backing_file.size());
  }
  return out;
}

std::string qcow2_feature_list(const Qcow2Header& header, uint8_t type, uint64_t bits) {
  std::string out;
  for (uint8_t bit = 0; bit < 64; ++bit) {
    if (!(bits & (1ull << bit))) continue;
    std::string name;
    for (const Qcow2FeatureName& entry : header.feature_names) {
      if (entry.type == type && entry.bit == bit) name = entry.name;
    }
    if (name.empty()) {
      const char* known = default_feature_name(type, bit);
      name = known ? known : "Unknown " + std::string(type == 0 ? "incompatible" : "") + " feature bit " +
                                 std::to_string(bit);
    }
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace vireo
