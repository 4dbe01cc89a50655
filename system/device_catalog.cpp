#include "system/device_catalog.h"

#include "util/error.h"

namespace vireo {

const std::vector<DeviceTypeInfo>& device_catalog() {
  using P = DevicePropertyInfo;
  // Parents and property types as qom-list-types and device-list-properties
  // give them on qemu-system-x86_64 7.2; only the properties vireo acts on.
  static const std::vector<DeviceTypeInfo> catalog = {
      {"isa-debug-exit", "isa-device", "bus ISA; writing V to the port exits with status (V << 1) | 1", true, "isa.0",
       {P{"iobase", "uint32", "", "1281"}, P{"iosize", "uint32", "", "2"}}},
      {"virtio-blk-pci", "virtio-blk-pci-base",
       "bus PCI, alias \"virtio-blk\"; drive=ID[,addr=SLOT[.FN]][,bus=pci.0][,id=][,serial=]", true, "pci.0",
       {P{"drive", "str", "Node name or ID of a block device to use as a backend", ""},
        P{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
        P{"serial", "str", "", ""},
        // Checked, then without effect: vireo gives the firmware no boot
        // order yet (no fw_cfg), and -kernel needs none.
        P{"bootindex", "int32", "", ""}}},
      {"virtio-net-pci", "virtio-net-pci-base",
       "bus PCI, alias \"virtio-net\"; netdev=ID[,mac=52:54:00:12:34:56][,addr=SLOT[.FN]][,bus=pci.0][,id=]", true,
       "pci.0",
       {P{"netdev", "str", "ID of a netdev to use as a backend", ""},
        P{"mac", "str", "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56", ""},
        P{"addr", "int32", "Slot and optional function number, example: 06.0 or 06", "-1"},
        // Checked, then without effect, as virtio-blk-pci's.
        P{"bootindex", "int32", "", ""}}},
      {"isa-serial", "isa-device", "bus ISA; chardev=ID[,index=0..3]: a 16550A UART at COM1..COM4", true, "isa.0",
       {P{"index", "uint32", "", "4294967295"}, P{"chardev", "str", "ID of a chardev to use as a backend", ""}}},
      // Built into the pc machine.
      {"i440FX-pcihost", "pci-host-bridge", "", false, "", {}},
      {"i440FX", "pci-device", "", false, "", {}},
      {"PIIX3", "pci-piix3", "", false, "", {}},
      {"i8042", "isa-device", "", false, "", {}},
      // The PM1 registers and PM timer of hw/acpi/acpi_pm.cpp. vireo's ACPI
      // tables offer soft-off (\_S5) only, so S3 and S4 are always
      // disabled: -global PIIX4_PM.disable_s3=1 (what libvirt writes for
      // <pm><suspend-to-mem enabled='no'/>) states what is so.
      {"PIIX4_PM", "pci-device", "", false, "", {P{"disable_s3", "uint8", "", "1"}, P{"disable_s4", "uint8", "", "1"}}},
      {"port92", "isa-device", "", false, "", {}},
      {"mc146818rtc", "isa-device", "", false, "",
       {P{"lost_tick_policy", "LostTickPolicy", "Policy for handling lost ticks (discard/slew)", "discard"}}},
      {"hpet", "sys-bus-device", "", false, "", {}},
      {"isa-pit", "pit-common", "", false, "", {}},
      {"isa-i8259", "pic-common", "", false, "", {}},
      {"ioapic", "ioapic-common", "", false, "", {}},
      {"apic", "apic-common", "", false, "", {}},
  };
  return catalog;
}

const DeviceTypeInfo* find_device_type(std::string_view name) {
  for (const DeviceTypeInfo& type : device_catalog()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

void check_device_properties(const DeviceSpec& spec) {
  const DeviceTypeInfo* type = find_device_type(spec.driver);
  if (type == nullptr) throw Error("'" + spec.driver + "' is not a valid device model name");
  if (!type->user_creatable) throw Error("Parameter 'driver' expects a pluggable device type");
  for (const KeyValue& kv : spec.properties.items()) {
    // qdev's own options, which every device takes.
    if (kv.key == "driver" || kv.key == "id") continue;
    if (kv.key == "bus") {
      if (kv.value != type->bus) throw Error("Bus '" + kv.value + "' not found");
      continue;
    }
    bool known = false;
    for (const DevicePropertyInfo& p : type->properties) known = known || p.name == kv.key;
    if (!known) throw Error("Property '" + spec.driver + "." + kv.key + "' not found");
  }
}

}  // namespace vireo
