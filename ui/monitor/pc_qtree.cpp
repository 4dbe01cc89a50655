// The pc machine's device tree, in the shape of QEMU's for "-M pc": the
// system bus with the HPET, the IOAPIC and the i440FX host, whose pci.0
// carries the PCI functions; PIIX3 provides isa.0 with the ISA devices;
// each virtio-blk-pci (virtio-net-pci) function provides a virtio-bus with
// its virtio-blk-device (virtio-net-device). Devices are listed newest first within a bus, as
// QEMU lists them.
//
// Everything is read from what the machine built: ISA and system devices
// from the port and MMIO buses' range tables (a device is there when its
// ranges are), PCI functions from the bus and their configuration space,
// disks from the machine's disk list. Devices QEMU's pc has and vireo
// does not (floppy, IDE, DMA, fw_cfg, vmport, PIIX4's PCI function) are
// absent. The in-kernel PIC, PIT and IOAPIC of kvm appear under QEMU's
// kvm-* names at their architectural places.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "hw/intc/ioapic.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_device.h"
#include "hw/misc/fw_cfg.h"
#include "hw/timer/hpet.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_net.h"
#include "net/net_backend.h"
#include "machine/pc.h"
#include "ui/monitor/monitor_core.h"
#include "ui/monitor/qtree.h"

namespace vireo {

namespace {

std::vector<IoBus::Range> named(const std::vector<IoBus::Range>& ranges, const std::string& name) {
  std::vector<IoBus::Range> found;
  for (const IoBus::Range& r : ranges) {
    if (r.device_name == name) found.push_back(r);
  }
  return found;
}

DeviceTreeDevice device(std::string type, std::vector<std::string> lines = {}) {
  DeviceTreeDevice d;
  d.type = std::move(type);
  d.lines = std::move(lines);
  return d;
}

// The lines QEMU's PCI bus adds under a function: its address property,
// then the class/identity line and the BARs.
std::vector<std::string> pci_lines(const PciDevice& d, unsigned bus_number) {
  auto word = [&d](unsigned offset) {
    return static_cast<unsigned>(d.config_byte(offset) | d.config_byte(offset + 1) << 8);
  };
  const unsigned slot = d.devfn() >> 3, function = d.devfn() & 7;
  char b[160];
  std::vector<std::string> lines;
  std::snprintf(b, sizeof b, "addr = %02x.%x", slot, function);
  lines.push_back(b);
  const auto class_code = static_cast<uint16_t>(word(pci::kClassProgIf + 1));
  std::string desc;
  if (const char* name = pci_class_description(class_code)) {
    desc = name;
  } else {
    std::snprintf(b, sizeof b, "Class %04x", class_code);
    desc = b;
  }
  std::snprintf(b, sizeof b, "class %s, addr %02x:%02x.%x, pci id %04x:%04x (sub %04x:%04x)", desc.c_str(),
                bus_number, slot, function, word(pci::kVendorId), word(pci::kDeviceId),
                word(pci::kSubsystemVendorId), word(pci::kSubsystemId));
  lines.push_back(b);
  for (unsigned i = 0; i < pci::kBarCount; ++i) {
    PciDevice::BarMapping bar = d.bar(i);
    if (!bar.declared) continue;
    // An unassigned BAR is at all ones, its end wrapping, as QEMU prints it.
    const uint64_t address = bar.enabled ? bar.address : ~uint64_t{0};
    std::snprintf(b, sizeof b, "bar %u: %s at 0x%" PRIx64 " [0x%" PRIx64 "]", i,
                  bar.kind == PciBarKind::Io ? "i/o" : "mem", address, address + bar.size - 1);
    lines.push_back(b);
    if (bar.kind == PciBarKind::Memory64) ++i;
  }
  return lines;
}

DeviceTreeBus isa_bus(PcMachine& machine) {
  const std::vector<IoBus::Range> ports = machine.pio().ranges();
  const bool in_kernel = machine.accelerator_name() == "kvm";
  DeviceTreeBus isa{"isa.0", "ISA", {}};
  // Newest first: the -device ones (created last), then the board's in
  // reverse order of QEMU's creation.
  for (auto it = ports.rbegin(); it != ports.rend(); ++it) {
    if (it->device_name != "isa-debug-exit") continue;
    isa.devices.push_back(device("isa-debug-exit", {tree_uint("iobase", it->base), tree_uint("iosize", it->size)}));
  }
  if (!named(ports, "port92").empty()) isa.devices.push_back(device("port92"));
  if (!named(ports, "i8042").empty()) isa.devices.push_back(device("i8042", {tree_uint("kbd-irq", 1), tree_uint("mouse-irq", 12)}));
  // COM4 down to COM1: the ports are created in index order.
  const std::vector<IoBus::Range> serial = named(ports, "serial");
  for (unsigned index = std::size(PcMachine::kComPorts); index-- > 0;) {
    const PcMachine::ComPort& port = PcMachine::kComPorts[index];
    if (std::none_of(serial.begin(), serial.end(), [&](const IoBus::Range& r) { return r.base == port.base; })) continue;
    isa.devices.push_back(device("isa-serial", {tree_uint("index", index), tree_uint("iobase", port.base),
                                                tree_uint("irq", port.irq)}));
  }
  // Port 0x61 (speaker gate and counter 2's output) is QEMU's isa-pcspk's.
  for (const IoBus::Range& r : named(ports, "port61")) isa.devices.push_back(device("isa-pcspk", {tree_uint("iobase", r.base)}));
  if (in_kernel) {
    isa.devices.push_back(device("kvm-pit", {tree_uint("iobase", 0x40), tree_string("lost_tick_policy", "delay")}));
  } else {
    for (const IoBus::Range& r : named(ports, "pit")) isa.devices.push_back(device("isa-pit", {tree_uint("iobase", r.base)}));
  }
  for (const IoBus::Range& r : named(ports, "rtc")) {
    isa.devices.push_back(device("mc146818rtc", {tree_uint("base_year", 0), tree_uint("iobase", r.base), tree_uint("irq", 8),
                                                 tree_string("lost_tick_policy", machine.config().rtc_slew ? "slew" : "discard")}));
  }
  // The 8259A pair: the master's ports, the slave's window, the ELCRs.
  std::vector<IoBus::Range> pic = named(ports, "pic");
  std::vector<IoBus::Range> elcr = named(ports, "elcr");
  auto i8259 = [&](const char* type, uint64_t base, uint64_t elcr_addr, bool master) {
    isa.devices.push_back(device(type, {tree_uint("iobase", base), tree_uint("elcr_addr", elcr_addr),
                                        tree_uint("elcr_mask", master ? 0xf8 : 0xde), tree_bool("master", master)}));
  };
  if (in_kernel) {
    i8259("kvm-i8259", 0xa0, 0x4d1, false);
    i8259("kvm-i8259", 0x20, 0x4d0, true);
  } else if (pic.size() == 2 && elcr.size() == 1) {
    std::sort(pic.begin(), pic.end(), [](const IoBus::Range& x, const IoBus::Range& y) { return x.base < y.base; });
    i8259("isa-i8259", pic[1].base, elcr[0].base + 1, false);
    i8259("isa-i8259", pic[0].base, elcr[0].base, true);
  }
  // vireo's ACPI PM block is not a PCI function (QEMU's is PIIX4_PM at
  // 01.3): it sits at fixed ports, so it is listed where it lives.
  for (const IoBus::Range& r : named(ports, "acpi-pm")) {
    isa.devices.push_back(device("vireo-acpi-pm", {tree_uint("iobase", r.base), tree_uint("sci-irq", 9)}));
  }
  return isa;
}

}  // namespace

DeviceTreeBus pc_device_tree(PcMachine& machine) {
  DeviceTreeBus system{"main-system-bus", "System", {}};
  const std::vector<IoBus::Range> mmio = machine.mmio().ranges();
  const bool in_kernel = machine.accelerator_name() == "kvm";

  for (const IoBus::Range& r : named(mmio, "hpet")) {
    // The HPET's own capability registers say how many timers it has and
    // which IOAPIC pins they may use.
    const uint64_t capabilities = r.device->read(Hpet::kCapabilities, 8);
    const uint64_t timer0 = r.device->read(Hpet::kTimerBlock + Hpet::kTimerConfig, 8);
    system.devices.push_back(device("hpet", {tree_uint("timers", ((capabilities >> 8) & 0x1f) + 1), tree_bool("msi", false),
                                             tree_uint("hpet-intcap", timer0 >> 32), tree_mmio(r.base, r.size)}));
  }
  if (in_kernel) {
    system.devices.push_back(device("kvm-ioapic", {tree_uint("gsi_base", 0), tree_mmio(Ioapic::kBaseAddress, Ioapic::kMmioSize)}));
  } else {
    for (const IoBus::Range& r : named(mmio, "ioapic")) {
      system.devices.push_back(device("ioapic", {tree_uint("version", Ioapic::kVersion), tree_mmio(r.base, r.size)}));
    }
  }

  DeviceTreeDevice host = device("i440FX-pcihost");
  DeviceTreeBus pci{"pci.0", "PCI", {}};
  const PciBus& bus = machine.pci_bus();
  for (int devfn = PciBus::kSlots * PciBus::kFunctions - 1; devfn >= 0; --devfn) {
    const PciDevice* d = bus.device(static_cast<uint8_t>(devfn));
    if (d == nullptr) continue;
    DeviceTreeDevice function = device(d->name(), pci_lines(*d, 0));
    function.id = d->qdev_id();
    for (const PcMachine::Disk& disk : machine.disks()) {
      if (disk.function != d) continue;
      DeviceTreeDevice blk = device("virtio-blk-device", {tree_string("drive", disk.device),
                                                          tree_size("logical_block_size", VirtioBlk::kSectorSize),
                                                          tree_size("physical_block_size", VirtioBlk::kSectorSize),
                                                          tree_string("serial", disk.model->serial()),
                                                          tree_uint("num-queues", disk.model->queue_count()),
                                                          tree_uint("queue-size", VirtioBlk::kQueueSize)});
      function.buses.push_back({"virtio-bus", "virtio-pci-bus", {std::move(blk)}});
    }
    for (const PcMachine::Nic& nic : machine.nics()) {
      if (nic.function != d) continue;
      // QEMU's virtio-net-device lists some thirty offload and timer
      // properties; these are the ones vireo has.
      DeviceTreeDevice net = device("virtio-net-device", {tree_string("mac", mac_address_text(nic.model->mac())),
                                                          tree_string("netdev", nic.backend ? nic.backend->id() : ""),
                                                          tree_uint("rx_queue_size", VirtioNet::kQueueSize),
                                                          tree_uint("tx_queue_size", VirtioNet::kQueueSize)});
      function.buses.push_back({"virtio-bus", "virtio-pci-bus", {std::move(net)}});
    }
    if (d->name() == "PIIX3") function.buses.push_back(isa_bus(machine));
    pci.devices.push_back(std::move(function));
  }
  host.buses.push_back(std::move(pci));
  system.devices.push_back(std::move(host));
  // QEMU's fw_cfg_io (hw/misc/fw_cfg.h): DMA interface on, QEMU's default
  // 32 file slots; its ports are not printed for a sysbus device.
  if (!named(machine.pio().ranges(), "fw_cfg").empty()) {
    system.devices.push_back(device("fw_cfg_io", {tree_bool("dma_enabled", true),
                                                  tree_uint("x-file-slots", FwCfg::kFileSlots),
                                                  tree_bool("acpi-mr-restore", true)}));
  }
  return system;
}

}  // namespace vireo
