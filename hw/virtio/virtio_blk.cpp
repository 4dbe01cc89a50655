#include "hw/virtio/virtio_blk.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

namespace vireo {

namespace {

template <typename T>
void put_le(uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof value);  // x86 hosts only: little-endian already
}

}  // namespace

VirtioBlk::VirtioBlk(std::unique_ptr<BlockBackend> backend, bool read_only, std::string serial)
    : backend_(std::move(backend)),
      read_only_(read_only || backend_->read_only()),
      serial_(std::move(serial)),
      capacity_sectors_(backend_->size_bytes() / kSectorSize) {
  // struct virtio_blk_config (§5.2.4).
  put_le<uint64_t>(config_ + 0, capacity_sectors_);          // capacity
  put_le<uint32_t>(config_ + 12, kQueueSize - 2);            // seg_max: a chain also holds header and status
  put_le<uint32_t>(config_ + 20, kSectorSize);               // blk_size
  put_le<uint16_t>(config_ + 34, 1);                         // num_queues
  put_le<uint32_t>(config_ + 36, kMaxDiscardSectors);        // max_discard_sectors
  put_le<uint32_t>(config_ + 40, kMaxSegments);              // max_discard_seg
  put_le<uint32_t>(config_ + 44, 1);                         // discard_sector_alignment
  put_le<uint32_t>(config_ + 48, kMaxDiscardSectors);        // max_write_zeroes_sectors
  put_le<uint32_t>(config_ + 52, kMaxSegments);              // max_write_zeroes_seg
  config_[56] = 1;                                            // write_zeroes_may_unmap
}

uint64_t VirtioBlk::device_features() const {
  uint64_t features = virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc | virtio::kFeatureEventIdx | kFeatureSegMax |
                      kFeatureBlkSize | kFeatureFlush;
  if (read_only_) return features | kFeatureRo;
  return features | kFeatureDiscard | kFeatureWriteZeroes;
}

uint32_t VirtioBlk::handle_request(unsigned, const VirtqChain& chain, GuestMemory& memory) {
  // struct virtio_blk_req (§5.2.6): le32 type, le32 reserved, le64 sector
  // in the readable part; u8 status as the last writable byte. Without
  // room for both there is no way to answer: the driver is broken.
  constexpr uint64_t kHeaderBytes = 16;
  if (chain.readable_bytes < kHeaderBytes || chain.writable_bytes < 1) {
    throw VirtqueueError("virtio-blk request " + std::to_string(chain.head) + " without header or status byte");
  }
  uint8_t header[kHeaderBytes];
  copy_from_chain(memory, chain, 0, header, sizeof header);
  uint32_t type;
  uint64_t sector;
  std::memcpy(&type, header, 4);
  std::memcpy(&sector, header + 8, 8);

  uint32_t written = 0;
  uint64_t bytes = 0;
  uint8_t status;
  bool host_failed = false;
  const int64_t start_ns = BlockAccounting::now_ns();
  try {
    status = serve(type, sector, chain, memory, written, bytes);
  } catch (const BlockError& e) {
    io_log_.warn(std::string("virtio-blk: ") + e.what());
    status = kStatusIoErr;
    written = 0;
    host_failed = true;
  }
  account(type, sector, bytes, status, host_failed, BlockAccounting::now_ns() - start_ns);
  copy_to_chain(memory, chain, chain.writable_bytes - 1, &status, 1);
  return written + 1;
}

void VirtioBlk::account(uint32_t type, uint64_t sector, uint64_t bytes, uint8_t status, bool host_failed,
                        int64_t elapsed_ns) {
  // QEMU's virtio-blk accounts write-zeroes as writes and discards as
  // unmaps; get-id and unknown requests touch no data and are not counted.
  BlockIoKind kind;
  switch (type) {
    case kTypeIn: kind = BlockIoKind::Read; break;
    case kTypeOut:
    case kTypeWriteZeroes: kind = BlockIoKind::Write; break;
    case kTypeFlush: kind = BlockIoKind::Flush; break;
    case kTypeDiscard: kind = BlockIoKind::Unmap; break;
    default: return;
  }
  if (status == kStatusOk || host_failed) {
    accounting_.done(kind, type == kTypeOut ? sector * kSectorSize : 0, bytes, elapsed_ns, host_failed);
  } else {
    accounting_.invalid(kind);  // refused: out of range, misaligned, read-only
  }
}

uint8_t VirtioBlk::serve(uint32_t type, uint64_t sector, const VirtqChain& chain, GuestMemory& memory,
                         uint32_t& written, uint64_t& bytes) {
  constexpr uint64_t kHeaderBytes = 16;
  // A sector range must lie inside the disk; sector * 512 must not wrap.
  auto in_range = [&](uint64_t bytes) {
    return sector <= capacity_sectors_ && bytes / kSectorSize <= capacity_sectors_ - sector;
  };
  switch (type) {
    case kTypeIn: {
      const uint64_t length = chain.writable_bytes - 1;
      if (length % kSectorSize != 0 || !in_range(length)) return kStatusIoErr;
      bytes = length;
      // The whole scatter list in one call: a 1 MiB read of a guest's
      // user pages is 256 pieces, one preadv instead of 256 preads.
      std::vector<std::span<uint8_t>> pieces;
      visit_chain_stream(memory, chain, true, 0, length,
                   [&](std::span<uint8_t> piece, uint64_t) { pieces.push_back(piece); });
      backend_->readv(sector * kSectorSize, pieces);
      // The count is at most the chain's writable bytes, which fit in 32
      // bits per buffer but not summed: report what fits.
      written = static_cast<uint32_t>(std::min<uint64_t>(length, UINT32_MAX - 1));
      return kStatusOk;
    }
    case kTypeOut: {
      const uint64_t length = chain.readable_bytes - kHeaderBytes;
      if (read_only_) return kStatusIoErr;
      if (length % kSectorSize != 0 || !in_range(length)) return kStatusIoErr;
      bytes = length;
      visit_chain_stream(memory, chain, false, kHeaderBytes, length, [&](std::span<uint8_t> piece, uint64_t at) {
        backend_->write(sector * kSectorSize + at, piece);
      });
      return kStatusOk;
    }
    case kTypeFlush:
      if (!read_only_) backend_->flush();
      return kStatusOk;
    case kTypeGetId: {
      // Up to 20 bytes, NUL-padded; no terminator when all 20 are used (§5.2.6.1).
      uint8_t id[kIdBytes] = {};
      std::memcpy(id, serial_.data(), std::min<size_t>(serial_.size(), kIdBytes));
      const uint64_t length = std::min<uint64_t>(chain.writable_bytes - 1, kIdBytes);
      copy_to_chain(memory, chain, 0, id, length);
      written = static_cast<uint32_t>(length);
      return kStatusOk;
    }
    case kTypeDiscard:
    case kTypeWriteZeroes:
      if (read_only_) return kStatusIoErr;
      return serve_discard_or_zeroes(type, chain, memory, bytes);
    default:
      return kStatusUnsupported;
  }
}

uint8_t VirtioBlk::serve_discard_or_zeroes(uint32_t type, const VirtqChain& chain, GuestMemory& memory,
                                           uint64_t& bytes) {
  // Segments of struct virtio_blk_discard_write_zeroes: le64 sector,
  // le32 num_sectors, le32 flags (bit 0 unmap) (§5.2.6).
  constexpr uint64_t kHeaderBytes = 16;
  constexpr uint64_t kSegmentBytes = 16;
  const uint64_t payload = chain.readable_bytes - kHeaderBytes;
  if (payload == 0 || payload % kSegmentBytes != 0 || payload / kSegmentBytes > kMaxSegments) {
    return kStatusUnsupported;
  }
  for (uint64_t i = 0; i < payload / kSegmentBytes; ++i) {
    uint8_t segment[kSegmentBytes];
    copy_from_chain(memory, chain, kHeaderBytes + i * kSegmentBytes, segment, sizeof segment);
    uint64_t first;
    uint32_t count;
    uint32_t flags;
    std::memcpy(&first, segment, 8);
    std::memcpy(&count, segment + 8, 4);
    std::memcpy(&flags, segment + 12, 4);
    // Only the unmap flag is defined, and only for write-zeroes (§5.2.6.2).
    if ((flags & ~1u) != 0 || (type == kTypeDiscard && flags != 0)) return kStatusUnsupported;
    if (count > kMaxDiscardSectors || first > capacity_sectors_ || count > capacity_sectors_ - first) {
      return kStatusIoErr;
    }
    bytes += uint64_t{count} * kSectorSize;
    if (type == kTypeDiscard) {
      backend_->discard(first * kSectorSize, uint64_t{count} * kSectorSize);
    } else {
      backend_->write_zeroes(first * kSectorSize, uint64_t{count} * kSectorSize);
    }
  }
  return kStatusOk;
}

}  // namespace vireo
