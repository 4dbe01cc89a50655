#include "block/qcow2.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "util/log.h"

namespace vireo {

namespace {

// Bytes of table memory each cache may hold (tables are cluster sized).
constexpr uint64_t kCacheBytes = 4u << 20;

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

Qcow2Image::Qcow2Image(HostFile file, Qcow2Header header, CacheMode cache, std::unique_ptr<BlockBackend> backing)
    : file_(std::move(file)),
      header_(std::move(header)),
      cache_(cache),
      backing_(std::move(backing)),
      cluster_size_(header_.cluster_size()) {
  l2_cache_capacity_ = std::max<uint64_t>(8, kCacheBytes / cluster_size_);
  refcount_cache_capacity_ = l2_cache_capacity_;

  std::vector<uint8_t> bytes(uint64_t{header_.l1_size} * 8);
  file_.read_at(header_.l1_table_offset, bytes);
  l1_table_.resize(header_.l1_size);
  for (size_t i = 0; i < l1_table_.size(); ++i) l1_table_[i] = load_be(&bytes[i * 8], 8);

  bytes.assign(uint64_t{header_.refcount_table_clusters} * cluster_size_, 0);
  file_.read_at(header_.refcount_table_offset, bytes);
  refcount_table_.resize(bytes.size() / 8);
  for (size_t i = 0; i < refcount_table_.size(); ++i) refcount_table_[i] = load_be(&bytes[i * 8], 8);
  refcount_table_disk_entries_ = refcount_table_.size();
  host_end_cluster_ = (file_.size_bytes() + cluster_size_ - 1) / cluster_size_;

  if (file_.read_only()) return;
  if (header_.incompatible_features & kIncompatCorrupt) {
    throw BlockError("qcow2: Image is corrupt; cannot be opened read/write");
  }
  if (header_.incompatible_features & kIncompatDirty) repair_dirty_image();
  lazy_refcounts_ = header_.version >= 3 && (header_.compatible_features & kCompatLazyRefcounts);
  if (header_.autoclear_features != 0 && header_.version == 3) {
    // Autoclear features (bitmaps, raw external data) describe data this
    // driver does not keep up to date: clearing the bits tells the next
    // reader they are stale (qcow2.txt, "autoclear features").
    header_.autoclear_features = 0;
    uint8_t zero[8] = {};
    file_.write_at(kHeaderAutoclearFeatures, zero);
  }
}

Qcow2Image::~Qcow2Image() {
  if (!dirty_bit_set_) return;
  // A clean close: the deferred refcounts on disk, then the bit cleared.
  // If this fails the bit stays set and the next writable open recounts.
  try {
    write_back_refcounts();
    set_dirty_bit(false);
  } catch (const BlockError& e) {
    log_warning(std::string("qcow2: leaving '") + file_.path() + "' marked dirty: " + e.what());
  }
}

void Qcow2Image::check_range(uint64_t offset, uint64_t length) const {
  if (offset > header_.size_bytes || length > header_.size_bytes - offset) {
    throw BlockError("request beyond the end of '" + file_.path() + "'");
  }
}

void Qcow2Image::check_writable() const {
  if (file_.read_only()) throw BlockError("'" + file_.path() + "' is read-only");
}

void Qcow2Image::corrupt(const std::string& what) {
  // As QEMU does (qcow2_signal_corruption): a writable image gets the
  // corrupt bit, so that nothing writes to it again before a repair.
  if (!file_.read_only() && header_.version == 3 && !(header_.incompatible_features & kIncompatCorrupt)) {
    header_.incompatible_features |= kIncompatCorrupt;
    uint8_t bits[8];
    store_be(bits, 8, header_.incompatible_features);
    try {
      file_.write_at(kHeaderIncompatibleFeatures, bits);
      file_.flush();
    } catch (const BlockError&) {
    }
    log_warning("qcow2: marking '" + file_.path() + "' as corrupt: " + what);
  }
  throw BlockError("qcow2: image '" + file_.path() + "' is corrupt: " + what);
}

Qcow2ClusterKind Qcow2Image::classify(uint64_t entry) const {
  if (entry & kEntryCompressed) return Qcow2ClusterKind::Compressed;
  if (header_.version >= 3 && (entry & kEntryZero)) return Qcow2ClusterKind::Zero;
  if ((entry & kEntryOffsetMask) == 0) return Qcow2ClusterKind::Unallocated;
  return Qcow2ClusterKind::Normal;
}

Qcow2Image::CompressedRef Qcow2Image::compressed_ref(uint64_t entry) const {
  // qcow2.txt, "Compressed Clusters Descriptor": x = 62 - (cluster_bits - 8).
  const uint32_t offset_bits = 62 - (header_.cluster_bits - 8);
  uint64_t host = entry & ((1ull << offset_bits) - 1);
  uint64_t sectors = ((entry & ~(kEntryCompressed | kEntryCopied)) >> offset_bits) + 1;
  return {host, sectors * 512 - (host & 511)};
}

// --- L2 tables ---------------------------------------------------------

std::shared_ptr<Qcow2Image::L2Table> Qcow2Image::load_l2(uint64_t l2_offset) {
  auto found = l2_cache_.find(l2_offset);
  if (found != l2_cache_.end()) return found->second;
  if (l2_offset % cluster_size_ != 0) corrupt("L2 table offset " + hex(l2_offset) + " is not cluster aligned");
  if (l2_offset < cluster_size_) corrupt("L2 table overlaps the header");
  // Past the end of the file it could only read as zeroes, and writing it
  // in place would grow the file to wherever a corrupt entry points.
  if (l2_offset / cluster_size_ >= host_end_cluster_) corrupt("L2 table at " + hex(l2_offset) + " lies past the end of the image");
  std::vector<uint8_t> bytes(cluster_size_);
  file_.read_at(l2_offset, bytes);
  auto table = std::make_shared<L2Table>();
  table->entries.resize(l2_entries());
  for (size_t i = 0; i < table->entries.size(); ++i) table->entries[i] = load_be(&bytes[i * 8], 8);
  if (l2_cache_.size() >= l2_cache_capacity_) l2_cache_.erase(l2_cache_.begin());
  l2_cache_[l2_offset] = table;
  return table;
}

std::shared_ptr<Qcow2Image::L2Table> Qcow2Image::l2_for_read(uint64_t guest_offset) {
  uint64_t l1_index = guest_offset / l2_coverage_bytes();
  if (l1_index >= l1_table_.size()) return nullptr;
  uint64_t l2_offset = l1_table_[l1_index] & kEntryOffsetMask;
  if (l2_offset == 0) return nullptr;
  return load_l2(l2_offset);
}

void Qcow2Image::write_l2_entries(uint64_t l2_offset, const L2Table& table, uint64_t first, uint64_t count) {
  std::vector<uint8_t> bytes(count * 8);
  for (uint64_t i = 0; i < count; ++i) store_be(&bytes[i * 8], 8, table.entries[first + i]);
  file_.write_at(l2_offset + first * 8, bytes);
}

std::pair<std::shared_ptr<Qcow2Image::L2Table>, uint64_t> Qcow2Image::writable_l2(uint64_t l1_index) {
  if (l1_index >= l1_table_.size()) throw BlockError("L1 index out of range in '" + file_.path() + "'");
  uint64_t l1_entry = l1_table_[l1_index];
  uint64_t old_offset = l1_entry & kEntryOffsetMask;
  if (old_offset != 0 && (l1_entry & kEntryCopied)) return {load_l2(old_offset), old_offset};

  // A new table, or a copy of one shared with a snapshot. The copy points
  // to the same data clusters, which keep their counts: the snapshot's
  // table and ours each count once, as before (qcow2.txt, "Snapshots").
  std::shared_ptr<L2Table> table;
  if (old_offset != 0) {
    table = std::make_shared<L2Table>(*load_l2(old_offset));
  } else {
    table = std::make_shared<L2Table>();
    table->entries.assign(l2_entries(), 0);
  }
  uint64_t new_offset = allocate_clusters(1);
  write_l2_entries(new_offset, *table, 0, l2_entries());
  l1_table_[l1_index] = new_offset | kEntryCopied;
  uint8_t bytes[8];
  store_be(bytes, 8, l1_table_[l1_index]);
  file_.write_at(header_.l1_table_offset + l1_index * 8, bytes);
  if (old_offset != 0) free_clusters(old_offset / cluster_size_, 1);
  if (l2_cache_.size() >= l2_cache_capacity_) l2_cache_.erase(l2_cache_.begin());
  l2_cache_[new_offset] = table;
  return {table, new_offset};
}

// --- Reads -------------------------------------------------------------

std::pair<Qcow2ClusterKind, uint64_t> Qcow2Image::cluster_status(uint64_t offset) {
  std::shared_ptr<L2Table> table = l2_for_read(offset);
  uint64_t entry = table ? table->entries[(offset / cluster_size_) % l2_entries()] : 0;
  Qcow2ClusterKind kind = classify(entry);
  if (kind == Qcow2ClusterKind::Compressed) return {kind, compressed_ref(entry).host_offset};
  return {kind, entry & kEntryOffsetMask};
}

void Qcow2Image::read_from_backing(uint64_t guest_offset, std::span<uint8_t> out) {
  uint64_t backing_bytes = backing_ ? backing_->size_bytes() : 0;
  uint64_t available = guest_offset < backing_bytes ? std::min<uint64_t>(out.size(), backing_bytes - guest_offset) : 0;
  if (available > 0) backing_->read(guest_offset, out.first(available));
  std::fill(out.begin() + static_cast<ptrdiff_t>(available), out.end(), uint8_t{0});
}

void Qcow2Image::decompress_cluster(uint64_t entry, std::span<uint8_t> out) {
  if (decompressed_entry_ != entry || decompressed_.size() != cluster_size_) {
    CompressedRef ref = compressed_ref(entry);
    std::vector<uint8_t> input(ref.length_bytes);
    file_.read_at(ref.host_offset, input);
    decompressed_.assign(cluster_size_, 0);
    // Raw deflate without a zlib header (QEMU compresses with windowBits
    // -12; -15 inflates any raw stream).
    z_stream stream{};
    if (inflateInit2(&stream, -15) != Z_OK) throw BlockError("zlib initialisation failed");
    stream.next_in = input.data();
    stream.avail_in = static_cast<uInt>(input.size());
    stream.next_out = decompressed_.data();
    stream.avail_out = static_cast<uInt>(decompressed_.size());
    int result = inflate(&stream, Z_FINISH);
    bool filled = stream.avail_out == 0;
    inflateEnd(&stream);
    if (!filled || (result != Z_STREAM_END && result != Z_OK && result != Z_BUF_ERROR)) {
      decompressed_entry_ = 0;
      throw BlockError("qcow2: image '" + file_.path() + "' is corrupt: compressed cluster at " +
                       hex(ref.host_offset) + " does not inflate to a cluster");
    }
    decompressed_entry_ = entry;
  }
  std::memcpy(out.data(), decompressed_.data(), out.size());
}

// Reads the part of one guest cluster from `guest_offset` (out.size()
// bytes, not past the cluster) as `entry` maps it.
void Qcow2Image::read_cluster_bytes(uint64_t guest_offset, uint64_t entry, std::span<uint8_t> out) {
  switch (classify(entry)) {
    case Qcow2ClusterKind::Unallocated:
      read_from_backing(guest_offset, out);
      return;
    case Qcow2ClusterKind::Zero:
      std::fill(out.begin(), out.end(), uint8_t{0});
      return;
    case Qcow2ClusterKind::Compressed: {
      std::vector<uint8_t> cluster(cluster_size_);
      decompress_cluster(entry, cluster);
      std::memcpy(out.data(), cluster.data() + guest_offset % cluster_size_, out.size());
      return;
    }
    case Qcow2ClusterKind::Normal: {
      uint64_t host = entry & kEntryOffsetMask;
      if (host % cluster_size_ != 0) corrupt("data cluster offset " + hex(host) + " is not cluster aligned");
      file_.read_at(host + guest_offset % cluster_size_, out);
      return;
    }
  }
}

Qcow2Image::ReadExtent Qcow2Image::read_extent(uint64_t position, uint64_t max_bytes) {
  std::shared_ptr<L2Table> table = l2_for_read(position);
  uint64_t index = (position / cluster_size_) % l2_entries();
  uint64_t entry = table ? table->entries[index] : 0;
  Qcow2ClusterKind kind = classify(entry);
  // Coalesce following clusters read the same way: contiguous host
  // clusters in one read, unallocated and zero runs in one step.
  uint64_t run = std::min<uint64_t>(cluster_size_ - position % cluster_size_, max_bytes);
  if (kind != Qcow2ClusterKind::Compressed) {
    uint64_t next_host = (entry & kEntryOffsetMask) + cluster_size_;
    for (uint64_t i = index + 1; i < l2_entries() && run < max_bytes; ++i) {
      uint64_t next = table ? table->entries[i] : 0;
      if (classify(next) != kind) break;
      if (kind == Qcow2ClusterKind::Normal) {
        if ((next & kEntryOffsetMask) != next_host) break;
        next_host += cluster_size_;
      }
      run += std::min<uint64_t>(cluster_size_, max_bytes - run);
    }
  }
  return {kind, entry, run};
}

void Qcow2Image::read_extent_bytes(uint64_t position, const ReadExtent& extent, std::span<uint8_t> out) {
  if (extent.kind == Qcow2ClusterKind::Unallocated) {
    read_from_backing(position, out);
  } else {
    read_cluster_bytes(position, extent.entry, out);  // a Normal run reads contiguously
  }
}

void Qcow2Image::read(uint64_t offset, std::span<uint8_t> data) {
  check_range(offset, data.size());
  uint64_t done = 0;
  while (done < data.size()) {
    ReadExtent extent = read_extent(offset + done, data.size() - done);
    read_extent_bytes(offset + done, extent, data.subspan(done, extent.bytes));
    done += extent.bytes;
  }
}

void Qcow2Image::readv(uint64_t offset, std::span<const std::span<uint8_t>> pieces) {
  uint64_t remaining = 0;
  for (std::span<uint8_t> piece : pieces) remaining += piece.size();
  check_range(offset, remaining);
  std::vector<std::span<uint8_t>> parts;
  size_t next = 0;    // the piece being filled
  uint64_t skip = 0;  // bytes of it already filled
  uint64_t position = offset;
  while (remaining > 0) {
    ReadExtent extent = read_extent(position, remaining);
    // The parts of the pieces that this extent fills.
    parts.clear();
    for (uint64_t need = extent.bytes; need > 0 || (next < pieces.size() && pieces[next].size() == skip);) {
      uint64_t take = std::min(need, pieces[next].size() - skip);
      if (take > 0) parts.push_back(pieces[next].subspan(skip, take));
      skip += take;
      need -= take;
      if (skip == pieces[next].size()) {
        ++next;
        skip = 0;
      }
    }
    if (extent.kind == Qcow2ClusterKind::Normal) {
      // One preadv for a run of contiguous host clusters, however the
      // device's buffers are scattered.
      uint64_t host = extent.entry & kEntryOffsetMask;
      if (host % cluster_size_ != 0) corrupt("data cluster offset " + hex(host) + " is not cluster aligned");
      file_.readv_at(host + position % cluster_size_, parts);
    } else {
      uint64_t at = position;
      for (std::span<uint8_t> part : parts) {
        read_extent_bytes(at, extent, part);
        at += part.size();
      }
    }
    position += extent.bytes;
    remaining -= extent.bytes;
  }
}

// --- Writes ------------------------------------------------------------

void Qcow2Image::check_data_cluster_for_write(uint64_t host) {
  // A corrupt L2 entry must not make a guest write land in metadata or far
  // past the file (QEMU's overlap checks do the same for the tables it
  // knows; this covers the header, L1 and refcount tables).
  if (host % cluster_size_ != 0) corrupt("data cluster offset " + hex(host) + " is not cluster aligned");
  uint64_t cluster = host / cluster_size_;
  auto inside = [&](uint64_t table_offset, uint64_t table_bytes) {
    return host + cluster_size_ > table_offset && host < table_offset + table_bytes;
  };
  if (cluster == 0 || cluster >= host_end_cluster_ || inside(header_.l1_table_offset, uint64_t{header_.l1_size} * 8) ||
      inside(header_.refcount_table_offset, uint64_t{header_.refcount_table_clusters} * cluster_size_)) {
    corrupt("data cluster at " + hex(host) + " overlaps metadata or lies past the end of the image");
  }
}

void Qcow2Image::release_entry(uint64_t entry) {
  Qcow2ClusterKind kind = classify(entry);
  if (kind == Qcow2ClusterKind::Compressed) {
    CompressedRef ref = compressed_ref(entry);
    uint64_t first = ref.host_offset / cluster_size_;
    uint64_t last = (ref.host_offset + ref.length_bytes - 1) / cluster_size_;
    free_clusters(first, last - first + 1);
  } else if ((entry & kEntryOffsetMask) != 0) {  // normal, or a zero cluster that kept its allocation
    free_clusters((entry & kEntryOffsetMask) / cluster_size_, 1);
  }
}

void Qcow2Image::write_in_l2(uint64_t offset, std::span<const uint8_t> data) {
  auto [table, l2_offset] = writable_l2(offset / l2_coverage_bytes());
  const uint64_t end = offset + data.size();
  auto in_place = [&](uint64_t entry) {
    return classify(entry) == Qcow2ClusterKind::Normal && (entry & kEntryCopied);
  };
  uint64_t position = offset;
  while (position < end) {
    uint64_t index = (position / cluster_size_) % l2_entries();
    uint64_t cluster_start = position - position % cluster_size_;
    if (in_place(table->entries[index])) {
      uint64_t host = table->entries[index] & kEntryOffsetMask;
      check_data_cluster_for_write(host);
      uint64_t run_end = std::min(end, cluster_start + cluster_size_);
      for (uint64_t i = index + 1; run_end < end && in_place(table->entries[i]) &&
                                   (table->entries[i] & kEntryOffsetMask) == host + (i - index) * cluster_size_;
           ++i) {
        run_end = std::min(end, run_end + cluster_size_);
      }
      file_.write_at(host + position % cluster_size_, data.subspan(position - offset, run_end - position));
      position = run_end;
      continue;
    }

    // A run of clusters that need new host clusters: allocate them in one
    // piece, copy what the write leaves of the old contents (COW), write
    // the data, then point the L2 entries at them.
    uint64_t count = 1;
    while (cluster_start + count * cluster_size_ < end && !in_place(table->entries[index + count])) ++count;
    uint64_t host = allocate_clusters(count);
    uint64_t run_end = std::min(end, cluster_start + count * cluster_size_);
    uint64_t cursor = position;
    std::vector<uint8_t> cluster;
    for (uint64_t i = 0; i < count;) {
      uint64_t guest = cluster_start + i * cluster_size_;
      uint64_t from = std::max(cursor, guest);
      uint64_t to = std::min(run_end, guest + cluster_size_);
      if (from == guest && to == guest + cluster_size_) {
        // Whole clusters straight from the caller's buffer.
        uint64_t whole = 1;
        while (i + whole < count && guest + (whole + 1) * cluster_size_ <= run_end) ++whole;
        file_.write_at(host + i * cluster_size_, data.subspan(guest - offset, whole * cluster_size_));
        i += whole;
        continue;
      }
      cluster.resize(cluster_size_);
      read_cluster_bytes(guest, table->entries[index + i], cluster);
      std::memcpy(cluster.data() + (from - guest), data.data() + (from - offset), to - from);
      file_.write_at(host + i * cluster_size_, cluster);
      ++i;
    }
    std::vector<uint64_t> old(table->entries.begin() + static_cast<ptrdiff_t>(index),
                              table->entries.begin() + static_cast<ptrdiff_t>(index + count));
    for (uint64_t i = 0; i < count; ++i) table->entries[index + i] = (host + i * cluster_size_) | kEntryCopied;
    write_l2_entries(l2_offset, *table, index, count);
    for (uint64_t entry : old) release_entry(entry);
    position = run_end;
  }
}

void Qcow2Image::write(uint64_t offset, std::span<const uint8_t> data) {
  check_writable();
  check_range(offset, data.size());
  uint64_t done = 0;
  while (done < data.size()) {
    uint64_t position = offset + done;
    uint64_t chunk = std::min<uint64_t>(l2_coverage_bytes() - position % l2_coverage_bytes(), data.size() - done);
    write_in_l2(position, data.subspan(done, chunk));
    done += chunk;
  }
  if (cache_ == CacheMode::Writethrough || cache_ == CacheMode::Directsync) file_.flush();
}

std::vector<uint8_t> Qcow2Image::compress_cluster(std::span<const uint8_t> cluster) const {
  std::vector<uint8_t> whole(cluster_size_, 0);
  std::memcpy(whole.data(), cluster.data(), std::min<uint64_t>(cluster.size(), cluster_size_));
  // QEMU's parameters (qcow2_compress): raw deflate, 4 KiB window.
  std::vector<uint8_t> packed(cluster_size_);
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw BlockError("zlib initialisation failed");
  }
  stream.next_in = whole.data();
  stream.avail_in = static_cast<uInt>(whole.size());
  stream.next_out = packed.data();
  stream.avail_out = static_cast<uInt>(packed.size() - 1);  // must end up smaller than a cluster
  int result = deflate(&stream, Z_FINISH);
  packed.resize(packed.size() - 1 - stream.avail_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) packed.clear();  // incompressible
  return packed;
}

void Qcow2Image::write_compressed(uint64_t offset, std::span<const uint8_t> cluster,
                                  const std::vector<uint8_t>* compressed) {
  check_writable();
  if (offset % cluster_size_ != 0 || cluster.size() != std::min(cluster_size_, header_.size_bytes - offset)) {
    throw BlockError("compressed writes must cover exactly one cluster");
  }
  std::vector<uint8_t> own;
  if (!compressed) {
    own = compress_cluster(cluster);
    compressed = &own;
  }
  if (compressed->empty()) {
    write(offset, cluster);  // incompressible: stored as a normal cluster
    return;
  }
  const std::vector<uint8_t>& packed = *compressed;
  const uint64_t packed_bytes = packed.size();

  auto [table, l2_offset] = writable_l2(offset / l2_coverage_bytes());
  uint64_t index = (offset / cluster_size_) % l2_entries();
  // Compressed clusters are packed back to back; each one stays inside a
  // single host cluster, whose refcount counts the compressed clusters in it.
  uint64_t host;
  uint64_t tail = compressed_next_byte_;
  // A narrow refcount (1 to 4 bits) may not count another user: then the
  // next compressed cluster starts a new host cluster.
  if (tail != 0 && tail % cluster_size_ != 0 && tail % cluster_size_ + packed_bytes <= cluster_size_ &&
      get_refcount(tail / cluster_size_) < max_refcount()) {
    update_refcounts(tail / cluster_size_, 1, +1);
    host = tail;
  } else {
    host = allocate_clusters(1);
  }
  file_.write_at(host, std::span(packed.data(), packed_bytes));
  compressed_next_byte_ = host + packed_bytes;
  const uint32_t offset_bits = 62 - (header_.cluster_bits - 8);
  uint64_t extra_sectors = ((host & 511) + packed_bytes - 1) / 512;
  uint64_t old = table->entries[index];
  table->entries[index] = kEntryCompressed | (extra_sectors << offset_bits) | host;
  write_l2_entries(l2_offset, *table, index, 1);
  release_entry(old);
}

void Qcow2Image::set_clusters(uint64_t offset, uint64_t length, uint64_t new_entry) {
  uint64_t l1_index = offset / l2_coverage_bytes();
  if ((l1_table_[l1_index] & kEntryOffsetMask) == 0 && !backing_) return;  // reads as zeroes already
  auto [table, l2_offset] = writable_l2(l1_index);
  uint64_t first = (offset / cluster_size_) % l2_entries();
  uint64_t count = (length + cluster_size_ - 1) / cluster_size_;
  std::vector<uint64_t> old(table->entries.begin() + static_cast<ptrdiff_t>(first),
                            table->entries.begin() + static_cast<ptrdiff_t>(first + count));
  for (uint64_t i = 0; i < count; ++i) table->entries[first + i] = new_entry;
  write_l2_entries(l2_offset, *table, first, count);
  for (uint64_t entry : old) release_entry(entry);
}

void Qcow2Image::discard(uint64_t offset, uint64_t length) {
  check_writable();
  check_range(offset, length);
  // Only whole clusters can be discarded; the last cluster of an image whose
  // size is not a multiple of the cluster size counts as whole.
  uint64_t start = (offset + cluster_size_ - 1) / cluster_size_ * cluster_size_;
  uint64_t end = offset + length == header_.size_bytes ? offset + length : (offset + length) / cluster_size_ * cluster_size_;
  if (start >= end) return;
  uint64_t new_entry = 0;
  if (backing_) {
    if (header_.version < 3) return;  // unallocated would show the backing file's data
    new_entry = kEntryZero;
  }
  for (uint64_t position = start; position < end;) {
    uint64_t chunk = std::min(end - position, l2_coverage_bytes() - position % l2_coverage_bytes());
    set_clusters(position, chunk, new_entry);
    position += chunk;
  }
}

void Qcow2Image::write_zeroes(uint64_t offset, uint64_t length) {
  check_writable();
  check_range(offset, length);
  uint64_t start = (offset + cluster_size_ - 1) / cluster_size_ * cluster_size_;
  uint64_t end = offset + length == header_.size_bytes ? offset + length : (offset + length) / cluster_size_ * cluster_size_;
  bool whole_clusters_by_metadata = header_.version >= 3 || !backing_;
  auto write_zero_bytes = [&](uint64_t from, uint64_t bytes) {
    std::vector<uint8_t> zeroes(std::min<uint64_t>(bytes, 1 << 20), 0);
    for (uint64_t done = 0; done < bytes;) {
      uint64_t chunk = std::min<uint64_t>(zeroes.size(), bytes - done);
      write(from + done, std::span(zeroes.data(), chunk));
      done += chunk;
    }
  };
  if (start >= end || !whole_clusters_by_metadata) {
    write_zero_bytes(offset, length);
    return;
  }
  if (offset < start) write_zero_bytes(offset, start - offset);
  uint64_t new_entry = header_.version >= 3 ? kEntryZero : 0;
  for (uint64_t position = start; position < end;) {
    uint64_t chunk = std::min(end - position, l2_coverage_bytes() - position % l2_coverage_bytes());
    set_clusters(position, chunk, new_entry);
    position += chunk;
  }
  if (end < offset + length) write_zero_bytes(end, offset + length - end);
  if (cache_ == CacheMode::Writethrough || cache_ == CacheMode::Directsync) file_.flush();
}

void Qcow2Image::flush() {
  // Deferred refcounts reach the file on a guest flush, as QEMU writes its
  // refcount cache back there; the dirty bit stays until the close.
  write_back_refcounts();
  if (cache_ == CacheMode::Unsafe) return;
  file_.flush();
}

}  // namespace vireo
