// A machine's devices as a tree of buses and devices, the shape QEMU's qdev
// gives them: a bus holds devices, a device may provide buses. The monitor
// prints it as "info qtree"; pc_qtree.cpp builds the pc machine's from the
// devices it created.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vireo {

struct DeviceTreeDevice;

struct DeviceTreeBus {
  std::string name;  // "pci.0"
  std::string type;  // QEMU's bus type: "PCI", "ISA", "System", ...
  std::vector<DeviceTreeDevice> devices;  // in the order QEMU lists them
};

struct DeviceTreeDevice {
  std::string type;  // QEMU's type name: "isa-serial"
  std::string id;    // -device id=, empty for the machine's own
  // Lines under the device, worded as QEMU prints them ("iobase = 1016
  // (0x3f8)", "class ...", "bar 0: ..."); the helpers below make them.
  std::vector<std::string> lines;
  std::vector<DeviceTreeBus> buses;
};

// QEMU's wording of a property's value, by its kind.
std::string tree_uint(const std::string& name, uint64_t value);         // "n = 4 (0x4)"
std::string tree_int(const std::string& name, int64_t value);           // "n = -1 (0xffffffffffffffff)"
std::string tree_size(const std::string& name, uint64_t bytes);         // "n = 512 (512 B)"
std::string tree_bool(const std::string& name, bool value);             // "n = true"
std::string tree_string(const std::string& name, const std::string& value);  // "n = \"v\""
std::string tree_mmio(uint64_t base, uint64_t size);                    // a sysbus device's region

// QEMU's "info qtree" text for the tree under `root`.
std::string format_device_tree(const DeviceTreeBus& root);

class PcMachine;
// The pc machine's tree (pc_qtree.cpp). Any thread: it reads the buses'
// range tables and the devices' constant identity, not their state.
DeviceTreeBus pc_device_tree(PcMachine& machine);

}  // namespace vireo
