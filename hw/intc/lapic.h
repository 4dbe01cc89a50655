// The local APIC of one vCPU in xAPIC mode (Intel SDM vol. 3 chapter 10),
// for accelerators without a built-in irqchip: it is the vCPU's
// LocalInterruptController. Version 0x50014 (an integrated APIC with six
// LVT entries, as QEMU's), a timer at a 1 GHz bus clock (QEMU's), and
// IA32_TSC_DEADLINE for the TSC-deadline timer mode. x2APIC is not
// modelled (and not advertised).
//
// The ApicBus joins the local APICs: IOAPIC messages and IPIs reach them
// through it, their EOIs for level-triggered vectors go back to the IOAPIC,
// and the 8259A's INTR reaches every LINT0: an unmasked ExtINT entry there
// is virtual wire mode, which firmware (SeaBIOS) or Linux sets up; with the
// APIC globally disabled in IA32_APIC_BASE the PIC drives the CPU directly.
// After reset LINT0 is masked like every LVT entry (SDM vol. 3 §10.4.7.1),
// as in QEMU since 2.7 ("target-i386: disable LINT0 after reset"; QEMU 7.2's
// `info lapic` shows it masked before firmware runs).
//
// Threads: the owning vCPU thread (its register page, INTA), other vCPU
// threads (IPIs), device threads (IOAPIC/PIC messages) and the timer
// thread. The interrupt controllers' shared mutex guards all of the state
// (*_locked methods expect it held). pending_vector() takes no lock: it
// reads an atomic kept current under the mutex, because the vCPU calls it
// while holding its own wait lock, and Vcpu::post_event, which takes that
// wait lock, is called here with the shared mutex held (lock order: shared
// irqchip mutex, then the vCPU's wait lock; never the reverse).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "accel/accel.h"
#include "hw/core/io_bus.h"
#include "hw/core/timer.h"
#include "hw/intc/apic_message.h"
#include "util/serialize.h"

namespace vireo {

class LocalApic;

// The APIC bus: delivers messages to the local APICs by destination.
class ApicBus final : public ApicMessageSink {
 public:
  void attach(LocalApic* apic) { apics_.push_back(apic); }
  const std::vector<LocalApic*>& apics() const { return apics_; }
  // The IOAPIC's EOI input (Ioapic::eoi_locked).
  void set_eoi_listener(std::function<void(uint8_t)> listener) { eoi_listener_ = std::move(listener); }

  void deliver_locked(const ApicMessage& message) override;
  // Shorthand destinations "all including self" / "all excluding `except`".
  void deliver_to_all_locked(const ApicMessage& message, const LocalApic* except);
  void broadcast_eoi_locked(uint8_t vector);
  // The 8259A's INTR, wired to every local APIC's LINT0.
  void set_lint0_locked(bool level);

 private:
  std::vector<LocalApic*> apics_;
  std::function<void(uint8_t)> eoi_listener_;
};

// The SDM's registers (vol. 3 §10.4.1, table 10-1).
struct LocalApicRegisters {
  static constexpr unsigned kLvtCount = 6;  // timer, thermal, perf, LINT0, LINT1, error
  uint8_t id = 0;          // APIC ID, bits 31:24 of 0x020
  uint8_t tpr = 0;         // task priority
  uint8_t ldr = 0;         // logical destination, bits 31:24 of 0x0d0
  uint8_t dfr_model = 0xf; // destination format model, bits 31:28 of 0x0e0 (0xf flat, 0 cluster)
  uint32_t svr = 0xff;     // spurious-interrupt vector register
  uint32_t isr[8] = {};    // in-service, 256 bits
  uint32_t tmr[8] = {};    // trigger mode, 256 bits
  uint32_t irr[8] = {};    // interrupt request, 256 bits
  uint32_t esr = 0;        // error status as latched by the last ESR write
  uint32_t esr_pending = 0;  // errors since then
  uint32_t icr_low = 0;
  uint32_t icr_high = 0;
  uint32_t lvt[kLvtCount] = {};
  uint32_t timer_initial_count = 0;
  uint32_t timer_divide = 0;  // divide configuration register
  // Timer progress (not registers): when the count last started from the
  // initial count, how many periods have been signalled since, and whether
  // it still counts (a one-shot stops at zero).
  int64_t timer_start_ns = 0;
  uint64_t timer_periods_signalled = 0;
  uint8_t timer_running = 0;
  uint64_t tsc_deadline = 0;        // IA32_TSC_DEADLINE; 0 = disarmed
  int64_t tsc_deadline_ns = 0;      // the same deadline in virtual time
  uint8_t lint0_level = 0;          // the 8259A's INTR as it reaches LINT0
  uint8_t extint_requested = 0;     // an ExtINT message awaits its INTA
  uint8_t globally_enabled = 1;     // IA32_APIC_BASE bit 11
};

class LocalApic final : public LocalInterruptController, public BusDevice {
 public:
  // Register offsets in the APIC page (SDM vol. 3 table 10-1).
  static constexpr uint64_t kRegId = 0x020;
  static constexpr uint64_t kRegVersion = 0x030;
  static constexpr uint64_t kRegTpr = 0x080;
  static constexpr uint64_t kRegApr = 0x090;
  static constexpr uint64_t kRegPpr = 0x0a0;
  static constexpr uint64_t kRegEoi = 0x0b0;
  static constexpr uint64_t kRegRrd = 0x0c0;
  static constexpr uint64_t kRegLdr = 0x0d0;
  static constexpr uint64_t kRegDfr = 0x0e0;
  static constexpr uint64_t kRegSvr = 0x0f0;
  static constexpr uint64_t kRegIsr = 0x100;   // 8 registers, 16 bytes apart
  static constexpr uint64_t kRegTmr = 0x180;
  static constexpr uint64_t kRegIrr = 0x200;
  static constexpr uint64_t kRegEsr = 0x280;
  static constexpr uint64_t kRegIcrLow = 0x300;
  static constexpr uint64_t kRegIcrHigh = 0x310;
  static constexpr uint64_t kRegLvtTimer = 0x320;
  static constexpr uint64_t kRegLvtThermal = 0x330;
  static constexpr uint64_t kRegLvtPerf = 0x340;
  static constexpr uint64_t kRegLvtLint0 = 0x350;
  static constexpr uint64_t kRegLvtLint1 = 0x360;
  static constexpr uint64_t kRegLvtError = 0x370;
  static constexpr uint64_t kRegTimerInitialCount = 0x380;
  static constexpr uint64_t kRegTimerCurrentCount = 0x390;
  static constexpr uint64_t kRegTimerDivide = 0x3e0;
  static constexpr uint64_t kPageSize = 0x1000;

  // Indexes into LocalApicRegisters::lvt, in register order.
  static constexpr unsigned kLvtTimer = 0, kLvtThermal = 1, kLvtPerf = 2, kLvtLint0 = 3,
                            kLvtLint1 = 4, kLvtError = 5;

  static constexpr uint32_t kVersion = 0x14 | ((LocalApicRegisters::kLvtCount - 1) << 16);  // 0x50014

  // SVR bits.
  static constexpr uint32_t kSvrVectorMask = 0xff;
  static constexpr uint32_t kSvrSoftwareEnable = 1u << 8;
  static constexpr uint32_t kSvrFocusDisable = 1u << 9;
  static constexpr uint32_t kSvrWritable = kSvrVectorMask | kSvrSoftwareEnable | kSvrFocusDisable;

  // LVT bits (SDM vol. 3 figure 10-8).
  static constexpr uint32_t kLvtVectorMask = 0xff;
  static constexpr unsigned kLvtDeliveryModeShift = 8;
  static constexpr uint32_t kLvtDeliveryModeMask = 7u << kLvtDeliveryModeShift;
  static constexpr uint32_t kLvtDeliveryStatus = 1u << 12;
  static constexpr uint32_t kLvtPolarityLow = 1u << 13;
  static constexpr uint32_t kLvtRemoteIrr = 1u << 14;
  static constexpr uint32_t kLvtLevelTriggered = 1u << 15;
  static constexpr uint32_t kLvtMasked = 1u << 16;
  static constexpr unsigned kLvtTimerModeShift = 17;
  static constexpr uint32_t kLvtTimerModeMask = 3u << kLvtTimerModeShift;
  static constexpr uint32_t kTimerOneShot = 0, kTimerPeriodic = 1, kTimerTscDeadline = 2;

  // ICR bits (SDM vol. 3 figure 10-12).
  static constexpr uint32_t kIcrVectorMask = 0xff;
  static constexpr unsigned kIcrDeliveryModeShift = 8;
  static constexpr uint32_t kIcrLogical = 1u << 11;
  static constexpr uint32_t kIcrDeliveryStatus = 1u << 12;
  static constexpr uint32_t kIcrLevelAssert = 1u << 14;
  static constexpr uint32_t kIcrLevelTriggered = 1u << 15;
  static constexpr unsigned kIcrShorthandShift = 18;
  static constexpr uint32_t kIcrWritable = 0x000ccfff;  // all but delivery status and reserved bits
  static constexpr uint32_t kShorthandNone = 0, kShorthandSelf = 1, kShorthandAllIncludingSelf = 2,
                            kShorthandAllExcludingSelf = 3;

  // ESR bits (SDM vol. 3 figure 10-9).
  static constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
  static constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
  static constexpr uint32_t kEsrIllegalRegister = 1u << 7;

  // IA32_APIC_BASE bits.
  static constexpr uint64_t kApicBaseGlobalEnable = 1ull << 11;

  // The bus clock the timer divides: 1 GHz, one tick per nanosecond.
  static constexpr int64_t kBusClockHz = 1'000'000'000;
  // Periodic timer signals are at least this far apart; faster periods
  // merge in IRR as they would when the guest cannot keep up (KVM has the
  // same kind of floor).
  static constexpr int64_t kMinTimerIntervalNs = 100'000;

  // What the local APIC asks of the 8259A for ExtINT: its INTA and a peek
  // at the vector INTA would return (-1 when INTR is low). Called locked.
  struct PicConnection {
    std::function<int()> acknowledge;
    std::function<int()> peek_vector;
  };

  LocalApic(unsigned apic_id, std::mutex& irqchip_mutex, TimerService& timers, ApicBus& bus);
  ~LocalApic() override;

  void set_pic(PicConnection pic);
  // The vCPU that receives this APIC's events; null detaches it (only
  // while the vCPU's thread is stopped, before the vCPU is destroyed).
  void set_vcpu(Vcpu* vcpu);

  // LocalInterruptController, for the vCPU.
  int pending_vector() override;
  int acknowledge() override;
  BusDevice& registers() override { return *this; }
  void apic_base_changed(uint64_t apic_base) override;
  void write_tsc_deadline(uint64_t deadline, uint64_t tsc_now, uint64_t tsc_hz) override;
  uint64_t read_tsc_deadline() override;
  void write_cr8(uint64_t value) override;
  uint64_t read_cr8() override;

  // The register page.
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // From the APIC bus and the PIC, shared mutex held.
  void receive_locked(const ApicMessage& message);
  bool matches_destination_locked(bool logical, uint8_t destination) const;
  uint8_t processor_priority_locked() const;
  void set_lint0_locked(bool level);

  // Power-up state (machine reset), the ID kept.
  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

  // For tests: the registers as they are now.
  LocalApicRegisters registers_snapshot() const;

 private:
  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void power_up_locked();     // SDM §10.4.7.1, keeping the ID
  void init_locked();         // INIT: power-up state but the ID (SDM §10.4.7.3)
  void update_locked();       // recomputes deliverable_, wakes the vCPU
  int deliverable_locked() const;
  bool extint_pending_locked() const;
  void accept_locked(uint8_t vector, bool level_triggered);  // a fixed interrupt into IRR
  void signal_error_locked(uint32_t esr_bits);
  void deliver_lvt_locked(unsigned lvt_index);
  void send_ipi_locked();
  void write_eoi_locked();
  void post_locked(VcpuEvent event, uint8_t vector = 0);
  bool software_enabled() const { return regs_.svr & kSvrSoftwareEnable; }
  uint32_t timer_mode() const { return (regs_.lvt[kLvtTimer] & kLvtTimerModeMask) >> kLvtTimerModeShift; }
  unsigned timer_divide_shift() const;
  int64_t timer_period_ns() const;
  uint32_t timer_current_count_locked(int64_t now) const;
  void timer_start_locked(int64_t now);
  void timer_arm_locked(int64_t now);
  void timer_catch_up_locked(int64_t now);  // signals expiries up to `now`
  void timer_expired();       // the timer thread's callback

  std::mutex& mutex_;
  TimerService& timers_;
  ApicBus& bus_;
  PicConnection pic_;
  Vcpu* vcpu_ = nullptr;
  LocalApicRegisters regs_;
  std::atomic<int> deliverable_{-1};  // what pending_vector() answers
  Timer timer_;
};

}  // namespace vireo
