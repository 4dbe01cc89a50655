#include "accel/tcg/descriptors.h"

namespace vireo::tcg {

bool read_descriptor(Cpu& cpu, uint16_t selector, Descriptor& out, uint64_t* address, bool wide) {
  uint64_t base;
  uint32_t limit;
  if (selector & 4) {
    if (cpu.ldtr.unusable) return false;
    base = cpu.ldtr.base;
    limit = cpu.ldtr.limit;
  } else {
    base = cpu.gdtr.base;
    limit = cpu.gdtr.limit;
  }
  uint64_t offset = selector & 0xfff8u;
  if (offset + (wide ? 15 : 7) > limit) return false;
  uint64_t lin = base + offset;
  if (!cpu.long_mode) lin &= 0xffffffffull;
  uint64_t low = cpu.read_system<uint64_t>(lin);
  out = Descriptor{};
  out.low = static_cast<uint32_t>(low);
  out.high = static_cast<uint32_t>(low >> 32);
  if (wide) {
    uint64_t upper = cpu.read_system<uint64_t>(lin + 8);
    out.upper = static_cast<uint32_t>(upper);
    out.upper_high = static_cast<uint32_t>(upper >> 32);
  }
  if (address != nullptr) *address = lin;
  return true;
}

void set_accessed(Cpu& cpu, uint64_t address, Descriptor& d) {
  if (d.type() & kTypeAccessed) return;
  d.high |= uint32_t{kTypeAccessed} << 8;
  cpu.write_system<uint8_t>(address + 5, static_cast<uint8_t>(d.high >> 8));
}

SegmentCache segment_cache(const Descriptor& d, uint16_t selector) {
  SegmentCache c;
  c.selector = selector;
  c.base = d.base();
  c.limit = d.limit();
  c.type = d.type();
  c.dpl = static_cast<uint8_t>(d.dpl());
  c.present = d.present();
  c.s = d.s();
  c.db = d.db();
  c.l = d.l();
  c.g = d.g();
  c.avl = d.high & (1u << 20);
  c.unusable = false;
  return c;
}

SegmentCache null_segment(uint16_t selector, unsigned dpl) {
  SegmentCache c;
  c.selector = selector;
  c.base = 0;
  c.limit = 0;
  c.type = 0;
  c.dpl = static_cast<uint8_t>(dpl);
  c.present = false;
  c.s = false;
  c.unusable = true;
  return c;
}

void load_code_segment(Cpu& cpu, const Descriptor& d, uint16_t selector, unsigned new_cpl) {
  cpu.seg[kCs] = segment_cache(d, static_cast<uint16_t>((selector & 0xfffc) | new_cpl));
  cpu.cpl = new_cpl;
  cpu.update_mode();
  cpu.end_block = true;
}

void drop_inaccessible_data_segments(Cpu& cpu) {
  for (unsigned segment : {kEs, kDs, kFs, kGs}) {
    SegmentCache& s = cpu.seg[segment];
    if ((segment == kFs || segment == kGs) && is_null_selector(s.selector)) continue;
    bool conforming_code = s.s && (s.type & kTypeCode) && (s.type & kTypeConforming);
    if (!conforming_code && s.dpl < cpu.cpl) {
      s.selector = 0;
      s.present = false;
      s.unusable = true;
    }
  }
}

StackPointer legacy_tss_stack(Cpu& cpu, unsigned dpl, bool ext) {
  const SegmentCache& tss = cpu.tr;
  const bool tss32 = tss.type & 8;
  const uint64_t offset = tss32 ? dpl * 8 + 4 : dpl * 4 + 2;
  const unsigned size = tss32 ? 8 : 4;
  if (offset + size - 1 > tss.limit) raise_fault(kInvalidTss, selector_error(tss.selector, ext));
  uint64_t lin = (tss.base + offset) & 0xffffffffull;
  if (tss32) {
    uint32_t esp = cpu.read_system<uint32_t>(lin);
    return {cpu.read_system<uint16_t>(lin + 4), esp};
  }
  uint16_t sp = cpu.read_system<uint16_t>(lin);
  return {cpu.read_system<uint16_t>(lin + 2), sp};
}

uint64_t long_mode_tss_stack(Cpu& cpu, unsigned index, bool ext) {
  const SegmentCache& tss = cpu.tr;
  const uint64_t offset = uint64_t{index} * 8 + 4;
  if (offset + 7 > tss.limit) raise_fault(kInvalidTss, selector_error(tss.selector, ext));
  return cpu.read_system<uint64_t>(tss.base + offset);
}

Descriptor check_tss_stack_segment(Cpu& cpu, uint16_t selector, unsigned cpl, bool ext,
                                   uint64_t* address) {
  const uint32_t error = selector_error(selector, ext);
  if (is_null_selector(selector)) raise_fault(kInvalidTss, ext ? 1 : 0);
  Descriptor d;
  if (!read_descriptor(cpu, selector, d, address)) raise_fault(kInvalidTss, error);
  if ((selector & 3u) != cpl || !d.writable_data() || d.dpl() != cpl) raise_fault(kInvalidTss, error);
  if (!d.present()) raise_fault(kStackFault, error);
  return d;
}

uint64_t FrameBuilder::wrap(uint64_t v) const {
  if (bits_ == 64) return v;
  return bits_ == 32 ? (v & 0xffffffffull) : (v & 0xffffull);
}

uint64_t FrameBuilder::linear(uint64_t offset, unsigned size) const {
  if (bits_ == 64) {
    if (!canonical_address(offset) || !canonical_address(offset + size - 1)) {
      raise_fault(kStackFault, fault_error_);
    }
    return offset;
  }
  // The same limit rules as Cpu::linear, for a stack segment that may not
  // be loaded yet.
  if (ss_.type & kTypeExpandDown) {
    uint64_t upper = ss_.db ? 0xffffffffull : 0xffffull;
    if (offset <= ss_.limit || offset + size - 1 > upper) raise_fault(kStackFault, fault_error_);
  } else if (offset + size - 1 > ss_.limit) {
    raise_fault(kStackFault, fault_error_);
  }
  return (ss_.base + offset) & 0xffffffffull;
}

void FrameBuilder::push_sized(unsigned bytes, uint64_t value) {
  switch (bytes) {
    case 2: push<uint16_t>(static_cast<uint16_t>(value)); break;
    case 4: push<uint32_t>(static_cast<uint32_t>(value)); break;
    default: push<uint64_t>(value); break;
  }
}

void FrameBuilder::commit_stack_pointer() {
  if (bits_ == 16) {
    cpu_.gpr[kRsp] = (cpu_.gpr[kRsp] & ~0xffffull) | (sp_ & 0xffff);
  } else {
    cpu_.gpr[kRsp] = sp_;  // wrap() already kept a 32-bit stack pointer zero-extended
  }
}

}  // namespace vireo::tcg
