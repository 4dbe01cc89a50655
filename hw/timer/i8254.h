// Intel 8254 programmable interval timer at ports 0x40-0x43: three 16-bit
// down-counters clocked at 1.193182 MHz. Counter 0's OUT drives IRQ 0;
// counter 2's GATE and OUT are wired to system control port B (0x61).
// Names follow the 82C54 datasheet (Intel 231244).
//
// Counting is computed from the virtual clock rather than stepped: a
// counter remembers when its count was loaded, and its count and OUT at
// any time follow from the mode. Counter 0 arms a timer for OUT's next
// rising edge and pulses IRQ 0 there (the PIC and the IOAPIC take IRQ 0 by
// edge, so a pulse is as good as the level; QEMU raises and lowers it with
// two timer events per period). Simplification, as in QEMU: a count written
// while counting takes effect at once in every mode.
//
// Threads: vCPU threads (ports), the timer thread (IRQ 0); mutex_ guards
// the counters. Lock order: mutex_, then the interrupt controllers' lock
// (IRQ 0) and the timer service's.
#pragma once

#include <cstdint>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/irq.h"
#include "hw/core/timer.h"
#include "util/serialize.h"

namespace vireo {

// One counter's registers and progress, as the datasheet describes them.
struct I8254Counter {
  uint16_t count_register = 0;  // CR as last loaded (BCD when bcd); 0 is the largest count
  uint8_t mode = 3;             // M2-M0, 6 and 7 folded to 2 and 3
  uint8_t access = 3;           // RW1-RW0: 1 LSB, 2 MSB, 3 LSB then MSB
  uint8_t bcd = 0;
  uint8_t gate = 1;
  uint8_t counting = 0;         // the counting element runs (modes 1 and 5: triggered)
  uint8_t count_register_written = 0;  // a count followed the control word
  uint8_t null_count = 1;       // a count was written but not yet loaded into the CE
  int64_t load_ns = 0;          // when the CE started from the count register
  uint64_t held_ticks = 0;      // clocks counted when GATE stopped the count
  uint16_t latched_count = 0;   // output latch (OL) after a latch command
  uint8_t count_latched = 0;
  uint8_t status = 0;           // read-back status latch
  uint8_t status_latched = 0;
  uint8_t read_msb_next = 0;    // word access: the next read returns the MSB
  uint8_t write_msb_next = 0;   // word access: the next write is the MSB
  uint8_t write_lsb = 0;        // the LSB written first
  uint64_t irq_ticks_done = 0;  // counter 0: rising edges up to this clock already raised IRQ 0
};

class I8254 final : public BusDevice {
 public:
  static constexpr int64_t kClockHz = 1'193'182;
  static constexpr unsigned kCounters = 3;

  // Port offsets from 0x40.
  static constexpr uint64_t kCounter0 = 0;
  static constexpr uint64_t kCounter1 = 1;
  static constexpr uint64_t kCounter2 = 2;
  static constexpr uint64_t kControlWord = 3;
  static constexpr uint64_t kRegisterCount = 4;

  // Control word fields (datasheet figure 7).
  static constexpr uint8_t kSelectShift = 6;        // SC1-SC0; 3 = read-back command
  static constexpr uint8_t kSelectReadBack = 3;
  static constexpr uint8_t kAccessShift = 4;        // RW1-RW0; 0 = counter latch command
  static constexpr uint8_t kAccessLatch = 0;
  static constexpr uint8_t kAccessLsb = 1;
  static constexpr uint8_t kAccessMsb = 2;
  static constexpr uint8_t kAccessWord = 3;
  static constexpr uint8_t kModeShift = 1;          // M2-M0
  static constexpr uint8_t kBcd = 0x01;
  // Read-back command (datasheet figure 10): active-low COUNT and STATUS.
  static constexpr uint8_t kReadBackNoCount = 0x20;
  static constexpr uint8_t kReadBackNoStatus = 0x10;
  static constexpr uint8_t kReadBackCounter0 = 0x02;  // counter n is bit n + 1
  // Status byte (datasheet figure 11).
  static constexpr uint8_t kStatusOut = 0x80;
  static constexpr uint8_t kStatusNullCount = 0x40;

  I8254(TimerService& timers, IrqLine irq0);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // GATE and OUT of a counter, for port 0x61 (counter 2).
  void set_gate(unsigned counter, bool level);
  bool gate(unsigned counter);
  bool out(unsigned counter);

  // Power-up state as QEMU has it: every counter in mode 3 with the largest
  // count, counters 0 and 1 running, counter 2's gate low.
  void reset();
  // Saves or loads the counters; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

 private:
  uint8_t read_counter(I8254Counter& c);
  void write_counter(unsigned index, uint8_t value);
  void write_control(uint8_t value);
  void latch_count(I8254Counter& c, int64_t now);
  void latch_status(I8254Counter& c, int64_t now);
  void load_count(unsigned index, uint16_t value, int64_t now);
  uint64_t elapsed_ticks(const I8254Counter& c, int64_t now) const;
  uint16_t count_at(const I8254Counter& c, int64_t now) const;
  bool out_at(const I8254Counter& c, int64_t now) const;
  void restart_irq0(int64_t now);  // with mutex_ held, after counter 0 changed
  void update_irq0();              // the timer's callback

  std::mutex mutex_;
  TimerService& timers_;
  IrqLine irq0_;
  I8254Counter counters_[kCounters];
  Timer irq0_timer_;
};

}  // namespace vireo
