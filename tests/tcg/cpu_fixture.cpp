#include "tests/tcg/cpu_fixture.h"

#include <cstring>

#include "accel/tcg/decoder.h"
#include "accel/tcg/phys_memory.h"
#include "util/error.h"

namespace vireo::tcg::test {

namespace {

// Guest-physical layout of the fixture's own structures (identity mapped,
// supervisor-only); page 0 stays unmapped.
constexpr uint64_t kSystemRamSize = 0x10000;
constexpr uint64_t kPml4 = 0x1000;
constexpr uint64_t kPdpt = 0x2000;
constexpr uint64_t kPd = 0x3000;
constexpr uint64_t kLowPt = 0x4000;   // maps the system RAM
constexpr uint64_t kTestPt = 0x5000;  // maps the 2 MiB holding kCodeAddress and kDataAddress
constexpr uint64_t kTss = 0x6000;

constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4;
constexpr uint64_t kTestRegion = kCodeAddress & ~0x1f'ffffull;
static_assert((kDataAddress + kDataSize - 1) >> 21 == kCodeAddress >> 21,
              "code and data share one page table");

constexpr uint64_t kCr0Mp = 1ull << 1;
constexpr uint64_t kCr4Osfxsr = 1ull << 9;
constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;
constexpr uint8_t kHlt = 0xf4;

void put64(uint8_t* base, uint64_t offset, uint64_t v) { std::memcpy(base + offset, &v, 8); }

SegmentCache flat_segment(uint16_t selector, uint8_t type, unsigned dpl) {
  SegmentCache s;
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.dpl = static_cast<uint8_t>(dpl);
  s.present = true;
  s.s = true;
  s.db = true;
  s.g = true;
  return s;
}

}  // namespace

void load_fpu_state(FpuState& fpu, const FxsaveArea& fx) {
  fpu.fcw = fx.fcw;
  fpu.fsw = fx.fsw;
  fpu.fop = fx.fop;
  fpu.fip = fx.fip;
  fpu.fdp = fx.fdp;
  fpu.mxcsr = fx.mxcsr;
  std::memcpy(fpu.xmm, fx.xmm, sizeof fpu.xmm);
  // FXSAVE lists ST(i) = physical register (TOP + i) mod 8 (SDM vol. 1 §10.5.1).
  const unsigned top = (fx.fsw >> 11) & 7;
  for (unsigned i = 0; i < 8; ++i) {
    long double v = 0;
    std::memcpy(&v, fx.st[i], 10);  // the host's long double is the 80-bit format
    fpu.st[(top + i) & 7] = v;
  }
  // The full tag word from the abridged one (SDM vol. 1 §8.1.7): a
  // non-empty register is tagged by its contents.
  uint16_t ftw = 0;
  for (unsigned r = 0; r < 8; ++r) {
    unsigned tag = 3;
    if (fx.ftw & (1u << r)) {
      uint8_t raw[10];
      std::memcpy(raw, &fpu.st[r], 10);
      uint16_t exponent = static_cast<uint16_t>((raw[8] | raw[9] << 8) & 0x7fff);
      uint64_t mantissa;
      std::memcpy(&mantissa, raw, 8);
      if (exponent == 0x7fff) tag = 2;
      else if (exponent == 0) tag = mantissa == 0 ? 1 : 2;
      else tag = (mantissa >> 63) ? 0 : 2;
    }
    ftw = static_cast<uint16_t>(ftw | (tag << (2 * r)));
  }
  fpu.ftw = ftw;
}

FxsaveArea save_fpu_state(const FpuState& fpu) {
  FxsaveArea fx;
  fx.fcw = fpu.fcw;
  fx.fsw = fpu.fsw;
  fx.fop = fpu.fop;
  fx.fip = fpu.fip;
  fx.fdp = fpu.fdp;
  fx.mxcsr = fpu.mxcsr;
  fx.mxcsr_mask = 0xffff;
  std::memcpy(fx.xmm, fpu.xmm, sizeof fx.xmm);
  const unsigned top = (fpu.fsw >> 11) & 7;
  uint8_t tags = 0;
  for (unsigned r = 0; r < 8; ++r) {
    if (((fpu.ftw >> (2 * r)) & 3) != 3) tags = static_cast<uint8_t>(tags | (1u << r));
  }
  fx.ftw = tags;
  for (unsigned i = 0; i < 8; ++i) std::memcpy(fx.st[i], &fpu.st[(top + i) & 7], 10);
  return fx;
}

CpuFixture::CpuFixture() {
  system_ram_ = memory_.allocate("system", kSystemRamSize);
  code_ram_ = memory_.allocate("code", kCodeSize);
  data_ram_ = memory_.allocate("data", kDataSize);
  memory_.map({"system", 0, kSystemRamSize, system_ram_, false});
  memory_.map({"code", kCodeAddress, kCodeSize, code_ram_, false});
  memory_.map({"data", kDataAddress, kDataSize, data_ram_, false});
  phys_ = std::make_unique<PhysMemory>(memory_, mmio_);
  build_page_tables();
  // A 64-bit TSS without an I/O bitmap (its offset points past the limit),
  // so ring-3 port I/O raises #GP as on a Linux host.
  system_ram_[kTss + 0x66] = 0x68;
  add_cpu();
}

unsigned CpuFixture::add_cpu() {
  auto cpu = std::make_unique<Cpu>();
  Cpu& c = *cpu;
  c.index = static_cast<unsigned>(cpus_.size());
  c.phys = phys_.get();
  c.pio = &pio_;
  c.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
  c.cr3 = kPml4;
  c.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  c.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
  // No IDT: an exception becomes a triple fault at once (see the header).
  c.idtr = {0, 0};
  c.gdtr = {0, 0};
  c.tr = SegmentCache{};
  c.tr.base = kTss;
  c.tr.limit = 0x67;
  c.tr.type = 0xb;  // busy 64-bit TSS
  c.tr.s = false;
  interpreters_.push_back(std::make_unique<Interpreter>(c));
  cpus_.push_back(std::move(cpu));
  return c.index;
}

CpuFixture::~CpuFixture() = default;

void CpuFixture::build_page_tables() {
  uint8_t* m = system_ram_;
  put64(m, kPml4, kPdpt | kPresent | kWritable | kUser);
  put64(m, kPdpt, kPd | kPresent | kWritable | kUser);
  put64(m, kPd, kLowPt | kPresent | kWritable | kUser);
  put64(m, kPd + (kTestRegion >> 21) * 8, kTestPt | kPresent | kWritable | kUser);
  for (uint64_t page = 1; page < kSystemRamSize / kPageSize; ++page) {
    put64(m, kLowPt + page * 8, (page * kPageSize) | kPresent | kWritable);
  }
  auto map_test_range = [&](uint64_t address, uint64_t size) {
    for (uint64_t a = address; a < address + size; a += kPageSize) {
      put64(m, kTestPt + ((a - kTestRegion) >> 12) * 8, a | kPresent | kWritable | kUser);
    }
  };
  map_test_range(kCodeAddress, kCodeSize);
  map_test_range(kDataAddress, kDataSize);
}

void CpuFixture::set_mode(Cpu& c, const RunOptions& options) {
  const unsigned cpl = options.cpl;
  // Selectors as Linux numbers its GDT, so code that reads them sees what
  // it would on the host: __USER_CS 0x33, __USER32_CS 0x23, __USER_DS 0x2b.
  const uint16_t data_selector = cpl == 3 ? 0x2b : 0x18;
  SegmentCache data = flat_segment(data_selector, 0x3, cpl);
  for (unsigned s = 0; s < kSegmentCount; ++s) c.seg[s] = data;
  if (options.mode == CodeMode::Long64) {
    c.seg[kCs] = flat_segment(cpl == 3 ? 0x33 : 0x10, 0xb, cpl);
    c.seg[kCs].db = false;
    c.seg[kCs].l = true;
  } else {
    c.seg[kCs] = flat_segment(cpl == 3 ? 0x23 : 0x08, 0xb, cpl);
  }
  c.cpl = cpl;
  c.update_mode();
}

void CpuFixture::load(std::span<const uint8_t> code, const std::vector<uint8_t>& memory) {
  if (code.size() + 1 > kCodeSize) throw Error("cpu fixture: code too long");
  if (memory.size() > kDataSize) throw Error("cpu fixture: memory image too large");
  // The code and data change behind the CPUs' backs, as DMA would:
  // note_write() retires blocks decoded from the old bytes.
  std::memcpy(code_ram_, code.data(), code.size());
  code_ram_[code.size()] = kHlt;
  code_end_ = kCodeAddress + code.size();
  phys_->note_write(kCodeAddress, code.size() + 1);
  if (!memory.empty()) {
    std::memcpy(data_ram_, memory.data(), memory.size());
    phys_->note_write(kDataAddress, memory.size());
  }
}

std::vector<uint8_t> CpuFixture::read_memory(size_t size) const {
  return std::vector<uint8_t>(data_ram_, data_ram_ + std::min<size_t>(size, kDataSize));
}

CpuSnapshot CpuFixture::run(std::span<const uint8_t> code, const CpuSnapshot& input, RunOptions options) {
  load(code, input.memory);
  CpuSnapshot out = execute(0, input, options);
  out.memory = read_memory(input.memory.size());
  return out;
}

CpuSnapshot CpuFixture::execute(unsigned index, const CpuSnapshot& input, RunOptions options) {
  Cpu& c = *cpus_.at(index);
  Interpreter& interpreter = *interpreters_[index];
  set_mode(c, options);
  std::memcpy(c.gpr, input.gpr, sizeof c.gpr);
  c.set_flags((input.rflags & kSnapshotFlags) | kRflagsFixed | kRflagsIf);
  load_fpu_state(c.fpu, input.fx);
  c.rip = kCodeAddress;
  c.halted = false;
  c.interrupt_shadow = false;

  CpuSnapshot out;
  constexpr int kMaxBlocks = 1 << 24;
  int blocks = 0;
  while (!c.halted) {
    if (++blocks > kMaxBlocks) throw Error("cpu fixture: the code did not reach its end");
    if (interpreter.step_block()) continue;
    // A triple fault: find out which exception by running the instruction
    // at rip once more, outside the interpreter loop.
    Insn insn;
    try {
      // Fetch as Interpreter::find_block/decode_block do: an instruction
      // fetch (Access::Execute) for the page holding rip, and for the next
      // one only if the instruction continues there. Segments are flat.
      const bool user = c.cpl == 3;
      uint8_t bytes[15];
      c.translate(c.rip, Access::Execute, user);
      unsigned available = static_cast<unsigned>(std::min<uint64_t>(15, kPageSize - (c.rip & 0xfff)));
      c.read_slow(c.rip, bytes, available, user);
      DecodeStatus status = decode(bytes, available, c.code_bits, insn);
      if (status == DecodeStatus::NeedMoreBytes) {
        const uint64_t next_page = (c.rip & kPageMask) + kPageSize;
        c.translate(next_page, Access::Execute, user);
        c.read_slow(next_page, bytes + available, 15 - available, user);
        status = decode(bytes, 15, c.code_bits, insn);
      }
      if (status != DecodeStatus::Ok) throw Error("cpu fixture: cannot decode the faulting instruction");
      c.end_block = false;
      insn.exec(c, insn);
    } catch (const GuestFault& fault) {
      Exception ex;
      ex.vector = fault.vector;
      ex.error_code = fault.has_error_code ? fault.error_code : 0;
      if (fault.vector == kPageFault) ex.fault_address = c.cr2;
      out.exception = ex;
    }
    if (!out.exception) throw Error("cpu fixture: triple fault that the instruction does not reproduce");
    // At CPL 3 the closing HLT raises #GP(0): that is the normal end.
    if (c.rip == code_end_ && out.exception->vector == kGeneralProtection && out.exception->error_code == 0) {
      out.exception.reset();
    }
    break;
  }
  if (c.halted) c.rip -= 1;  // back onto the HLT at the end of the code

  std::memcpy(out.gpr, c.gpr, sizeof out.gpr);
  out.rflags = c.flags();
  out.fx = save_fpu_state(c.fpu);
  out.rip_offset = c.rip - kCodeAddress;
  return out;
}

}  // namespace vireo::tcg::test
