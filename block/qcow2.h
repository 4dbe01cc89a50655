// Qcow2Image: the qcow2 format (QEMU docs/interop/qcow2.txt, versions 2
// and 3) as a BlockBackend. Guest offsets map through the L1 table to L2
// tables to host clusters; every host cluster's users are counted in the
// refcount table and blocks.
//
// Metadata is written through (no dirty metadata is held in memory), in an
// order that leaves the image consistent, at worst with leaked clusters,
// wherever the process is killed:
//   - a cluster's refcount is written before anything points to it;
//   - a new data cluster is written before the L2 entry that points to it;
//   - a new L2 table is written before the L1 entry that points to it;
//   - a reference is removed before the refcount it held is decremented.
// The host page cache keeps these writes in order across a process kill;
// across a host crash only what a flush() reached the disk is kept.
// With lazy refcounts the first rule is relaxed under the dirty bit (see
// lazy_refcounts_).
//
// Thread: one I/O thread owns the object (see BlockBackend); no locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "block/block_backend.h"
#include "block/host_file.h"
#include "block/qcow2_format.h"

namespace vireo {

// qemu-img create -o preallocation=: metadata allocates every L2 table and
// data cluster (the data reads as zeroes from the sparse file); falloc
// also reserves the space; full also writes the zeroes.
enum class Qcow2Preallocation { Off, Metadata, Falloc, Full };

struct Qcow2CreateOptions {
  uint64_t size_bytes = 0;
  uint64_t cluster_size = 65536;
  uint32_t version = 3;  // compat=1.1; 2 is compat=0.10
  bool lazy_refcounts = false;
  uint32_t refcount_bits = 16;
  std::string backing_file;
  std::string backing_format;
  Qcow2Preallocation preallocation = Qcow2Preallocation::Off;
};

// Writes a new, empty image at `path` (replacing any file there), laid out
// as qemu-img lays out its own: header, refcount table, refcount block, L1.
void create_qcow2(const std::string& path, const Qcow2CreateOptions& options);

// How one guest cluster is stored (qcow2.txt, "Cluster mapping").
enum class Qcow2ClusterKind { Unallocated, Zero, Normal, Compressed };

struct Qcow2Snapshot {
  std::string id;
  std::string name;
  uint64_t l1_table_offset = 0;
  uint32_t l1_size = 0;
  uint32_t vm_state_size = 0;
  uint32_t date_sec = 0;
  uint32_t date_nsec = 0;
  uint64_t vm_clock_nsec = 0;
  uint64_t disk_size_bytes = 0;  // 0 when the entry does not record it
};

struct Qcow2CheckResult {
  uint64_t corruptions = 0;
  uint64_t leaks = 0;
  uint64_t corruptions_fixed = 0;
  uint64_t leaks_fixed = 0;
  uint64_t total_clusters = 0;  // guest clusters
  uint64_t allocated_clusters = 0;
  uint64_t fragmented_clusters = 0;
  uint64_t compressed_clusters = 0;
  uint64_t image_end_offset = 0;
  std::vector<std::string> messages;  // one line per problem, as qemu-img prints them
};

enum class Qcow2Repair { None, Leaks, All };

class Qcow2Image final : public BlockBackend {
 public:
  // `backing` is the already opened backing image, if the header names one.
  Qcow2Image(HostFile file, Qcow2Header header, CacheMode cache, std::unique_ptr<BlockBackend> backing);
  // Writes back deferred refcounts and clears the dirty bit (lazy refcounts).
  ~Qcow2Image() override;

  uint64_t size_bytes() const override { return header_.size_bytes; }
  bool read_only() const override { return file_.read_only(); }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void readv(uint64_t offset, std::span<const std::span<uint8_t>> pieces) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  void flush() override;
  void discard(uint64_t offset, uint64_t length) override;
  void write_zeroes(uint64_t offset, uint64_t length) override;

  const Qcow2Header& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  BlockBackend* backing() const { return backing_.get(); }
  uint64_t cluster_size() const { return cluster_size_; }
  const HostFile& host_file() const { return file_; }

  // The kind of the guest cluster holding `offset`, and its host offset
  // (Normal) or descriptor's host offset (Compressed).
  std::pair<Qcow2ClusterKind, uint64_t> cluster_status(uint64_t offset);
  // Stores one whole guest cluster deflated (vireo-img convert -c); a
  // cluster that does not shrink is stored as a normal cluster.
  // `compressed`, if given, is compress_cluster(cluster) computed earlier
  // (vireo-img deflates on several threads, then stores in order).
  void write_compressed(uint64_t offset, std::span<const uint8_t> cluster,
                        const std::vector<uint8_t>* compressed = nullptr);
  // The cluster deflated as qcow2 stores it; empty if it does not shrink.
  // Const and thread-safe.
  std::vector<uint8_t> compress_cluster(std::span<const uint8_t> cluster) const;

  std::vector<Qcow2Snapshot> snapshots();
  Qcow2CheckResult check(Qcow2Repair repair);

  // Image maintenance for vireo-img (qcow2_maintenance.cpp); not for use
  // while a device has the image open.
  // Changes the guest size; shrinking frees the clusters past the new end.
  void resize(uint64_t new_size_bytes);
  // Allocates every cluster of a new, empty image (Qcow2Preallocation).
  void preallocate(Qcow2Preallocation mode);
  // Drops every cluster: the image reads as its backing file again.
  void make_empty();
  // Rewrites the header to name another backing file (no data copied).
  void set_backing(const std::string& backing_file, const std::string& backing_format);

  // Internal snapshots (qcow2_snapshot.cpp; qcow2.txt "Snapshots").
  void create_snapshot(const std::string& name, uint32_t date_sec, uint32_t date_nsec);
  // `name` may be the snapshot's name or its ID.
  void apply_snapshot(const std::string& name);
  void delete_snapshot(const std::string& name);

 private:
  // A cached L2 table, entries in host byte order (refcount blocks are
  // cached as their on-disk bytes in refcount_block_cache_).
  struct L2Table {
    std::vector<uint64_t> entries;
  };
  struct CompressedRef {
    uint64_t host_offset;
    uint64_t length_bytes;
  };

  void check_range(uint64_t offset, uint64_t length) const;
  void check_writable() const;
  [[noreturn]] void corrupt(const std::string& what);
  uint64_t l2_entries() const { return cluster_size_ / 8; }
  uint64_t l2_coverage_bytes() const { return cluster_size_ * l2_entries(); }
  CompressedRef compressed_ref(uint64_t entry) const;
  Qcow2ClusterKind classify(uint64_t entry) const;

  // L2 tables.
  std::shared_ptr<L2Table> load_l2(uint64_t l2_offset);
  std::shared_ptr<L2Table> l2_for_read(uint64_t guest_offset);
  // The L2 table for `l1_index`, allocated or copied so it may be written.
  std::pair<std::shared_ptr<L2Table>, uint64_t> writable_l2(uint64_t l1_index);
  void write_l2_entries(uint64_t l2_offset, const L2Table& table, uint64_t first, uint64_t count);

  // Reading clusters. A ReadExtent is a run of guest bytes that reads one
  // way: unallocated, zero, one compressed cluster, or normal clusters
  // contiguous on the host (`entry` is the first cluster's L2 entry).
  struct ReadExtent {
    Qcow2ClusterKind kind;
    uint64_t entry;
    uint64_t bytes;
  };
  ReadExtent read_extent(uint64_t position, uint64_t max_bytes);
  void read_extent_bytes(uint64_t position, const ReadExtent& extent, std::span<uint8_t> out);
  void read_cluster_bytes(uint64_t guest_offset, uint64_t entry, std::span<uint8_t> out);
  void read_from_backing(uint64_t guest_offset, std::span<uint8_t> out);
  void decompress_cluster(uint64_t entry, std::span<uint8_t> out);

  // Writing within one L2 table.
  void write_in_l2(uint64_t offset, std::span<const uint8_t> data);
  // Turns whole clusters in [offset, offset+length) (one L2 table) to `new_entry`.
  void set_clusters(uint64_t offset, uint64_t length, uint64_t new_entry);
  void release_entry(uint64_t entry);
  void check_data_cluster_for_write(uint64_t host);

  // Refcounts (qcow2_refcount.cpp).
  uint64_t refcount_block_entries() const { return cluster_size_ * 8 >> header_.refcount_order; }
  uint64_t max_refcount() const;
  std::vector<uint8_t>* load_refcount_block(uint64_t block_offset);
  uint64_t get_refcount(uint64_t cluster_index);
  uint64_t get_refcount_entry(const std::vector<uint8_t>& block, uint64_t index) const;
  void set_refcount_entry(std::vector<uint8_t>& block, uint64_t index, uint64_t value) const;
  // Adds `delta` to the refcounts of `count` clusters from `first`, or sets
  // them to `absolute` when given, writing each touched block once.
  void update_refcounts(uint64_t first, uint64_t count, int64_t delta, std::optional<uint64_t> absolute = {});
  uint64_t ensure_refcount_block(uint64_t table_index);
  void grow_refcount_table(uint64_t min_entries);
  // `count` contiguous free clusters with refcount 1; returns the host offset.
  uint64_t allocate_clusters(uint64_t count);
  uint64_t bump_clusters(uint64_t count);
  void free_clusters(uint64_t first, uint64_t count);
  void repair_dirty_image();
  // Lazy refcounts: a refcount block changed in memory only, and the
  // header's dirty bit that says so on disk.
  void defer_refcount_block(uint64_t block_offset);
  void write_back_refcount_block(uint64_t block_offset);
  void write_back_refcounts();
  void set_dirty_bit(bool dirty);
  void evict_one_refcount_block();

  // Snapshot helpers.
  // Adds `delta` to the refcount of every L2 table and data cluster the
  // L1 table reaches.
  void add_l1_references(const std::vector<uint64_t>& l1, int64_t delta);
  // Sets COPIED on the active L1 and L2 entries exactly where refcount is 1.
  void update_copied_flags();
  void write_snapshot_table(const std::vector<Qcow2Snapshot>& list);
  std::vector<uint64_t> read_l1(uint64_t offset, uint32_t entries);
  void reload_tables();

  HostFile file_;
  Qcow2Header header_;
  CacheMode cache_;
  std::unique_ptr<BlockBackend> backing_;
  uint64_t cluster_size_;
  std::vector<uint64_t> l1_table_;
  std::vector<uint64_t> refcount_table_;
  uint64_t refcount_table_disk_entries_ = 0;  // entries of the table the header points to
  uint64_t host_end_cluster_ = 0;             // first cluster past everything allocated
  uint64_t free_hint_cluster_ = 0;            // no free cluster below this one
  bool growing_refcount_table_ = false;
  // Lazy refcounts (qcow2.txt, compatible feature bit 0), as QEMU uses
  // them: refcount block updates stay in the cache until a flush, an
  // eviction or the close; before the first such update the header's dirty
  // bit is set (and flushed), so that an image left behind by a crash has
  // its refcounts rebuilt when opened writable (repair_dirty_image()).
  // Only the refcount blocks' contents are deferred: new refcount blocks
  // and the refcount table are still written through.
  bool lazy_refcounts_ = false;
  bool dirty_bit_set_ = false;
  std::unordered_set<uint64_t> dirty_refcount_blocks_;

  std::unordered_map<uint64_t, std::shared_ptr<L2Table>> l2_cache_;
  std::unordered_map<uint64_t, std::vector<uint8_t>> refcount_block_cache_;
  size_t l2_cache_capacity_;
  size_t refcount_cache_capacity_;

  // The last cluster decompressed, by its L2 entry: sequential reads of a
  // compressed image inflate each cluster once.
  uint64_t decompressed_entry_ = 0;
  std::vector<uint8_t> decompressed_;
  // Where the next compressed cluster may go: the unused tail of the host
  // cluster written last by write_compressed().
  uint64_t compressed_next_byte_ = 0;
};

// Opens a qcow2 image and, unless `no_backing`, its backing chain
// (block/open.cpp resolves formats and relative names).
std::unique_ptr<Qcow2Image> open_qcow2(const BlockOpenOptions& options, int depth);

}  // namespace vireo
