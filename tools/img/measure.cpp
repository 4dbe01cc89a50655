// vireo-img measure: the file size a new image needs, computed as QEMU's
// qcow2_measure() and qcow2_calc_prealloc_size() do (required: metadata
// for a fully allocated image plus the clusters holding data; fully
// allocated: metadata plus every cluster).
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>

#include "block/raw.h"
#include "system/keyval.h"
#include "tools/img/img.h"

namespace vireo::img {

namespace {

uint64_t round_up(uint64_t value, uint64_t unit) { return (value + unit - 1) / unit * unit; }
uint64_t div_round_up(uint64_t value, uint64_t unit) { return (value + unit - 1) / unit; }

// Refcount table and block clusters that describe `clusters` clusters and
// themselves.
uint64_t refcount_metadata_bytes(uint64_t clusters, uint64_t cluster_size, uint32_t refcount_order) {
  const uint64_t blocks_per_table_cluster = cluster_size / 8;
  const uint64_t refcounts_per_block = cluster_size * 8 >> refcount_order;
  uint64_t table = 0;
  uint64_t blocks = 0;
  uint64_t n = 0;
  uint64_t last;
  do {
    last = n;
    blocks = div_round_up(clusters + table + blocks, refcounts_per_block);
    table = div_round_up(blocks, blocks_per_table_cluster);
    n = clusters + blocks + table;
  } while (n != last);
  return (blocks + table) * cluster_size;
}

uint64_t fully_allocated_bytes(uint64_t size, uint64_t cluster_size, uint32_t refcount_order) {
  const uint64_t aligned = round_up(size, cluster_size);
  uint64_t meta = cluster_size;  // header
  uint64_t l2_entries = round_up(aligned / cluster_size, cluster_size / 8);
  meta += l2_entries * 8;
  uint64_t l1_entries = round_up(l2_entries * 8 / cluster_size, cluster_size / 8);
  meta += l1_entries * 8;
  meta += refcount_metadata_bytes((meta + aligned) / cluster_size, cluster_size, refcount_order);
  return meta + aligned;
}

// Whether any byte of [offset, offset+length) is stored as data somewhere in
// the chain (zero clusters and holes are not).
bool has_data(BlockBackend* image, uint64_t offset, uint64_t length) {
  if (Qcow2Image* qcow2 = as_qcow2(image)) {
    const uint64_t cluster = qcow2->cluster_size();
    for (uint64_t at = offset - offset % cluster; at < offset + length; at += cluster) {
      auto [kind, host] = qcow2->cluster_status(at);
      if (kind == Qcow2ClusterKind::Normal || kind == Qcow2ClusterKind::Compressed) return true;
      BlockBackend* backing = qcow2->backing();
      if (kind != Qcow2ClusterKind::Unallocated || !backing || at >= backing->size_bytes()) continue;
      uint64_t from = std::max(at, offset);
      uint64_t to = std::min({at + cluster, offset + length, backing->size_bytes()});
      if (has_data(backing, from, to - from)) return true;
    }
    return false;
  }
  const HostFile& file = static_cast<RawImage*>(image)->host_file();
  for (uint64_t at = offset; at < offset + length;) {
    auto [is_data, run] = file.data_extent(at);
    if (is_data) return true;
    if (run == 0) return false;
    at += run;
  }
  return false;
}

}  // namespace

int cmd_measure(const Args& args) {
  ParsedArgs parsed = parse_args(args, "hf:O:o:l:U", {"help", "output=", "size=", "object=", "image-opts", "force-share"});
  std::string format;
  std::string output_format = "raw";
  std::string options_text;
  std::string output = "human";
  std::optional<uint64_t> size_option;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "O") output_format = option.value;
    if (option.name == "o") options_text += (options_text.empty() ? "" : ",") + option.value;
    if (option.name == "output") output = option.value;
    if (option.name == "size") size_option = parse_size(option.value, 1, "size");
  }
  if (size_option && !parsed.positional.empty()) throw ImgError("--size N cannot be used together with a filename.");
  if (!size_option && parsed.positional.size() != 1) throw ImgError("Either --size N or one filename must be specified.");
  if (output_format != "raw" && output_format != "qcow2") throw ImgError("Unknown file format '" + output_format + "'");
  uint64_t cluster_size = 65536;
  uint32_t refcount_bits = 16;
  for (auto& [key, value] : parse_create_options(options_text)) {
    if (output_format == "qcow2" && key == "cluster_size") {
      cluster_size = parse_size(value, 1, key);
    } else if (output_format == "qcow2" && key == "refcount_bits") {
      refcount_bits = static_cast<uint32_t>(parse_uint(value, key));
    } else if (output_format == "qcow2" && (key == "compat" || key == "lazy_refcounts")) {
      // No effect on the size.
    } else {
      throw ImgError("Invalid parameter '" + key + "'");
    }
  }
  if (!std::has_single_bit(cluster_size) || cluster_size < 512 || cluster_size > (2u << 20)) {
    throw ImgError("Cluster size must be a power of two between 512 and 2048k");
  }
  if (!std::has_single_bit(refcount_bits) || refcount_bits > 64) {
    throw ImgError("Refcount width must be a power of two and may not exceed 64 bits");
  }

  std::unique_ptr<BlockBackend> source;
  uint64_t size;
  if (size_option) {
    size = round_up(*size_option, 512);
  } else {
    try {
      source = open_image(parsed.positional[0], format, true, false, wants_force_share(parsed));
    } catch (const BlockError& error) {
      throw ImgError(error.what());
    }
    size = round_up(source->size_bytes(), 512);
  }
  uint64_t required;
  uint64_t fully;
  bool show_bitmaps = false;
  if (output_format == "raw") {
    required = fully = size;
  } else {
    uint64_t data = 0;
    if (source) {
      for (uint64_t at = 0; at < size; at += cluster_size) {
        uint64_t length = std::min(cluster_size, source->size_bytes() - std::min(at, source->size_bytes()));
        // A data cluster counts whole, except the last one, which counts
        // up to the end of the disk (as qemu-img measure reports).
        if (length > 0 && has_data(source.get(), at, length)) data += std::min(cluster_size, size - at);
      }
      show_bitmaps = as_qcow2(source.get()) != nullptr;  // both formats could carry bitmaps
    }
    fully = fully_allocated_bytes(size, cluster_size, static_cast<uint32_t>(std::countr_zero(refcount_bits)));
    // Less the virtual size (not the cluster-aligned one), as QEMU does.
    required = fully - size + data;
  }
  if (output == "json") {
    std::printf("{\n");
    if (show_bitmaps) std::printf("    \"bitmaps\": 0,\n");
    std::printf("    \"required\": %" PRIu64 ",\n    \"fully-allocated\": %" PRIu64 "\n}\n", required, fully);
  } else {
    std::printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64 "\n", required, fully);
    if (show_bitmaps) std::printf("bitmaps size: 0\n");
  }
  return 0;
}

}  // namespace vireo::img
