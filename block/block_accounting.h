// I/O accounting of one disk, as QEMU's query-blockstats reports it
// (BlockDeviceStats in qapi/block-core.json): requests and bytes by kind,
// failed requests (the host I/O failed) and invalid ones (the guest asked
// for something out of range), time spent, highest written offset.
//
// Threads: the device's I/O thread records, the monitor thread reads a
// snapshot; every counter is a relaxed atomic, so a snapshot may mix
// counters of two neighbouring requests, which a statistics reader can
// live with.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vireo {

enum class BlockIoKind { Read, Write, Flush, Unmap };

struct BlockIoCounters {
  uint64_t bytes = 0;
  uint64_t operations = 0;
  uint64_t failed = 0;
  uint64_t invalid = 0;
  uint64_t total_time_ns = 0;
};

struct BlockStatsSnapshot {
  BlockIoCounters read, write, flush, unmap;
  uint64_t write_highest_offset = 0;  // end of the highest write, in bytes
  // Host monotonic time of the last finished request; 0 if there was none.
  int64_t last_io_ns = 0;
};

class BlockAccounting {
 public:
  // A request that reached the image: `failed` when the host I/O failed.
  void done(BlockIoKind kind, uint64_t offset, uint64_t bytes, int64_t elapsed_ns, bool failed) {
    Counters& c = counters(kind);
    if (failed) {
      c.failed.fetch_add(1, std::memory_order_relaxed);
    } else {
      c.operations.fetch_add(1, std::memory_order_relaxed);
      c.bytes.fetch_add(bytes, std::memory_order_relaxed);
      if (kind == BlockIoKind::Write) {
        uint64_t end = offset + bytes;
        uint64_t highest = write_highest_offset_.load(std::memory_order_relaxed);
        while (end > highest && !write_highest_offset_.compare_exchange_weak(highest, end, std::memory_order_relaxed)) {
        }
      }
    }
    c.total_time_ns.fetch_add(static_cast<uint64_t>(elapsed_ns < 0 ? 0 : elapsed_ns), std::memory_order_relaxed);
    last_io_ns_.store(now_ns(), std::memory_order_relaxed);
  }
  // A request refused before it reached the image (out of range, a write
  // to a read-only disk).
  void invalid(BlockIoKind kind) {
    counters(kind).invalid.fetch_add(1, std::memory_order_relaxed);
    last_io_ns_.store(now_ns(), std::memory_order_relaxed);
  }

  BlockStatsSnapshot snapshot() const {
    BlockStatsSnapshot s;
    s.read = load(read_);
    s.write = load(write_);
    s.flush = load(flush_);
    s.unmap = load(unmap_);
    s.write_highest_offset = write_highest_offset_.load(std::memory_order_relaxed);
    s.last_io_ns = last_io_ns_.load(std::memory_order_relaxed);
    return s;
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  struct Counters {
    std::atomic<uint64_t> bytes{0}, operations{0}, failed{0}, invalid{0}, total_time_ns{0};
  };
  Counters& counters(BlockIoKind kind) {
    switch (kind) {
      case BlockIoKind::Read: return read_;
      case BlockIoKind::Write: return write_;
      case BlockIoKind::Flush: return flush_;
      case BlockIoKind::Unmap: break;
    }
    return unmap_;
  }
  static BlockIoCounters load(const Counters& c) {
    return {c.bytes.load(std::memory_order_relaxed), c.operations.load(std::memory_order_relaxed),
            c.failed.load(std::memory_order_relaxed), c.invalid.load(std::memory_order_relaxed),
            c.total_time_ns.load(std::memory_order_relaxed)};
  }

  Counters read_, write_, flush_, unmap_;
  std::atomic<uint64_t> write_highest_offset_{0};
  std::atomic<int64_t> last_io_ns_{0};
};

}  // namespace vireo
