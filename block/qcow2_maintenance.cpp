// Qcow2Image maintenance used by vireo-img: resize, make_empty (commit),
// set_backing (rebase).
#include <algorithm>

#include "block/qcow2.h"

namespace vireo {

void Qcow2Image::resize(uint64_t new_size_bytes) {
  check_writable();
  const uint64_t old_size = header_.size_bytes;
  if (new_size_bytes < old_size && header_.nb_snapshots > 0) {
    throw BlockError("Can't shrink an image which has internal snapshots");
  }
  if (new_size_bytes < old_size) {
    // Zero the tail of the last kept cluster, drop whole clusters after it.
    uint64_t keep_end = (new_size_bytes + cluster_size_ - 1) / cluster_size_ * cluster_size_;
    if (keep_end > new_size_bytes) write_zeroes(new_size_bytes, std::min(keep_end, old_size) - new_size_bytes);
    for (uint64_t position = keep_end; position < old_size;) {
      uint64_t chunk = std::min(old_size - position, l2_coverage_bytes() - position % l2_coverage_bytes());
      if ((l1_table_[position / l2_coverage_bytes()] & kEntryOffsetMask) != 0) set_clusters(position, chunk, 0);
      position += chunk;
    }
    // L2 tables wholly past the end go too (the L1 table keeps its size).
    for (uint64_t i = (keep_end + l2_coverage_bytes() - 1) / l2_coverage_bytes(); i < l1_table_.size(); ++i) {
      uint64_t l2_offset = l1_table_[i] & kEntryOffsetMask;
      if (l2_offset == 0) continue;
      l1_table_[i] = 0;
      uint8_t zero[8] = {};
      file_.write_at(header_.l1_table_offset + i * 8, zero);
      l2_cache_.erase(l2_offset);
      free_clusters(l2_offset / cluster_size_, 1);
    }
  }
  const uint64_t l1_needed = (new_size_bytes + l2_coverage_bytes() - 1) / l2_coverage_bytes();
  if (l1_needed * 8 > kQcow2MaxL1Bytes) throw BlockError("qcow2: the new size needs an L1 table larger than 32 MiB");
  uint64_t l1_offset = header_.l1_table_offset;
  uint64_t old_l1_clusters = (l1_table_.size() * 8 + cluster_size_ - 1) / cluster_size_;
  if (l1_needed > l1_table_.size()) {
    // A bigger L1 table elsewhere, written before the header points to it.
    std::vector<uint64_t> grown = l1_table_;
    grown.resize(l1_needed, 0);
    uint64_t clusters = (l1_needed * 8 + cluster_size_ - 1) / cluster_size_;
    l1_offset = allocate_clusters(clusters);
    std::vector<uint8_t> bytes(clusters * cluster_size_, 0);
    for (size_t i = 0; i < grown.size(); ++i) store_be(&bytes[i * 8], 8, grown[i]);
    file_.write_at(l1_offset, bytes);
    l1_table_ = std::move(grown);
  }
  // Size, crypt method, L1 size and L1 offset are adjacent (bytes 24-47):
  // one write switches them together.
  uint8_t fields[24];
  store_be(fields, 8, new_size_bytes);
  store_be(fields + 8, 4, header_.crypt_method);
  store_be(fields + 12, 4, l1_table_.size());
  store_be(fields + 16, 8, l1_offset);
  file_.write_at(24, fields);
  if (l1_offset != header_.l1_table_offset) {
    uint64_t old_offset = header_.l1_table_offset;
    header_.l1_table_offset = l1_offset;
    if (old_l1_clusters > 0) free_clusters(old_offset / cluster_size_, old_l1_clusters);
  }
  header_.l1_size = static_cast<uint32_t>(l1_table_.size());
  header_.size_bytes = new_size_bytes;
  file_.flush();
}

void Qcow2Image::preallocate(Qcow2Preallocation mode) {
  check_writable();
  if (mode == Qcow2Preallocation::Off) return;
  const uint64_t size = header_.size_bytes;
  uint64_t first_data = 0;
  // All L2 tables first, then the data clusters, so that the data is one
  // contiguous run as in qemu-img's preallocated images.
  for (uint64_t l1_index = 0; l1_index * l2_coverage_bytes() < size; ++l1_index) writable_l2(l1_index);
  for (uint64_t l1_index = 0; l1_index * l2_coverage_bytes() < size; ++l1_index) {
    auto [table, l2_offset] = writable_l2(l1_index);
    const uint64_t first_guest = l1_index * l2_coverage_bytes();
    const uint64_t count = std::min(l2_entries(), (size - first_guest + cluster_size_ - 1) / cluster_size_);
    for (uint64_t i = 0; i < count; ++i) {
      if (table->entries[i] != 0) throw BlockError("preallocation needs an empty image");
    }
    // Refcounts first (allocate_clusters), then the entries that use them;
    // the clusters read as zeroes (nothing was ever written there).
    uint64_t host = allocate_clusters(count);
    if (first_data == 0) first_data = host;
    for (uint64_t i = 0; i < count; ++i) table->entries[i] = (host + i * cluster_size_) | kEntryCopied;
    write_l2_entries(l2_offset, *table, 0, count);
  }
  // The file covers every allocated cluster (sparse for "metadata").
  if (file_.size_bytes() < host_end_cluster_ * cluster_size_) file_.truncate(host_end_cluster_ * cluster_size_);
  if (mode == Qcow2Preallocation::Falloc || mode == Qcow2Preallocation::Full) {
    // Data and metadata clusters are interleaved: reserve or write the
    // whole range past the initial metadata (tables are rewritten as they
    // are, zeroes only go where nothing is yet).
    const uint64_t end = host_end_cluster_ * cluster_size_;
    std::vector<uint8_t> zeroes(std::min<uint64_t>(1 << 20, end), 0);
    std::vector<uint8_t> existing(zeroes.size());
    for (uint64_t at = first_data; at < end;) {
      uint64_t n = std::min<uint64_t>(zeroes.size(), end - at);
      if (mode == Qcow2Preallocation::Falloc) {
        if (!file_.allocate(at, n)) throw BlockError("fallocate failed on '" + file_.path() + "'");
      } else {
        // Keep what the range holds (L2 tables, refcount blocks): write
        // back its own bytes, which fills the holes with zeroes.
        file_.read_at(at, std::span(existing.data(), n));
        file_.write_at(at, std::span<const uint8_t>(existing.data(), n));
      }
      at += n;
    }
  }
  file_.flush();
}

void Qcow2Image::make_empty() {
  check_writable();
  if (header_.nb_snapshots > 0) throw BlockError("Can't empty an image which has snapshots");
  for (uint64_t i = 0; i < l1_table_.size(); ++i) {
    uint64_t l2_offset = l1_table_[i] & kEntryOffsetMask;
    if (l2_offset == 0) continue;
    std::shared_ptr<L2Table> table = load_l2(l2_offset);
    // Unreference first (L1 entry), then free what it reached.
    l1_table_[i] = 0;
    uint8_t zero[8] = {};
    file_.write_at(header_.l1_table_offset + i * 8, zero);
    l2_cache_.erase(l2_offset);
    for (uint64_t entry : table->entries) release_entry(entry);
    free_clusters(l2_offset / cluster_size_, 1);
  }
  file_.flush();
}

void Qcow2Image::set_backing(const std::string& backing_file, const std::string& backing_format) {
  check_writable();
  Qcow2Header updated = header_;
  updated.backing_file = backing_file;
  updated.backing_format = backing_file.empty() ? "" : backing_format;
  std::vector<uint8_t> first_cluster = serialize_qcow2_header(updated);
  file_.write_at(0, first_cluster);
  file_.flush();
  header_ = updated;
  backing_.reset();
}

}  // namespace vireo
