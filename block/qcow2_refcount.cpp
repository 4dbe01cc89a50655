// Qcow2Image's refcounts: the refcount table and blocks (qcow2.txt,
// "Host cluster management"), cluster allocation and freeing.
#include <algorithm>
#include <cstdio>

#include "block/qcow2.h"

namespace vireo {

namespace {

constexpr uint64_t kRefcountTableEntryOffsetMask = ~uint64_t{511};  // bits 9-63

}  // namespace

uint64_t Qcow2Image::max_refcount() const {
  return header_.refcount_order == 6 ? ~uint64_t{0} >> 1 : (1ull << (1u << header_.refcount_order)) - 1;
}

uint64_t Qcow2Image::get_refcount_entry(const std::vector<uint8_t>& block, uint64_t index) const {
  const uint32_t order = header_.refcount_order;
  if (order < 3) {
    // Sub-byte widths pack from the least significant bit, as QEMU does.
    const uint32_t bits = 1u << order;
    uint64_t bit = index * bits;
    return (block[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
  }
  const int bytes = 1 << (order - 3);
  return load_be(&block[index * static_cast<uint64_t>(bytes)], bytes);
}

void Qcow2Image::set_refcount_entry(std::vector<uint8_t>& block, uint64_t index, uint64_t value) const {
  const uint32_t order = header_.refcount_order;
  if (order < 3) {
    const uint32_t bits = 1u << order;
    uint64_t bit = index * bits;
    uint8_t mask = static_cast<uint8_t>(((1u << bits) - 1) << (bit % 8));
    block[bit / 8] = static_cast<uint8_t>((block[bit / 8] & ~mask) | ((value << (bit % 8)) & mask));
    return;
  }
  const int bytes = 1 << (order - 3);
  store_be(&block[index * static_cast<uint64_t>(bytes)], bytes, value);
}

std::vector<uint8_t>* Qcow2Image::load_refcount_block(uint64_t block_offset) {
  auto found = refcount_block_cache_.find(block_offset);
  if (found != refcount_block_cache_.end()) return &found->second;
  if (block_offset % cluster_size_ != 0 || block_offset < cluster_size_ ||
      block_offset / cluster_size_ >= host_end_cluster_) {
    corrupt("refcount block offset " + std::to_string(block_offset) + " is invalid");
  }
  std::vector<uint8_t> block(cluster_size_);
  file_.read_at(block_offset, block);
  if (refcount_block_cache_.size() >= refcount_cache_capacity_) evict_one_refcount_block();
  return &(refcount_block_cache_[block_offset] = std::move(block));
}

uint64_t Qcow2Image::get_refcount(uint64_t cluster_index) {
  uint64_t table_index = cluster_index / refcount_block_entries();
  if (table_index >= refcount_table_.size()) return 0;
  uint64_t block_offset = refcount_table_[table_index] & kRefcountTableEntryOffsetMask;
  if (block_offset == 0) return 0;
  return get_refcount_entry(*load_refcount_block(block_offset), cluster_index % refcount_block_entries());
}

uint64_t Qcow2Image::bump_clusters(uint64_t count) {
  uint64_t first = host_end_cluster_;
  // Host offsets must fit the 56-bit offset fields of L1/L2 entries.
  if ((first + count) * cluster_size_ > (1ull << 56)) throw BlockError("qcow2 image '" + file_.path() + "' is full");
  host_end_cluster_ += count;
  return first;
}

uint64_t Qcow2Image::ensure_refcount_block(uint64_t table_index) {
  if (table_index >= refcount_table_.size()) grow_refcount_table(table_index + 1);
  uint64_t existing = refcount_table_[table_index] & kRefcountTableEntryOffsetMask;
  if (existing != 0) return existing;

  // A new block goes at the end of the file. If it falls in the range it
  // describes it counts itself; otherwise the block for its own range
  // (further on, since nothing lies past the end) counts it.
  uint64_t block_cluster = bump_clusters(1);
  std::vector<uint8_t> block(cluster_size_, 0);
  bool counts_itself = block_cluster / refcount_block_entries() == table_index;
  if (counts_itself) set_refcount_entry(block, block_cluster % refcount_block_entries(), 1);
  file_.write_at(block_cluster * cluster_size_, block);
  if (refcount_block_cache_.size() >= refcount_cache_capacity_) evict_one_refcount_block();
  refcount_block_cache_[block_cluster * cluster_size_] = std::move(block);
  if (!counts_itself) update_refcounts(block_cluster, 1, +1);

  refcount_table_[table_index] = block_cluster * cluster_size_;
  if (table_index < refcount_table_disk_entries_) {
    uint8_t bytes[8];
    store_be(bytes, 8, refcount_table_[table_index]);
    file_.write_at(header_.refcount_table_offset + table_index * 8, bytes);
  }
  return refcount_table_[table_index];
}

void Qcow2Image::grow_refcount_table(uint64_t min_entries) {
  if (growing_refcount_table_) throw BlockError("qcow2: refcount table growth did not converge");
  growing_refcount_table_ = true;
  const uint64_t entries_per_cluster = cluster_size_ / 8;
  // Room for what is asked, for the new table itself and the blocks that
  // count it, with slack so that growth stays rare.
  uint64_t new_entries = std::max(min_entries, refcount_table_.size() * 2);
  new_entries = std::max(new_entries, (host_end_cluster_ + 2 * new_entries / entries_per_cluster + 8) /
                                              refcount_block_entries() + 2);
  new_entries = (new_entries + entries_per_cluster - 1) / entries_per_cluster * entries_per_cluster;
  if (new_entries * 8 > kQcow2MaxRefcountTableBytes) {
    growing_refcount_table_ = false;
    throw BlockError("qcow2 image '" + file_.path() + "' would need a refcount table larger than 8 MiB");
  }
  const uint64_t new_clusters = new_entries / entries_per_cluster;
  refcount_table_.resize(new_entries, 0);
  uint64_t table_cluster = bump_clusters(new_clusters);
  update_refcounts(table_cluster, new_clusters, +1);

  std::vector<uint8_t> bytes(new_entries * 8);
  for (uint64_t i = 0; i < new_entries; ++i) store_be(&bytes[i * 8], 8, refcount_table_[i]);
  file_.write_at(table_cluster * cluster_size_, bytes);

  // One write switches the header to the new table (offset and size are
  // adjacent fields inside one sector).
  uint8_t pointer[12];
  store_be(pointer, 8, table_cluster * cluster_size_);
  store_be(pointer + 8, 4, new_clusters);
  file_.write_at(kHeaderRefcountTableOffset, pointer);
  uint64_t old_offset = header_.refcount_table_offset;
  uint64_t old_clusters = header_.refcount_table_clusters;
  header_.refcount_table_offset = table_cluster * cluster_size_;
  header_.refcount_table_clusters = static_cast<uint32_t>(new_clusters);
  refcount_table_disk_entries_ = new_entries;
  growing_refcount_table_ = false;
  free_clusters(old_offset / cluster_size_, old_clusters);
}

void Qcow2Image::update_refcounts(uint64_t first, uint64_t count, int64_t delta, std::optional<uint64_t> absolute) {
  std::vector<uint64_t> freed;
  const uint64_t per_block = refcount_block_entries();
  for (uint64_t cluster = first; cluster < first + count;) {
    uint64_t block_offset = ensure_refcount_block(cluster / per_block);
    std::vector<uint8_t>& block = *load_refcount_block(block_offset);
    uint64_t index = cluster % per_block;
    uint64_t n = std::min(first + count - cluster, per_block - index);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t old = get_refcount_entry(block, index + i);
      uint64_t value;
      if (absolute) {
        value = *absolute;
      } else if (delta < 0) {
        if (old < static_cast<uint64_t>(-delta)) {
          corrupt("refcount of cluster " + std::to_string(cluster + i) + " would drop below zero");
        }
        value = old - static_cast<uint64_t>(-delta);
      } else {
        value = old + static_cast<uint64_t>(delta);
      }
      if (value > max_refcount()) {
        throw BlockError("qcow2: refcount of cluster " + std::to_string(cluster + i) + " in '" + file_.path() +
                         "' would overflow");
      }
      set_refcount_entry(block, index + i, value);
      if (value == 0 && old != 0) freed.push_back(cluster + i);
    }
    uint64_t first_byte = (index << header_.refcount_order) / 8;
    uint64_t end_byte = (((index + n) << header_.refcount_order) + 7) / 8;
    if (lazy_refcounts_) {
      defer_refcount_block(block_offset);
    } else {
      file_.write_at(block_offset + first_byte, std::span(block.data() + first_byte, end_byte - first_byte));
    }
    cluster += n;
  }
  for (uint64_t cluster : freed) {
    free_hint_cluster_ = std::min(free_hint_cluster_, cluster);
    if (compressed_next_byte_ / cluster_size_ == cluster) compressed_next_byte_ = 0;
    // Give the space back to the host file system (best effort).
    file_.punch_hole(cluster * cluster_size_, cluster_size_);
  }
}

uint64_t Qcow2Image::allocate_clusters(uint64_t count) {
  check_writable();
  // First fit from the lowest cluster that may be free; a free run that
  // reaches the end of the file is extended there.
  const uint64_t per_block = refcount_block_entries();
  uint64_t run_start = 0;
  uint64_t run_length = 0;
  uint64_t first_free = host_end_cluster_;
  for (uint64_t cluster = std::max<uint64_t>(free_hint_cluster_, 1);
       cluster < host_end_cluster_ && run_length < count; ++cluster) {
    uint64_t table_index = cluster / per_block;
    if (table_index >= refcount_table_.size() || refcount_table_[table_index] == 0) {
      run_length = 0;  // not described by a block: treated as in use
      cluster = (table_index + 1) * per_block - 1;
      continue;
    }
    if (get_refcount(cluster) != 0) {
      run_length = 0;
      continue;
    }
    first_free = std::min(first_free, cluster);
    if (run_length == 0) run_start = cluster;
    ++run_length;
  }
  if (run_length == 0) run_start = host_end_cluster_;
  if (run_length < count) {
    uint64_t extra = bump_clusters(count - run_length);
    if (run_length == 0) run_start = extra;
  }
  free_hint_cluster_ = first_free == run_start ? run_start + count : first_free;
  update_refcounts(run_start, count, +1);
  return run_start * cluster_size_;
}

void Qcow2Image::evict_one_refcount_block() {
  auto victim = refcount_block_cache_.begin();
  if (dirty_refcount_blocks_.count(victim->first)) write_back_refcount_block(victim->first);
  refcount_block_cache_.erase(victim);
}

void Qcow2Image::set_dirty_bit(bool dirty) {
  // As QEMU (qcow2_mark_dirty/clean): flush what came before, switch the
  // bit, flush again, so the bit never reaches the disk out of order with
  // the refcounts it vouches for.
  file_.flush();
  if (dirty) {
    header_.incompatible_features |= kIncompatDirty;
  } else {
    header_.incompatible_features &= ~kIncompatDirty;
  }
  uint8_t bits[8];
  store_be(bits, 8, header_.incompatible_features);
  file_.write_at(kHeaderIncompatibleFeatures, bits);
  file_.flush();
  dirty_bit_set_ = dirty;
}

void Qcow2Image::defer_refcount_block(uint64_t block_offset) {
  if (!dirty_bit_set_) set_dirty_bit(true);
  dirty_refcount_blocks_.insert(block_offset);
}

void Qcow2Image::write_back_refcount_block(uint64_t block_offset) {
  auto found = refcount_block_cache_.find(block_offset);
  if (found != refcount_block_cache_.end()) file_.write_at(block_offset, found->second);
  dirty_refcount_blocks_.erase(block_offset);
}

void Qcow2Image::write_back_refcounts() {
  while (!dirty_refcount_blocks_.empty()) write_back_refcount_block(*dirty_refcount_blocks_.begin());
}

void Qcow2Image::free_clusters(uint64_t first, uint64_t count) { update_refcounts(first, count, -1); }

}  // namespace vireo
