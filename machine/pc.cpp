#include "machine/pc.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "block/block_backend.h"
#include "hw/acpi/acpi_pm.h"
#include "hw/char/uart16550.h"
#include "hw/input/i8042.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/intc/lapic.h"
#include "hw/misc/fw_cfg.h"
#include "hw/misc/isa_debug_exit.h"
#include "hw/misc/system_control_port.h"
#include "hw/misc/system_control_port_b.h"
#include "hw/pci/i440fx.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/piix3.h"
#include "hw/rtc/mc146818.h"
#include "hw/timer/hpet.h"
#include "hw/timer/i8254.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_pci.h"
#include "machine/acpi_tables.h"
#include "machine/firmware.h"
#include "machine/pc_cmos.h"
#include "machine/pc_fw_cfg.h"
#include "net/net_backend.h"
#include "system/device_catalog.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

namespace vireo {

namespace {

// Where BARs go when the machine assigns them (-kernel boots, no
// firmware): memory from the start of the 32-bit window QEMU's pc gives
// PCI, up to the IOAPIC; ports above the legacy ISA range, as SeaBIOS.
constexpr uint64_t kPciMmioAssignBase = 0xfe000000;
constexpr uint64_t kPciMmioAssignLimit = 0xfec00000;
constexpr uint64_t kPciIoAssignBase = 0xc000;
constexpr uint64_t kPciIoAssignLimit = 0x10000;
// IOAPIC pins of PIRQA#-D# in APIC mode; the DSDT's _PRT says the same.
constexpr unsigned kPirqGsiBase = 16;

CacheMode cache_mode(const std::string& name) {
  if (name == "none") return CacheMode::None;
  if (name == "writethrough") return CacheMode::Writethrough;
  if (name == "directsync") return CacheMode::Directsync;
  if (name == "unsafe") return CacheMode::Unsafe;
  return CacheMode::Writeback;
}

// Debian's SeaBIOS, the image QEMU's pc machine loads by default.
constexpr const char* kDefaultBios = "/usr/share/seabios/bios-256k.bin";

// The vCPU the calling thread runs, if it is a vCPU thread.
thread_local Vcpu* t_current_vcpu = nullptr;

}  // namespace

PcMachine::PcMachine(const VmConfig& config)
    : config_(config), layout_(PcMemoryLayout::for_ram_size(config.ram_bytes)) {
  cpu_model_ = find_cpu_model(config_.cpu_model);
  if (cpu_model_ == nullptr) throw Error("unable to find CPU model '" + config_.cpu_model + "'");

  if (!config_.kernel_path.empty()) {
    linux_image_.kernel = read_whole_file(config_.kernel_path, "could not open kernel file");
    if (!config_.initrd_path.empty()) {
      linux_image_.initrd = read_whole_file(config_.initrd_path, "could not load initial ram disk");
    }
    linux_image_.command_line = config_.kernel_cmdline;
  } else {
    std::string path = config_.bios_path.empty() ? kDefaultBios : config_.bios_path;
    firmware_image_ = read_whole_file(path, "could not load PC BIOS", FirmwareLayout::kMaxBytes);
    map_firmware(memory_, firmware_image_, path);
  }
  // The monitor may ask before run() starts: the state is already the one
  // run() begins in.
  control_.set_status(config_.start_paused ? RunState::Prelaunch : RunState::Running);
  // A request made by a vCPU itself (isa-debug-exit, port 0x92, ACPI
  // power-off: an I/O write on its own thread) stops that vCPU after the
  // instruction, so the guest runs nothing past it while the main thread
  // acts — as QEMU, which exits or resets from within the write.
  control_.set_on_request([] {
    if (t_current_vcpu != nullptr) t_current_vcpu->kick();
  });
  map_ram();
  create_devices();
  create_fw_cfg();
  create_accelerator();
  load_boot_images();
}

PcMachine::~PcMachine() {
  for (auto& netdev : netdevs_) netdev->stop();  // no frame reaches a NIC from here on
  end_vcpu_threads();
  timers_.stop();
  for (auto& backend : char_backends_) backend->detach();
  detach_local_apics();
}

void PcMachine::map_ram() {
  uint8_t* ram = memory_.allocate("pc.ram", config_.ram_bytes);
  // -machine dump-guest-core=off (libvirt's default): a core dump of vireo
  // leaves the guest's memory out, as QEMU's does.
  if (!config_.dump_guest_core) madvise(ram, config_.ram_bytes, MADV_DONTDUMP);
  // Below 1 MiB the RAM has two holes: the VGA window, and the BIOS alias
  // when firmware is mapped there.
  uint64_t isa_bios_start = PcMemoryLayout::kHighMemoryStart;
  for (const MemoryRegion& r : memory_.regions()) {
    if (r.name == "isa-bios") isa_bios_start = r.guest_base;
  }
  struct Piece {
    const char* name;
    uint64_t start;
    uint64_t end;
  };
  const Piece pieces[] = {
      {"pc.ram-conventional", 0, PcMemoryLayout::kConventionalEnd},
      {"pc.ram-upper", PcMemoryLayout::kVgaWindowEnd, isa_bios_start},
      {"pc.ram-high", PcMemoryLayout::kHighMemoryStart, layout_.below_4g},
  };
  for (const Piece& p : pieces) {
    uint64_t end = std::min(p.end, layout_.below_4g);
    if (end > p.start) memory_.map({p.name, p.start, end - p.start, ram + p.start, false});
  }
  if (layout_.above_4g > 0) {
    memory_.map({"pc.ram-above-4g", PcMemoryLayout::kFourGiB, layout_.above_4g,
                 ram + layout_.below_4g, false});
  }
}

IrqLine PcMachine::irq_line(unsigned gsi) {
  return IrqLine([this, gsi](bool level) { set_irq(gsi, level); });
}

IrqLine PcMachine::legacy_timer_irq_line(unsigned gsi) {
  return IrqLine([this, gsi](bool level) {
    if (hpet_ != nullptr && hpet_->legacy_replacement()) return;
    set_irq(gsi, level);
  });
}

void PcMachine::set_irq(unsigned gsi, bool level) {
  {
    std::shared_lock lock(accelerator_mutex_);
    if (accelerator_ && accelerator_->has_irqchip()) {
      accelerator_->set_irq_line(gsi, level);
      return;
    }
  }
  // The software irqchip (built before any such accelerator runs, kept
  // across resets). ISA IRQs go to both the 8259A pair and the IOAPIC, with
  // ISA IRQ 0 on IOAPIC pin 2 as on QEMU's pc (the MADT's override says
  // so); IRQ 2 is the PICs' cascade, no device's line.
  if (pic_ != nullptr && gsi < 16 && gsi != I8259Pair::kCascadeIr) pic_->set_irq(gsi, level);
  if (ioapic_ != nullptr && gsi < Ioapic::kPins) ioapic_->set_irq(gsi == 0 ? 2 : gsi, level);
}

void PcMachine::send_msi(uint64_t address, uint32_t data) {
  {
    std::shared_lock lock(accelerator_mutex_);
    if (accelerator_ && accelerator_->has_irqchip()) {
      accelerator_->send_msi(address, data);
      return;
    }
  }
  // The software APIC bus: the message goes to the local APICs as an
  // IOAPIC's would. A write outside 0xFEExxxxx is not an interrupt.
  ApicMessage message;
  if (apic_bus_ == nullptr || !decode_msi(address, data, message)) return;
  std::lock_guard lock(irqchip_mutex_);
  apic_bus_->deliver_locked(message);
}

void PcMachine::create_pci() {
  pci_bus_ = std::make_unique<PciBus>(pio_, mmio_);
  pci_config_ports_ = std::make_unique<PciConfigPorts>(*pci_bus_, control_);
  pio_.add(PciConfigPorts::kBasePort, PciConfigPorts::kSize, pci_config_ports_.get(), "pci-conf");

  auto host = std::make_unique<I440fxHostBridge>();
  pci_bus_->attach(host.get(), PciBus::devfn(0, 0));
  pci_devices_.push_back(std::move(host));
  auto piix3 = std::make_unique<Piix3>([this](unsigned irq, bool level) { set_irq(irq, level); });
  piix3_ = piix3.get();
  pci_bus_->attach(piix3.get(), PciBus::devfn(1, 0));
  pci_devices_.push_back(std::move(piix3));

  // A PIRQ line reaches the 8259As through PIIX3's routing (for a guest in
  // PIC mode, routed by its firmware or OS) and, directly, IOAPIC pins
  // 16-19, which is what our DSDT's _PRT tells an APIC-mode guest. Each
  // path is masked unless the guest set it up.
  pci_bus_->set_pirq_handler([this](unsigned pirq, bool level) {
    piix3_->set_pirq(pirq, level);
    set_irq(kPirqGsiBase + pirq, level);
  });

  for (const DriveSpec& drive : config_.drives) {
    if (drive.interface == "virtio") add_virtio_blk(drive, -1, drive.serial, "");
  }
}

void PcMachine::add_virtio_blk(const DriveSpec& drive, int devfn, const std::string& serial,
                               const std::string& device_id, int64_t bootindex) {
  BlockOpenOptions options;
  options.path = drive.file;
  options.format = drive.format;
  options.read_only = drive.read_only;
  options.cache = cache_mode(drive.cache);
  options.snapshot = drive.snapshot;  // a temporary qcow2 overlay takes the writes
  std::unique_ptr<BlockBackend> backend;
  try {
    backend = open_block_backend(options);
  } catch (const Error& e) {
    throw Error(drive.option_text + ": " + e.what());
  }
  if (devfn < 0) {
    const int slot = pci_bus_->free_slot(2);
    if (slot < 0) throw Error(drive.option_text + ": no free PCI slot");
    devfn = PciBus::devfn(static_cast<unsigned>(slot), 0);
  }
  std::vector<BlockImageFacts> chain = describe_image_chain(*backend);
  auto model = std::make_unique<VirtioBlk>(std::move(backend), drive.read_only, serial);
  // QEMU's names: an if=virtio drive without id is virtio<N>, N counting
  // the if=virtio drives; a device without id is peripheral-anon.
  Disk disk;
  if (!drive.id.empty()) {
    disk.device = drive.id;
  } else {
    disk.device = "virtio" + std::to_string(std::count_if(disks_.begin(), disks_.end(), [](const Disk& d) {
                    return d.drive.interface == "virtio";
                  }));
  }
  disk.qdev = (device_id.empty() ? "/machine/peripheral-anon/device[" + std::to_string(anonymous_devices_++) + "]"
                                 : "/machine/peripheral/" + device_id) +
              "/virtio-backend";
  disk.drive = drive;
  disk.format = drive.format.empty() ? probe_image_format(drive.file) : drive.format;
  disk.model = model.get();
  disk.chain = std::move(chain);
  disk.bootindex = bootindex;
  auto function = std::make_unique<VirtioPci>("virtio-blk-pci", *model, memory_);
  disk.function = function.get();
  disks_.push_back(std::move(disk));
  function->set_qdev_id(device_id);
  function->set_msi_sender([this](uint64_t address, uint32_t data) { send_msi(address, data); });
  pci_bus_->attach(function.get(), static_cast<uint8_t>(devfn));
  virtio_models_.push_back(std::move(model));
  pci_devices_.push_back(std::move(function));
}

void PcMachine::assign_pci_resources() {
  uint64_t next_mmio = kPciMmioAssignBase;
  uint64_t next_io = kPciIoAssignBase;
  for (unsigned devfn = 0; devfn < PciBus::kSlots * PciBus::kFunctions; ++devfn) {
    PciDevice* device = pci_bus_->device(static_cast<uint8_t>(devfn));
    if (device == nullptr) continue;
    uint16_t command = 0;
    for (unsigned i = 0; i < pci::kBarCount; ++i) {
      PciDevice::BarMapping bar = device->bar(i);
      if (!bar.declared) continue;
      uint64_t& next = bar.kind == PciBarKind::Io ? next_io : next_mmio;
      const uint64_t limit = bar.kind == PciBarKind::Io ? kPciIoAssignLimit : kPciMmioAssignLimit;
      const uint64_t address = (next + bar.size - 1) & ~(bar.size - 1);  // BARs are naturally aligned
      if (address + bar.size > limit) throw Error("PCI: no room for BAR " + std::to_string(i) + " of " + device->name());
      device->assign_bar(i, address);
      next = address + bar.size;
      command |= bar.kind == PciBarKind::Io ? pci::kCommandIoEnable : pci::kCommandMemoryEnable;
      if (bar.kind == PciBarKind::Memory64) ++i;
    }
    if (command != 0) device->set_command(command);
  }
}

void PcMachine::create_devices() {
  create_serial_ports();
  if (!config_.no_hpet) create_hpet();
  create_rtc();

  auto i8042 = std::make_unique<I8042>(control_);
  i8042_ = i8042.get();
  pio_.add(0x60, 1, i8042.get(), "i8042");
  auto i8042_command = std::make_unique<OffsetWindow>(*i8042, I8042::kCommandPort);
  pio_.add(0x64, 1, i8042_command.get(), "i8042");
  devices_.push_back(std::move(i8042));
  devices_.push_back(std::move(i8042_command));

  auto port92 = std::make_unique<SystemControlPortA>(control_);
  port92_ = port92.get();
  pio_.add(0x92, 1, port92.get(), "port92");
  devices_.push_back(std::move(port92));

  create_netdevs();
  create_pci();

  // ACPI power management: how the guest powers off. Its SCI is IRQ 9.
  // Its timer counts virtual time, which stands still while paused.
  if (config_.no_acpi) {
    // -no-acpi: no PIIX4 power management function (as QEMU's pc without
    // ACPI); system_powerdown then only reports POWERDOWN.
    auto post = std::make_unique<PostCodePort>();
    pio_.add(0x80, 1, post.get(), "ioport80");
    devices_.push_back(std::move(post));
    create_user_devices();
    return;
  }
  auto pm = std::make_unique<AcpiPm>(irq_line(9), control_,
                                     [this] { return static_cast<uint64_t>(clock_.now_ns()); });
  acpi_pm_ = pm.get();
  pio_.add(AcpiPm::kBasePort, AcpiPm::kSize, pm.get(), "acpi-pm");
  devices_.push_back(std::move(pm));

  auto post = std::make_unique<PostCodePort>();
  pio_.add(0x80, 1, post.get(), "ioport80");
  devices_.push_back(std::move(post));

  create_user_devices();
}

void PcMachine::create_serial_ports() {
  std::vector<std::string> specs = config_.serial_specs;
  bool escape_keys = false;
  if (!config_.serial_given && !config_.no_defaults) {
    // QEMU's defaults: -nographic puts COM1 on stdio behind the Ctrl-A
    // escape prefix; otherwise it goes to a graphical console, which vireo
    // does not have yet, so it is discarded.
    // With no monitor asked for either, the monitor shares stdio with
    // COM1 (QEMU's "mon:stdio"; Ctrl-A c switches).
    bool default_monitor = config_.monitors.empty();
    specs = {config_.nographic ? (default_monitor ? "mon:stdio" : "stdio") : "null"};
    escape_keys = config_.nographic;
  }
  CharBackendOptions options;
  options.escape_keys = escape_keys;
  options.on_quit = [this] { control_.request_exit(0, "host-signal"); };
  for (size_t i = 0; i < specs.size() && i < 4; ++i) {
    if (specs[i] == "none") continue;
    char_backends_.push_back(create_char_backend(specs[i], options));
    CharBackend* backend = char_backends_.back().get();
    if (specs[i] == "mon:stdio") multiplexed_stdio_ = backend;
    auto uart = std::make_unique<Uart16550>(irq_line(kComPorts[i].irq), backend);
    pio_.add(kComPorts[i].base, Uart16550::kRegisterCount, uart.get(), "serial");
    backend->attach(uart.get());
    uarts_.push_back(uart.get());
    devices_.push_back(std::move(uart));
    com_used_[i] = true;
  }
  for (const DeviceSpec& spec : config_.devices) {
    if (spec.driver != "isa-serial") continue;
    try {
      create_isa_serial(spec);
    } catch (const Error& e) {
      throw Error(spec.option_text + ": " + e.what());
    }
  }
}

// -device isa-serial,chardev=ID[,index=N]: COM(N+1) on a -chardev, or the
// first free COM port without index.
void PcMachine::create_isa_serial(const DeviceSpec& spec) {
  check_device_properties(spec);
  unsigned index = 0;
  if (auto text = spec.properties.get("index")) {
    uint64_t n = parse_uint(*text, "index");
    if (n >= 4) throw Error("Max. supported number of ISA serial ports is 4.");
    index = static_cast<unsigned>(n);
    if (com_used_[index]) throw Error("serial port index " + std::to_string(index) + " is already in use");
  } else {
    while (index < 4 && com_used_[index]) ++index;
    if (index == 4) throw Error("Max. supported number of ISA serial ports is 4.");
  }
  const std::string chardev_id = spec.properties.get("chardev").value_or("");
  const ChardevSpec* chardev = nullptr;
  for (const ChardevSpec& c : config_.chardevs) {
    if (c.id == chardev_id) chardev = &c;
  }
  if (chardev_id.empty()) throw Error("Property 'isa-serial.chardev' is required");
  if (chardev == nullptr) throw Error("Property 'isa-serial.chardev' can't find value '" + chardev_id + "'");
  bool in_use = false;
  for (const MonitorSpec& monitor : config_.monitors) in_use = in_use || monitor.chardev_id == chardev_id;
  for (const auto& [label, filename] : serial_chardevs_) in_use = in_use || label == chardev_id;
  if (in_use) throw Error("Property 'isa-serial.chardev' can't take value '" + chardev_id + "', it's in use");
  std::string filename;
  if (chardev->backend == "pty") {
    std::string path;
    char_backends_.push_back(create_pty_backend(&path));
    filename = "pty:" + path;
    // QEMU's words, on stderr without a prefix: libvirt and users read the
    // pty's name from here.
    std::fprintf(stderr, "char device redirected to %s (label %s)\n", path.c_str(), chardev_id.c_str());
    std::fflush(stderr);
  } else if (chardev->backend == "file" || chardev->backend == "null" || chardev->backend == "stdio") {
    char_backends_.push_back(create_char_backend(chardev->backend == "file" ? chardev->filename : chardev->backend, {}));
    filename = chardev->filename;
  } else {
    throw Error("chardev '" + chardev_id + "': a " + chardev->backend + " chardev for a serial port is not supported yet");
  }
  CharBackend* backend = char_backends_.back().get();
  auto uart = std::make_unique<Uart16550>(irq_line(kComPorts[index].irq), backend);
  pio_.add(kComPorts[index].base, Uart16550::kRegisterCount, uart.get(), "serial");
  backend->attach(uart.get());
  uarts_.push_back(uart.get());
  devices_.push_back(std::move(uart));
  com_used_[index] = true;
  serial_chardevs_.push_back({chardev_id, filename});
}

void PcMachine::create_user_devices() {
  std::vector<std::string> ids;
  for (const DeviceSpec& spec : config_.devices) {
    try {
      if (auto id = spec.properties.get("id")) {
        if (std::find(ids.begin(), ids.end(), *id) != ids.end()) throw Error("Duplicate ID '" + *id + "' for device");
        ids.push_back(*id);
      }
      // The properties device-list-properties reports, and no others.
      check_device_properties(spec);
      if (spec.driver == "isa-debug-exit") {
        // QEMU's defaults: port 0x501, two bytes wide.
        uint64_t base = parse_uint(spec.properties.get("iobase").value_or("0x501"), "iobase");
        uint64_t size = parse_uint(spec.properties.get("iosize").value_or("2"), "iosize");
        if (base > 0xffff || size == 0 || size > 0x10000 - base) {
          throw Error("isa-debug-exit: iobase/iosize outside the 64 KiB port space");
        }
        auto device = std::make_unique<IsaDebugExit>(control_);
        pio_.add(base, size, device.get(), "isa-debug-exit");
        devices_.push_back(std::move(device));
      } else if (spec.driver == "virtio-blk-pci") {
        create_virtio_blk_device(spec);
      } else if (spec.driver == "virtio-net-pci") {
        create_virtio_net_device(spec);
      } else if (spec.driver == "isa-serial") {
        // Built with the other serial ports (create_serial_ports).
      } else {
        throw Error("'" + spec.driver + "' is not a valid device model name");
      }
    } catch (const Error& e) {
      throw Error(spec.option_text + ": " + e.what());
    }
  }
  warn_unconnected_netdevs();
}

void PcMachine::create_virtio_blk_device(const DeviceSpec& spec) {
  // bootindex orders the firmware's boot devices (fw_cfg's bootorder);
  // a negative one leaves the device out, as QEMU.
  int64_t bootindex = -1;
  if (auto index = spec.properties.get("bootindex")) {
    bootindex = index->rfind("-", 0) == 0 ? -static_cast<int64_t>(parse_uint(index->substr(1), "bootindex"))
                                          : static_cast<int64_t>(parse_uint(*index, "bootindex"));
    for (const Disk& disk : disks_) {
      if (bootindex >= 0 && disk.bootindex == bootindex) {
        throw Error("The bootindex " + std::to_string(bootindex) + " has already been used");
      }
    }
  }
  const std::string drive_id = spec.properties.get("drive").value_or("");
  if (drive_id.empty()) throw Error("drive property not set");
  const DriveSpec* drive = nullptr;
  for (const DriveSpec& d : config_.drives) {
    if (d.id == drive_id) drive = &d;
  }
  if (drive == nullptr) throw Error("Property 'virtio-blk-device.drive' can't find value '" + drive_id + "'");
  if (drive->interface != "none") {
    throw Error("Drive '" + drive_id + "' is already in use because it has been automatically connected to "
                "another device (did you need 'if=none' in the drive options?)");
  }
  for (const std::string& used : attached_drives_) {
    if (used == drive_id) throw Error("Drive '" + drive_id + "' is already in use by another device");
  }
  int devfn = -1;
  if (auto addr = spec.properties.get("addr")) {
    // QEMU's PCI address property: SLOT[.FUNCTION], both hex.
    // libvirt writes "0x2".
    std::string text = addr->rfind("0x", 0) == 0 ? addr->substr(2) : *addr;
    const size_t dot = text.find('.');
    const uint64_t slot = parse_uint("0x" + text.substr(0, dot), "addr");
    const uint64_t function = dot == std::string::npos ? 0 : parse_uint("0x" + text.substr(dot + 1), "addr");
    if (slot >= PciBus::kSlots || function >= PciBus::kFunctions) {
      throw Error("Property 'virtio-blk-pci.addr' doesn't take value '" + *addr + "'");
    }
    devfn = PciBus::devfn(static_cast<unsigned>(slot), static_cast<unsigned>(function));
  }
  attached_drives_.push_back(drive_id);
  add_virtio_blk(*drive, devfn, spec.properties.get("serial").value_or(drive->serial),
                 spec.properties.get("id").value_or(""), bootindex);
}

void PcMachine::create_accelerator() {
  std::string chosen;
  auto accelerator = create_first_accelerator(config_.accelerators, memory_, chosen);
  {
    std::unique_lock lock(accelerator_mutex_);
    accelerator_ = std::move(accelerator);
    accelerator_choice_ = chosen;
  }
  if (!accelerator_->has_irqchip()) create_software_irqchip();
  detach_local_apics();
  vcpus_.clear();
  for (unsigned i = 0; i < config_.smp.cpus; ++i) {
    LocalInterruptController* local_apic = i < local_apics_.size() ? local_apics_[i] : nullptr;
    vcpus_.push_back(accelerator_->create_vcpu(i, config_.smp.cpus, *cpu_model_, {pio_, mmio_, local_apic}));
  }
  for (size_t i = 0; i < local_apics_.size() && i < vcpus_.size(); ++i) local_apics_[i]->set_vcpu(vcpus_[i].get());
}

void PcMachine::create_rtc() {
  // The RTC and its CMOS RAM are the machine's under either accelerator
  // (KVM's in-kernel irqchip has no RTC); IRQ 8 goes through set_irq().
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  int64_t start_ns = int64_t{wall.tv_sec} * 1'000'000'000 + wall.tv_nsec;
  if (config_.rtc_localtime) {
    // -rtc base=localtime: the RTC shows the host's local time.
    tm local{};
    localtime_r(&wall.tv_sec, &local);
    start_ns += int64_t{local.tm_gmtoff} * 1'000'000'000;
  }
  auto rtc = std::make_unique<Mc146818>(timers_, legacy_timer_irq_line(8), start_ns,
                                        config_.rtc_slew ? LostTickPolicy::Slew : LostTickPolicy::Discard);
  write_pc_cmos(*rtc, layout_, config_.smp.cpus);
  // -boot once= holds for the first boot; resets go back to order=.
  write_pc_cmos_boot_order(*rtc, config_.boot.once.empty() ? config_.boot.order : config_.boot.once);
  rtc_ = rtc.get();
  pio_.add(0x70, Mc146818::kPortCount, rtc.get(), "rtc");
  devices_.push_back(std::move(rtc));
}

void PcMachine::create_hpet() {
  // As on QEMU's pc, under either accelerator. (Under kvm the in-kernel PIT
  // keeps its IRQ 0 in legacy replacement mode; Linux stops the PIT before
  // it switches to the HPET, so nothing ticks twice.)
  auto hpet = std::make_unique<Hpet>(timers_, [this](unsigned gsi, bool level) { set_irq(gsi, level); });
  hpet_ = hpet.get();
  mmio_.add(Hpet::kBaseAddress, Hpet::kMmioSize, hpet.get(), "hpet");
  devices_.push_back(std::move(hpet));
}

void PcMachine::create_fw_cfg() {
  PcFwCfgConfig fw;
  fw.layout = layout_;
  fw.cpus = config_.smp.cpus;
  fw.max_cpus = config_.smp.max_cpus;
  fw.nographic = config_.nographic;
  fw.uuid = config_.uuid;
  fw.boot = config_.boot;
  for (const Disk& disk : disks_) {
    const uint8_t devfn = disk.function->devfn();
    fw.boot_devices.push_back({disk.bootindex, virtio_blk_boot_path(devfn >> 3, devfn & 7)});
  }
  // QEMU's tcg "max" has qemu64's AMD vendor too; "host"/"max" under kvm
  // take the host's vendor, which the machine does not know yet: left out.
  const bool tcg_first = config_.accelerators.empty() || config_.accelerators.front() == "tcg";
  fw.amd_ht_hole = cpu_model_->vendor == "AuthenticAMD" || (cpu_model_->from_accelerator && tcg_first);
  if (hpet_ != nullptr) {
    fw.hpet_address = Hpet::kBaseAddress;
    fw.hpet_block_id = Hpet::capabilities_low();
  }
  auto fw_cfg = std::make_unique<FwCfg>(memory_);
  load_pc_fw_cfg(*fw_cfg, fw);
  fw_cfg_ = fw_cfg.get();
  pio_.add(FwCfg::kBasePort, FwCfg::kControlPorts, fw_cfg.get(), "fw_cfg");
  auto dma = std::make_unique<OffsetWindow>(*fw_cfg, FwCfg::kDmaPortOffset);
  pio_.add(FwCfg::kBasePort + FwCfg::kDmaPortOffset, FwCfg::kDmaPorts, dma.get(), "fw_cfg");
  devices_.push_back(std::move(fw_cfg));
  devices_.push_back(std::move(dma));
}

void PcMachine::create_software_irqchip() {
  if (pic_ != nullptr) return;
  apic_bus_ = std::make_unique<ApicBus>();

  // The 8259A pair: INTR reaches every local APIC's LINT0.
  auto pic = std::make_unique<I8259Pair>(irqchip_mutex_, [this](bool level) { apic_bus_->set_lint0_locked(level); });
  pic_ = pic.get();
  pio_.add(0x20, 2, pic.get(), "pic");
  auto pic_slave = std::make_unique<OffsetWindow>(*pic, I8259Pair::kSlaveWindowShift);
  pio_.add(0xa0, 2, pic_slave.get(), "pic");
  auto elcr = std::make_unique<OffsetWindow>(*pic, I8259Pair::kElcrWindowShift);
  pio_.add(0x4d0, 2, elcr.get(), "elcr");
  devices_.push_back(std::move(pic));
  devices_.push_back(std::move(pic_slave));
  devices_.push_back(std::move(elcr));

  auto ioapic = std::make_unique<Ioapic>(irqchip_mutex_, *apic_bus_);
  ioapic_ = ioapic.get();
  mmio_.add(Ioapic::kBaseAddress, Ioapic::kMmioSize, ioapic.get(), "ioapic");
  apic_bus_->set_eoi_listener([this](uint8_t vector) { ioapic_->eoi_locked(vector); });
  devices_.push_back(std::move(ioapic));

  // One local APIC per vCPU, APIC ID = CPU index; each vCPU routes its own
  // APIC page, so they are not on the MMIO bus.
  for (unsigned i = 0; i < config_.smp.cpus; ++i) {
    auto lapic = std::make_unique<LocalApic>(i, irqchip_mutex_, timers_, *apic_bus_);
    lapic->set_pic({[this] { return pic_->acknowledge_locked(); }, [this] { return pic_->peek_vector_locked(); }});
    apic_bus_->attach(lapic.get());
    local_apics_.push_back(lapic.get());
    devices_.push_back(std::move(lapic));
  }

  // The PIT on IRQ 0, and port 0x61 with its counter 2. (KVM has both in
  // the kernel: KVM_CREATE_PIT2 with the dummy speaker port.)
  auto pit = std::make_unique<I8254>(timers_, legacy_timer_irq_line(0));
  pit_ = pit.get();
  pio_.add(0x40, I8254::kRegisterCount, pit.get(), "pit");
  auto port61 = std::make_unique<SystemControlPortB>(timers_, *pit);
  port61_ = port61.get();
  pio_.add(0x61, 1, port61.get(), "port61");
  devices_.push_back(std::move(pit));
  devices_.push_back(std::move(port61));
}

void PcMachine::detach_local_apics() {
  for (LocalApic* lapic : local_apics_) lapic->set_vcpu(nullptr);
}

void PcMachine::load_boot_images() {
  uint32_t signature = cpu_model_->from_accelerator ? 0x600 : cpu_model_->signature();
  if (!linux_image_.kernel.empty()) {
    boot_cpu_state_ = load_linux(memory_, linux_image_, layout_.e820(), layout_.below_4g);
    assign_pci_resources();
    // Without firmware to build them, the machine provides the ACPI tables
    // in the reserved BIOS area where the kernel looks for them.
    if (!config_.no_acpi) load_acpi_tables();
  } else {
    reload_firmware(memory_, firmware_image_);
    boot_cpu_state_ = power_on_cpu_state(signature, true);
  }
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    // Application processors wait for INIT/SIPI from the boot processor.
    vcpus_[i]->set_state(i == 0 ? boot_cpu_state_ : power_on_cpu_state(signature, false));
  }
}

void PcMachine::load_acpi_tables() {
  {
    std::vector<uint8_t> acpi = build_acpi_tables(AcpiLayout::kRsdpAddress,
                                                  {.cpu_count = config_.smp.cpus,
                                                   .pci_mmio_start = layout_.below_4g,
                                                   .hpet_address = hpet_ != nullptr ? Hpet::kBaseAddress : 0,
                                                   .hpet_block_id = hpet_ != nullptr ? Hpet::capabilities_low() : 0});
    if (!memory_.load(AcpiLayout::kRsdpAddress, acpi.data(), acpi.size())) {
      throw Error("ACPI tables do not fit in guest memory; give the guest more memory with -m");
    }
  }
}

void PcMachine::press_power_button() {
  if (acpi_pm_ != nullptr) acpi_pm_->press_power_button();
  control_.emit({MachineEvent::Kind::Powerdown});
}

bool PcMachine::inspect(const std::function<void()>& fn) {
  uint64_t ticket = control_.request({MachineRequest::Kind::Inspect, 0, "", fn});
  return ticket != 0 && control_.wait_done(ticket, std::chrono::seconds(10));
}

int PcMachine::vcpu_thread_id(unsigned index) const {
  if (index >= config_.smp.cpus || !vcpu_tids_) return main_tid_;
  int tid = vcpu_tids_[index].load();
  return tid != 0 ? tid : main_tid_;
}

std::vector<std::pair<std::string, std::string>> PcMachine::chardevs() const {
  std::vector<std::pair<std::string, std::string>> list;
  for (size_t i = 0; i < config_.serial_specs.size(); ++i) {
    list.push_back({"serial" + std::to_string(i), config_.serial_specs[i]});
  }
  for (const auto& entry : serial_chardevs_) list.push_back(entry);
  return list;
}

void PcMachine::reset_devices() {
  if (acpi_pm_ != nullptr) acpi_pm_->reset();
  for (Uart16550* uart : uarts_) uart->reset();
  i8042_->reset();
  port92_->reset();
  rtc_->reset();
  write_pc_cmos_boot_order(*rtc_, config_.boot.order);  // a -boot once= order is spent
  fw_cfg_->reset();
  if (hpet_ != nullptr) hpet_->reset();
  pci_config_ports_->reset();
  pci_bus_->reset();
  if (pic_ != nullptr) {
    pic_->reset();
    ioapic_->reset();
    for (LocalApic* lapic : local_apics_) lapic->reset();
    pit_->reset();
    port61_->reset();
  }
}

void PcMachine::create_vcpu_threads() {
  vcpu_tids_ = std::make_unique<std::atomic<int>[]>(config_.smp.cpus);
  for (unsigned i = 0; i < config_.smp.cpus; ++i) vcpu_threads_.emplace_back([this, i] { vcpu_thread(i); });
  // Every thread has its id and is parked before the monitor can ask.
  std::unique_lock lock(vcpu_park_mutex_);
  vcpu_park_cv_.wait(lock, [this] { return vcpus_parked_ == vcpu_threads_.size(); });
}

void PcMachine::end_vcpu_threads() {
  if (vcpu_threads_.empty()) return;
  stop_vcpus();
  {
    std::lock_guard lock(vcpu_park_mutex_);
    vcpu_threads_exit_ = true;
  }
  vcpu_park_cv_.notify_all();
  for (std::thread& t : vcpu_threads_) t.join();
  vcpu_threads_.clear();
}

void PcMachine::start_vcpus() {
  {
    std::lock_guard lock(vcpu_park_mutex_);
    vcpus_stopping_ = false;
    ++vcpu_run_generation_;
    // Each thread counts itself parked again only after it has run this
    // generation, so stop_vcpus() cannot return before a late waker ran.
    vcpus_parked_ = 0;
  }
  vcpu_park_cv_.notify_all();
}

void PcMachine::stop_vcpus() {
  {
    std::lock_guard lock(vcpu_park_mutex_);
    vcpus_stopping_ = true;
  }
  for (auto& vcpu : vcpus_) vcpu->kick();
  std::unique_lock lock(vcpu_park_mutex_);
  vcpu_park_cv_.wait(lock, [this] { return vcpus_parked_ == vcpu_threads_.size(); });
}

void PcMachine::vcpu_thread(unsigned index) {
  vcpu_tids_[index] = static_cast<int>(syscall(SYS_gettid));
  if (config_.debug_threads) {
    // -name debug-threads=on: QEMU's thread names, seen in ps and gdb.
    std::string name = "CPU " + std::to_string(index) + "/" + (accelerator_choice_ == "kvm" ? "KVM" : "TCG");
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  }
  uint64_t generation_run = 0;
  for (;;) {
    Vcpu* vcpu = nullptr;
    {
      std::unique_lock lock(vcpu_park_mutex_);
      ++vcpus_parked_;
      vcpu_park_cv_.notify_all();
      vcpu_park_cv_.wait(lock, [&] { return vcpu_threads_exit_ || vcpu_run_generation_ != generation_run; });
      if (vcpu_threads_exit_) return;
      generation_run = vcpu_run_generation_;
      // vcpus_ is replaced on reset, only while every thread is parked.
      vcpu = vcpus_[index].get();
    }
    run_vcpu(*vcpu);
  }
}

// Runs `vcpu` until the machine stops the vCPUs, or until it cannot go on
// (triple fault, accelerator error): then it parks until the main thread,
// told through control_, stops and restarts the others.
void PcMachine::run_vcpu(Vcpu& vcpu) {
  t_current_vcpu = &vcpu;
  while (!vcpus_stopping_.load()) {
    switch (vcpu.run()) {
      case VcpuStop::Kicked:
        // Parked while a request is pending (see set_on_request above);
        // the main thread then stops the vCPUs or, for a request that
        // leaves them running, lets this one go on.
        while (!vcpus_stopping_.load() && control_.pending()) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        continue;
      case VcpuStop::TripleFault:
        control_.request_reset();
        t_current_vcpu = nullptr;
        return;
      case VcpuStop::Error:
        log_error("vCPU " + std::to_string(vcpu.index()) + ": " + vcpu.error());
        control_.request_exit(1, "host-error");
        t_current_vcpu = nullptr;
        return;
    }
  }
  t_current_vcpu = nullptr;
}

void PcMachine::pause() {
  stop_vcpus();
  set_nics_running(false);
  {
    std::shared_lock lock(accelerator_mutex_);
    accelerator_->vm_paused();
  }
  clock_.pause();
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  paused_at_ns_ = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void PcMachine::resume() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t paused_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec - paused_at_ns_;
  // The device timers run on virtual time, which stood still; the vCPUs'
  // own clocks (tcg's TSC) are told how long the pause was.
  {
    std::shared_lock lock(accelerator_mutex_);
    accelerator_->vm_resuming();
  }
  if (paused_ns > 0) {
    for (auto& vcpu : vcpus_) vcpu->skip_time(static_cast<uint64_t>(paused_ns));
  }
  clock_.resume();
  set_nics_running(true);
  start_vcpus();
}

void PcMachine::reset_machine() {
  reset_devices();
  detach_local_apics();
  vcpus_.clear();
  {
    std::unique_lock lock(accelerator_mutex_);
    accelerator_.reset();
  }
  create_accelerator();
  load_boot_images();
  // The new vCPUs' TSCs start now: a pause in progress counts from here for
  // them (skipping more would take their TSC below zero).
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  paused_at_ns_ = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void PcMachine::emit_shutdown(const std::string& reason) {
  control_.emit({MachineEvent::Kind::Shutdown, reason.rfind("guest", 0) == 0, reason});
}

// The main thread's loop. The run state follows QEMU's (runstate.c): -S
// starts in prelaunch; stop/cont move between running and paused; a guest
// power-off with -no-shutdown leaves the machine in shutdown, from which
// system_reset leads to paused (then cont) and quit ends it.
int PcMachine::run() {
  main_tid_ = static_cast<int>(syscall(SYS_gettid));
  timers_.start();
  create_vcpu_threads();
  bool vcpus_running = false;
  if (config_.start_paused) {
    control_.set_status(RunState::Prelaunch);
    pause();
  } else {
    control_.set_status(RunState::Running);
    start_vcpus();
    vcpus_running = true;
  }
  auto stop_running = [&] {
    if (vcpus_running) pause();
    vcpus_running = false;
  };
  for (;;) {
    MachineRequest request = control_.wait();
    RunState status = control_.status();
    switch (request.kind) {
      case MachineRequest::Kind::Exit:
        stop_running();
        emit_shutdown(request.reason.empty() ? "host-signal" : request.reason);
        control_.set_status(RunState::Shutdown);
        control_.complete(request);
        return request.exit_status;
      case MachineRequest::Kind::PowerOff:
        stop_running();
        emit_shutdown(request.reason.empty() ? "guest-shutdown" : request.reason);
        // -no-shutdown keeps the process (and the stopped guest) around
        // until the user ends it.
        if (!config_.no_shutdown) {
          control_.complete(request);
          return 0;
        }
        control_.set_status(RunState::Shutdown);
        control_.emit({MachineEvent::Kind::Stop});
        break;
      case MachineRequest::Kind::Reset: {
        bool guest = request.reason.empty() || request.reason.rfind("guest", 0) == 0;
        std::string reason = request.reason.empty() ? "guest-reset" : request.reason;
        if (config_.no_reboot && guest) {
          stop_running();
          emit_shutdown(reason);
          control_.complete(request);
          return 0;
        }
        bool was_running = vcpus_running;
        stop_running();
        reset_machine();
        control_.emit({MachineEvent::Kind::Reset, guest, reason});
        if (was_running) {
          resume();
          vcpus_running = true;
        } else if (status == RunState::Shutdown) {
          // QEMU: a reset out of the shutdown state leaves the guest paused.
          control_.set_status(RunState::Paused);
        }
        break;
      }
      case MachineRequest::Kind::Pause:
        if (status == RunState::Running) {
          stop_running();
          control_.set_status(RunState::Paused);
          control_.emit({MachineEvent::Kind::Stop});
        }
        break;
      case MachineRequest::Kind::Resume:
        if (status == RunState::Paused || status == RunState::Prelaunch) {
          resume();
          vcpus_running = true;
          control_.set_status(RunState::Running);
          control_.emit({MachineEvent::Kind::Resume});
        }
        break;
      case MachineRequest::Kind::Inspect:
        if (vcpus_running) stop_vcpus();
        if (request.inspect) request.inspect();
        if (vcpus_running) start_vcpus();
        break;
    }
    control_.complete(request);
  }
}

}  // namespace vireo
