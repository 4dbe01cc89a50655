// The device types vireo implements, as QEMU's QOM names and describes
// them: -device checks a device's properties here, -device help lists the
// ones it may create, and the monitor reports them (qom-list-types,
// device-list-properties), so what a management tool is told is what the
// command line takes. A new device, or a new property of one, goes here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "system/vm_config.h"

namespace vireo {

struct DevicePropertyInfo {
  std::string name;
  std::string type;           // QEMU's property type: "uint32", "int32", "str", "bool", ...
  std::string description;    // may be empty
  std::string default_value;  // as JSON ("1281", "-1", "false"), empty when there is none
};

struct DeviceTypeInfo {
  std::string name;    // "virtio-blk-pci"
  std::string parent;  // its QOM parent, as QEMU 7.2 reports it
  std::string help;    // -device help's line
  // -device may create it; the others are built into the machine (their
  // types exist, so they are listed, but -device refuses them).
  bool user_creatable;
  std::string bus;  // the bus its bus= names: "pci.0", "isa.0" (QEMU's names)
  std::vector<DevicePropertyInfo> properties;
};

const std::vector<DeviceTypeInfo>& device_catalog();
const DeviceTypeInfo* find_device_type(std::string_view name);

// Throws Error with QEMU's words for a -device key that is neither a
// property of the type nor one every device takes (driver, id, and bus=,
// which must name the device's bus), and for a type -device cannot create.
void check_device_properties(const DeviceSpec& spec);

}  // namespace vireo
