#include "hw/intc/i8259.h"

#include "util/error.h"

namespace vireo {

namespace {

using P = I8259Pair;

// Priority rank of IR `ir`: 0 is the highest, the IR after lowest_priority
// (datasheet "Rotating Priority").
unsigned rank(const I8259Chip& c, unsigned ir) { return (ir - c.lowest_priority - 1u) & 7u; }

// The highest-priority IR among `bits`, or -1.
int highest(const I8259Chip& c, uint8_t bits) {
  for (unsigned r = 0; r < 8; ++r) {
    unsigned ir = (c.lowest_priority + 1u + r) & 7u;
    if (bits & (1u << ir)) return static_cast<int>(ir);
  }
  return -1;
}

// The IR the chip would interrupt for now: the highest unmasked request
// that outranks everything in service, or -1.
int requesting_ir(const I8259Chip& c, bool is_master) {
  int request = highest(c, static_cast<uint8_t>(c.irr & ~c.imr));
  if (request < 0) return -1;
  uint8_t in_service = c.isr;
  // Special mask mode: a masked level in service blocks nothing.
  if (c.special_mask) in_service &= static_cast<uint8_t>(~c.imr);
  // Special fully nested mode: the slave may interrupt again while the
  // cascade is in service, for a request of higher priority on the slave.
  if (is_master && c.special_fully_nested) in_service &= static_cast<uint8_t>(~(1u << P::kCascadeIr));
  int current = highest(c, in_service);
  if (current >= 0 && rank(c, static_cast<unsigned>(current)) <= rank(c, static_cast<unsigned>(request))) {
    return -1;
  }
  return request;
}

void set_input(I8259Chip& c, unsigned ir, bool level) {
  uint8_t bit = static_cast<uint8_t>(1u << ir);
  if (c.elcr & bit) {
    // Level-sensitive: the request follows the pin.
    c.irr = level ? (c.irr | bit) : (c.irr & ~bit);
  } else if (level && !(c.input_levels & bit)) {
    // Edge-sensitive: a rising edge latches a request, which stays until
    // acknowledged even if the pin drops (as QEMU; the datasheet asks the
    // device to hold it until INTA).
    c.irr |= bit;
  }
  c.input_levels = level ? (c.input_levels | bit) : (c.input_levels & ~bit);
}

// INTA (or a poll) takes `ir` into service.
void accept(I8259Chip& c, unsigned ir) {
  uint8_t bit = static_cast<uint8_t>(1u << ir);
  if (!(c.elcr & bit)) c.irr &= static_cast<uint8_t>(~bit);
  if (c.auto_eoi) {
    if (c.rotate_on_auto_eoi) c.lowest_priority = static_cast<uint8_t>(ir);
  } else {
    c.isr |= bit;
  }
}

}  // namespace

I8259Pair::I8259Pair(std::mutex& irqchip_mutex, std::function<void(bool)> intr_output)
    : mutex_(irqchip_mutex), intr_output_(std::move(intr_output)) {}

void I8259Pair::reset() {
  std::lock_guard lock(mutex_);
  // The pins keep their levels: the devices driving them reset themselves.
  uint8_t master_pins = master_.input_levels;
  uint8_t slave_pins = slave_.input_levels;
  master_ = I8259Chip{};
  slave_ = I8259Chip{};
  master_.input_levels = master_pins;
  slave_.input_levels = slave_pins;
  update_locked();
}

I8259Chip I8259Pair::chip(bool slave) const {
  std::lock_guard lock(mutex_);
  return slave ? slave_ : master_;
}

void I8259Pair::set_irq(unsigned irq, bool level) {
  if (irq >= 16) return;
  std::lock_guard lock(mutex_);
  set_input(irq < 8 ? master_ : slave_, irq & 7u, level);
  update_locked();
}

void I8259Pair::update_locked() {
  if (!master_.single_mode) set_input(master_, kCascadeIr, requesting_ir(slave_, false) >= 0);
  bool intr = requesting_ir(master_, true) >= 0;
  if (intr != intr_) {
    intr_ = intr;
    if (intr_output_) intr_output_(intr);
  }
}

int I8259Pair::acknowledge_locked() {
  int vector;
  int ir = requesting_ir(master_, true);
  if (ir < 0) {
    // No request at INTA: the 8259A answers with IR7 and sets no ISR bit
    // (datasheet "Interrupt Sequence"; Linux counts these as spurious).
    vector = master_.vector_base | 7;
  } else {
    accept(master_, static_cast<unsigned>(ir));
    if (ir == static_cast<int>(kCascadeIr) && !master_.single_mode) {
      int slave_ir = requesting_ir(slave_, false);
      if (slave_ir < 0) {
        // Spurious IRQ 15: the master has put the cascade in service and
        // needs its EOI, the slave sets nothing.
        vector = slave_.vector_base | 7;
      } else {
        accept(slave_, static_cast<unsigned>(slave_ir));
        vector = slave_.vector_base | slave_ir;
      }
    } else {
      vector = master_.vector_base | ir;
    }
  }
  update_locked();
  return vector;
}

int I8259Pair::peek_vector_locked() const {
  int ir = requesting_ir(master_, true);
  if (ir < 0) return -1;
  if (ir == static_cast<int>(kCascadeIr) && !master_.single_mode) {
    int slave_ir = requesting_ir(slave_, false);
    return slave_.vector_base | (slave_ir < 0 ? 7 : slave_ir);
  }
  return master_.vector_base | ir;
}

uint64_t I8259Pair::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) value |= uint64_t{read_register(offset + i)} << (8 * i);
  return value;
}

void I8259Pair::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  for (unsigned i = 0; i < size; ++i) write_register(offset + i, static_cast<uint8_t>(value >> (8 * i)));
}

uint8_t I8259Pair::read_register(uint64_t offset) {
  switch (offset) {
    case kMasterCommand:  // IRR, ISR or the poll word
    case kSlaveCommand: {
      I8259Chip& c = chip_for(offset);
      if (c.poll) return poll(c);
      return c.read_isr ? c.isr : c.irr;
    }
    case kMasterData:  // IMR
    case kSlaveData:
      return chip_for(offset).imr;
    case kElcrMaster:
      return master_.elcr;
    case kElcrSlave:
      return slave_.elcr;
    default:
      return 0xff;
  }
}

void I8259Pair::write_register(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kMasterCommand:  // ICW1, OCW2, OCW3
    case kSlaveCommand:
      write_command(chip_for(offset), value);
      break;
    case kMasterData:  // ICW2-4, OCW1
    case kSlaveData:
      write_data(chip_for(offset), value);
      break;
    case kElcrMaster:
    case kElcrSlave: {
      I8259Chip& c = offset == kElcrMaster ? master_ : slave_;
      c.elcr = value & (offset == kElcrMaster ? kElcrMasterMask : kElcrSlaveMask);
      // Inputs now level-sensitive report their pins at once.
      c.irr = static_cast<uint8_t>((c.irr & ~c.elcr) | (c.input_levels & c.elcr));
      break;
    }
    default:
      return;
  }
  update_locked();
}

void I8259Pair::write_command(I8259Chip& c, uint8_t value) {
  if (value & kIcw1) {
    // ICW1 starts initialisation (datasheet "Initialization Command Word
    // 1"): edge detection restarts (a pin already high must go low and
    // high again), IMR and ISR clear, IR7 gets the lowest priority, special
    // mask mode ends, reads return IRR, and without IC4 the ICW4 functions
    // are cleared.
    c.irr &= c.elcr;
    c.isr = 0;
    c.imr = 0;
    c.lowest_priority = 7;
    c.special_mask = 0;
    c.read_isr = 0;
    c.poll = 0;
    c.rotate_on_auto_eoi = 0;
    c.icw4_needed = (value & kIcw1Ic4) ? 1 : 0;
    c.single_mode = (value & kIcw1Single) ? 1 : 0;
    if (!c.icw4_needed) c.auto_eoi = c.special_fully_nested = 0;
    c.init_step = 2;
    return;
  }
  if (value & kOcw3) {
    if (value & kOcw3Poll) c.poll = 1;
    if (value & kOcw3ReadRegister) c.read_isr = (value & kOcw3ReadIsr) ? 1 : 0;
    if (value & kOcw3EnableSpecialMask) c.special_mask = (value & kOcw3SetSpecialMask) ? 1 : 0;
    return;
  }
  write_ocw2(c, value);
}

void I8259Pair::write_ocw2(I8259Chip& c, uint8_t value) {
  uint8_t level = value & 7;
  switch (value & 0xe0) {
    case kOcw2NonSpecificEoi:
    case kOcw2RotateNonSpecificEoi: {
      int ir = highest(c, c.isr);
      if (ir < 0) break;
      c.isr &= static_cast<uint8_t>(~(1u << ir));
      if ((value & 0xe0) == kOcw2RotateNonSpecificEoi) c.lowest_priority = static_cast<uint8_t>(ir);
      break;
    }
    case kOcw2SpecificEoi:
      c.isr &= static_cast<uint8_t>(~(1u << level));
      break;
    case kOcw2RotateSpecificEoi:
      c.isr &= static_cast<uint8_t>(~(1u << level));
      c.lowest_priority = level;
      break;
    case kOcw2SetPriority:
      c.lowest_priority = level;
      break;
    case kOcw2SetRotateAutoEoi:
      c.rotate_on_auto_eoi = 1;
      break;
    case kOcw2ClearRotateAutoEoi:
      c.rotate_on_auto_eoi = 0;
      break;
    case kOcw2Nop:
      break;
  }
}

void I8259Pair::write_data(I8259Chip& c, uint8_t value) {
  switch (c.init_step) {
    case 2:  // ICW2: vector base
      c.vector_base = value & 0xf8;
      c.init_step = c.single_mode ? (c.icw4_needed ? 4 : 0) : 3;
      break;
    case 3:  // ICW3: cascade wiring
      c.icw3 = value;
      c.init_step = c.icw4_needed ? 4 : 0;
      break;
    case 4:  // ICW4
      c.auto_eoi = (value & kIcw4AutoEoi) ? 1 : 0;
      c.special_fully_nested = (value & kIcw4SpecialFullyNested) ? 1 : 0;
      c.init_step = 0;
      break;
    default:  // OCW1
      c.imr = value;
      break;
  }
}

uint8_t I8259Pair::poll(I8259Chip& c) {
  // Poll command (datasheet "The Poll Command"): this read is the INTA.
  c.poll = 0;
  bool is_master = &c == &master_;
  int ir = requesting_ir(c, is_master);
  if (ir < 0) return 0;
  accept(c, static_cast<unsigned>(ir));
  if (!is_master && requesting_ir(slave_, false) < 0) {
    // Deliberate (as QEMU): polling the slave also consumes the cascade
    // request the master latched for it, or the CPU would take a spurious
    // IRQ 15 for an interrupt software already serviced.
    master_.irr &= static_cast<uint8_t>(~(1u << kCascadeIr));
  }
  update_locked();
  return static_cast<uint8_t>(kPollInterrupt | ir);
}

void I8259Pair::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  for (I8259Chip* c : {&master_, &slave_}) {
    s(c->irr);
    s(c->isr);
    s(c->imr);
    s(c->elcr);
    s(c->input_levels);
    s(c->vector_base);
    s(c->icw3);
    s(c->lowest_priority);
    s(c->init_step);
    s(c->icw4_needed);
    s(c->single_mode);
    s(c->auto_eoi);
    s(c->special_fully_nested);
    s(c->rotate_on_auto_eoi);
    s(c->special_mask);
    s(c->read_isr);
    s(c->poll);
  }
  uint8_t intr = intr_ ? 1 : 0;
  s(intr);
  if (!s.loading()) return;
  auto consistent = [](const I8259Chip& c, uint8_t elcr_mask) {
    bool flags_ok = true;
    for (uint8_t f : {c.icw4_needed, c.single_mode, c.auto_eoi, c.special_fully_nested,
                      c.rotate_on_auto_eoi, c.special_mask, c.read_isr, c.poll}) {
      flags_ok = flags_ok && f <= 1;
    }
    return flags_ok && c.lowest_priority < 8 && (c.vector_base & 7) == 0 && (c.elcr & ~elcr_mask) == 0 &&
           (c.init_step == 0 || (c.init_step >= 2 && c.init_step <= 4));
  };
  bool expected_intr = requesting_ir(master_, true) >= 0;
  if (!consistent(master_, kElcrMasterMask) || !consistent(slave_, kElcrSlaveMask) || intr > 1 ||
      (intr != 0) != expected_intr) {
    throw Error("saved state: inconsistent 8259A PIC registers");
  }
  intr_ = intr != 0;
}

}  // namespace vireo
