#include "hw/char/uart16550.h"

#include <algorithm>

namespace vireo {

Uart16550::Uart16550(IrqLine irq, CharBackend* backend) : irq_(std::move(irq)), backend_(backend) {}

void Uart16550::reset() {
  std::lock_guard lock(mutex_);
  reset_registers();
  update_irq();
}

void Uart16550::reset_registers() {
  ier_ = lcr_ = mcr_ = scr_ = fcr_ = 0;
  lsr_ = kLsrThrEmpty | kLsrTransmitterEmpty;
  msr_ = 0;
  divisor_ = 12;
  thr_interrupt_ = false;
  rx_head_ = rx_count_ = 0;
}

unsigned Uart16550::rx_trigger_level() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};
  return kLevels[fcr_ >> 6];
}

uint8_t Uart16550::modem_status_inputs() const {
  // In loopback the modem outputs feed the inputs (datasheet: MCR bit 4).
  // Otherwise report a connected peer, as QEMU does for a plain chardev.
  if (!loopback()) return kMsrCts | kMsrDsr | kMsrDcd;
  uint8_t v = 0;
  if (mcr_ & kMcrRts) v |= kMsrCts;
  if (mcr_ & kMcrDtr) v |= kMsrDsr;
  if (mcr_ & kMcrOut1) v |= kMsrRi;
  if (mcr_ & kMcrOut2) v |= kMsrDcd;
  return v;
}

uint8_t Uart16550::pending_interrupt() const {
  if ((ier_ & kIerLineStatus) && (lsr_ & kLsrOverrun)) return kIirLineStatus;
  if ((ier_ & kIerRxData) && rx_count_ > 0) {
    // Below the trigger level a real FIFO raises the character-timeout
    // interrupt after four character times; with instant transfers that is
    // now. Drivers treat both the same: read RBR while LSR.DR is set.
    if (fifo_enabled() && rx_count_ < rx_trigger_level()) return kIirCharTimeout;
    return kIirRxData;
  }
  if ((ier_ & kIerThrEmpty) && thr_interrupt_) return kIirThrEmpty;
  if ((ier_ & kIerModemStatus) && (msr_ & kMsrDeltaMask)) return kIirModemStatus;
  return kIirNoInterrupt;
}

void Uart16550::update_irq() {
  // QEMU does not gate the line with MCR.OUT2 as PC boards do; Linux sets
  // OUT2 whenever it wants interrupts, so either choice works for it, and we
  // follow the reference emulator.
  bool level = pending_interrupt() != kIirNoInterrupt;
  if (level != irq_level_) {
    irq_level_ = level;
    irq_.set(level);
  }
}

void Uart16550::push_rx(uint8_t byte) {
  if (!fifo_enabled() && rx_count_ > 0) {
    // Datasheet, LSR bit 1: without FIFOs the next character overwrites the
    // unread one in RBR (QEMU does the same).
    lsr_ |= kLsrOverrun;
    rx_fifo_[rx_head_] = byte;
    return;
  }
  if (rx_count_ >= kFifoSize) {
    // With FIFOs the character in the shift register is the one lost.
    lsr_ |= kLsrOverrun;
    return;
  }
  rx_fifo_[(rx_head_ + rx_count_) % kFifoSize] = byte;
  ++rx_count_;
  lsr_ |= kLsrDataReady;
}

uint8_t Uart16550::pop_rx() {
  if (rx_count_ == 0) return 0;
  uint8_t byte = rx_fifo_[rx_head_];
  rx_head_ = static_cast<uint8_t>((rx_head_ + 1) % kFifoSize);
  --rx_count_;
  if (rx_count_ == 0) lsr_ &= static_cast<uint8_t>(~kLsrDataReady);
  return byte;
}

uint64_t Uart16550::read(uint64_t offset, unsigned size) {
  (void)size;  // registers are byte wide; wider reads see the first one
  bool made_room = false;
  uint8_t value;
  {
    std::lock_guard lock(mutex_);
    made_room = offset == kRbrThrDll && !dlab() && rx_count_ > 0;
    value = read_register(offset);
    update_irq();
  }
  if (made_room && backend_) backend_->frontend_ready();
  return value;
}

uint8_t Uart16550::read_register(uint64_t offset) {
  switch (offset) {
    case kRbrThrDll:
      return dlab() ? static_cast<uint8_t>(divisor_) : pop_rx();
    case kIerDlm:
      return dlab() ? static_cast<uint8_t>(divisor_ >> 8) : ier_;
    case kIirFcr: {
      uint8_t id = pending_interrupt();
      // Reading IIR while THRE is the reported source clears it.
      if (id == kIirThrEmpty) thr_interrupt_ = false;
      return static_cast<uint8_t>(id | (fifo_enabled() ? kIirFifosEnabled : 0));
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      uint8_t value = lsr_;
      lsr_ &= static_cast<uint8_t>(~kLsrOverrun);  // error bits clear on read
      return value;
    }
    case kMsr: {
      uint8_t value = static_cast<uint8_t>((msr_ & kMsrDeltaMask) | modem_status_inputs());
      msr_ &= static_cast<uint8_t>(~kMsrDeltaMask);
      return value;
    }
    case kScr:
      return scr_;
    default:
      return 0xff;
  }
}

void Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
  (void)size;
  std::lock_guard lock(mutex_);
  write_register(offset, static_cast<uint8_t>(value));
  update_irq();
}

void Uart16550::write_register(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kRbrThrDll:
      if (dlab()) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
        return;
      }
      if (loopback()) {
        push_rx(value);
      } else if (backend_) {
        backend_->write({&value, 1});
      }
      // THR is empty again at once, which is itself an interrupt source.
      thr_interrupt_ = true;
      return;
    case kIerDlm:
      if (dlab()) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
        return;
      }
      // Enabling ETBEI while THR is empty raises THRE at once; Linux's 8250
      // driver tests exactly this when it probes the port.
      if ((value & kIerThrEmpty) && !(ier_ & kIerThrEmpty)) thr_interrupt_ = true;
      ier_ = value & 0x0f;
      return;
    case kIirFcr: {
      bool was_enabled = fifo_enabled();
      bool enable = value & kFcrEnable;
      // Changing the enable bit, or the clear bits, empties the FIFOs.
      if (enable != was_enabled || (value & kFcrClearRx)) {
        rx_head_ = rx_count_ = 0;
        lsr_ &= static_cast<uint8_t>(~kLsrDataReady);
      }
      fcr_ = enable ? static_cast<uint8_t>(value & 0xc9) : 0;
      return;
    }
    case kLcr:
      lcr_ = value;
      return;
    case kMcr: {
      uint8_t old_inputs = modem_status_inputs();
      mcr_ = value & 0x1f;
      uint8_t new_inputs = modem_status_inputs();
      uint8_t changed = old_inputs ^ new_inputs;
      // Record the deltas the loopback wiring produced (MSR bits 3:0).
      if (changed & kMsrCts) msr_ |= 0x01;
      if (changed & kMsrDsr) msr_ |= 0x02;
      if ((old_inputs & kMsrRi) && !(new_inputs & kMsrRi)) msr_ |= 0x04;  // trailing edge of RI
      if (changed & kMsrDcd) msr_ |= 0x08;
      return;
    }
    case kScr:
      scr_ = value;
      return;
    default:
      return;  // LSR and MSR writes are for factory testing; ignored
  }
}

size_t Uart16550::can_receive() {
  std::lock_guard lock(mutex_);
  if (loopback()) return 0;  // the line is disconnected while looping back
  unsigned capacity = fifo_enabled() ? kFifoSize : 1;
  return capacity - std::min<unsigned>(capacity, rx_count_);
}

void Uart16550::receive(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  for (uint8_t b : bytes) push_rx(b);
  update_irq();
}

void Uart16550::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  try {
    s(ier_);
    s(lcr_);
    s(mcr_);
    s(lsr_);
    s(msr_);
    s(scr_);
    s(fcr_);
    s(divisor_);
    // Through a byte: a loaded bool that is neither 0 nor 1 would be
    // undefined behaviour before any check could see it.
    uint8_t thr_interrupt = thr_interrupt_ ? 1 : 0;
    s(thr_interrupt);
    if (thr_interrupt > 1) throw Error("saved state: inconsistent 16550 UART registers");
    thr_interrupt_ = thr_interrupt != 0;
    s(rx_fifo_);
    s(rx_head_);
    s(rx_count_);
    if (s.loading() && !state_is_consistent()) {
      throw Error("saved state: inconsistent 16550 UART registers");
    }
  } catch (const Error&) {
    // A half-loaded or inconsistent state must never be used: rx_head_ and
    // rx_count_ index rx_fifo_. Come back as after a reset instead.
    if (s.loading()) {
      reset_registers();
      update_irq();
    }
    throw;
  }
  if (s.loading()) {
    // Drive the line to the loaded state's level, whatever it was before:
    // update_irq() only acts on a change.
    irq_level_ = pending_interrupt() == kIirNoInterrupt;
    update_irq();
  }
}

bool Uart16550::state_is_consistent() const {
  const unsigned capacity = fifo_enabled() ? kFifoSize : 1;
  const bool data_ready = lsr_ & kLsrDataReady;
  // The TEMT and THRE bits are always set: transmission is instantaneous.
  constexpr uint8_t kTransmitterIdle = kLsrThrEmpty | kLsrTransmitterEmpty;
  return rx_head_ < kFifoSize && rx_count_ <= capacity && data_ready == (rx_count_ > 0) &&
         (lsr_ & kTransmitterIdle) == kTransmitterIdle && (ier_ & 0xf0) == 0 &&
         (mcr_ & 0xe0) == 0 && (fcr_ & ~0xc9) == 0;
}

}  // namespace vireo
