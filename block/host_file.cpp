#include "block/host_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace vireo {

namespace {

// O_DIRECT's alignment: 4 KiB satisfies every logical block size Linux
// disks and file systems use (512 B and 4 KiB), so it is not probed.
constexpr uint64_t kDirectAlign = 4096;
// The largest bounce buffer; bigger transfers go through it in pieces.
constexpr uint64_t kBounceBytes = 1 << 20;

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], FreeDeleter>;

AlignedBuffer aligned_buffer(uint64_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, kDirectAlign, bytes) != 0) throw BlockError("out of memory for an I/O buffer");
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

bool aligned(uint64_t value) { return value % kDirectAlign == 0; }

// One trip through the bounce buffer for an unaligned O_DIRECT transfer of
// `size` bytes at `offset`, `done` bytes in: the aligned host range
// [start, start + span_bytes) holds the next `take` bytes at `skip`.
struct BouncePiece {
  uint64_t start;
  uint64_t skip;
  uint64_t take;
  uint64_t span_bytes;
};
BouncePiece bounce_piece(uint64_t offset, uint64_t size, uint64_t done) {
  uint64_t position = offset + done;
  BouncePiece piece;
  piece.start = position & ~(kDirectAlign - 1);
  piece.skip = position - piece.start;
  piece.take = std::min<uint64_t>(size - done, kBounceBytes - piece.skip);
  piece.span_bytes = (piece.skip + piece.take + kDirectAlign - 1) & ~(kDirectAlign - 1);
  return piece;
}

}  // namespace

HostFile::HostFile(int fd, std::string path, bool read_only, bool direct)
    : fd_(fd), path_(std::move(path)), read_only_(read_only), direct_(direct) {}

HostFile::HostFile(const std::string& path, bool read_only, bool direct)
    : fd_(-1), path_(path), read_only_(read_only), direct_(direct) {
  int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (direct) flags |= O_DIRECT;
  fd_ = open(path.c_str(), flags);
  if (fd_ < 0) throw BlockError(with_errno("Could not open '" + path + "'", errno));
}

HostFile HostFile::create(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw BlockError(with_errno("Could not create '" + path + "'", errno));
  return HostFile(fd, path, false, false);
}

HostFile::HostFile(HostFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), read_only_(other.read_only_), direct_(other.direct_) {
  other.fd_ = -1;
}

HostFile::~HostFile() {
  if (fd_ >= 0) close(fd_);
}

uint64_t HostFile::size_bytes() const {
  off_t end = lseek(fd_, 0, SEEK_END);  // block devices report size 0 in st_size
  if (end < 0) throw BlockError(with_errno("could not size '" + path_ + "'", errno));
  return static_cast<uint64_t>(end);
}

uint64_t HostFile::allocated_bytes() const {
  struct stat st;
  if (fstat(fd_, &st) != 0) throw BlockError(with_errno("could not stat '" + path_ + "'", errno));
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

void HostFile::read_plain(uint64_t offset, std::span<uint8_t> data) const {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw BlockError(with_errno("read from '" + path_ + "' failed", errno));
    if (n == 0) {  // past the end of the file
      std::fill(data.begin() + static_cast<ptrdiff_t>(done), data.end(), uint8_t{0});
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void HostFile::readv_at(uint64_t offset, std::span<const std::span<uint8_t>> pieces) const {
  if (direct_) {
    for (std::span<uint8_t> piece : pieces) {
      read_at(offset, piece);
      offset += piece.size();
    }
    return;
  }
  // preadv takes at most IOV_MAX buffers; a short transfer (a signal, the
  // end of the file) resumes from the piece where it stopped.
  std::vector<iovec> vectors;
  size_t next = 0;        // first piece not fully read
  uint64_t skip = 0;      // bytes of that piece already read
  while (next < pieces.size()) {
    vectors.clear();
    for (size_t i = next; i < pieces.size() && vectors.size() < IOV_MAX; ++i) {
      uint64_t from = i == next ? skip : 0;
      vectors.push_back({pieces[i].data() + from, pieces[i].size() - from});
    }
    ssize_t n = preadv(fd_, vectors.data(), static_cast<int>(vectors.size()), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw BlockError(with_errno("read from '" + path_ + "' failed", errno));
    if (n == 0) {  // past the end of the file: the rest reads as zeroes
      for (size_t i = next; i < pieces.size(); ++i) {
        std::fill(pieces[i].begin() + static_cast<ptrdiff_t>(i == next ? skip : 0), pieces[i].end(), uint8_t{0});
      }
      return;
    }
    offset += static_cast<uint64_t>(n);
    uint64_t left = static_cast<uint64_t>(n);
    while (left > 0) {
      uint64_t rest = pieces[next].size() - skip;
      if (left < rest) {
        skip += left;
        break;
      }
      left -= rest;
      skip = 0;
      ++next;
    }
    while (next < pieces.size() && pieces[next].size() == skip) {  // empty pieces
      skip = 0;
      ++next;
    }
  }
}

void HostFile::write_plain(uint64_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw BlockError(with_errno("write to '" + path_ + "' failed", n < 0 ? errno : ENOSPC));
    done += static_cast<size_t>(n);
  }
}

void HostFile::read_at(uint64_t offset, std::span<uint8_t> data) const {
  if (!direct_ || (aligned(offset) && aligned(data.size()) &&
                   aligned(reinterpret_cast<uintptr_t>(data.data())))) {
    read_plain(offset, data);
    return;
  }
  AlignedBuffer bounce = aligned_buffer(kBounceBytes);
  for (uint64_t done = 0; done < data.size();) {
    BouncePiece piece = bounce_piece(offset, data.size(), done);
    read_plain(piece.start, std::span(bounce.get(), piece.span_bytes));
    std::memcpy(data.data() + done, bounce.get() + piece.skip, piece.take);
    done += piece.take;
  }
}

void HostFile::write_at(uint64_t offset, std::span<const uint8_t> data) {
  if (read_only_) throw BlockError("'" + path_ + "' is read-only");
  if (!direct_ || (aligned(offset) && aligned(data.size()) &&
                   aligned(reinterpret_cast<uintptr_t>(data.data())))) {
    write_plain(offset, data);
    return;
  }
  // Read-modify-write of the partial blocks at either end: the only
  // writer of this file is this object's one thread.
  AlignedBuffer bounce = aligned_buffer(kBounceBytes);
  for (uint64_t done = 0; done < data.size();) {
    BouncePiece piece = bounce_piece(offset, data.size(), done);
    uint8_t* last_block = bounce.get() + piece.span_bytes - kDirectAlign;
    if (piece.skip != 0) read_plain(piece.start, std::span(bounce.get(), kDirectAlign));
    if ((piece.skip + piece.take) % kDirectAlign != 0) {
      read_plain(piece.start + piece.span_bytes - kDirectAlign, std::span(last_block, kDirectAlign));
    }
    std::memcpy(bounce.get() + piece.skip, data.data() + done, piece.take);
    write_plain(piece.start, std::span<const uint8_t>(bounce.get(), piece.span_bytes));
    done += piece.take;
  }
}

void HostFile::flush() {
  if (read_only_) return;
  if (fdatasync(fd_) != 0) throw BlockError(with_errno("flush of '" + path_ + "' failed", errno));
}

void HostFile::truncate(uint64_t size_bytes) {
  if (ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
    throw BlockError(with_errno("could not resize '" + path_ + "'", errno));
  }
}

bool HostFile::punch_hole(uint64_t offset, uint64_t length) {
  return fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                   static_cast<off_t>(length)) == 0;
}

bool HostFile::zero_range(uint64_t offset, uint64_t length) {
  return fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                   static_cast<off_t>(length)) == 0;
}

bool HostFile::allocate(uint64_t offset, uint64_t length) {
  return fallocate(fd_, 0, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0;
}

namespace {

// QEMU's image locking (block/file-posix.c, "raw_apply_lock_bytes"): open
// file description (OFD) read locks on single bytes. Byte 100 + n says
// "I use permission n", byte 200 + n says "I do not let others have
// permission n". Permission bits as QEMU numbers them (BLK_PERM_*).
constexpr off_t kLockPermBase = 100;
constexpr off_t kLockSharedBase = 200;
enum Permission { kConsistentRead = 0, kWrite = 1, kWriteUnchanged = 2, kResize = 3 };
const char* const kPermissionNames[] = {"consistent read", "write", "write unchanged", "resize"};

bool lock_byte(int fd, off_t byte) {
  struct flock lock = {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

// Whether another open file description holds a lock on `byte`.
bool byte_locked_by_others(int fd, off_t byte) {
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &lock) != 0) return false;  // no OFD locks here: nothing to honour
  return lock.l_type != F_UNLCK;
}

}  // namespace

void HostFile::lock(bool write) {
  std::vector<int> held = {kConsistentRead};
  if (write) held.push_back(kWrite);
  const std::vector<int> not_shared = {kWrite, kResize};
  for (int permission : held) {
    if (byte_locked_by_others(fd_, kLockSharedBase + permission)) {
      throw BlockError(std::string("Failed to get \"") + kPermissionNames[permission] +
                       "\" lock\nIs another process using the image [" + path_ + "]?");
    }
  }
  for (int permission : not_shared) {
    if (byte_locked_by_others(fd_, kLockPermBase + permission)) {
      throw BlockError(std::string("Failed to get shared \"") + kPermissionNames[permission] +
                       "\" lock\nIs another process using the image [" + path_ + "]?");
    }
  }
  // A file system without OFD locks (some network ones) is used unlocked,
  // as QEMU does when locking is unsupported.
  for (int permission : held) lock_byte(fd_, kLockPermBase + permission);
  for (int permission : not_shared) lock_byte(fd_, kLockSharedBase + permission);
}

std::pair<bool, uint64_t> HostFile::data_extent(uint64_t offset) const {
  const uint64_t end = size_bytes();
  if (offset >= end) return {false, 0};
  off_t data = lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return {errno == ENXIO ? false : true, end - offset};  // ENXIO: a hole up to the end
  if (static_cast<uint64_t>(data) > offset) return {false, static_cast<uint64_t>(data) - offset};
  off_t hole = lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
  uint64_t hole_at = hole < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(hole), end);
  return {true, hole_at - offset};
}

}  // namespace vireo
