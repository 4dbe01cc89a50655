// The accelerator interface: what a machine needs from whatever runs guest
// code. kvm (accel/kvm) runs it on the host CPU through /dev/kvm; tcg
// (accel/tcg) interprets it. Machines and devices only ever see this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "accel/cpu_model.h"
#include "accel/cpu_state.h"

namespace vireo {

class GuestMemory;
class IoBus;
class BusDevice;

// A vCPU's local interrupt controller (the local APIC), for accelerators
// without a built-in irqchip. The vCPU asks it, on its own thread, what to
// deliver; the controller tells the vCPU through Vcpu::post_event().
class LocalInterruptController {
 public:
  virtual ~LocalInterruptController() = default;
  // Vector of the highest-priority interrupt the CPU could take now, or -1.
  virtual int pending_vector() = 0;
  // The CPU accepts it (the INTA cycle): returns the vector to deliver, or
  // -1 if it vanished meanwhile.
  virtual int acknowledge() = 0;
  // The controller's registers as the CPU sees them in its APIC page
  // (offsets within the 4 KiB page at IA32_APIC_BASE).
  virtual BusDevice& registers() = 0;
  // IA32_APIC_BASE was written (enable bit, base address, x2APIC mode).
  virtual void apic_base_changed(uint64_t apic_base) = 0;
  // WRMSR IA32_TSC_DEADLINE (0x6e0): `deadline` in TSC ticks, `tsc_now` the
  // vCPU's TSC at the write, `tsc_hz` its rate. Ignored unless the LVT timer
  // is in TSC-deadline mode; 0 disarms (SDM vol. 3 §10.5.4.1).
  virtual void write_tsc_deadline(uint64_t deadline, uint64_t tsc_now, uint64_t tsc_hz) {
    (void)deadline;
    (void)tsc_now;
    (void)tsc_hz;
  }
  // RDMSR IA32_TSC_DEADLINE: 0 once it fired or outside TSC-deadline mode.
  virtual uint64_t read_tsc_deadline() { return 0; }
  // MOV to/from CR8, the task-priority register's bits 7:4 (SDM vol. 3
  // §10.8.6.1); the same register the APIC page's TPR shows.
  virtual void write_cr8(uint64_t value) { (void)value; }
  virtual uint64_t read_cr8() { return 0; }
};

// Where a vCPU sends the port and MMIO accesses the guest makes.
struct VcpuIo {
  IoBus& pio;
  IoBus& mmio;
  // Null when the accelerator has its own irqchip (kvm).
  LocalInterruptController* local_apic = nullptr;
};

// Asynchronous events for a vCPU, posted from device threads.
enum class VcpuEvent {
  Interrupt,  // the local interrupt controller may have something to deliver
  Nmi,
  Init,       // INIT IPI: reset to the wait-for-SIPI state
  Sipi,       // startup IPI with a vector: start at vector * 4096 in real mode
};

enum class VcpuStop {
  Kicked,       // kick() was called: the machine wants to act (pause, reset, quit)
  TripleFault,  // the CPU shut down; a PC resets on it
  Error,        // the accelerator cannot continue; error() says why
};

// One virtual CPU. run(), state() and set_state() are called only from the
// thread that owns the vCPU (or while it is not running); kick() from any.
class Vcpu {
 public:
  virtual ~Vcpu() = default;
  virtual unsigned index() const = 0;

  // Runs guest code until the machine must act. Port and MMIO accesses are
  // dispatched to the buses inside, without returning.
  virtual VcpuStop run() = 0;

  // Makes a current or the next run() return VcpuStop::Kicked soon.
  virtual void kick() = 0;

  // From any thread: an interrupt controller signals this vCPU (wakes it
  // from HLT). Accelerators with a built-in irqchip never receive these.
  virtual void post_event(VcpuEvent event, uint8_t vector = 0) {
    (void)event;
    (void)vector;
  }

  // The machine was paused for `ns` nanoseconds: clocks the vCPU keeps
  // itself (tcg's TSC follows the host clock) move back by that much, so
  // the guest does not see the pause as time passing. Called only while
  // the vCPU is not running.
  virtual void skip_time(uint64_t ns) { (void)ns; }

  virtual X86CpuState state() = 0;
  // The rest of what "info registers" prints. Called only while the vCPU
  // is not running, as state().
  virtual X86DumpState dump_state() = 0;
  virtual void set_state(const X86CpuState& state) = 0;

  // Why run() returned VcpuStop::Error.
  virtual std::string error() const = 0;
};

class Accelerator {
 public:
  virtual ~Accelerator() = default;
  virtual std::string_view name() const = 0;

  // Makes every region of `memory` visible to the guest. Called once, after
  // the machine has mapped its RAM and ROM and before vCPUs are created.
  virtual void map_memory(const GuestMemory& memory) = 0;

  // True if the accelerator brings its own PIC, IOAPIC, LAPICs and PIT (the
  // in-kernel irqchip under kvm). Otherwise the machine builds software ones.
  virtual bool has_irqchip() const = 0;

  // Drives a global system interrupt line of the built-in irqchip
  // (GSI 0-15 reach both the PICs and the IOAPIC, 16-23 the IOAPIC).
  virtual void set_irq_line(unsigned gsi, bool level) = 0;

  // Delivers a message-signalled interrupt (a PCI device's MSI/MSI-X
  // memory write of `data` to `address` in the 0xFEExxxxx window) to the
  // built-in irqchip's local APICs. Only called when has_irqchip(); the
  // machine decodes it for its software APICs otherwise.
  virtual void send_msi(uint64_t address, uint32_t data) {
    (void)address;
    (void)data;
  }

  virtual std::unique_ptr<Vcpu> create_vcpu(unsigned index, unsigned cpu_count,
                                            const CpuModel& model, VcpuIo io) = 0;

  // The machine pauses (stop) after its vCPUs stopped, and resumes (cont)
  // before they start again. A guest clock the accelerator keeps for the
  // whole VM (kvm's kvmclock) stands still in between; per-vCPU clocks
  // are moved with Vcpu::skip_time(). Main thread only.
  virtual void vm_paused() {}
  virtual void vm_resuming() {}
};

// Creates the named accelerator ("kvm" or "tcg"). Throws Error with a message
// saying why it is unavailable (e.g. /dev/kvm missing or not permitted).
std::unique_ptr<Accelerator> create_accelerator(std::string_view name);

// The first of `choices` (-accel in order; empty: QEMU's default, tcg) that
// can be created and can map `memory`; its name goes to `chosen`. A failing
// choice falls back quietly to the next (QEMU's accel=kvm:tcg); if none
// works, throws the last one's Error.
std::unique_ptr<Accelerator> create_first_accelerator(const std::vector<std::string>& choices, GuestMemory& memory,
                                                      std::string& chosen);

}  // namespace vireo
