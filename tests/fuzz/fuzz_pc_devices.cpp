// Fuzz target: the PC's interrupt controllers, timers and fw_cfg against a hostile
// guest and corrupt saved state. The input is a header naming one device
// and a few byte flips, then a program of register accesses, IRQ line
// changes, CPU acknowledges and clock steps. The program runs on a fresh
// set of devices; the named device's state is then saved, flipped and
// loaded into a second set, which must accept it or throw vireo::Error,
// and the program runs again there. Nothing may crash or hang.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "hw/core/guest_memory.h"
#include "hw/core/timer.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/intc/lapic.h"
#include "hw/misc/fw_cfg.h"
#include "hw/misc/system_control_port_b.h"
#include "hw/rtc/mc146818.h"
#include "hw/timer/hpet.h"
#include "hw/timer/i8254.h"
#include "util/error.h"
#include "util/serialize.h"

namespace {

using namespace vireo;

// The machine's wiring (machine/pc.cpp) with two local APICs and no vCPUs.
struct Devices {
  std::mutex mutex;
  ManualClock clock{1'000'000'000};
  TimerService timers{clock};
  ApicBus bus;
  I8259Pair pic{mutex, [this](bool level) { bus.set_lint0_locked(level); }};
  Ioapic ioapic{mutex, bus};
  LocalApic lapic0{0, mutex, timers, bus};
  LocalApic lapic1{1, mutex, timers, bus};
  I8254 pit{timers, IrqLine([this](bool level) { set_irq(0, level); })};
  SystemControlPortB port61{timers, pit};
  Mc146818 rtc{timers, IrqLine([this](bool level) { set_irq(8, level); }), 1'700'000'000'000'000'000};
  Hpet hpet{timers, [this](unsigned gsi, bool level) { set_irq(gsi, level); }};
  // fw_cfg DMAs into 64 KiB of RAM at 0 (descriptors and targets are the
  // program's 32-bit values, so both hits and misses happen).
  GuestMemory memory;
  std::unique_ptr<FwCfg> fw_cfg;

  Devices() {
    uint8_t* ram = memory.allocate("ram", 0x10000);
    memory.map({"ram", 0, 0x10000, ram, false});
    fw_cfg = std::make_unique<FwCfg>(memory);
    fw_cfg->set_item(FwCfg::kRamSize, {0, 0, 1, 0, 0, 0, 0, 0});
    fw_cfg->add_file("etc/e820", std::vector<uint8_t>(20, 1));
    fw_cfg->add_file("bootorder", {'/', 'p', 0});
    bus.set_eoi_listener([this](uint8_t v) { ioapic.eoi_locked(v); });
    for (LocalApic* l : {&lapic0, &lapic1}) {
      bus.attach(l);
      l->set_pic({[this] { return pic.acknowledge_locked(); }, [this] { return pic.peek_vector_locked(); }});
    }
  }
  void set_irq(unsigned gsi, bool level) {
    if (gsi < 16 && gsi != 2) pic.set_irq(gsi, level);
    if (gsi < 24) ioapic.set_irq(gsi == 0 ? 2 : gsi, level);
  }
  LocalApic& lapic(unsigned i) { return i & 1 ? lapic1 : lapic0; }

  void serialize(unsigned device, StateStream& s) {
    switch (device) {
      case 0: pic.serialize(s); break;
      case 1: ioapic.serialize(s); break;
      case 2: lapic0.serialize(s); break;
      case 3: pit.serialize(s); break;
      case 4: port61.serialize(s); break;
      case 5: hpet.serialize(s); break;
      case 7: fw_cfg->serialize(s); break;
      default: rtc.serialize(s); break;
    }
  }

  // Each step: kind, target, offset, then a 32-bit value.
  void run(const uint8_t* p, size_t n) {
    // The program doubles as RAM contents, so DMA descriptors are the
    // fuzzer's too.
    memory.write(0, p, std::min<size_t>(n, 0x10000));
    constexpr size_t kStep = 7;
    for (size_t i = 0; i + kStep <= n; i += kStep) {
      uint8_t kind = p[i] % 5, target = p[i + 1] % 10, offset = p[i + 2];
      uint32_t value = p[i + 3] | (p[i + 4] << 8) | (p[i + 5] << 16) | (uint32_t{p[i + 6]} << 24);
      bool write = kind == 1;
      switch (kind) {
        case 0:
        case 1:
          access(target, offset, value, write);
          break;
        case 2:
          set_irq(offset % 24, value & 1);
          break;
        case 3:  // up to ~65 ms
          timers.advance(clock, clock.now_ns() + (value & 0xffff) * 1000);
          break;
        default: {
          LocalApic& l = lapic(target);
          switch (offset % 5) {
            case 0: if (l.pending_vector() >= 0) l.acknowledge(); break;
            case 1: l.apic_base_changed(0xfee00000 | (value & 0xd00)); break;
            case 2: l.write_tsc_deadline(value, value >> 3, (value & 0xff) * 10'000'000ull); break;
            case 3: l.write_cr8(value); l.read_cr8(); l.read_tsc_deadline(); break;
            default: l.acknowledge(); break;
          }
          break;
        }
      }
    }
  }

  void access(uint8_t target, uint8_t offset, uint32_t value, bool write) {
    BusDevice* device;
    uint64_t at;
    unsigned size = 1;
    switch (target) {
      case 0: device = &pic; at = offset % 6; break;
      case 1: device = &ioapic; at = (offset & 1) ? Ioapic::kIowin : Ioapic::kIoregsel; size = 4; break;
      case 2: case 3: device = &lapic(target); at = (uint64_t{offset} << 4) & 0x3f0; size = 4; break;
      case 4: device = &pit; at = offset % 4; break;
      case 5: device = &port61; at = 0; break;
      case 8: device = &hpet; at = (uint64_t{offset} << 2) % Hpet::kMmioSize; size = 4; break;
      case 9: {
        // 0x510-0x511 and the DMA register at 0x514-0x51b, as the port bus
        // hands them over (offsets past 1 are the DMA window's).
        device = fw_cfg.get();
        const uint64_t port = offset % 10;
        at = port < 2 ? port : port + 2;
        size = 1u << ((offset >> 4) % 3);
        if (at + size > (at < 2 ? 2u : 12u)) size = 1;
        // Half the DMA starts name a descriptor inside RAM (big-endian).
        if (at == 8 && size == 4 && (value >> 31) != 0) value = __builtin_bswap32(value & 0xfff0);
        break;
      }
      default: device = &rtc; at = offset % 2; break;
    }
    if (write) {
      device->write(at, size, value);
    } else {
      device->read(at, size);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  unsigned device = data[0] % 8;
  unsigned flips = data[1] % 4;
  size_t header = 2 + 3 * size_t{flips};
  if (size < header) return 0;
  const uint8_t* program = data + header;
  size_t program_size = size - header;

  auto first = std::make_unique<Devices>();
  first->run(program, program_size);
  auto saved = StateStream::for_saving();
  first->serialize(device, saved);
  std::vector<uint8_t> bytes = saved.bytes();
  for (unsigned f = 0; f < flips && !bytes.empty(); ++f) {
    const uint8_t* flip = data + 2 + 3 * f;
    bytes[(flip[0] | (flip[1] << 8)) % bytes.size()] ^= flip[2];
  }

  auto second = std::make_unique<Devices>();
  second->clock.set_ns(first->clock.now_ns());
  auto loading = StateStream::for_loading(std::move(bytes));
  try {
    second->serialize(device, loading);
  } catch (const Error&) {
    return 0;  // refused, as it should be when inconsistent
  }
  second->run(program, program_size);
  return 0;
}
