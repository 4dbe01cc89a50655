// Segmentation, paging and the software TLB (Intel SDM vol. 3 ch. 3-5).
#include <algorithm>

#include "accel/tcg/cpu.h"
#include "hw/core/io_bus.h"
#include "util/log.h"

namespace vireo::tcg {

namespace {

// Page-table entry bits (SDM vol. 3 §4.3-4.5).
constexpr uint64_t kPtePresent = 1ull << 0;
constexpr uint64_t kPteWritable = 1ull << 1;
constexpr uint64_t kPteUser = 1ull << 2;
constexpr uint64_t kPteAccessed = 1ull << 5;
constexpr uint64_t kPteDirty = 1ull << 6;
constexpr uint64_t kPteLarge = 1ull << 7;
constexpr uint64_t kPteNx = 1ull << 63;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;  // 52-bit physical addresses

constexpr uint64_t kCr0Wp = 1ull << 16;
constexpr uint64_t kCr4Pse = 1ull << 4;
constexpr uint64_t kCr4PaeBit = 1ull << 5;

}  // namespace

uint64_t Cpu::linear_legacy(unsigned segment, uint64_t offset, unsigned size, Access access) {
  const SegmentCache& s = seg[segment];
  const uint8_t fault = segment == kSs ? kStackFault : kGeneralProtection;
  if (cr0 & kCr0Pe) {
    if (s.unusable && !(rflags & kVm)) raise_fault(fault, 0);
    bool code = s.type & 0x8;
    if (access == Access::Write && (code || !(s.type & 0x2))) raise_fault(fault, 0);
    if (access == Access::Read && code && !(s.type & 0x2)) raise_fault(fault, 0);
    if (!code && (s.type & 0x4)) {
      // Expand-down: valid offsets lie above the limit (SDM vol. 3 §5.3).
      uint64_t upper = s.db ? 0xffffffffull : 0xffffull;
      if (offset <= s.limit || offset + size - 1 > upper) raise_fault(fault, 0);
      return (s.base + offset) & 0xffffffffull;
    }
  }
  if (offset + size - 1 > s.limit) raise_fault(fault, 0);
  return (s.base + offset) & 0xffffffffull;
}

void Cpu::flush_tlb() {
  for (auto& set : tlb) {
    for (TlbEntry& e : set) e = TlbEntry{};
  }
  tlb_has_large_pages = false;
  ++mapping_generation;
}

void Cpu::flush_tlb_page(uint64_t lin) {
  // A large page covers many 4 KiB entries; rather than find them all,
  // flush everything when any are cached.
  if (tlb_has_large_pages) {
    flush_tlb();
    return;
  }
  for (auto& set : tlb) set[(lin >> 12) % kTlbEntries] = TlbEntry{};
  ++mapping_generation;
}

namespace {

struct Walk {
  uint64_t paddr;
  bool user_ok = true;
  bool write_ok = true;
  bool nx = false;
  bool dirty = false;
  bool large = false;
};

uint64_t read_phys_u64(PhysMemory& phys, uint64_t paddr, unsigned size) {
  bool writable;
  if (uint8_t* page = phys.page(paddr, &writable)) {
    uint64_t v = 0;
    std::memcpy(&v, page + (paddr & 0xfff), size);
    return v;
  }
  return phys.mmio_read(paddr, size);
}

// Sets bits in a paging-structure entry the way the processor does: an
// atomic OR, because other vCPUs may update the same entry.
void set_entry_bits(PhysMemory& phys, uint64_t paddr, unsigned size, uint64_t bits) {
  bool writable;
  uint8_t* page = phys.page(paddr, &writable);
  if (page == nullptr || !writable) return;
  uint8_t* p = page + (paddr & 0xfff);
  // Entries are naturally aligned (the table index times the entry size).
  if (size == 8) {
    __atomic_fetch_or(reinterpret_cast<uint64_t*>(p), bits, __ATOMIC_RELAXED);
  } else {
    __atomic_fetch_or(reinterpret_cast<uint32_t*>(p), static_cast<uint32_t>(bits), __ATOMIC_RELAXED);
  }
}

}  // namespace

uint64_t Cpu::translate(uint64_t lin, Access access, bool user) {
  const bool write = access == Access::Write;
  Walk w;
  uint64_t page_size = kPageSize;
  if (!paging) {
    w.paddr = long_mode ? lin : (lin & 0xffffffffull);
    w.dirty = true;
  } else {
    const bool nxe = efer & kEferNxe;
    // I/D reports a fetch only where fetches can be refused: with NXE under
    // PAE or 4-level paging (SDM vol. 3 §4.7; SMEP is not implemented).
    // 32-bit paging has no XD bit, and there NXE changes nothing.
    uint32_t fault_bits = (write ? kPfWrite : 0) | (user ? kPfUser : 0) |
                          (access == Access::Execute && nxe && (cr4 & kCr4PaeBit) ? kPfFetch : 0);
    auto page_fault = [&](uint32_t extra) -> void {
      cr2 = lin;
      raise_fault(kPageFault, fault_bits | extra);
    };
    // Entries visited, so A (and D) can be set only after all checks pass.
    uint64_t visited[4];
    unsigned visited_size = 8;
    unsigned levels = 0;
    uint64_t entry = 0;
    auto visit = [&](uint64_t entry_paddr, unsigned size) {
      entry = read_phys_u64(*phys, entry_paddr, size);
      visited[levels++] = entry_paddr;
      if (!(entry & kPtePresent)) page_fault(0);
      if (nxe && size == 8 && (entry & kPteNx)) w.nx = true;
      if (!nxe && size == 8 && (entry & kPteNx)) page_fault(kPfPresent | kPfReservedBit);
      if (!(entry & kPteUser)) w.user_ok = false;
      if (!(entry & kPteWritable)) w.write_ok = false;
    };

    if (!(cr4 & kCr4PaeBit)) {
      // 32-bit paging: two levels of 4-byte entries, 4 MiB pages with PSE.
      visited_size = 4;
      uint32_t l = static_cast<uint32_t>(lin);
      visit((cr3 & 0xfffff000ull) + ((l >> 22) & 0x3ff) * 4, 4);
      if ((entry & kPteLarge) && (cr4 & kCr4Pse)) {
        // PSE-36: bits 20:13 of the entry are physical address bits 39:32.
        uint64_t base = (entry & 0xffc00000ull) | ((entry & 0x1fe000ull) << 19);
        w.paddr = base + (l & 0x3fffff);
        page_size = 4u << 20;
        w.large = true;
      } else {
        visit((entry & 0xfffff000ull) + ((l >> 12) & 0x3ff) * 4, 4);
        w.paddr = (entry & 0xfffff000ull) + (l & 0xfff);
      }
    } else {
      uint64_t table;
      unsigned shift;
      if (long_mode) {
        visit((cr3 & kAddressMask) + ((lin >> 39) & 0x1ff) * 8, 8);
        table = entry & kAddressMask;
        shift = 30;
      } else {
        // PAE: the 4-entry PDPT (SDM vol. 3 §4.4.1). Its entries have no
        // R/W, U/S or NX bits; only P matters.
        uint64_t pdpte = read_phys_u64(*phys, (cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8, 8);
        if (!(pdpte & kPtePresent)) page_fault(0);
        table = pdpte & kAddressMask;
        shift = 21;
        lin &= 0xffffffffull;
      }
      for (;; shift -= 9) {
        visit(table + ((lin >> shift) & 0x1ff) * 8, 8);
        bool leaf = shift == 12 || ((entry & kPteLarge) && shift <= 30);
        if (leaf) {
          uint64_t size = 1ull << shift;
          w.paddr = (entry & kAddressMask & ~(size - 1)) + (lin & (size - 1));
          page_size = size;
          w.large = shift > 12;
          break;
        }
        table = entry & kAddressMask;
      }
    }
    w.dirty = entry & kPteDirty;

    if (user && !w.user_ok) page_fault(kPfPresent);
    if (write && !w.write_ok && (user || (cr0 & kCr0Wp))) page_fault(kPfPresent);
    if (access == Access::Execute && w.nx) page_fault(kPfPresent);

    for (unsigned i = 0; i < levels; ++i) set_entry_bits(*phys, visited[i], visited_size, kPteAccessed);
    if (write && !w.dirty) {
      set_entry_bits(*phys, visited[levels - 1], visited_size, kPteDirty);
      w.dirty = true;
    }
  }
  (void)page_size;

  // Fill the TLB for this 4 KiB piece.
  bool ram_writable = false;
  uint8_t* host = phys->page(w.paddr, &ram_writable);
  if (host != nullptr && !is_local_apic_page(w.paddr)) {
    TlbEntry& e = tlb[user][(lin >> 12) % kTlbEntries];
    uint64_t lin_page = lin & kPageMask;
    e.host_minus_linear = reinterpret_cast<uintptr_t>(host) - lin_page;
    e.paddr_page = w.paddr & kPageMask;
    e.read_tag = (!user || w.user_ok) ? lin_page : TlbEntry::kNoTag;
    bool may_write = w.dirty && ram_writable && (user ? w.user_ok && w.write_ok : (w.write_ok || !(cr0 & kCr0Wp)));
    e.write_tag = (may_write && !phys->has_code(w.paddr)) ? lin_page : TlbEntry::kNoTag;
    if (w.large) tlb_has_large_pages = true;
  }
  return w.paddr;
}

void Cpu::read_slow(uint64_t lin, void* out, unsigned size, bool user) {
  auto* dst = static_cast<uint8_t*>(out);
  while (size > 0) {
    unsigned chunk = std::min<unsigned>(size, static_cast<unsigned>(kPageSize - (lin & 0xfff)));
    uint64_t paddr = translate(lin, Access::Read, user);
    bool writable;
    if (uint8_t* page = phys->page(paddr, &writable)) {
      std::memcpy(dst, page + (paddr & 0xfff), chunk);
    } else {
      // MMIO: in naturally sized pieces of up to 8 bytes.
      for (unsigned done = 0; done < chunk;) {
        unsigned piece = std::min(8u, chunk - done);
        while (piece & (piece - 1)) --piece;  // 1, 2, 4 or 8
        uint64_t v = mmio_read(paddr + done, piece);
        std::memcpy(dst + done, &v, piece);
        done += piece;
      }
    }
    lin += chunk;
    dst += chunk;
    size -= chunk;
  }
}

void Cpu::write_slow(uint64_t lin, const void* in, unsigned size, bool user) {
  // Translate every page first so a fault leaves memory untouched.
  uint64_t first_chunk = std::min<uint64_t>(size, kPageSize - (lin & 0xfff));
  uint64_t paddr[2] = {translate(lin, Access::Write, user), 0};
  if (first_chunk < size) paddr[1] = translate(lin + first_chunk, Access::Write, user);
  const auto* src = static_cast<const uint8_t*>(in);
  uint64_t chunks[2] = {first_chunk, size - first_chunk};
  for (int i = 0; i < 2 && chunks[i] > 0; ++i) {
    unsigned chunk = static_cast<unsigned>(chunks[i]);
    bool writable;
    uint8_t* page = phys->page(paddr[i], &writable);
    if (page != nullptr) {
      if (writable) {
        if (phys->note_write(paddr[i], chunk)) end_block = true;  // code changed under us
        std::memcpy(page + (paddr[i] & 0xfff), src, chunk);
      }
      // Writes to ROM are discarded, as on a PC.
    } else {
      for (unsigned done = 0; done < chunk;) {
        unsigned piece = std::min(8u, chunk - done);
        while (piece & (piece - 1)) --piece;
        uint64_t v = 0;
        std::memcpy(&v, src + done, piece);
        mmio_write(paddr[i] + done, piece, v);
        done += piece;
      }
    }
    src += chunk;
  }
}

bool Cpu::is_local_apic_page(uint64_t paddr) const {
  // Each CPU sees its own local APIC at IA32_APIC_BASE while it is enabled
  // (SDM vol. 3 §10.4.4), whatever other devices sit there.
  constexpr uint64_t kApicGlobalEnable = 1ull << 11;
  return interrupts != nullptr && (apic_base & kApicGlobalEnable) &&
         (paddr & kPageMask) == (apic_base & 0xffffff000ull);
}

uint64_t Cpu::mmio_read(uint64_t paddr, unsigned size) {
  if (is_local_apic_page(paddr)) return interrupts->registers().read(paddr & 0xfff, size);
  return phys->mmio_read(paddr, size);
}

void Cpu::mmio_write(uint64_t paddr, unsigned size, uint64_t value) {
  if (is_local_apic_page(paddr)) {
    interrupts->registers().write(paddr & 0xfff, size, value);
    end_block = true;  // an EOI or IPI may make an interrupt deliverable
    return;
  }
  phys->mmio_write(paddr, size, value);
}

void* Cpu::host_pointer_for_write(uint64_t lin, unsigned size) {
  if ((lin & 0xfff) + size > kPageSize) return nullptr;
  uint64_t paddr = translate(lin, Access::Write, cpl == 3);
  bool writable;
  uint8_t* page = phys->page(paddr, &writable);
  if (page == nullptr || !writable) return nullptr;
  if (phys->note_write(paddr, size)) end_block = true;
  return page + (paddr & 0xfff);
}

void Cpu::update_mode() {
  long_mode = efer & kEferLma;
  paging = (cr0 & kCr0Pg) && (cr0 & kCr0Pe);
  const SegmentCache& cs = seg[kCs];
  if (!(cr0 & kCr0Pe) || (rflags & kVm)) {
    code_bits = (cs.db && !(rflags & kVm)) ? 32 : 16;
  } else if (long_mode && cs.l) {
    code_bits = 64;
  } else {
    code_bits = cs.db ? 32 : 16;
  }
}

void Cpu::load_state(const X86CpuState& s) {
  std::copy(std::begin(s.gpr), std::end(s.gpr), gpr);
  rip = s.rip;
  set_flags(s.rflags);
  std::copy(std::begin(s.segment), std::end(s.segment), seg);
  ldtr = s.ldtr;
  tr = s.tr;
  gdtr = s.gdtr;
  idtr = s.idtr;
  cr0 = s.cr0;
  cr2 = s.cr2;
  cr3 = s.cr3;
  cr4 = s.cr4;
  cr8 = s.cr8;
  efer = s.efer;
  apic_base = s.apic_base;
  waiting_for_sipi = s.waiting_for_sipi;
  if (interrupts) interrupts->apic_base_changed(apic_base);
  // KVM's convention, which X86CpuState follows: CPL is SS.DPL.
  cpl = (cr0 & kCr0Pe) ? ((rflags & kVm) ? 3 : seg[kSs].dpl) : 0;
  halted = false;
  update_mode();
  flush_tlb();
}

X86CpuState Cpu::save_state() const {
  X86CpuState s;
  std::copy(std::begin(gpr), std::end(gpr), s.gpr);
  s.rip = rip;
  s.rflags = flags();
  std::copy(std::begin(seg), std::end(seg), s.segment);
  s.ldtr = ldtr;
  s.tr = tr;
  s.gdtr = gdtr;
  s.idtr = idtr;
  s.cr0 = cr0;
  s.cr2 = cr2;
  s.cr3 = cr3;
  s.cr4 = cr4;
  s.cr8 = cr8;
  s.efer = efer;
  s.apic_base = apic_base;
  s.waiting_for_sipi = waiting_for_sipi;
  return s;
}

}  // namespace vireo::tcg
