// What a disk device (virtio-blk, later IDE/AHCI) sees of its image: a
// byte-addressed, fixed-size store with flush, discard and write-zeroes.
// The format (raw, qcow2, a backing chain) and the host file behind it are
// hidden here; the device never parses an image.
//
// Calls are synchronous and may block on host I/O, so devices call them
// from an I/O thread, never from a vCPU thread. Implementations are not
// required to be thread-safe: one I/O thread per backend.
//
// Errors: a host I/O failure or a corrupt image throws BlockError, whose
// message names the image; the device turns it into an I/O error status
// for the guest and the VM keeps running.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "util/error.h"

namespace vireo {

class BlockError : public Error {
 public:
  using Error::Error;
};

class BlockBackend {
 public:
  virtual ~BlockBackend() = default;

  // The guest-visible size; fixed while the backend is open.
  virtual uint64_t size_bytes() const = 0;
  virtual bool read_only() const = 0;

  // [offset, offset + data.size()) must lie inside size_bytes(); callers
  // check guest requests before they get here (a BlockError otherwise).
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  // Reads consecutive bytes from `offset` into `pieces` in order (a
  // device's scatter list). The default reads piece by piece; formats
  // override it to read a contiguous host range with one preadv.
  virtual void readv(uint64_t offset, std::span<const std::span<uint8_t>> pieces) {
    for (std::span<uint8_t> piece : pieces) {
      read(offset, piece);
      offset += piece.size();
    }
  }
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
  virtual void flush() = 0;
  // The range may read back as anything afterwards (it usually reads as
  // zeroes); a backend that cannot discard does nothing.
  virtual void discard(uint64_t offset, uint64_t length) = 0;
  // The range reads back as zeroes afterwards.
  virtual void write_zeroes(uint64_t offset, uint64_t length) = 0;
};

// How -drive's cache= maps onto the host (QEMU's table in qemu-options.hx):
//   writeback: host page cache, guest flushes reach the disk.
//   none:      O_DIRECT, guest flushes reach the disk.
//   writethrough: host page cache, every write is flushed.
//   directsync:   O_DIRECT, every write is flushed.
//   unsafe:    host page cache, guest flushes are ignored.
enum class CacheMode { Writeback, None, Writethrough, Directsync, Unsafe };

struct BlockOpenOptions {
  std::string path;
  std::string format;  // "raw", "qcow2", or empty to probe
  bool read_only = false;
  CacheMode cache = CacheMode::Writeback;
  // Open a qcow2 image without its backing file (vireo-img info, check,
  // rebase -u): reads of unallocated clusters then return zeroes.
  bool no_backing = false;
  // Skip QEMU's advisory image locks (qemu-img -U, "force share").
  bool force_share = false;
  // -drive snapshot=on / -snapshot: the image is opened read-only under a
  // temporary qcow2 overlay that takes the writes; the overlay is deleted
  // as soon as it is open (in $TMPDIR, else /var/tmp, as QEMU does), so
  // nothing is left behind however vireo exits.
  bool snapshot = false;
};

// Opens an image for a device. Throws BlockError naming the file and the
// reason (missing, wrong format, locked by another process, corrupt).
// With an empty format, a file that starts with the qcow2 magic opens as
// qcow2 and anything else as raw. Backing files open read-only.
std::unique_ptr<BlockBackend> open_block_backend(const BlockOpenOptions& options);

// The format open_block_backend() would pick for the file: "qcow2" or "raw".
std::string probe_image_format(const std::string& path);

// A backing file name as the overlay at `image_path` means it: relative
// names are relative to the overlay's directory (qcow2.txt, QEMU).
std::string resolve_backing_path(const std::string& image_path, const std::string& backing_name);

}  // namespace vireo
