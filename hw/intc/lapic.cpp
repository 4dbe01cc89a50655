#include "hw/intc/lapic.h"

#include <algorithm>

#include "util/error.h"

namespace vireo {

namespace {

// The highest vector set in a 256-bit register, or -1.
int highest_vector(const uint32_t (&bits)[8]) {
  for (int word = 7; word >= 0; --word) {
    if (bits[word]) return word * 32 + (31 - __builtin_clz(bits[word]));
  }
  return -1;
}
bool test_vector(const uint32_t (&bits)[8], uint8_t v) { return bits[v / 32] & (1u << (v % 32)); }
void set_vector(uint32_t (&bits)[8], uint8_t v) { bits[v / 32] |= 1u << (v % 32); }
void clear_vector(uint32_t (&bits)[8], uint8_t v) { bits[v / 32] &= ~(1u << (v % 32)); }

}  // namespace

// --- ApicBus ---------------------------------------------------------------

void ApicBus::deliver_locked(const ApicMessage& message) {
  if (message.mode == ApicDeliveryMode::LowestPriority) {
    // "Lowest priority" may pick any of the targets (SDM vol. 3 §10.6.2.4
    // leaves the arbitration to the chipset); the lowest processor
    // priority, first on ties, spreads the load as hardware tends to.
    LocalApic* chosen = nullptr;
    for (LocalApic* apic : apics_) {
      if (!apic->matches_destination_locked(message.logical_destination, message.destination)) continue;
      if (chosen == nullptr || apic->processor_priority_locked() < chosen->processor_priority_locked()) {
        chosen = apic;
      }
    }
    if (chosen != nullptr) chosen->receive_locked(message);
    return;
  }
  for (LocalApic* apic : apics_) {
    if (apic->matches_destination_locked(message.logical_destination, message.destination)) {
      apic->receive_locked(message);
    }
  }
}

void ApicBus::deliver_to_all_locked(const ApicMessage& message, const LocalApic* except) {
  for (LocalApic* apic : apics_) {
    if (apic != except) apic->receive_locked(message);
  }
}

void ApicBus::broadcast_eoi_locked(uint8_t vector) {
  if (eoi_listener_) eoi_listener_(vector);
}

void ApicBus::set_lint0_locked(bool level) {
  for (LocalApic* apic : apics_) apic->set_lint0_locked(level);
}

// --- LocalApic: state and delivery to the vCPU --------------------------------

LocalApic::LocalApic(unsigned apic_id, std::mutex& irqchip_mutex, TimerService& timers, ApicBus& bus)
    : mutex_(irqchip_mutex), timers_(timers), bus_(bus), timer_(timers, [this] { timer_expired(); }) {
  regs_.id = static_cast<uint8_t>(apic_id);
  power_up_locked();
}

LocalApic::~LocalApic() = default;

void LocalApic::set_pic(PicConnection pic) {
  std::lock_guard lock(mutex_);
  pic_ = std::move(pic);
  update_locked();
}

void LocalApic::set_vcpu(Vcpu* vcpu) {
  std::lock_guard lock(mutex_);
  vcpu_ = vcpu;
  update_locked();
  // A new vCPU learns of what was already pending while none was attached.
  if (deliverable_.load(std::memory_order_acquire) >= 0) post_locked(VcpuEvent::Interrupt);
}

void LocalApic::reset() {
  std::lock_guard lock(mutex_);
  power_up_locked();
  update_locked();
}

LocalApicRegisters LocalApic::registers_snapshot() const {
  std::lock_guard lock(mutex_);
  return regs_;
}

void LocalApic::power_up_locked() {
  // SDM vol. 3 §10.4.7.1: everything clear, LVTs masked, DFR all ones,
  // SVR 0xff (software-disabled). The pins keep their levels.
  uint8_t id = regs_.id;
  uint8_t lint0 = regs_.lint0_level;
  uint8_t enabled = regs_.globally_enabled;
  regs_ = LocalApicRegisters{};
  regs_.id = id;
  regs_.lint0_level = lint0;
  regs_.globally_enabled = enabled;
  for (uint32_t& lvt : regs_.lvt) lvt = kLvtMasked;
  timer_.cancel();
}

void LocalApic::init_locked() {
  // INIT resets the APIC like power-up but keeps the APIC ID (SDM vol. 3
  // §10.4.7.3); IA32_APIC_BASE is the CPU's and unchanged.
  power_up_locked();
  update_locked();
}

bool LocalApic::extint_pending_locked() const {
  if (regs_.extint_requested) return true;
  uint32_t lint0 = regs_.lvt[kLvtLint0];
  return regs_.lint0_level && !(lint0 & kLvtMasked) &&
         ((lint0 & kLvtDeliveryModeMask) >> kLvtDeliveryModeShift) == static_cast<uint32_t>(ApicDeliveryMode::ExtInt);
}

uint8_t LocalApic::processor_priority_locked() const {
  // SDM vol. 3 §10.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4.
  int isrv = highest_vector(regs_.isr);
  uint8_t isr_class = isrv < 0 ? 0 : static_cast<uint8_t>(isrv & 0xf0);
  return (regs_.tpr & 0xf0) >= isr_class ? regs_.tpr : isr_class;
}

int LocalApic::deliverable_locked() const {
  if (!regs_.globally_enabled) {
    // An APIC disabled in IA32_APIC_BASE is out of the way: the 8259A's
    // INTR goes to the CPU (SDM vol. 3 §10.4.3).
    return regs_.lint0_level && pic_.peek_vector ? pic_.peek_vector() : -1;
  }
  if (software_enabled()) {
    int v = highest_vector(regs_.irr);
    if (v >= 0 && (v & 0xf0) > (processor_priority_locked() & 0xf0)) return v;
  }
  // The APIC's own interrupts go first, then the 8259A (as QEMU orders them).
  if (extint_pending_locked() && pic_.peek_vector) return pic_.peek_vector();
  return -1;
}

void LocalApic::update_locked() {
  int v = deliverable_locked();
  int old = deliverable_.exchange(v, std::memory_order_acq_rel);
  if (v >= 0 && v != old) post_locked(VcpuEvent::Interrupt);
}

void LocalApic::post_locked(VcpuEvent event, uint8_t vector) {
  if (vcpu_ != nullptr) vcpu_->post_event(event, vector);
}

int LocalApic::pending_vector() { return deliverable_.load(std::memory_order_acquire); }

int LocalApic::acknowledge() {
  std::lock_guard lock(mutex_);
  int vector = -1;
  if (!regs_.globally_enabled) {
    if (regs_.lint0_level && pic_.acknowledge) vector = pic_.acknowledge();
    update_locked();
    return vector;
  }
  if (software_enabled()) {
    int v = highest_vector(regs_.irr);
    if (v >= 0 && (v & 0xf0) > (processor_priority_locked() & 0xf0)) {
      clear_vector(regs_.irr, static_cast<uint8_t>(v));
      set_vector(regs_.isr, static_cast<uint8_t>(v));
      update_locked();
      return v;
    }
  }
  if (extint_pending_locked() && pic_.acknowledge && pic_.peek_vector && pic_.peek_vector() >= 0) {
    regs_.extint_requested = 0;
    vector = pic_.acknowledge();
  }
  update_locked();
  return vector;
}

void LocalApic::set_lint0_locked(bool level) {
  bool rising = level && !regs_.lint0_level;
  regs_.lint0_level = level ? 1 : 0;
  uint32_t lint0 = regs_.lvt[kLvtLint0];
  auto mode = static_cast<ApicDeliveryMode>((lint0 & kLvtDeliveryModeMask) >> kLvtDeliveryModeShift);
  // ExtINT follows the level (extint_pending_locked); the other modes take
  // an edge, which is how Linux uses LINT0 when it is not the 8259A's wire.
  if (rising && regs_.globally_enabled && mode != ApicDeliveryMode::ExtInt) deliver_lvt_locked(kLvtLint0);
  update_locked();
}

void LocalApic::apic_base_changed(uint64_t apic_base) {
  std::lock_guard lock(mutex_);
  bool enabled = apic_base & kApicBaseGlobalEnable;
  if (!enabled && regs_.globally_enabled) {
    // Clearing the global enable resets the APIC to its power-up state
    // (SDM vol. 3 §10.4.3); the ID survives.
    power_up_locked();
  }
  regs_.globally_enabled = enabled ? 1 : 0;
  update_locked();
}

void LocalApic::write_cr8(uint64_t value) {
  std::lock_guard lock(mutex_);
  regs_.tpr = static_cast<uint8_t>((value & 0xf) << 4);
  update_locked();
}

uint64_t LocalApic::read_cr8() {
  std::lock_guard lock(mutex_);
  return regs_.tpr >> 4;
}

// --- Interrupt acceptance and local sources ---------------------------------

void LocalApic::accept_locked(uint8_t vector, bool level_triggered) {
  if (vector < 16) {
    // Vectors 0-15 are reserved: the receiver flags and drops them.
    signal_error_locked(kEsrReceiveIllegalVector);
    return;
  }
  set_vector(regs_.irr, vector);
  if (level_triggered) {
    set_vector(regs_.tmr, vector);
  } else {
    clear_vector(regs_.tmr, vector);
  }
  update_locked();
}

void LocalApic::receive_locked(const ApicMessage& message) {
  if (!regs_.globally_enabled) return;
  switch (message.mode) {
    case ApicDeliveryMode::Fixed:
    case ApicDeliveryMode::LowestPriority:
      accept_locked(message.vector, message.level_triggered);
      break;
    case ApicDeliveryMode::Nmi:
      post_locked(VcpuEvent::Nmi);
      break;
    case ApicDeliveryMode::Init:
      init_locked();
      post_locked(VcpuEvent::Init);
      break;
    case ApicDeliveryMode::Startup:
      post_locked(VcpuEvent::Sipi, message.vector);
      break;
    case ApicDeliveryMode::ExtInt:
      regs_.extint_requested = 1;
      update_locked();
      break;
    case ApicDeliveryMode::Smi:
      break;  // no system-management mode
  }
}

void LocalApic::signal_error_locked(uint32_t esr_bits) {
  regs_.esr_pending |= esr_bits;
  uint32_t lvt = regs_.lvt[kLvtError];
  // An error vector that is itself illegal would loop; it is dropped.
  if (!(lvt & kLvtMasked) && (lvt & kLvtVectorMask) >= 16) deliver_lvt_locked(kLvtError);
}

void LocalApic::deliver_lvt_locked(unsigned lvt_index) {
  uint32_t lvt = regs_.lvt[lvt_index];
  if (lvt & kLvtMasked) return;
  auto mode = static_cast<ApicDeliveryMode>((lvt & kLvtDeliveryModeMask) >> kLvtDeliveryModeShift);
  // The timer and error entries have no delivery-mode field: always fixed.
  if (lvt_index == kLvtTimer || lvt_index == kLvtError) mode = ApicDeliveryMode::Fixed;
  switch (mode) {
    case ApicDeliveryMode::Fixed:
      accept_locked(static_cast<uint8_t>(lvt & kLvtVectorMask), false);
      break;
    case ApicDeliveryMode::Nmi:
      post_locked(VcpuEvent::Nmi);
      break;
    case ApicDeliveryMode::Init:
      init_locked();
      post_locked(VcpuEvent::Init);
      break;
    default:
      break;  // ExtINT is level-driven (set_lint0_locked); SMI has no model
  }
}

bool LocalApic::matches_destination_locked(bool logical, uint8_t destination) const {
  if (!regs_.globally_enabled) return false;
  if (!logical) return destination == 0xff || destination == regs_.id;
  if (regs_.dfr_model == 0xf) return (regs_.ldr & destination) != 0;  // flat: a bit per APIC
  // Cluster model: a 4-bit cluster and a 4-bit member mask (SDM vol. 3 §10.6.2.2).
  if (destination == 0xff) return true;
  return (regs_.ldr >> 4) == (destination >> 4) && (regs_.ldr & destination & 0x0f) != 0;
}

void LocalApic::write_eoi_locked() {
  int v = highest_vector(regs_.isr);
  if (v < 0) return;
  auto vector = static_cast<uint8_t>(v);
  clear_vector(regs_.isr, vector);
  // A level-triggered interrupt's EOI goes to the IOAPIC, which clears its
  // remote IRR (SDM vol. 3 §10.8.5).
  if (test_vector(regs_.tmr, vector)) {
    clear_vector(regs_.tmr, vector);
    bus_.broadcast_eoi_locked(vector);
  }
  update_locked();
}

void LocalApic::send_ipi_locked() {
  uint32_t icr = regs_.icr_low;
  ApicMessage message;
  message.vector = static_cast<uint8_t>(icr & kIcrVectorMask);
  message.mode = static_cast<ApicDeliveryMode>((icr >> kIcrDeliveryModeShift) & 7);
  message.logical_destination = icr & kIcrLogical;
  message.destination = static_cast<uint8_t>(regs_.icr_high >> 24);
  message.level_triggered = icr & kIcrLevelTriggered;
  uint32_t shorthand = (icr >> kIcrShorthandShift) & 3;

  if (message.mode == ApicDeliveryMode::Init && message.level_triggered && !(icr & kIcrLevelAssert)) {
    return;  // INIT level de-assert: only synchronises arbitration IDs
  }
  if ((message.mode == ApicDeliveryMode::Fixed || message.mode == ApicDeliveryMode::LowestPriority) &&
      message.vector < 16) {
    signal_error_locked(kEsrSendIllegalVector);
    return;
  }
  switch (shorthand) {
    case kShorthandNone:
      bus_.deliver_locked(message);
      break;
    case kShorthandSelf:
      receive_locked(message);
      break;
    case kShorthandAllIncludingSelf:
      bus_.deliver_to_all_locked(message, nullptr);
      break;
    case kShorthandAllExcludingSelf:
      bus_.deliver_to_all_locked(message, this);
      break;
  }
}

}  // namespace vireo

namespace vireo {

// --- The register page ---------------------------------------------------------

uint64_t LocalApic::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  // Registers sit at 16-byte boundaries, 32 bits wide (SDM vol. 3 §10.4.1).
  unsigned byte = offset & 0xf;
  if (byte >= 4) return 0;
  uint64_t value = read_register(offset & ~0xfull) >> (8 * byte);
  return size >= 4 ? value : value & ((1ull << (8 * size)) - 1);
}

void LocalApic::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  // Only aligned 32-bit stores reach a register (SDM vol. 3 §10.4.1);
  // QEMU drops the others too.
  if (size != 4 || (offset & 0xf) != 0) return;
  write_register(offset, static_cast<uint32_t>(value));
}

uint32_t LocalApic::read_register(uint64_t offset) {
  if (offset >= kRegIsr && offset < kRegIrr + 0x80) {
    unsigned word = static_cast<unsigned>((offset & 0x7f) >> 4);
    if (offset < kRegTmr) return regs_.isr[word];
    if (offset < kRegIrr) return regs_.tmr[word];
    return regs_.irr[word];
  }
  switch (offset) {
    case kRegId:
      return uint32_t{regs_.id} << 24;
    case kRegVersion:
      return kVersion;
    case kRegTpr:
      return regs_.tpr;
    case kRegApr: {
      // SDM vol. 3 §10.8.3.1 (figure 10-15's arbitration priority).
      int irrv = highest_vector(regs_.irr);
      int isrv = highest_vector(regs_.isr);
      uint8_t busy = static_cast<uint8_t>(std::max(irrv, isrv) < 0 ? 0 : std::max(irrv, isrv) & 0xf0);
      return (regs_.tpr & 0xf0) >= busy ? regs_.tpr : busy;
    }
    case kRegPpr:
      return processor_priority_locked();
    case kRegEoi:  // write-only
    case kRegRrd:  // remote read is not supported by xAPICs
      return 0;
    case kRegLdr:
      return uint32_t{regs_.ldr} << 24;
    case kRegDfr:
      return (uint32_t{regs_.dfr_model} << 28) | 0x0fffffff;
    case kRegSvr:
      return regs_.svr;
    case kRegEsr:
      return regs_.esr;
    case kRegIcrLow:
      return regs_.icr_low;  // delivery status: always idle, delivery is instant
    case kRegIcrHigh:
      return regs_.icr_high;
    case kRegLvtTimer:
    case kRegLvtThermal:
    case kRegLvtPerf:
    case kRegLvtLint0:
    case kRegLvtLint1:
    case kRegLvtError:
      return regs_.lvt[(offset - kRegLvtTimer) >> 4];
    case kRegTimerInitialCount:
      return regs_.timer_initial_count;
    case kRegTimerCurrentCount:
      return timer_current_count_locked(timers_.now_ns());
    case kRegTimerDivide:
      return regs_.timer_divide;
    default:
      signal_error_locked(kEsrIllegalRegister);
      return 0;
  }
}

void LocalApic::write_register(uint64_t offset, uint32_t value) {
  if (offset >= kRegIsr && offset < kRegIrr + 0x80) return;  // ISR, TMR, IRR: read-only
  switch (offset) {
    case kRegId:
      regs_.id = static_cast<uint8_t>(value >> 24);
      break;
    case kRegVersion:
    case kRegApr:
    case kRegPpr:
    case kRegRrd:
    case kRegTimerCurrentCount:
      break;  // read-only
    case kRegTpr:
      regs_.tpr = static_cast<uint8_t>(value);
      update_locked();
      break;
    case kRegEoi:
      write_eoi_locked();
      break;
    case kRegLdr:
      regs_.ldr = static_cast<uint8_t>(value >> 24);
      break;
    case kRegDfr:
      regs_.dfr_model = static_cast<uint8_t>(value >> 28);
      break;
    case kRegSvr:
      regs_.svr = value & kSvrWritable;
      if (!software_enabled()) {
        // Software disable masks every LVT entry (SDM vol. 3 §10.4.7.2).
        for (uint32_t& lvt : regs_.lvt) lvt |= kLvtMasked;
      }
      update_locked();
      break;
    case kRegEsr:
      // A write latches the errors seen since the previous write (SDM vol. 3 §10.5.3).
      regs_.esr = regs_.esr_pending;
      regs_.esr_pending = 0;
      break;
    case kRegIcrLow:
      regs_.icr_low = value & kIcrWritable;
      send_ipi_locked();
      break;
    case kRegIcrHigh:
      regs_.icr_high = value & 0xff000000;
      break;
    case kRegLvtTimer:
    case kRegLvtThermal:
    case kRegLvtPerf:
    case kRegLvtLint0:
    case kRegLvtLint1:
    case kRegLvtError: {
      unsigned index = static_cast<unsigned>((offset - kRegLvtTimer) >> 4);
      // Writable fields per entry (SDM vol. 3 figure 10-8).
      static constexpr uint32_t kWritable[LocalApicRegisters::kLvtCount] = {
          kLvtVectorMask | kLvtMasked | kLvtTimerModeMask,                       // timer
          kLvtVectorMask | kLvtDeliveryModeMask | kLvtMasked,                    // thermal
          kLvtVectorMask | kLvtDeliveryModeMask | kLvtMasked,                    // perf
          kLvtVectorMask | kLvtDeliveryModeMask | kLvtPolarityLow | kLvtLevelTriggered | kLvtMasked,
          kLvtVectorMask | kLvtDeliveryModeMask | kLvtPolarityLow | kLvtLevelTriggered | kLvtMasked,
          kLvtVectorMask | kLvtMasked,                                           // error
      };
      int64_t now = timers_.now_ns();
      // Expiries up to now happen under the old entry (a masked one is lost).
      if (index == kLvtTimer) timer_catch_up_locked(now);
      uint32_t old_timer_mode = timer_mode();
      uint32_t lvt = value & kWritable[index];
      if (!software_enabled()) lvt |= kLvtMasked;  // cannot be unmasked while disabled
      regs_.lvt[index] = lvt;
      if (index == kLvtTimer) {
        uint32_t mode = timer_mode();
        if (mode != old_timer_mode && (mode == kTimerTscDeadline || old_timer_mode == kTimerTscDeadline)) {
          // Entering or leaving TSC-deadline mode disarms the timer (SDM vol. 3 §10.5.4.1).
          regs_.timer_initial_count = 0;
          regs_.timer_running = 0;
          regs_.tsc_deadline = 0;
        }
        timer_arm_locked(now);
      }
      update_locked();
      break;
    }
    case kRegTimerInitialCount: {
      if (timer_mode() == kTimerTscDeadline) break;  // ignored in TSC-deadline mode
      int64_t now = timers_.now_ns();
      timer_catch_up_locked(now);
      regs_.timer_initial_count = value;
      timer_start_locked(now);
      break;
    }
    case kRegTimerDivide: {
      int64_t now = timers_.now_ns();
      timer_catch_up_locked(now);
      bool counting = regs_.timer_running && timer_mode() != kTimerTscDeadline;
      uint32_t current = counting ? timer_current_count_locked(now) : 0;
      regs_.timer_divide = value & 0xb;
      if (counting) {
        // The count goes on from where it is, at the new rate.
        uint64_t done_ticks = regs_.timer_initial_count - current;
        regs_.timer_start_ns = now - static_cast<int64_t>(done_ticks << timer_divide_shift());
        regs_.timer_periods_signalled = 0;
        timer_arm_locked(now);
      }
      break;
    }
    default:
      signal_error_locked(kEsrIllegalRegister);
      break;
  }
}

// --- The timer -------------------------------------------------------------------

unsigned LocalApic::timer_divide_shift() const {
  // Divide configuration bits 3, 1:0: 000 = /2 ... 110 = /128, 111 = /1
  // (SDM vol. 3 figure 10-10).
  uint32_t d = regs_.timer_divide;
  return (((d & 3) | ((d >> 1) & 4)) + 1) & 7;
}

int64_t LocalApic::timer_period_ns() const {
  // One bus-clock tick is a nanosecond.
  return static_cast<int64_t>(uint64_t{regs_.timer_initial_count} << timer_divide_shift());
}

uint32_t LocalApic::timer_current_count_locked(int64_t now) const {
  if (!regs_.timer_running || regs_.timer_initial_count == 0 || timer_mode() == kTimerTscDeadline) return 0;
  uint64_t ticks = now > regs_.timer_start_ns ? uint64_t(now - regs_.timer_start_ns) >> timer_divide_shift() : 0;
  uint32_t initial = regs_.timer_initial_count;
  if (timer_mode() == kTimerPeriodic) return static_cast<uint32_t>(initial - ticks % initial);
  return ticks >= initial ? 0 : static_cast<uint32_t>(initial - ticks);
}

void LocalApic::timer_start_locked(int64_t now) {
  regs_.timer_start_ns = now;
  regs_.timer_periods_signalled = 0;
  regs_.timer_running = regs_.timer_initial_count != 0 ? 1 : 0;  // writing 0 stops it
  timer_arm_locked(now);
}

void LocalApic::timer_arm_locked(int64_t now) {
  if (timer_mode() == kTimerTscDeadline) {
    if (regs_.tsc_deadline != 0) {
      timer_.arm(regs_.tsc_deadline_ns);
    } else {
      timer_.cancel();
    }
    return;
  }
  int64_t period = timer_period_ns();
  if (!regs_.timer_running || period == 0) {
    timer_.cancel();
    return;
  }
  // 128-bit, saturating: the next expiry can lie beyond int64 nanoseconds.
  __int128 next_wide = static_cast<__int128>(regs_.timer_start_ns) +
                       static_cast<__int128>(regs_.timer_periods_signalled + 1) * period;
  int64_t next = static_cast<int64_t>(std::min<__int128>(next_wide, TimerService::kNever - 1));
  if (timer_mode() == kTimerPeriodic && period < kMinTimerIntervalNs) next = std::max(next, now + kMinTimerIntervalNs);
  timer_.arm(next);
}

void LocalApic::timer_catch_up_locked(int64_t now) {
  if (timer_mode() == kTimerTscDeadline) {
    if (regs_.tsc_deadline != 0 && now >= regs_.tsc_deadline_ns) {
      regs_.tsc_deadline = 0;  // the MSR reads 0 once the deadline passed
      deliver_lvt_locked(kLvtTimer);
    }
    return;
  }
  int64_t period = timer_period_ns();
  if (!regs_.timer_running || period == 0) return;
  uint64_t periods = now > regs_.timer_start_ns ? uint64_t(now - regs_.timer_start_ns) / uint64_t(period) : 0;
  if (periods > regs_.timer_periods_signalled) {
    // Periods the host slept through merge into one interrupt, as IRR would.
    regs_.timer_periods_signalled = periods;
    deliver_lvt_locked(kLvtTimer);  // a masked timer counts on silently
    if (timer_mode() != kTimerPeriodic) regs_.timer_running = 0;
  }
}

void LocalApic::timer_expired() {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  timer_catch_up_locked(now);
  timer_arm_locked(now);
}

void LocalApic::write_tsc_deadline(uint64_t deadline, uint64_t tsc_now, uint64_t tsc_hz) {
  std::lock_guard lock(mutex_);
  if (timer_mode() != kTimerTscDeadline) return;  // SDM vol. 3 §10.5.4.1: writes ignored
  timer_catch_up_locked(timers_.now_ns());  // a deadline that passed still fires
  regs_.tsc_deadline = deadline;
  if (deadline == 0) {
    timer_.cancel();
    return;
  }
  if (tsc_hz == 0) tsc_hz = 1'000'000'000;
  // A deadline already passed fires at once.
  unsigned __int128 delta_ticks = deadline > tsc_now ? deadline - tsc_now : 0;
  unsigned __int128 delta_ns = delta_ticks * 1'000'000'000u / tsc_hz;
  constexpr int64_t kFarFutureNs = int64_t{1} << 60;  // 36 years: never, but savable
  regs_.tsc_deadline_ns = timers_.now_ns() + static_cast<int64_t>(std::min<unsigned __int128>(delta_ns, kFarFutureNs));
  timer_.arm(regs_.tsc_deadline_ns);
}

uint64_t LocalApic::read_tsc_deadline() {
  std::lock_guard lock(mutex_);
  return timer_mode() == kTimerTscDeadline ? regs_.tsc_deadline : 0;
}

// --- Saved state -------------------------------------------------------------------

void LocalApic::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  s(regs_.id);
  s(regs_.tpr);
  s(regs_.ldr);
  s(regs_.dfr_model);
  s(regs_.svr);
  s(regs_.isr);
  s(regs_.tmr);
  s(regs_.irr);
  s(regs_.esr);
  s(regs_.esr_pending);
  s(regs_.icr_low);
  s(regs_.icr_high);
  s(regs_.lvt);
  s(regs_.timer_initial_count);
  s(regs_.timer_divide);
  s(regs_.timer_start_ns);
  s(regs_.timer_periods_signalled);
  s(regs_.timer_running);
  s(regs_.tsc_deadline);
  s(regs_.tsc_deadline_ns);
  s(regs_.lint0_level);
  s(regs_.extint_requested);
  s(regs_.globally_enabled);
  if (!s.loading()) return;
  bool consistent = (regs_.dfr_model == 0 || regs_.dfr_model == 0xf) && !(regs_.svr & ~kSvrWritable) &&
                    !(regs_.timer_divide & ~0xbu) && regs_.timer_running <= 1 && regs_.lint0_level <= 1 &&
                    regs_.extint_requested <= 1 && regs_.globally_enabled <= 1 &&
                    !(regs_.icr_low & ~kIcrWritable) && !(regs_.icr_high & 0x00ffffff) &&
                    // Times far enough from overflow for the timer arithmetic.
                    regs_.timer_start_ns > -(int64_t{1} << 61) && regs_.timer_start_ns < (int64_t{1} << 61) &&
                    regs_.tsc_deadline_ns > -(int64_t{1} << 61) && regs_.tsc_deadline_ns < (int64_t{1} << 61) &&
                    regs_.timer_periods_signalled < (uint64_t{1} << 40);
  // A running timer cannot have signalled periods that have not begun.
  int64_t now = timers_.now_ns();
  if (consistent && regs_.timer_running && timer_period_ns() > 0) {
    uint64_t begun = now > regs_.timer_start_ns ? uint64_t(now - regs_.timer_start_ns) / uint64_t(timer_period_ns()) : 0;
    consistent = regs_.timer_periods_signalled <= begun;
  }
  if (!consistent) throw Error("saved state: inconsistent local APIC registers");
  timer_arm_locked(now);
  update_locked();
}

}  // namespace vireo
