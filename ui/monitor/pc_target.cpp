#include "ui/monitor/pc_target.h"

#include <sys/stat.h>

#include "accel/tcg/cpuid.h"
#include "block/host_file.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_device.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_net.h"
#include "net/net_backend.h"
#include "ui/monitor/monitor_server.h"

namespace vireo {

std::vector<MonitorCpuInfo> PcMonitorTarget::cpus() {
  const SmpConfig& smp = machine_.config().smp;
  std::vector<MonitorCpuInfo> list;
  // CPU index to topology as QEMU's x86 numbering: threads innermost.
  unsigned threads = smp.threads == 0 ? 1 : smp.threads;
  unsigned cores = smp.cores == 0 ? 1 : smp.cores;
  unsigned dies = smp.dies == 0 ? 1 : smp.dies;
  for (unsigned i = 0; i < machine_.vcpu_count(); ++i) {
    list.push_back({i, machine_.vcpu_thread_id(i), i / (threads * cores * dies), (i / threads) % cores, i % threads});
  }
  return list;
}

std::optional<std::vector<X86CpuState>> PcMonitorTarget::cpu_states() {
  std::vector<X86CpuState> states;
  // The accessor's accelerator may be replaced by a reset; inspect() runs
  // on the main thread, where that happens, with the vCPUs stopped.
  bool answered = machine_.inspect([&] {
    for (auto& vcpu : machine_.vcpus()) states.push_back(vcpu->state());
  });
  if (!answered) return std::nullopt;
  return states;
}

std::optional<std::vector<MonitorTarget::CpuRegisters>> PcMonitorTarget::cpu_registers() {
  std::vector<CpuRegisters> list;
  bool answered = machine_.inspect([&] {
    for (auto& vcpu : machine_.vcpus()) list.push_back({vcpu->state(), vcpu->dump_state()});
  });
  if (!answered) return std::nullopt;
  return list;
}

std::vector<MonitorChardevInfo> PcMonitorTarget::chardevs() {
  std::vector<MonitorChardevInfo> list;
  for (const auto& [label, spec] : machine_.chardevs()) {
    std::string filename = spec == "stdio" || spec == "null" ? spec : spec;
    list.push_back({label, filename, true});
  }
  if (server_ != nullptr) {
    for (MonitorChardevInfo& info : server_->chardevs()) list.push_back(std::move(info));
  }
  return list;
}

std::vector<MonitorPciFunction> PcMonitorTarget::pci_functions() {
  std::vector<MonitorPciFunction> list;
  const PciBus& bus = machine_.pci_bus();
  for (unsigned devfn = 0; devfn < PciBus::kSlots * PciBus::kFunctions; ++devfn) {
    const PciDevice* d = bus.device(static_cast<uint8_t>(devfn));
    if (d == nullptr) continue;
    auto word = [d](unsigned offset) {
      return static_cast<uint16_t>(d->config_byte(offset) | d->config_byte(offset + 1) << 8);
    };
    MonitorPciFunction f{};
    f.bus = 0;
    f.slot = devfn >> 3;
    f.function = devfn & 7;
    f.class_code = word(pci::kClassProgIf + 1);
    f.vendor = word(pci::kVendorId);
    f.device = word(pci::kDeviceId);
    f.subsystem_vendor = word(pci::kSubsystemVendorId);
    f.subsystem = word(pci::kSubsystemId);
    f.interrupt_line = d->config_byte(pci::kInterruptLine);
    f.interrupt_pin = d->config_byte(pci::kInterruptPin);
    f.qdev_id = d->qdev_id();
    for (unsigned i = 0; i < pci::kBarCount; ++i) {
      PciDevice::BarMapping bar = d->bar(i);
      if (!bar.declared) continue;
      const bool prefetchable = (d->config_byte(pci::kBar0 + 4 * i) & pci::kBarPrefetchable) != 0;
      f.regions.push_back({i, bar.kind == PciBarKind::Io, bar.kind == PciBarKind::Memory64,
                           bar.kind != PciBarKind::Io && prefetchable,
                           bar.enabled ? static_cast<int64_t>(bar.address) : -1, bar.size});
      if (bar.kind == PciBarKind::Memory64) ++i;  // the upper half is not a BAR of its own
    }
    list.push_back(std::move(f));
  }
  return list;
}

std::vector<MonitorBlockDevice> PcMonitorTarget::block_devices() {
  std::vector<MonitorBlockDevice> list;
  unsigned node = 0;
  for (const PcMachine::Disk& disk : machine_.disks()) {
    struct stat st {};
    // actual-size is what the file occupies on the host, as du counts it.
    uint64_t actual = ::stat(disk.drive.file.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
    std::vector<MonitorImageInfo> chain;
    for (const BlockImageFacts& facts : disk.chain) {
      MonitorImageInfo image;
      static_cast<BlockImageFacts&>(image) = facts;
      try {
        image.actual_size = facts.file != nullptr ? facts.file->allocated_bytes() : 0;
      } catch (const Error&) {
        image.actual_size = 0;  // fstat of an open file does not fail in practice
      }
      chain.push_back(std::move(image));
    }
    // A -blockdev drive is known by its node name and has no device name.
    const bool blockdev = disk.drive.from_blockdev;
    std::string node_name = blockdev ? disk.drive.node_name : "#block" + std::to_string(100 + node);
    ++node;
    std::string file_node_name = blockdev && !disk.drive.file_node_name.empty() ? disk.drive.file_node_name
                                                                                 : node_name + "-file";
    list.push_back({blockdev ? "" : disk.device, node_name, file_node_name, disk.qdev, disk.drive.file, disk.format,
                    disk.model->read_only(), disk.drive.cache,
                    disk.model->capacity_sectors() * VirtioBlk::kSectorSize, actual, disk.model->stats(),
                    std::move(chain)});
  }
  return list;
}

std::vector<MonitorQomDevice> PcMonitorTarget::qom_devices() {
  std::vector<MonitorQomDevice> list;
  unsigned anonymous = 0;
  for (const DeviceSpec& spec : machine_.config().devices) {
    auto id = spec.properties.get("id");
    std::string path = id ? "/machine/peripheral/" + *id
                          : "/machine/peripheral-anon/device[" + std::to_string(anonymous++) + "]";
    list.push_back({path, spec.driver});
  }
  return list;
}

std::string PcMonitorTarget::network_info() {
  // QEMU's net/net.c layout: "name: index=Q,type=nic,model=...,macaddr=..."
  // per NIC, its peer indented under it; index is the queue (one here).
  std::string out;
  for (const PcMachine::Nic& nic : machine_.nics()) {
    out += nic.name + ": index=0,type=nic,model=virtio-net-pci,macaddr=" + mac_address_text(nic.model->mac()) + "\n";
    if (nic.backend != nullptr) {
      out += " \\ " + nic.backend->id() + ": index=0,type=" + nic.backend->type() + "," + nic.backend->info() + "\n";
    }
  }
  for (const auto& netdev : machine_.netdevs()) {
    if (!netdev->attached()) out += netdev->id() + ": index=0,type=" + netdev->type() + "," + netdev->info() + "\n";
  }
  return out;
}

std::optional<CpuFeatures> PcMonitorTarget::cpu_features() {
  // Under tcg vireo builds CPUID itself (accel/tcg/cpuid.cpp); under kvm the
  // kernel narrows the model further, which is not read back yet.
  if (machine_.accelerator_name() != "tcg") return std::nullopt;
  return tcg::guest_features(find_cpu_model(machine_.cpu_model_name()));
}

}  // namespace vireo
