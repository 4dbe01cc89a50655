// Qcow2Image::check(): every cluster's users counted from the metadata and
// compared with the refcounts, as `qemu-img check` does, with the same
// messages; and the snapshot table, which check must walk.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "block/qcow2.h"

namespace vireo {

namespace {

std::string format(const char* pattern, auto... args) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

// Snapshot table entry: fixed part (qcow2.txt, "Snapshots").
constexpr uint64_t kSnapshotFixedBytes = 40;

}  // namespace

Qcow2CheckResult Qcow2Image::check(Qcow2Repair repair) {
  // Deferred refcounts first: the repair below works on the file.
  write_back_refcounts();
  Qcow2CheckResult result;
  const uint64_t file_bytes = file_.size_bytes();
  const uint64_t file_clusters = (file_bytes + cluster_size_ - 1) / cluster_size_;
  // One counter per host cluster; a sparse file claiming billions of
  // clusters is refused rather than exhausting memory.
  if (file_clusters > (1ull << 27)) {
    throw BlockError("qcow2: '" + file_.path() + "' has too many clusters to check");
  }
  std::vector<uint64_t> references(file_clusters, 0);

  auto reference = [&](uint64_t offset, uint64_t bytes, const char* what) {
    if (bytes == 0) return true;
    if (offset >= file_bytes || bytes > file_clusters * cluster_size_ - offset) {
      ++result.corruptions;
      result.messages.push_back(format("ERROR %s at offset %#" PRIx64 " lies outside the image file", what, offset));
      return false;
    }
    for (uint64_t cluster = offset / cluster_size_; cluster <= (offset + bytes - 1) / cluster_size_; ++cluster) {
      ++references[cluster];
    }
    return true;
  };
  auto read_table = [&](uint64_t offset, uint64_t entries) {
    std::vector<uint8_t> bytes(entries * 8);
    file_.read_at(offset, bytes);
    std::vector<uint64_t> table(entries);
    for (uint64_t i = 0; i < entries; ++i) table[i] = load_be(&bytes[i * 8], 8);
    return table;
  };

  // The entries whose COPIED flag is checked once the counts are known:
  // (location of the entry on disk, entry).
  std::vector<std::pair<uint64_t, uint64_t>> l1_entries_to_check;
  std::vector<std::pair<uint64_t, uint64_t>> l2_entries_to_check;

  auto walk_l1 = [&](uint64_t l1_offset, uint64_t l1_size, bool active) {
    if (!reference(l1_offset, l1_size * 8, "L1 table")) return;
    std::vector<uint64_t> l1 = read_table(l1_offset, l1_size);
    uint64_t next_contiguous = 0;
    for (uint64_t i = 0; i < l1_size; ++i) {
      uint64_t l2_offset = l1[i] & kEntryOffsetMask;
      if (l2_offset == 0) continue;
      if (l2_offset % cluster_size_ != 0) {
        ++result.corruptions;
        result.messages.push_back(format("ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry corrupted", l2_offset));
        continue;
      }
      if (!reference(l2_offset, cluster_size_, "L2 table")) continue;
      if (active) l1_entries_to_check.push_back({l1_offset + i * 8, l1[i]});
      std::vector<uint64_t> l2 = read_table(l2_offset, l2_entries());
      for (uint64_t j = 0; j < l2.size(); ++j) {
        uint64_t entry = l2[j];
        switch (classify(entry)) {
          case Qcow2ClusterKind::Compressed: {
            CompressedRef ref = compressed_ref(entry);
            reference(ref.host_offset, ref.length_bytes, "compressed cluster");
            if (active) {
              ++result.allocated_clusters;
              ++result.compressed_clusters;
              ++result.fragmented_clusters;  // never contiguous, as qemu-img counts them
            }
            break;
          }
          case Qcow2ClusterKind::Normal:
          case Qcow2ClusterKind::Zero: {
            uint64_t host = entry & kEntryOffsetMask;
            if (host == 0) break;  // a plain zero cluster
            if (host % cluster_size_ != 0) {
              ++result.corruptions;
              result.messages.push_back(format("ERROR offset=%" PRIx64 ": Cluster is not properly aligned; L2 entry corrupted", host));
              break;
            }
            reference(host, cluster_size_, "data cluster");
            if (active) {
              l2_entries_to_check.push_back({l2_offset + j * 8, entry});
              ++result.allocated_clusters;
              if (next_contiguous != 0 && host != next_contiguous) ++result.fragmented_clusters;
              next_contiguous = host + cluster_size_;
            }
            break;
          }
          case Qcow2ClusterKind::Unallocated:
            break;
        }
      }
    }
  };

  reference(0, cluster_size_, "header");
  walk_l1(header_.l1_table_offset, header_.l1_size, true);
  if (header_.nb_snapshots > 0) {
    try {
      std::vector<Qcow2Snapshot> list = snapshots();
      uint64_t table_bytes = 0;
      uint64_t at = 0;
      for (const Qcow2Snapshot& s : list) {
        (void)s;
        uint8_t sizes[40];
        file_.read_at(header_.snapshots_offset + at, sizes);
        at += (kSnapshotFixedBytes + load_be(sizes + 36, 4) + load_be(sizes + 12, 2) + load_be(sizes + 14, 2) + 7) & ~uint64_t{7};
      }
      table_bytes = at;
      reference(header_.snapshots_offset, table_bytes, "snapshot table");
      for (const Qcow2Snapshot& s : list) walk_l1(s.l1_table_offset, s.l1_size, false);
    } catch (const BlockError& error) {
      ++result.corruptions;
      result.messages.push_back(std::string("ERROR ") + error.what());
    }
  }
  reference(header_.refcount_table_offset, uint64_t{header_.refcount_table_clusters} * cluster_size_,
            "refcount table");
  for (uint64_t i = 0; i < refcount_table_.size(); ++i) {
    uint64_t block = refcount_table_[i] & ~uint64_t{511};
    if (block == 0) continue;
    if (block % cluster_size_ != 0) {
      ++result.corruptions;
      result.messages.push_back(format("ERROR refcount block %" PRIu64 " is not cluster aligned; refcount table entry corrupted", i));
      continue;
    }
    reference(block, cluster_size_, "refcount block");
  }
  if (result.corruptions > 0 && repair != Qcow2Repair::None) {
    // Metadata pointing outside the file or misaligned cannot be repaired
    // by recounting; leave the image alone.
    repair = Qcow2Repair::None;
  }

  // Compare, for the clusters inside the file as qemu-img does (a refcount
  // past the end of the file is not looked at).
  for (uint64_t cluster = 0; cluster < file_clusters; ++cluster) {
    uint64_t stored;
    try {
      stored = get_refcount(cluster);
    } catch (const BlockError& error) {
      ++result.corruptions;
      result.messages.push_back(format("ERROR cluster %" PRIu64 ": %s", cluster, error.what()));
      continue;
    }
    uint64_t counted = references[cluster];
    // The end counts leaked clusters too (as qemu-img's "Image end offset").
    if (counted != 0 || stored != 0) result.image_end_offset = (cluster + 1) * cluster_size_;
    if (stored == counted) continue;
    bool leak = stored > counted;
    result.messages.push_back(format("%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64,
                                     leak ? (repair != Qcow2Repair::None ? "Repairing" : "Leaked") : (repair == Qcow2Repair::All ? "Repairing" : "ERROR"),
                                     cluster, stored, counted));
    if (leak) {
      ++result.leaks;
    } else {
      ++result.corruptions;
    }
    if (!file_.read_only() && (repair == Qcow2Repair::All || (leak && repair == Qcow2Repair::Leaks))) {
      // New refcount blocks go past everything the metadata references.
      host_end_cluster_ = std::max(host_end_cluster_, file_clusters);
      update_refcounts(cluster, 1, 0, counted);
      if (leak) {
        ++result.leaks_fixed;
      } else {
        ++result.corruptions_fixed;
      }
    }
  }

  // COPIED must be set exactly when the refcount is 1 (qcow2.txt).
  auto check_copied = [&](const std::vector<std::pair<uint64_t, uint64_t>>& entries, bool l1) {
    for (auto [location, entry] : entries) {
      uint64_t host = entry & kEntryOffsetMask;
      uint64_t refcount = get_refcount(host / cluster_size_);
      bool copied = entry & kEntryCopied;
      if (copied == (refcount == 1)) continue;
      ++result.corruptions;
      result.messages.push_back(
          l1 ? format("%s OFLAG_COPIED L2 cluster: l1_entry=%" PRIx64 " refcount=%" PRIu64,
                      repair == Qcow2Repair::All ? "Repairing" : "ERROR", entry, refcount)
             : format("%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64,
                      repair == Qcow2Repair::All ? "Repairing" : "ERROR", entry, refcount));
      if (repair == Qcow2Repair::All && !file_.read_only()) {
        uint8_t bytes[8];
        store_be(bytes, 8, refcount == 1 ? entry | kEntryCopied : entry & ~kEntryCopied);
        file_.write_at(location, bytes);
        ++result.corruptions_fixed;
      }
    }
  };
  check_copied(l1_entries_to_check, true);
  check_copied(l2_entries_to_check, false);
  if (result.corruptions_fixed > 0 || result.leaks_fixed > 0) {
    // The tables changed underneath the caches (repaired refcounts of a
    // lazy-refcounts image are only in the cache: write them first).
    write_back_refcounts();
    l2_cache_.clear();
    refcount_block_cache_.clear();
    std::vector<uint8_t> bytes(uint64_t{header_.l1_size} * 8);
    file_.read_at(header_.l1_table_offset, bytes);
    for (size_t i = 0; i < l1_table_.size(); ++i) l1_table_[i] = load_be(&bytes[i * 8], 8);
    file_.flush();
  }
  result.total_clusters = (header_.size_bytes + cluster_size_ - 1) / cluster_size_;
  return result;
}

void Qcow2Image::repair_dirty_image() {
  // The dirty bit says refcounts may be stale (lazy refcounts,
  // qcow2.txt): recount before anything is allocated, as QEMU does.
  Qcow2CheckResult result = check(Qcow2Repair::All);
  if (result.corruptions > result.corruptions_fixed) {
    throw BlockError("qcow2: could not repair dirty image '" + file_.path() + "'");
  }
  header_.incompatible_features &= ~kIncompatDirty;
  uint8_t bits[8];
  store_be(bits, 8, header_.incompatible_features);
  file_.flush();
  file_.write_at(kHeaderIncompatibleFeatures, bits);
  file_.flush();
}

}  // namespace vireo
