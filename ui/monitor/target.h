// What the monitor's commands need from a machine. PcMachine provides it
// (pc_target.cpp); unit tests provide a fake, so the command core is
// tested without booting anything.
//
// Threads: called from the monitor's thread. Requests that change the run
// state go through control() and wait there for the machine's main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "accel/cpu_model.h"
#include "accel/cpu_state.h"
#include "block/block_accounting.h"
#include "block/image_chain.h"
#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"
#include "ui/monitor/qtree.h"

namespace vireo {

class GuestMemory;

struct MonitorCpuInfo {
  unsigned index;
  int thread_id;
  unsigned socket_id, core_id, thread_in_core;
};

struct MonitorChardevInfo {
  std::string label;
  std::string filename;
  bool frontend_open;
};

// One BAR of a PCI function (query-pci's PciMemoryRegion).
struct MonitorPciRegion {
  unsigned bar;
  bool io;
  bool mem64;
  bool prefetchable;
  int64_t address;  // -1 while unassigned, as QEMU reports it
  uint64_t size;
};

struct MonitorPciFunction {
  unsigned bus, slot, function;
  uint16_t class_code;  // base class << 8 | sub-class
  uint16_t vendor, device, subsystem_vendor, subsystem;
  uint8_t interrupt_line, interrupt_pin;  // pin 0: none
  std::string qdev_id;                    // -device id=, may be empty
  std::vector<MonitorPciRegion> regions;
};

// One image of a drive's chain, with its host allocation now.
struct MonitorImageInfo : BlockImageFacts {
  uint64_t actual_size = 0;
};

// A -device in the QOM tree: "/machine/peripheral/ID" or
// "/machine/peripheral-anon/device[N]", and its type ("isa-serial").
struct MonitorQomDevice {
  std::string path;
  std::string type;
};

struct MonitorBlockDevice {
  std::string device;     // "virtio0" or the -drive id
  std::string node_name;  // the format node's
  std::string file_node_name;  // the protocol (file) node's below it
  std::string qdev;       // the QOM path of the device using it
  std::string file;
  std::string format;     // "raw" or "qcow2"
  bool read_only;
  std::string cache;      // -drive cache= mode
  uint64_t virtual_size;
  uint64_t actual_size;   // host bytes allocated to the image file
  BlockStatsSnapshot stats;
  std::vector<MonitorImageInfo> chain;  // the image, then its backing files
};

class MonitorTarget {
 public:
  virtual ~MonitorTarget() = default;
  virtual RunControl& control() = 0;
  virtual std::string guest_name() = 0;         // -name, may be empty
  virtual std::string accelerator() = 0;        // "kvm" or "tcg"
  virtual std::string cpu_model() = 0;          // -cpu
  virtual std::vector<MonitorCpuInfo> cpus() = 0;
  // Every vCPU's registers, read with the vCPUs stopped; nullopt if the
  // machine did not answer.
  virtual std::optional<std::vector<X86CpuState>> cpu_states() = 0;
  // The same with what "info registers" adds (debug, x87, SSE registers),
  // read together so that both halves are of one moment.
  struct CpuRegisters {
    X86CpuState state;
    X86DumpState dump;
  };
  virtual std::optional<std::vector<CpuRegisters>> cpu_registers() = 0;
  virtual GuestMemory& memory() = 0;
  virtual std::vector<IoBus::Range> io_ranges() = 0;
  virtual std::vector<IoBus::Range> mmio_ranges() = 0;
  virtual std::vector<MonitorChardevInfo> chardevs() = 0;
  virtual void press_power_button() = 0;
  virtual std::vector<MonitorPciFunction> pci_functions() = 0;  // bus 0, by devfn
  virtual std::vector<MonitorBlockDevice> block_devices() = 0;
  // The machine's buses and devices ("info qtree"), from the system bus.
  virtual DeviceTreeBus device_tree() = 0;
  // For query-uuid, qom-list and qom-get (qmp_libvirt.cpp); the defaults
  // suit a target without them.
  virtual std::string uuid() { return {}; }  // -uuid, empty when none was given
  virtual std::vector<MonitorQomDevice> qom_devices() { return {}; }
  // The CPUID feature bits the guest's vCPUs report, when known.
  virtual std::optional<CpuFeatures> cpu_features() { return std::nullopt; }
  // "info network": each NIC and its back end, then back ends without a
  // NIC, in QEMU's layout. Empty when there is no network.
  virtual std::string network_info() { return {}; }
};

}  // namespace vireo
