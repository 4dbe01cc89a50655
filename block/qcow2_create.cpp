// create_qcow2(): a new empty image, laid out as qemu-img lays out its own
// (header, refcount table, refcount blocks, L1 table), so that the two
// tools' fresh images differ only where the options differ.
#include <bit>

#include "block/qcow2.h"

namespace vireo {

void create_qcow2(const std::string& path, const Qcow2CreateOptions& options) {
  const uint64_t cluster_size = options.cluster_size;
  if (!std::has_single_bit(cluster_size) || cluster_size < (1u << kQcow2MinClusterBits) ||
      cluster_size > (1u << kQcow2MaxClusterBits)) {
    throw BlockError("Cluster size must be a power of two between 512 and 2048k");
  }
  if (options.version != 2 && options.version != 3) throw BlockError("Invalid compatibility level");
  if (!std::has_single_bit(options.refcount_bits) || options.refcount_bits > 64) {
    throw BlockError("Refcount width must be a power of two and may not exceed 64 bits");
  }
  if (options.version == 2 && options.refcount_bits != 16) {
    throw BlockError("Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
  }
  if (options.version == 2 && options.lazy_refcounts) {
    throw BlockError("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
  }
  if (!options.backing_format.empty() && options.backing_file.empty()) {
    throw BlockError("Backing file format not supported for file format 'qcow2'");
  }

  Qcow2Header header;
  header.version = options.version;
  header.cluster_bits = static_cast<uint32_t>(std::countr_zero(cluster_size));
  header.size_bytes = options.size_bytes;
  header.refcount_order = static_cast<uint32_t>(std::countr_zero(options.refcount_bits));
  header.compatible_features = options.lazy_refcounts ? kCompatLazyRefcounts : 0;
  header.backing_file = options.backing_file;
  header.backing_format = options.backing_format;

  const uint64_t l2_coverage = cluster_size * (cluster_size / 8);
  const uint64_t l1_entries = (options.size_bytes + l2_coverage - 1) / l2_coverage;
  if (l1_entries * 8 > kQcow2MaxL1Bytes) throw BlockError("Image size is too big for this cluster size");
  header.l1_size = static_cast<uint32_t>(l1_entries);
  const uint64_t l1_clusters = std::max<uint64_t>(1, (l1_entries * 8 + cluster_size - 1) / cluster_size);

  // Find the smallest refcount table and block count that describe
  // everything, themselves included.
  const uint64_t per_block = cluster_size * 8 / options.refcount_bits;
  uint64_t table_clusters = 1;
  uint64_t blocks = 1;
  for (;;) {
    uint64_t total = 1 + table_clusters + blocks + l1_clusters;
    uint64_t need_blocks = (total + per_block - 1) / per_block;
    uint64_t need_table = (need_blocks * 8 + cluster_size - 1) / cluster_size;
    if (need_blocks <= blocks && need_table <= table_clusters) break;
    blocks = std::max(blocks, need_blocks);
    table_clusters = std::max(table_clusters, need_table);
  }
  const uint64_t total_clusters = 1 + table_clusters + blocks + l1_clusters;
  header.refcount_table_offset = cluster_size;
  header.refcount_table_clusters = static_cast<uint32_t>(table_clusters);
  header.l1_table_offset = (1 + table_clusters + blocks) * cluster_size;

  std::vector<uint8_t> image(total_clusters * cluster_size, 0);
  std::vector<uint8_t> first_cluster = serialize_qcow2_header(header);
  std::copy(first_cluster.begin(), first_cluster.end(), image.begin());
  for (uint64_t b = 0; b < blocks; ++b) {
    store_be(&image[cluster_size + b * 8], 8, (1 + table_clusters + b) * cluster_size);
  }
  // Every cluster so far is used once.
  const uint64_t blocks_start = (1 + table_clusters) * cluster_size;
  for (uint64_t cluster = 0; cluster < total_clusters; ++cluster) {
    uint64_t bit = cluster * options.refcount_bits;
    uint8_t* entry = &image[blocks_start + bit / 8];
    if (options.refcount_bits < 8) {
      *entry = static_cast<uint8_t>(*entry | (1u << (bit % 8)));
    } else {
      store_be(entry, static_cast<int>(options.refcount_bits / 8), 1);
    }
  }
  if (options.preallocation != Qcow2Preallocation::Off && !options.backing_file.empty()) {
    throw BlockError("Backing file and preallocation can only be used at the same time if extended_l2 is on");
  }
  {
    HostFile file = HostFile::create(path);
    file.write_at(0, image);
    file.flush();
  }
  if (options.preallocation != Qcow2Preallocation::Off) {
    BlockOpenOptions open_options;
    open_options.path = path;
    open_options.format = "qcow2";
    open_qcow2(open_options, 0)->preallocate(options.preallocation);
  }
}

}  // namespace vireo
