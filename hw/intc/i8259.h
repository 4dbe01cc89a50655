// The PC's two Intel 8259A programmable interrupt controllers: the master
// at ports 0x20/0x21 (IRQ 0-7) and the slave at 0xa0/0xa1 (IRQ 8-15),
// cascaded on the master's IR2, plus the PIIX edge/level control registers
// (ELCR) at 0x4d0/0x4d1 that choose the trigger mode per IRQ. Register and
// command names follow the 8259A datasheet (Intel 231468); the ELCR follows
// the 82371AB PIIX4 datasheet §12.3.
//
// The master's INTR output goes to the local APICs' LINT0 (or straight to
// the CPU when the APIC is off); the CPU's INTA cycle is acknowledge_locked().
//
// Threads: vCPU threads (ports, INTA) and device threads (IRQ lines). All
// state is guarded by the interrupt controllers' shared mutex, the one the
// IOAPIC and the local APICs use too, so that a request crosses the chips
// atomically; methods named *_locked expect the caller to hold it.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "hw/core/io_bus.h"
#include "util/serialize.h"

namespace vireo {

// One 8259A's registers, as the datasheet names them.
struct I8259Chip {
  uint8_t irr = 0;            // interrupt request register
  uint8_t isr = 0;            // in-service register
  uint8_t imr = 0;            // interrupt mask register (OCW1)
  uint8_t elcr = 0;           // PIIX ELCR: 1 = level-triggered IR input
  uint8_t input_levels = 0;   // the IR pins as last driven (for edge detection)
  uint8_t vector_base = 0;    // ICW2, T7-T3
  uint8_t icw3 = 0;           // cascade wiring (stored, the PC's is fixed)
  uint8_t lowest_priority = 7;  // IR with the lowest priority (rotation); the next one is highest
  uint8_t init_step = 0;      // 0: operational; 2, 3, 4: the next data write is ICW2/3/4
  uint8_t icw4_needed = 0;    // ICW1 IC4
  uint8_t single_mode = 0;    // ICW1 SNGL
  uint8_t auto_eoi = 0;       // ICW4 AEOI
  uint8_t special_fully_nested = 0;  // ICW4 SFNM
  uint8_t rotate_on_auto_eoi = 0;    // OCW2 R=1 SL=0 EOI=0
  uint8_t special_mask = 0;   // OCW3 SMM
  uint8_t read_isr = 0;       // OCW3 RR/RIS: the command port reads ISR (1) or IRR (0)
  uint8_t poll = 0;           // OCW3 P: the next command-port read is a poll
};

class I8259Pair final : public BusDevice {
 public:
  // Offsets as the device sees them: the machine maps 0x20 (2 ports) here,
  // and 0xa0 and 0x4d0 through OffsetWindows shifted by these.
  static constexpr uint64_t kMasterCommand = 0;  // 0x20: ICW1, OCW2, OCW3 / IRR, ISR, poll
  static constexpr uint64_t kMasterData = 1;     // 0x21: ICW2-4, OCW1 / IMR
  static constexpr uint64_t kSlaveCommand = 2;   // 0xa0
  static constexpr uint64_t kSlaveData = 3;      // 0xa1
  static constexpr uint64_t kElcrMaster = 4;     // 0x4d0
  static constexpr uint64_t kElcrSlave = 5;      // 0x4d1
  static constexpr uint64_t kSlaveWindowShift = kSlaveCommand;
  static constexpr uint64_t kElcrWindowShift = kElcrMaster;

  // Command byte bits (datasheet figures 7 and 8).
  static constexpr uint8_t kIcw1 = 0x10;        // D4 = 1: ICW1
  static constexpr uint8_t kIcw1Ic4 = 0x01;     // ICW4 follows
  static constexpr uint8_t kIcw1Single = 0x02;  // no cascade, no ICW3
  static constexpr uint8_t kIcw1Ltim = 0x08;    // level mode: ignored, the ELCR decides on a PC
  static constexpr uint8_t kOcw3 = 0x08;        // D4 D3 = 01: OCW3 (00: OCW2)
  static constexpr uint8_t kOcw3ReadRegister = 0x02;  // RR: RIS selects the register
  static constexpr uint8_t kOcw3ReadIsr = 0x01;       // RIS
  static constexpr uint8_t kOcw3Poll = 0x04;
  static constexpr uint8_t kOcw3SetSpecialMask = 0x20;  // SMM (with ESMM)
  static constexpr uint8_t kOcw3EnableSpecialMask = 0x40;  // ESMM
  static constexpr uint8_t kIcw4Microprocessor = 0x01;  // 8086 mode; 8080 mode is not modelled
  static constexpr uint8_t kIcw4AutoEoi = 0x02;
  static constexpr uint8_t kIcw4SpecialFullyNested = 0x10;
  // OCW2 R, SL, EOI in bits 7-5; L2-L0 in bits 2-0.
  static constexpr uint8_t kOcw2NonSpecificEoi = 0x20;
  static constexpr uint8_t kOcw2SpecificEoi = 0x60;
  static constexpr uint8_t kOcw2RotateNonSpecificEoi = 0xa0;
  static constexpr uint8_t kOcw2SetRotateAutoEoi = 0x80;
  static constexpr uint8_t kOcw2ClearRotateAutoEoi = 0x00;
  static constexpr uint8_t kOcw2RotateSpecificEoi = 0xe0;
  static constexpr uint8_t kOcw2SetPriority = 0xc0;
  static constexpr uint8_t kOcw2Nop = 0x40;
  static constexpr uint8_t kPollInterrupt = 0x80;  // poll word bit I

  static constexpr unsigned kCascadeIr = 2;  // the slave's INTR drives master IR2
  // IRQ 0-2 (timer, keyboard, cascade) and 8, 13 (RTC, FPU) are edge-only (PIIX4 §12.3.2).
  static constexpr uint8_t kElcrMasterMask = 0xf8;
  static constexpr uint8_t kElcrSlaveMask = 0xde;

  // `intr_output` is called, with the shared mutex held, whenever the
  // master's INTR pin changes level.
  I8259Pair(std::mutex& irqchip_mutex, std::function<void(bool)> intr_output);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // Drives ISA IRQ line `irq` (0-15).
  void set_irq(unsigned irq, bool level);

  // The INTA cycle: the vector of the highest-priority request, now in
  // service; IRQ 7 (or 15) when the request went away (a spurious interrupt).
  int acknowledge_locked();
  // The vector acknowledge_locked() would return now, or -1 when INTR is low.
  int peek_vector_locked() const;
  bool intr_locked() const { return intr_; }

  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

  // For tests and `info pic`: a copy of one chip's registers.
  I8259Chip chip(bool slave) const;

 private:
  I8259Chip& chip_for(uint64_t offset) { return offset >= kSlaveCommand && offset < kElcrMaster ? slave_ : master_; }
  uint8_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint8_t value);
  void write_command(I8259Chip& c, uint8_t value);
  void write_data(I8259Chip& c, uint8_t value);
  void write_ocw2(I8259Chip& c, uint8_t value);
  uint8_t poll(I8259Chip& c);
  void update_locked();  // cascade and INTR after any change

  std::mutex& mutex_;
  std::function<void(bool)> intr_output_;
  I8259Chip master_;
  I8259Chip slave_;
  bool intr_ = false;  // the master's INTR pin as last driven
};

}  // namespace vireo
