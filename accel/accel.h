// The accelerator interface: what a machine needs from whatever runs guest
// code. kvm (accel/kvm) runs it on the host CPU through /dev/kvm; tcg
// (accel/tcg) interprets it. Machines and devices only ever see this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "accel/cpu_model.h"
#include "accel/cpu_state.h"

namespace vireo {

class GuestMemory;
class IoBus;

// Where a vCPU sends the port and MMIO accesses the guest makes.
struct VcpuIo {
  IoBus& pio;
  IoBus& mmio;
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

  virtual X86CpuState state() = 0;
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

  virtual std::unique_ptr<Vcpu> create_vcpu(unsigned index, unsigned cpu_count,
                                            const CpuModel& model, VcpuIo io) = 0;
};

// Creates the named accelerator ("kvm" or "tcg"). Throws Error with a message
// saying why it is unavailable (e.g. /dev/kvm missing or not permitted).
std::unique_ptr<Accelerator> create_accelerator(std::string_view name);

}  // namespace vireo
