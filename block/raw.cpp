#include "block/raw.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace vireo {

RawImage::RawImage(int fd, std::string path, bool read_only, CacheMode cache)
    : fd_(fd), path_(std::move(path)), read_only_(read_only), cache_(cache) {
  struct stat st;
  if (fstat(fd_, &st) != 0) throw BlockError(with_errno("could not stat '" + path_ + "'", errno));
  off_t end = lseek(fd_, 0, SEEK_END);  // block devices report size 0 in st_size
  if (end < 0) throw BlockError(with_errno("could not size '" + path_ + "'", errno));
  size_bytes_ = static_cast<uint64_t>(end);
}

RawImage::~RawImage() { close(fd_); }

void RawImage::check_range(uint64_t offset, uint64_t length) const {
  if (offset > size_bytes_ || length > size_bytes_ - offset) {
    throw BlockError("request beyond the end of '" + path_ + "'");
  }
}

void RawImage::read(uint64_t offset, std::span<uint8_t> data) {
  check_range(offset, data.size());
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw BlockError(with_errno("read from '" + path_ + "' failed", errno));
    if (n == 0) {  // the file shrank under us: the rest reads as zeroes
      std::fill(data.begin() + static_cast<ptrdiff_t>(done), data.end(), uint8_t{0});
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void RawImage::write(uint64_t offset, std::span<const uint8_t> data) {
  if (read_only_) throw BlockError("'" + path_ + "' is read-only");
  check_range(offset, data.size());
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw BlockError(with_errno("write to '" + path_ + "' failed", n < 0 ? errno : ENOSPC));
    done += static_cast<size_t>(n);
  }
  if (cache_ == CacheMode::Writethrough || cache_ == CacheMode::Directsync) flush();
}

void RawImage::flush() {
  if (cache_ == CacheMode::Unsafe || read_only_) return;
  if (fdatasync(fd_) != 0) throw BlockError(with_errno("flush of '" + path_ + "' failed", errno));
}

void RawImage::discard(uint64_t offset, uint64_t length) {
  if (read_only_) throw BlockError("'" + path_ + "' is read-only");
  check_range(offset, length);
  // Best effort: a file system without hole punching keeps the data.
  fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(length));
}

void RawImage::write_zeroes(uint64_t offset, uint64_t length) {
  if (read_only_) throw BlockError("'" + path_ + "' is read-only");
  check_range(offset, length);
  if (fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                static_cast<off_t>(length)) == 0) {
    return;
  }
  const std::vector<uint8_t> zeroes(std::min<uint64_t>(length, 1 << 20), 0);
  for (uint64_t done = 0; done < length;) {
    uint64_t chunk = std::min<uint64_t>(zeroes.size(), length - done);
    write(offset + done, std::span(zeroes.data(), chunk));
    done += chunk;
  }
}

std::unique_ptr<BlockBackend> open_block_backend(const BlockOpenOptions& options) {
  // Only raw so far: qcow2 and format probing come with block/qcow2.
  if (!options.format.empty() && options.format != "raw") {
    throw BlockError("Unknown driver '" + options.format + "'");
  }
  int flags = (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (options.cache == CacheMode::None || options.cache == CacheMode::Directsync) flags |= O_DIRECT;
  int fd = open(options.path.c_str(), flags);
  if (fd < 0) throw BlockError(with_errno("Could not open '" + options.path + "'", errno));
  return std::make_unique<RawImage>(fd, options.path, options.read_only, options.cache);
}

}  // namespace vireo
