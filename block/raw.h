// The raw format: the image file's bytes are the disk's bytes.
#pragma once

#include "block/block_backend.h"
#include "block/host_file.h"

namespace vireo {

class RawImage final : public BlockBackend {
 public:
  RawImage(HostFile file, CacheMode cache);

  uint64_t size_bytes() const override { return size_bytes_; }
  bool read_only() const override { return file_.read_only(); }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void readv(uint64_t offset, std::span<const std::span<uint8_t>> pieces) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  void flush() override;
  void discard(uint64_t offset, uint64_t length) override;
  void write_zeroes(uint64_t offset, uint64_t length) override;

  const HostFile& host_file() const { return file_; }

 private:
  void check_range(uint64_t offset, uint64_t length) const;
  void check_writable() const;

  HostFile file_;
  CacheMode cache_;
  uint64_t size_bytes_;
};

}  // namespace vireo
