// The pc machine's network: -netdev back ends and virtio-net-pci NICs.
// Kept apart from pc.cpp so the NIC plumbing stays in one place.
#include <algorithm>

#include "hw/pci/pci_bus.h"
#include "hw/virtio/virtio_net.h"
#include "hw/virtio/virtio_pci.h"
#include "machine/pc.h"
#include "net/slirp_backend.h"
#include "util/error.h"
#include "util/log.h"

namespace vireo {

void PcMachine::create_netdevs() {
  for (const NetdevSpec& spec : config_.netdevs) {
    try {
      // The options were checked while parsing; "user" is the only type.
      netdevs_.push_back(std::make_unique<SlirpBackend>(parse_user_net_options(spec.properties)));
    } catch (const Error& e) {
      throw Error(spec.option_text + ": " + e.what());
    }
  }
}

int PcMachine::pci_devfn_property(const DeviceSpec& spec) const {
  auto addr = spec.properties.get("addr");
  if (!addr) return -1;
  // QEMU's PCI address property: SLOT[.FUNCTION], both hex; libvirt
  // writes "0x3".
  std::string text = addr->rfind("0x", 0) == 0 ? addr->substr(2) : *addr;
  const size_t dot = text.find('.');
  const uint64_t slot = parse_uint("0x" + text.substr(0, dot), "addr");
  const uint64_t function = dot == std::string::npos ? 0 : parse_uint("0x" + text.substr(dot + 1), "addr");
  if (slot >= PciBus::kSlots || function >= PciBus::kFunctions) {
    throw Error("Property '" + spec.driver + ".addr' doesn't take value '" + *addr + "'");
  }
  return PciBus::devfn(static_cast<unsigned>(slot), static_cast<unsigned>(function));
}

void PcMachine::create_virtio_net_device(const DeviceSpec& spec) {
  if (auto index = spec.properties.get("bootindex")) parse_uint(*index, "bootindex");
  NetBackend* backend = nullptr;
  if (auto netdev_id = spec.properties.get("netdev")) {
    for (auto& netdev : netdevs_) {
      if (netdev->id() == *netdev_id) backend = netdev.get();
    }
    if (backend == nullptr) throw Error("Property 'virtio-net-device.netdev' can't find value '" + *netdev_id + "'");
    if (backend->attached()) {
      throw Error("Property 'virtio-net-device.netdev' can't take value '" + *netdev_id + "', it's in use");
    }
  }
  VirtioNet::MacAddress mac{};
  if (auto text = spec.properties.get("mac")) {
    if (!parse_mac_address(*text, mac)) throw Error("Property 'virtio-net-device.mac' doesn't take value '" + *text + "'");
  } else {
    // QEMU's default MAC, 52:54:00:12:34:56, counting up for each NIC
    // that has none given.
    mac = {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + default_macs_++)};
  }
  int devfn = pci_devfn_property(spec);
  if (devfn < 0) {
    const int slot = pci_bus_->free_slot(2);
    if (slot < 0) throw Error("no free PCI slot");
    devfn = PciBus::devfn(static_cast<unsigned>(slot), 0);
  }
  const std::string id = spec.properties.get("id").value_or("");
  auto model = std::make_unique<VirtioNet>(mac, backend);
  model->set_vm_running(!config_.start_paused);  // -S: not until cont
  auto function = std::make_unique<VirtioPci>("virtio-net-pci", *model, memory_);
  function->set_qdev_id(id);
  function->set_msi_sender([this](uint64_t address, uint32_t data) { send_msi(address, data); });
  pci_bus_->attach(function.get(), static_cast<uint8_t>(devfn));  // throws if the slot is taken
  const auto anonymous = std::count_if(nics_.begin(), nics_.end(), [](const Nic& n) { return n.qdev_id.empty(); });
  nics_.push_back({id.empty() ? "virtio-net-pci." + std::to_string(anonymous) : id, id, model.get(), function.get(),
                   backend});
  if (id.empty()) ++anonymous_devices_;  // QEMU's /machine/peripheral-anon/device[N] counts it
  virtio_models_.push_back(std::move(model));
  pci_devices_.push_back(std::move(function));
}

void PcMachine::set_nics_running(bool running) {
  for (Nic& nic : nics_) nic.model->set_vm_running(running);
}

void PcMachine::warn_unconnected_netdevs() const {
  for (const auto& netdev : netdevs_) {
    if (!netdev->attached()) log_warning("netdev " + netdev->id() + " has no peer");
  }
  for (const Nic& nic : nics_) {
    if (nic.backend == nullptr) log_warning("nic " + nic.name + " has no peer");
  }
}

}  // namespace vireo
