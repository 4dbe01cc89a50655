#include "accel/tcg/tcg_accel.h"

#include <algorithm>
#include <cstring>

#include "accel/tcg/interp.h"
#include "accel/tcg/phys_memory.h"
#include "accel/tcg/tsc.h"
#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"

namespace vireo {

namespace {

class TcgVcpu final : public Vcpu {
 public:
  TcgVcpu(unsigned index, unsigned cpu_count, const CpuModel& model, tcg::PhysMemory& phys, VcpuIo io,
          uint64_t tsc_offset)
      : interpreter_(cpu_) {
    cpu_.index = index;
    cpu_.msr.tsc_offset = tsc_offset;
    cpu_.cpu_count = cpu_count;
    cpu_.model = &model;
    cpu_.phys = &phys;
    cpu_.pio = &io.pio;
    cpu_.interrupts = io.local_apic;
  }

  unsigned index() const override { return cpu_.index; }

  VcpuStop run() override {
    return interpreter_.run() == tcg::RunResult::Kicked ? VcpuStop::Kicked : VcpuStop::TripleFault;
  }

  void kick() override { interpreter_.post_event(tcg::kEventKick); }

  void post_event(VcpuEvent event, uint8_t vector) override {
    switch (event) {
      case VcpuEvent::Interrupt: interpreter_.post_event(tcg::kEventInterrupt); break;
      case VcpuEvent::Nmi: interpreter_.post_event(tcg::kEventNmi); break;
      case VcpuEvent::Init: interpreter_.post_event(tcg::kEventInit); break;
      case VcpuEvent::Sipi:
        // Written before the event bit is published (release in post_event).
        cpu_.sipi_vector = vector;
        interpreter_.post_event(tcg::kEventSipi);
        break;
    }
  }

  void skip_time(uint64_t ns) override { cpu_.msr.tsc_offset -= ns; }

  X86CpuState state() override { return cpu_.save_state(); }
  void set_state(const X86CpuState& state) override { cpu_.load_state(state); }
  X86DumpState dump_state() override;
  std::string error() const override { return {}; }

 private:
  tcg::Cpu cpu_;
  tcg::Interpreter interpreter_;
};

X86DumpState TcgVcpu::dump_state() {
  X86DumpState d;
  std::copy(std::begin(cpu_.dr), std::end(cpu_.dr), d.dr);
  const tcg::FpuState& f = cpu_.fpu;
  d.fcw = f.fcw;
  d.fsw = f.fsw;
  for (unsigned i = 0; i < 8; ++i) {
    if (((f.ftw >> (2 * i)) & 3) != 3) d.ftw_abridged = static_cast<uint8_t>(d.ftw_abridged | 1u << i);
    // The 80-bit extended format: the 64-bit significand, then sign and
    // exponent (the host's long double is the same x87 format).
    uint8_t bytes[10];
    std::memcpy(bytes, &f.st[i], sizeof bytes);
    std::memcpy(&d.fpr[i].mantissa, bytes, 8);
    std::memcpy(&d.fpr[i].sign_exponent, bytes + 8, 2);
  }
  d.mxcsr = f.mxcsr;
  for (unsigned i = 0; i < 16; ++i) {
    std::memcpy(&d.xmm[i][0], f.xmm[i], 8);
    std::memcpy(&d.xmm[i][1], f.xmm[i] + 8, 8);
  }
  d.xcr0 = cpu_.xcr0;
  d.cpl = cpu_.cpl;
  // An application processor waiting for its startup IPI is halted, as
  // QEMU reports it.
  d.halted = cpu_.halted || cpu_.waiting_for_sipi;
  d.interrupt_shadow = cpu_.interrupt_shadow;
  return d;
}

class TcgAccelerator final : public Accelerator {
 public:
  std::string_view name() const override { return "tcg"; }

  void map_memory(const GuestMemory& memory) override { memory_ = &memory; }

  // The interrupt controllers are software devices of the machine.
  bool has_irqchip() const override { return false; }
  void set_irq_line(unsigned, bool) override {}

  std::unique_ptr<Vcpu> create_vcpu(unsigned index, unsigned cpu_count, const CpuModel& model,
                                    VcpuIo io) override {
    if (!phys_) phys_ = std::make_unique<tcg::PhysMemory>(*memory_, io.mmio);
    return std::make_unique<TcgVcpu>(index, cpu_count, model, *phys_, io, 0 - tsc_epoch_);
  }

 private:
  // Every vCPU's TSC counts from 0 at this moment: one offset for all
  // keeps them synchronised (tsc.h).
  const uint64_t tsc_epoch_ = tcg::host_tsc();
  const GuestMemory* memory_ = nullptr;
  std::unique_ptr<tcg::PhysMemory> phys_;
};

}  // namespace

std::unique_ptr<Accelerator> create_tcg_accelerator() { return std::make_unique<TcgAccelerator>(); }

}  // namespace vireo
