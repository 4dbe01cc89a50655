// The raw format: the image file's bytes are the disk's bytes.
#pragma once

#include "block/block_backend.h"

namespace vireo {

class RawImage final : public BlockBackend {
 public:
  // Takes ownership of `fd`, already opened with the right flags.
  RawImage(int fd, std::string path, bool read_only, CacheMode cache);
  ~RawImage() override;

  uint64_t size_bytes() const override { return size_bytes_; }
  bool read_only() const override { return read_only_; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  void flush() override;
  void discard(uint64_t offset, uint64_t length) override;
  void write_zeroes(uint64_t offset, uint64_t length) override;

 private:
  void check_range(uint64_t offset, uint64_t length) const;

  int fd_;
  std::string path_;
  bool read_only_;
  CacheMode cache_;
  uint64_t size_bytes_;
};

}  // namespace vireo
