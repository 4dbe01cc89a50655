// National Semiconductor PC16550D UART with its 16-byte FIFOs, as a PC's
// COM port (COM1 at 0x3f8, IRQ 4). Register names follow the datasheet.
//
// Transmission is instantaneous: a byte written to THR goes straight to the
// character backend, so THR and the transmitter are always empty again by
// the next access (THRE and TEMT stay set), as in QEMU.
//
// Threads: vCPU threads access the registers, the backend's input thread
// delivers received bytes; mutex_ guards all of the state.
#pragma once

#include <cstdint>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/irq.h"
#include "ui/chardev.h"
#include "util/serialize.h"

namespace vireo {

class Uart16550 final : public BusDevice, public CharFrontend {
 public:
  static constexpr uint64_t kRegisterCount = 8;

  // Register offsets (datasheet table II). DLAB = LCR bit 7 selects the
  // divisor latch at offsets 0 and 1.
  static constexpr uint64_t kRbrThrDll = 0;  // receive buffer / transmit holding / divisor low
  static constexpr uint64_t kIerDlm = 1;     // interrupt enable / divisor high
  static constexpr uint64_t kIirFcr = 2;     // interrupt identification (r) / FIFO control (w)
  static constexpr uint64_t kLcr = 3;
  static constexpr uint64_t kMcr = 4;
  static constexpr uint64_t kLsr = 5;
  static constexpr uint64_t kMsr = 6;
  static constexpr uint64_t kScr = 7;

  // IER bits.
  static constexpr uint8_t kIerRxData = 0x01;     // ERBFI
  static constexpr uint8_t kIerThrEmpty = 0x02;   // ETBEI
  static constexpr uint8_t kIerLineStatus = 0x04; // ELSI
  static constexpr uint8_t kIerModemStatus = 0x08;// EDSSI

  // IIR values: bit 0 clear means an interrupt is pending; bits 3:1 say which
  // (highest priority first); bits 7:6 are set while the FIFOs are enabled.
  static constexpr uint8_t kIirNoInterrupt = 0x01;
  static constexpr uint8_t kIirLineStatus = 0x06;
  static constexpr uint8_t kIirRxData = 0x04;
  static constexpr uint8_t kIirCharTimeout = 0x0c;
  static constexpr uint8_t kIirThrEmpty = 0x02;
  static constexpr uint8_t kIirModemStatus = 0x00;
  static constexpr uint8_t kIirFifosEnabled = 0xc0;

  // FCR bits.
  static constexpr uint8_t kFcrEnable = 0x01;
  static constexpr uint8_t kFcrClearRx = 0x02;
  static constexpr uint8_t kFcrClearTx = 0x04;

  // LCR bits.
  static constexpr uint8_t kLcrDlab = 0x80;

  // MCR bits.
  static constexpr uint8_t kMcrDtr = 0x01;
  static constexpr uint8_t kMcrRts = 0x02;
  static constexpr uint8_t kMcrOut1 = 0x04;
  static constexpr uint8_t kMcrOut2 = 0x08;
  static constexpr uint8_t kMcrLoop = 0x10;

  // LSR bits.
  static constexpr uint8_t kLsrDataReady = 0x01;
  static constexpr uint8_t kLsrOverrun = 0x02;
  static constexpr uint8_t kLsrThrEmpty = 0x20;
  static constexpr uint8_t kLsrTransmitterEmpty = 0x40;

  // MSR bits.
  static constexpr uint8_t kMsrDeltaMask = 0x0f;
  static constexpr uint8_t kMsrCts = 0x10;
  static constexpr uint8_t kMsrDsr = 0x20;
  static constexpr uint8_t kMsrRi = 0x40;
  static constexpr uint8_t kMsrDcd = 0x80;

  static constexpr unsigned kFifoSize = 16;

  Uart16550(IrqLine irq, CharBackend* backend);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  size_t can_receive() override;
  void receive(std::span<const uint8_t> bytes) override;

  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

 private:
  bool dlab() const { return lcr_ & kLcrDlab; }
  bool fifo_enabled() const { return fcr_ & kFcrEnable; }
  bool loopback() const { return mcr_ & kMcrLoop; }
  unsigned rx_trigger_level() const;
  uint8_t pending_interrupt() const;  // an IIR value without the FIFO bits
  void update_irq();                  // with mutex_ held
  void push_rx(uint8_t byte);         // with mutex_ held
  uint8_t pop_rx();                   // with mutex_ held
  uint8_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint8_t value);
  uint8_t modem_status_inputs() const;
  void reset_registers();            // with mutex_ held
  bool state_is_consistent() const;  // with mutex_ held; after loading

  std::mutex mutex_;
  IrqLine irq_;
  CharBackend* backend_;

  // Datasheet registers.
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t lsr_ = kLsrThrEmpty | kLsrTransmitterEmpty;
  uint8_t msr_ = 0;
  uint8_t scr_ = 0;
  uint8_t fcr_ = 0;
  uint16_t divisor_ = 12;  // 9600 baud from the 1.8432 MHz clock
  // THR-empty interrupt pending: set when THR empties (or ETBEI is enabled
  // while it is empty), cleared by reading IIR while it is the source or by
  // writing THR (datasheet table IV).
  bool thr_interrupt_ = false;
  uint8_t rx_fifo_[kFifoSize] = {};
  uint8_t rx_head_ = 0;
  uint8_t rx_count_ = 0;
  bool irq_level_ = false;
};

}  // namespace vireo
