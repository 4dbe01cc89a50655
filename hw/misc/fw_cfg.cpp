#include "hw/misc/fw_cfg.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

uint64_t load_be64(const uint8_t* p) { return uint64_t{load_be32(p)} << 32 | load_be32(p + 4); }

void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// The port bus hands over an x86 OUT's value as the integer the CPU held;
// the DMA address register is big-endian (fw_cfg.rst), so its bytes are
// reversed relative to that integer.
uint32_t swap32(uint64_t v) { return __builtin_bswap32(static_cast<uint32_t>(v)); }

// Guest RAM is several regions (conventional, upper, high memory) that are
// one flat range to a DMA master, as in QEMU: a transfer crosses their
// boundaries; it fails at the first byte no writable RAM holds. Each piece
// goes through GuestMemory::host_span, which checks it again. `fill` gets
// host spans of `length` bytes in total.
template <typename Fill>
bool for_each_guest_span(GuestMemory& memory, uint64_t gpa, uint64_t length, Fill fill) {
  while (length > 0) {
    uint64_t chunk = 0;
    for (const MemoryRegion& r : memory.regions()) {
      if (gpa >= r.guest_base && gpa - r.guest_base < r.size) chunk = std::min(length, r.size - (gpa - r.guest_base));
    }
    std::span<uint8_t> span = chunk == 0 ? std::span<uint8_t>() : memory.host_span(gpa, chunk, true);
    if (span.empty()) return false;
    fill(span.data(), chunk);
    length -= chunk;
    if (length > 0 && gpa + chunk < gpa) return false;  // would wrap past 2^64
    gpa += chunk;
  }
  return true;
}

// One limiter for every fw_cfg in the process: at most 10 lines a second
// however many machines (or fuzz iterations) there are.
RateLimitedLog bad_dma_log;

}  // namespace

FwCfg::FwCfg(GuestMemory& memory) : memory_(memory) {
  set_item(kSignature, {'Q', 'E', 'M', 'U'});
  const uint32_t id = kIdTraditional | kIdDma;
  set_item(kId, {static_cast<uint8_t>(id), 0, 0, 0});
  rebuild_directory();
}

void FwCfg::set_item(uint16_t selector, std::vector<uint8_t> data) {
  const uint16_t index = selector & kEntryMask;
  if ((selector & kWriteChannel) != 0 || index >= kFileFirst) {
    throw Error("fw_cfg: selector " + std::to_string(selector) + " is not a fixed item");
  }
  std::lock_guard lock(mutex_);
  items_[selector] = std::move(data);
}

void FwCfg::add_file(const std::string& name, std::vector<uint8_t> data) {
  if (name.empty() || name.size() >= kFileNameBytes) throw Error("fw_cfg: bad file name '" + name + "'");
  if (!files_.contains(name) && files_.size() >= kFileSlots) throw Error("fw_cfg: no free file slot for " + name);
  {
    std::lock_guard lock(mutex_);
    files_[name] = std::move(data);
  }
  rebuild_directory();
}

// QEMU keeps the directory sorted by name (strcmp; std::map's order for
// std::string is the same byte order) and renumbers the selectors so the
// n-th name is kFileFirst + n.
void FwCfg::rebuild_directory() {
  std::lock_guard lock(mutex_);
  std::vector<uint8_t> dir(4 + files_.size() * kFileEntryBytes, 0);
  store_be32(dir.data(), static_cast<uint32_t>(files_.size()));
  file_by_selector_.clear();
  uint16_t selector = kFileFirst;
  size_t at = 4;
  for (const auto& [name, data] : files_) {
    store_be32(&dir[at], static_cast<uint32_t>(data.size()));
    dir[at + 4] = static_cast<uint8_t>(selector >> 8);
    dir[at + 5] = static_cast<uint8_t>(selector);
    std::memcpy(&dir[at + 8], name.data(), name.size());
    file_by_selector_[selector] = &data;
    ++selector;
    at += kFileEntryBytes;
  }
  items_[kFileDir] = std::move(dir);
}

std::vector<std::pair<std::string, uint16_t>> FwCfg::files() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, uint16_t>> list;
  uint16_t selector = kFileFirst;
  for (const auto& entry : files_) list.push_back({entry.first, selector++});
  return list;
}

const std::vector<uint8_t>* FwCfg::selected_locked() const {
  if (current_ == kNoItem) return nullptr;
  const uint16_t key = static_cast<uint16_t>(current_);
  if ((key & kArchLocal) == 0 && key >= kFileFirst) {
    auto it = file_by_selector_.find(key);
    return it == file_by_selector_.end() ? nullptr : it->second;
  }
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : &it->second;
}

// A key past the file slots selects nothing; any other key selects its
// item, which may be empty (reads as zeros). The write-channel bit is
// dropped, as QEMU does.
void FwCfg::select_locked(uint16_t key) {
  offset_ = 0;
  if ((key & kEntryMask) >= kFileFirst + kFileSlots) {
    current_ = kNoItem;
  } else {
    current_ = key & (kArchLocal | kEntryMask);
  }
}

uint8_t FwCfg::read_data_byte_locked() {
  const std::vector<uint8_t>* item = selected_locked();
  if (item == nullptr || offset_ >= item->size()) return 0;
  return (*item)[offset_++];
}

uint64_t FwCfg::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  if (offset < kControlPorts) {
    // Only byte reads are data reads; QEMU refuses wider ones (they read 0
    // and move nothing).
    return size == 1 ? read_data_byte_locked() : 0;
  }
  // The DMA register reads as the bytes of "QEMU CFG" at its offset.
  uint64_t value = 0;
  const uint64_t first = offset - kDmaPortOffset;
  for (unsigned i = 0; i < size && first + i < kDmaPorts; ++i) {
    value |= uint64_t{static_cast<uint8_t>(kDmaSignature[first + i])} << (8 * i);
  }
  return value;
}

void FwCfg::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  if (offset < kControlPorts) {
    // A 16-bit write at 0x510 selects; byte writes are data writes, which
    // QEMU ignores since 2.4.
    if (offset == 0 && size == 2) select_locked(static_cast<uint16_t>(value));
    return;
  }
  const uint64_t at = offset - kDmaPortOffset;
  if (size == 4 && at == 0) {
    dma_address_ = uint64_t{swap32(value)} << 32;
  } else if (size == 4 && at == 4) {
    dma_address_ |= swap32(value);
    const uint64_t address = dma_address_;
    dma_address_ = 0;
    run_dma_locked(address);
  } else if (size == 8 && at == 0) {
    const uint64_t address = __builtin_bswap64(value);
    dma_address_ = 0;
    run_dma_locked(address);
  }
  // Other widths and offsets are not valid DMA register writes: ignored.
}

// fw_cfg.rst "Guest-side DMA interface": the FWCfgDmaAccess at
// `access_address` says what to do; its control word gets 0 when done or
// kDmaError. Every address and length is the guest's: all memory access
// goes through GuestMemory, and a bad one sets the error bit.
void FwCfg::run_dma_locked(uint64_t access_address) {
  uint8_t access[kDmaAccessSize];
  if (!memory_.read(access_address, access, sizeof access)) {
    char text[80];
    std::snprintf(text, sizeof text, "fw_cfg: DMA descriptor at 0x%llx is outside guest RAM",
                  static_cast<unsigned long long>(access_address));
    dma_errors_.fetch_add(1, std::memory_order_relaxed);
    bad_dma_log.warn(text);
    uint8_t error[4];
    store_be32(error, kDmaError);
    memory_.write(access_address, error, sizeof error);  // most likely fails too
    return;
  }
  uint32_t control = load_be32(access);
  uint32_t length = load_be32(access + 4);
  uint64_t address = load_be64(access + 8);

  if (control & kDmaSelect) select_locked(static_cast<uint16_t>(control >> 16));
  enum class Op { Read, Write, Skip } op;
  if (control & kDmaRead) {
    op = Op::Read;
  } else if (control & kDmaWrite) {
    op = Op::Write;
  } else if (control & kDmaSkip) {
    op = Op::Skip;
  } else {
    op = Op::Skip;
    length = 0;  // only a select
  }

  bool failed = false;
  while (length > 0 && !failed) {
    const std::vector<uint8_t>* item = selected_locked();
    uint32_t chunk = length;
    if (item == nullptr || offset_ >= item->size()) {
      // Past the end (or nothing selected): reads give zeros, writes fail.
      if (op == Op::Read) {
        failed = !for_each_guest_span(memory_, address, chunk, [](uint8_t* host, uint64_t n) {
          std::memset(host, 0, n);
        });
      } else if (op == Op::Write) {
        failed = true;
      }
    } else {
      chunk = std::min<uint32_t>(length, static_cast<uint32_t>(item->size() - offset_));
      if (op == Op::Read) {
        const uint8_t* source = item->data() + offset_;
        failed = !for_each_guest_span(memory_, address, chunk, [&source](uint8_t* host, uint64_t n) {
          std::memcpy(host, source, n);
          source += n;
        });
      } else if (op == Op::Write) {
        failed = true;  // every item vireo offers is read-only
      }
      offset_ += chunk;
    }
    address += chunk;
    length -= chunk;
  }
  if (failed) {
    dma_errors_.fetch_add(1, std::memory_order_relaxed);
    bad_dma_log.warn("fw_cfg: DMA transfer refused (outside guest RAM, or a write to a read-only item)");
  }

  uint8_t result[4];
  store_be32(result, failed ? kDmaError : 0);
  memory_.write(access_address, result, sizeof result);
}

// As QEMU's reset: the signature selected, no DMA address.
void FwCfg::reset() {
  std::lock_guard lock(mutex_);
  current_ = kSignature;
  offset_ = 0;
  dma_address_ = 0;
}

void FwCfg::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  s(current_);
  s(offset_);
  s(dma_address_);
  if (s.loading()) {
    const uint16_t key = static_cast<uint16_t>(current_);
    const bool valid = current_ == kNoItem ||
                       (current_ <= 0xffff && (key & kWriteChannel) == 0 && (key & kEntryMask) < kFileFirst + kFileSlots);
    if (!valid) throw Error("saved state: fw_cfg selector out of range");
  }
}

}  // namespace vireo
