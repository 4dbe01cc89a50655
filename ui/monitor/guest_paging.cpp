#include "ui/monitor/guest_paging.h"

#include "hw/core/guest_memory.h"

namespace vireo {

namespace {

constexpr uint64_t kPresent = 1;
constexpr uint64_t kPageSize = 1u << 7;  // PS: this entry maps a large page
constexpr uint64_t kCr4Pse = 1u << 4;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;  // bits 51:12

}  // namespace

std::optional<uint64_t> translate_guest_virtual(const GuestMemory& memory, const X86CpuState& cpu,
                                                uint64_t va) {
  if (!(cpu.cr0 & kCr0Pg)) return (cpu.efer & kEferLma) ? va : (va & 0xffffffffull);

  if (!(cpu.cr4 & kCr4Pae)) {
    // 32-bit paging: a 1024-entry directory of 4-byte entries.
    va &= 0xffffffffull;
    uint32_t pde = 0;
    if (!memory.read((cpu.cr3 & 0xfffff000ull) + ((va >> 22) & 0x3ff) * 4, &pde, 4)) return std::nullopt;
    if (!(pde & kPresent)) return std::nullopt;
    if ((pde & kPageSize) && (cpu.cr4 & kCr4Pse)) {
      // 4 MiB page; PDE bits 20:13 hold physical address bits 39:32.
      uint64_t base = (pde & 0xffc00000ull) | (uint64_t{(pde >> 13) & 0xff} << 32);
      return base | (va & 0x3fffff);
    }
    uint32_t pte = 0;
    if (!memory.read((pde & 0xfffff000ull) + ((va >> 12) & 0x3ff) * 4, &pte, 4)) return std::nullopt;
    if (!(pte & kPresent)) return std::nullopt;
    return (pte & 0xfffff000ull) | (va & 0xfff);
  }

  // PAE (3 levels from a 4-entry PDPT) or 4-level paging: 8-byte entries,
  // 9 index bits per level.
  const bool long_mode = (cpu.efer & kEferLma) != 0;
  int levels = long_mode ? 4 : 3;
  if (!long_mode) va &= 0xffffffffull;
  uint64_t table = long_mode ? (cpu.cr3 & kAddressMask) : (cpu.cr3 & 0xffffffe0ull);
  for (int level = levels; level >= 1; --level) {
    unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
    uint64_t index = (va >> shift) & (level == 3 && !long_mode ? 0x3 : 0x1ff);
    uint64_t entry = 0;
    if (!memory.read(table + index * 8, &entry, 8)) return std::nullopt;
    if (!(entry & kPresent)) return std::nullopt;
    // PS in a PDPTE (1 GiB, long mode only) or a PDE (2 MiB).
    bool large = (level == 2 || (level == 3 && long_mode)) && (entry & kPageSize);
    if (large || level == 1) {
      uint64_t page_mask = (uint64_t{1} << shift) - 1;
      return (entry & kAddressMask & ~page_mask) | (va & page_mask);
    }
    table = entry & kAddressMask;
  }
  return std::nullopt;
}

}  // namespace vireo
