// The host file (or block device) under an image format: positioned reads
// and writes that retry on EINTR and short transfers, and that bounce
// through an aligned buffer when the file was opened with O_DIRECT
// (cache=none|directsync), whose transfers must be aligned in buffer
// address, file offset and length (open(2), "O_DIRECT").
//
// Owned by one BlockBackend and used from its one I/O thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "block/block_backend.h"

namespace vireo {

class HostFile {
 public:
  // Opens `path`; throws BlockError "Could not open '<path>': <strerror>"
  // as QEMU words it.
  HostFile(const std::string& path, bool read_only, bool direct);
  // Creates (or truncates) `path` for writing, as qemu-img create does.
  static HostFile create(const std::string& path);
  HostFile(HostFile&& other) noexcept;
  HostFile& operator=(HostFile&&) = delete;
  HostFile(const HostFile&) = delete;
  ~HostFile();

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  uint64_t size_bytes() const;
  // Bytes the file occupies on the host (st_blocks * 512), for `info`.
  uint64_t allocated_bytes() const;

  // Reads past the end of the file read as zeroes.
  void read_at(uint64_t offset, std::span<uint8_t> data) const;
  // Reads consecutive bytes from `offset` into `pieces`, with preadv(2)
  // when the file is not O_DIRECT (else piece by piece through read_at).
  void readv_at(uint64_t offset, std::span<const std::span<uint8_t>> pieces) const;
  void write_at(uint64_t offset, std::span<const uint8_t> data);
  void flush();
  void truncate(uint64_t size_bytes);
  // Best effort: the range reads as zeroes afterwards when this returns true.
  bool punch_hole(uint64_t offset, uint64_t length);
  bool zero_range(uint64_t offset, uint64_t length);
  // Reserves space for the range (fallocate mode 0); false if unsupported.
  bool allocate(uint64_t offset, uint64_t length);
  // Takes QEMU's advisory locks for a user that reads (and, if `write`,
  // writes) the image and lets nobody else write or resize it; throws
  // BlockError in QEMU's words if another process (a QEMU, qemu-img or
  // vireo) holds a conflicting lock. Held until the file is closed.
  void lock(bool write);

  // Whether `offset` is in data or in a hole (SEEK_DATA/SEEK_HOLE), and the
  // bytes until that changes (at most to the end of the file).
  std::pair<bool, uint64_t> data_extent(uint64_t offset) const;

 private:
  HostFile(int fd, std::string path, bool read_only, bool direct);
  void read_plain(uint64_t offset, std::span<uint8_t> data) const;
  void write_plain(uint64_t offset, std::span<const uint8_t> data);

  int fd_;
  std::string path_;
  bool read_only_;
  bool direct_;
};

}  // namespace vireo
