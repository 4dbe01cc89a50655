#include "ui/monitor/qtree.h"

#include <cinttypes>
#include <cstdio>

namespace vireo {

namespace {

void format_bus(const DeviceTreeBus& bus, unsigned indent, std::string& out);

void format_device(const DeviceTreeDevice& device, unsigned indent, std::string& out) {
  const std::string pad(indent, ' ');
  out += pad + "dev: " + device.type + ", id \"" + device.id + "\"\n";
  for (const std::string& line : device.lines) out += pad + "  " + line + "\n";
  for (const DeviceTreeBus& bus : device.buses) format_bus(bus, indent + 2, out);
}

void format_bus(const DeviceTreeBus& bus, unsigned indent, std::string& out) {
  const std::string pad(indent, ' ');
  out += pad + "bus: " + bus.name + "\n" + pad + "  type " + bus.type + "\n";
  for (const DeviceTreeDevice& device : bus.devices) format_device(device, indent + 2, out);
}

}  // namespace

std::string tree_uint(const std::string& name, uint64_t value) {
  char b[64];
  std::snprintf(b, sizeof b, " = %" PRIu64 " (0x%" PRIx64 ")", value, value);
  return name + b;
}

std::string tree_int(const std::string& name, int64_t value) {
  char b[64];
  std::snprintf(b, sizeof b, " = %" PRId64 " (0x%" PRIx64 ")", value, static_cast<uint64_t>(value));
  return name + b;
}

std::string tree_size(const std::string& name, uint64_t bytes) {
  // QEMU's size_to_str: the largest binary unit, "512 B", "4 KiB", "1.5 MiB".
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char b[96];
  if (unit == 0) {
    std::snprintf(b, sizeof b, " = %" PRIu64 " (%" PRIu64 " B)", bytes, bytes);
  } else {
    std::snprintf(b, sizeof b, " = %" PRIu64 " (%0.3g %s)", bytes, value, kUnits[unit]);
  }
  return name + b;
}

std::string tree_bool(const std::string& name, bool value) { return name + " = " + (value ? "true" : "false"); }

std::string tree_string(const std::string& name, const std::string& value) { return name + " = \"" + value + "\""; }

std::string tree_mmio(uint64_t base, uint64_t size) {
  char b[64];
  std::snprintf(b, sizeof b, "mmio %016" PRIx64 "/%016" PRIx64, base, size);
  return b;
}

std::string format_device_tree(const DeviceTreeBus& root) {
  std::string out;
  format_bus(root, 0, out);
  return out;
}

}  // namespace vireo
