// Internal snapshots (qcow2.txt, "Snapshots"): a snapshot is a copy of the
// L1 table; everything it reaches gets one more reference, and COPIED
// flags are cleared wherever a cluster becomes shared, so that the next
// write to it copies first.
#include <algorithm>
#include <cstring>

#include "block/qcow2.h"

namespace vireo {

namespace {

constexpr uint64_t kSnapshotFixedBytes = 40;
// The extra data QEMU writes: vm_state_size_large, disk_size, icount.
constexpr uint64_t kSnapshotExtraBytes = 24;

}  // namespace

std::vector<Qcow2Snapshot> Qcow2Image::snapshots() {
  std::vector<Qcow2Snapshot> out;
  const uint64_t file_bytes = file_.size_bytes();
  uint64_t at = header_.snapshots_offset;
  for (uint32_t i = 0; i < header_.nb_snapshots; ++i) {
    uint8_t fixed[kSnapshotFixedBytes];
    if (at + kSnapshotFixedBytes > file_bytes) throw BlockError("qcow2: snapshot table lies outside the image");
    file_.read_at(at, fixed);
    Qcow2Snapshot snapshot;
    snapshot.l1_table_offset = load_be(fixed, 8);
    snapshot.l1_size = static_cast<uint32_t>(load_be(fixed + 8, 4));
    uint64_t id_bytes = load_be(fixed + 12, 2);
    uint64_t name_bytes = load_be(fixed + 14, 2);
    snapshot.date_sec = static_cast<uint32_t>(load_be(fixed + 16, 4));
    snapshot.date_nsec = static_cast<uint32_t>(load_be(fixed + 20, 4));
    snapshot.vm_clock_nsec = load_be(fixed + 24, 8);
    snapshot.vm_state_size = static_cast<uint32_t>(load_be(fixed + 32, 4));
    uint64_t extra_bytes = load_be(fixed + 36, 4);
    uint64_t total = kSnapshotFixedBytes + extra_bytes + id_bytes + name_bytes;
    if (extra_bytes > 1024 || at + total > file_bytes) throw BlockError("qcow2: snapshot table entry is invalid");
    std::vector<uint8_t> rest(total - kSnapshotFixedBytes);
    file_.read_at(at + kSnapshotFixedBytes, rest);
    if (extra_bytes >= 16) snapshot.disk_size_bytes = load_be(&rest[8], 8);
    snapshot.id.assign(reinterpret_cast<const char*>(&rest[extra_bytes]), id_bytes);
    snapshot.name.assign(reinterpret_cast<const char*>(&rest[extra_bytes + id_bytes]), name_bytes);
    if (snapshot.l1_size > kQcow2MaxL1Bytes / 8 || snapshot.l1_table_offset % cluster_size_ != 0) {
      throw BlockError("qcow2: snapshot " + snapshot.id + " has an invalid L1 table");
    }
    out.push_back(std::move(snapshot));
    at += (total + 7) & ~uint64_t{7};
  }
  return out;
}


std::vector<uint64_t> Qcow2Image::read_l1(uint64_t offset, uint32_t entries) {
  std::vector<uint8_t> bytes(uint64_t{entries} * 8);
  file_.read_at(offset, bytes);
  std::vector<uint64_t> l1(entries);
  for (size_t i = 0; i < l1.size(); ++i) l1[i] = load_be(&bytes[i * 8], 8);
  return l1;
}

void Qcow2Image::reload_tables() {
  write_back_refcounts();
  l2_cache_.clear();
  refcount_block_cache_.clear();
  l1_table_ = read_l1(header_.l1_table_offset, header_.l1_size);
}

void Qcow2Image::add_l1_references(const std::vector<uint64_t>& l1, int64_t delta) {
  for (uint64_t l1_entry : l1) {
    uint64_t l2_offset = l1_entry & kEntryOffsetMask;
    if (l2_offset == 0) continue;
    std::shared_ptr<L2Table> table = load_l2(l2_offset);
    for (uint64_t entry : table->entries) {
      Qcow2ClusterKind kind = classify(entry);
      if (kind == Qcow2ClusterKind::Compressed) {
        CompressedRef ref = compressed_ref(entry);
        uint64_t first = ref.host_offset / cluster_size_;
        uint64_t last = (ref.host_offset + ref.length_bytes - 1) / cluster_size_;
        update_refcounts(first, last - first + 1, delta);
      } else if ((entry & kEntryOffsetMask) != 0) {
        update_refcounts((entry & kEntryOffsetMask) / cluster_size_, 1, delta);
      }
    }
    update_refcounts(l2_offset / cluster_size_, 1, delta);
  }
}

void Qcow2Image::update_copied_flags() {
  for (uint64_t i = 0; i < l1_table_.size(); ++i) {
    uint64_t l2_offset = l1_table_[i] & kEntryOffsetMask;
    if (l2_offset == 0) continue;
    std::shared_ptr<L2Table> table = load_l2(l2_offset);
    bool changed = false;
    for (uint64_t& entry : table->entries) {
      if (classify(entry) != Qcow2ClusterKind::Normal && !(classify(entry) == Qcow2ClusterKind::Zero && (entry & kEntryOffsetMask))) {
        continue;
      }
      bool copied = get_refcount((entry & kEntryOffsetMask) / cluster_size_) == 1;
      uint64_t updated = copied ? entry | kEntryCopied : entry & ~kEntryCopied;
      if (updated != entry) {
        entry = updated;
        changed = true;
      }
    }
    if (changed) write_l2_entries(l2_offset, *table, 0, l2_entries());
    bool copied = get_refcount(l2_offset / cluster_size_) == 1;
    uint64_t updated = copied ? l1_table_[i] | kEntryCopied : l1_table_[i] & ~kEntryCopied;
    if (updated != l1_table_[i]) {
      l1_table_[i] = updated;
      uint8_t bytes[8];
      store_be(bytes, 8, updated);
      file_.write_at(header_.l1_table_offset + i * 8, bytes);
    }
  }
}

void Qcow2Image::write_snapshot_table(const std::vector<Qcow2Snapshot>& list) {
  std::vector<uint8_t> table;
  for (const Qcow2Snapshot& s : list) {
    if (s.id.size() > 0xffff || s.name.size() > 0xffff) throw BlockError("snapshot name is too long");
    size_t at = table.size();
    size_t entry_bytes = kSnapshotFixedBytes + kSnapshotExtraBytes + s.id.size() + s.name.size();
    table.resize(at + ((entry_bytes + 7) & ~size_t{7}), 0);
    uint8_t* p = &table[at];
    store_be(p, 8, s.l1_table_offset);
    store_be(p + 8, 4, s.l1_size);
    store_be(p + 12, 2, s.id.size());
    store_be(p + 14, 2, s.name.size());
    store_be(p + 16, 4, s.date_sec);
    store_be(p + 20, 4, s.date_nsec);
    store_be(p + 24, 8, s.vm_clock_nsec);
    store_be(p + 32, 4, s.vm_state_size);
    store_be(p + 36, 4, kSnapshotExtraBytes);
    store_be(p + 40, 8, s.vm_state_size);
    store_be(p + 48, 8, s.disk_size_bytes);
    store_be(p + 56, 8, 0);  // icount: no record/replay, as qemu-img writes
    std::memcpy(p + 64, s.id.data(), s.id.size());
    std::memcpy(p + 64 + s.id.size(), s.name.data(), s.name.size());
  }
  // The new table goes to new clusters; one header write switches to it
  // (nb_snapshots and snapshots_offset are adjacent, bytes 60-71); then
  // the old table is freed.
  uint64_t new_offset = 0;
  uint64_t new_clusters = (table.size() + cluster_size_ - 1) / cluster_size_;
  if (new_clusters > 0) {
    new_offset = allocate_clusters(new_clusters);
    table.resize(new_clusters * cluster_size_, 0);
    file_.write_at(new_offset, table);
  }
  uint8_t fields[12];
  store_be(fields, 4, list.size());
  store_be(fields + 4, 8, new_offset);
  file_.write_at(60, fields);

  uint64_t old_offset = header_.snapshots_offset;
  uint64_t old_bytes = 0;
  if (header_.nb_snapshots > 0) {
    uint64_t at = old_offset;
    for (uint32_t i = 0; i < header_.nb_snapshots; ++i) {
      uint8_t fixed[kSnapshotFixedBytes];
      file_.read_at(at, fixed);
      at += (kSnapshotFixedBytes + load_be(fixed + 36, 4) + load_be(fixed + 12, 2) + load_be(fixed + 14, 2) + 7) & ~uint64_t{7};
    }
    old_bytes = at - old_offset;
  }
  header_.nb_snapshots = static_cast<uint32_t>(list.size());
  header_.snapshots_offset = new_offset;
  if (old_bytes > 0) free_clusters(old_offset / cluster_size_, (old_bytes + cluster_size_ - 1) / cluster_size_);
}

void Qcow2Image::create_snapshot(const std::string& name, uint32_t date_sec, uint32_t date_nsec) {
  check_writable();
  std::vector<Qcow2Snapshot> list = snapshots();
  uint64_t next_id = 1;
  // Names may repeat (qemu-img allows it); IDs are unique.
  for (const Qcow2Snapshot& s : list) {
    next_id = std::max<uint64_t>(next_id, std::strtoull(s.id.c_str(), nullptr, 10) + 1);
  }
  // 1. A copy of the active L1 table.
  uint64_t l1_bytes = l1_table_.size() * 8;
  uint64_t l1_clusters = std::max<uint64_t>(1, (l1_bytes + cluster_size_ - 1) / cluster_size_);
  uint64_t copy_offset = allocate_clusters(l1_clusters);
  std::vector<uint8_t> bytes(l1_clusters * cluster_size_, 0);
  for (size_t i = 0; i < l1_table_.size(); ++i) store_be(&bytes[i * 8], 8, l1_table_[i] & ~kEntryCopied);
  file_.write_at(copy_offset, bytes);
  // 2. Everything it reaches gets one more user; shared clusters lose
  //    COPIED. A crash up to here leaves leaks only.
  add_l1_references(l1_table_, +1);
  update_copied_flags();
  // 3. The snapshot table names the copy.
  Qcow2Snapshot snapshot;
  snapshot.id = std::to_string(next_id);
  snapshot.name = name;
  snapshot.l1_table_offset = copy_offset;
  snapshot.l1_size = static_cast<uint32_t>(l1_table_.size());
  snapshot.date_sec = date_sec;
  snapshot.date_nsec = date_nsec;
  snapshot.disk_size_bytes = header_.size_bytes;
  list.push_back(snapshot);
  write_snapshot_table(list);
  file_.flush();
}

namespace {

size_t find_snapshot(const std::vector<Qcow2Snapshot>& list, const std::string& name) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].id == name) return i;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].name == name) return i;
  }
  throw BlockError("Can't find the snapshot");
}

}  // namespace

void Qcow2Image::apply_snapshot(const std::string& name) {
  check_writable();
  std::vector<Qcow2Snapshot> list = snapshots();
  const Qcow2Snapshot& snapshot = list[find_snapshot(list, name)];
  if (snapshot.l1_size > l1_table_.size()) throw BlockError("snapshot's L1 table is larger than the image's");
  if (snapshot.disk_size_bytes != 0 && snapshot.disk_size_bytes != header_.size_bytes) {
    throw BlockError("applying a snapshot of another disk size is not supported");
  }
  std::vector<uint64_t> target = read_l1(snapshot.l1_table_offset, snapshot.l1_size);
  target.resize(l1_table_.size(), 0);
  // The snapshot's clusters gain the active table as a user before the
  // active table switches to them; the old active clusters lose it after.
  add_l1_references(target, +1);
  std::vector<uint64_t> old = l1_table_;
  std::vector<uint8_t> bytes(l1_table_.size() * 8);
  for (size_t i = 0; i < target.size(); ++i) store_be(&bytes[i * 8], 8, target[i] & ~kEntryCopied);
  file_.write_at(header_.l1_table_offset, bytes);
  l1_table_ = target;
  for (uint64_t& entry : l1_table_) entry &= ~kEntryCopied;
  add_l1_references(old, -1);
  l2_cache_.clear();
  update_copied_flags();
  file_.flush();
}

void Qcow2Image::delete_snapshot(const std::string& name) {
  check_writable();
  std::vector<Qcow2Snapshot> list = snapshots();
  size_t index = find_snapshot(list, name);
  Qcow2Snapshot snapshot = list[index];
  list.erase(list.begin() + static_cast<ptrdiff_t>(index));
  // Unreference (table without it), then drop its references.
  write_snapshot_table(list);
  std::vector<uint64_t> l1 = read_l1(snapshot.l1_table_offset, snapshot.l1_size);
  add_l1_references(l1, -1);
  uint64_t l1_clusters = std::max<uint64_t>(1, (uint64_t{snapshot.l1_size} * 8 + cluster_size_ - 1) / cluster_size_);
  free_clusters(snapshot.l1_table_offset / cluster_size_, l1_clusters);
  l2_cache_.clear();
  update_copied_flags();
  file_.flush();
}

}  // namespace vireo
