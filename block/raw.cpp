#include "block/raw.h"

#include <algorithm>
#include <vector>

namespace vireo {

RawImage::RawImage(HostFile file, CacheMode cache)
    : file_(std::move(file)), cache_(cache), size_bytes_(file_.size_bytes()) {}

void RawImage::check_range(uint64_t offset, uint64_t length) const {
  if (offset > size_bytes_ || length > size_bytes_ - offset) {
    throw BlockError("request beyond the end of '" + file_.path() + "'");
  }
}

void RawImage::check_writable() const {
  if (file_.read_only()) throw BlockError("'" + file_.path() + "' is read-only");
}

void RawImage::read(uint64_t offset, std::span<uint8_t> data) {
  check_range(offset, data.size());
  file_.read_at(offset, data);
}

void RawImage::readv(uint64_t offset, std::span<const std::span<uint8_t>> pieces) {
  uint64_t length = 0;
  for (std::span<uint8_t> piece : pieces) length += piece.size();
  check_range(offset, length);
  file_.readv_at(offset, pieces);
}

void RawImage::write(uint64_t offset, std::span<const uint8_t> data) {
  check_writable();
  check_range(offset, data.size());
  file_.write_at(offset, data);
  if (cache_ == CacheMode::Writethrough || cache_ == CacheMode::Directsync) file_.flush();
}

void RawImage::flush() {
  if (cache_ == CacheMode::Unsafe) return;
  file_.flush();
}

void RawImage::discard(uint64_t offset, uint64_t length) {
  check_writable();
  check_range(offset, length);
  // Best effort: a file system without hole punching keeps the data.
  file_.punch_hole(offset, length);
}

void RawImage::write_zeroes(uint64_t offset, uint64_t length) {
  check_writable();
  check_range(offset, length);
  if (file_.zero_range(offset, length)) return;
  const std::vector<uint8_t> zeroes(std::min<uint64_t>(length, 1 << 20), 0);
  for (uint64_t done = 0; done < length;) {
    uint64_t chunk = std::min<uint64_t>(zeroes.size(), length - done);
    write(offset + done, std::span(zeroes.data(), chunk));
    done += chunk;
  }
}

}  // namespace vireo
