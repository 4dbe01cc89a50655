// virtio-blk (virtio 1.2 §5.2): a disk behind a BlockBackend, with one
// request queue. Requests are served on the transport's I/O thread:
// read, write, flush, get-id, discard and write-zeroes; VIRTIO_BLK_F_RO
// for a read-only drive, whose writes end with VIRTIO_BLK_S_IOERR.
//
// Every request field comes from the guest: the sector range is checked
// against the capacity, lengths against the chain, and data moves only
// through the chain's bounds-checked buffers.
//
// Threads: only the transport's I/O thread calls handle_request(); the
// configuration is fixed at construction, so vCPU reads need no lock.
#pragma once

#include <memory>
#include <string>

#include "block/block_accounting.h"
#include "block/block_backend.h"
#include "hw/virtio/virtio_device.h"
#include "util/log.h"

namespace vireo {

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;  // QEMU's default queue-size
  static constexpr uint32_t kSectorSize = 512;

  // Feature bits (§5.2.3).
  static constexpr uint64_t kFeatureSegMax = 1ull << 2;
  static constexpr uint64_t kFeatureRo = 1ull << 5;
  static constexpr uint64_t kFeatureBlkSize = 1ull << 6;
  static constexpr uint64_t kFeatureFlush = 1ull << 9;
  static constexpr uint64_t kFeatureDiscard = 1ull << 13;
  static constexpr uint64_t kFeatureWriteZeroes = 1ull << 14;

  // Request types and statuses (§5.2.6).
  static constexpr uint32_t kTypeIn = 0;
  static constexpr uint32_t kTypeOut = 1;
  static constexpr uint32_t kTypeFlush = 4;
  static constexpr uint32_t kTypeGetId = 8;
  static constexpr uint32_t kTypeDiscard = 11;
  static constexpr uint32_t kTypeWriteZeroes = 13;
  static constexpr uint8_t kStatusOk = 0;
  static constexpr uint8_t kStatusIoErr = 1;
  static constexpr uint8_t kStatusUnsupported = 2;
  static constexpr uint32_t kIdBytes = 20;  // VIRTIO_BLK_ID_BYTES

  // Limits advertised in the configuration and enforced on requests.
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment
  static constexpr uint32_t kMaxSegments = 1;

  // `serial` is what get-id returns (the -drive/-device serial, may be empty).
  VirtioBlk(std::unique_ptr<BlockBackend> backend, bool read_only, std::string serial);

  uint16_t device_type() const override { return 2; }
  uint64_t device_features() const override;
  unsigned queue_count() const override { return 1; }
  uint16_t queue_max_size() const override { return kQueueSize; }
  uint32_t config_size() const override { return sizeof config_; }
  uint8_t config_byte(uint32_t offset) const override { return offset < sizeof config_ ? config_[offset] : 0; }
  uint32_t handle_request(unsigned queue, const VirtqChain& chain, GuestMemory& memory) override;

  uint64_t capacity_sectors() const { return capacity_sectors_; }
  bool read_only() const { return read_only_; }
  const std::string& serial() const { return serial_; }
  // What the guest's requests did (query-blockstats); any thread.
  BlockStatsSnapshot stats() const { return accounting_.snapshot(); }

 private:
  // `bytes` is set to the request's data bytes, for the accounting.
  uint8_t serve(uint32_t type, uint64_t sector, const VirtqChain& chain, GuestMemory& memory, uint32_t& written,
                uint64_t& bytes);
  void account(uint32_t type, uint64_t sector, uint64_t bytes, uint8_t status, bool host_failed, int64_t elapsed_ns);
  uint8_t serve_discard_or_zeroes(uint32_t type, const VirtqChain& chain, GuestMemory& memory, uint64_t& bytes);

  std::unique_ptr<BlockBackend> backend_;
  bool read_only_;
  std::string serial_;
  uint64_t capacity_sectors_;
  uint8_t config_[60] = {};  // struct virtio_blk_config up to write_zeroes_may_unmap
  RateLimitedLog io_log_;
  BlockAccounting accounting_;
};

}  // namespace vireo
