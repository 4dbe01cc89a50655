#include "system/cmdline_net.h"

#include <algorithm>

#include "net/user_net_options.h"
#include "system/cmdline_libvirt.h"
#include "util/error.h"

namespace vireo {

namespace {

// QEMU's identifier rule for ids (letters, digits, '-', '.', '_', starting
// with a letter).
bool valid_id(const std::string& id) {
  if (id.empty() || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// JSON's hostfwd list arrives as hostfwd.N.str; the key=value form repeats
// hostfwd=. Both become hostfwd= items here.
KeyValueList normalise_hostfwd(const KeyValueList& kv) {
  std::vector<KeyValue> items;
  for (const KeyValue& item : kv.items()) {
    const bool listed = item.key.rfind("hostfwd.", 0) == 0 && item.key.size() > 12 &&
                        item.key.compare(item.key.size() - 4, 4, ".str") == 0;
    items.push_back(listed ? KeyValue{"hostfwd", item.value} : item);
  }
  return KeyValueList::from_items(std::move(items));
}

// The back-end types QEMU has; only user exists in vireo.
void check_netdev_type(const std::string& type) {
  if (type == "user") return;
  if (type == "tap" || type == "bridge" || type == "socket" || type == "stream" || type == "dgram" ||
      type == "l2tpv3" || type == "vde" || type == "netmap" || type == "vhost-user" || type == "vhost-vdpa" ||
      type == "hubport") {
    throw Error("netdev type '" + type + "' is not supported yet (only user)");
  }
  throw Error("Parameter 'type' does not accept value '" + type + "'");
}

void add_netdev(CommandLine& cl, NetdevSpec spec) {
  for (const NetdevSpec& other : cl.config.netdevs) {
    if (other.id == spec.id) throw Error("Duplicate ID '" + spec.id + "' for netdev");
  }
  cl.config.netdevs.push_back(std::move(spec));
}

}  // namespace

void parse_netdev(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = normalise_hostfwd(parse_option_value(arg, "type"));
  const std::string type = kv.get("type").value_or("");
  if (type.empty()) throw Error("Parameter 'type' is missing");
  check_netdev_type(type);
  const auto id = kv.get("id");
  if (!id) throw Error("Parameter 'id' is missing");
  if (!valid_id(*id)) throw Error("Parameter 'id' expects an identifier");
  parse_user_net_options(kv);  // checks every option now, before anything is created
  add_netdev(cl, {"-netdev " + arg, *id, type, kv});
}

void parse_nic(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = parse_option_value(arg, "type");
  const std::string type = kv.get("type").value_or("");
  if (type == "none") {
    cl.config.nic_none = true;
    return;
  }
  if (type.empty()) throw Error("Parameter 'type' is missing");
  check_netdev_type(type);
  // QEMU's pc picks e1000 when -nic names no model; vireo has no e1000
  // yet, so its default model is virtio-net-pci.
  const std::string model = kv.get("model").value_or("virtio-net-pci");
  if (model != "virtio-net-pci" && model != "virtio") {
    if (model == "e1000" || model == "e1000e" || model == "rtl8139" || model == "ne2k_pci" || model == "pcnet" ||
        model == "i82551" || model == "i82557b" || model == "i82559er" || model == "vmxnet3" ||
        model.rfind("e1000-", 0) == 0) {
      throw Error("Unsupported NIC model: " + model + " (vireo has only virtio-net-pci)");
    }
    throw Error("Unsupported NIC model: " + model);
  }
  // The back end gets every key but the NIC's own, and QEMU's generated id.
  const unsigned index = static_cast<unsigned>(cl.config.netdevs.size());
  std::string id = kv.get("id").value_or("__org.qemu.nic" + std::to_string(index));
  std::vector<KeyValue> netdev_items{{"type", type}, {"id", id}};
  std::vector<KeyValue> device_items{{"driver", "virtio-net-pci"}, {"netdev", id}};
  const KeyValueList all = normalise_hostfwd(kv);
  for (const KeyValue& item : all.items()) {
    if (item.key == "type" || item.key == "id" || item.key == "model") continue;
    if (item.key == "mac") {
      device_items.push_back(item);
    } else {
      netdev_items.push_back(item);
    }
  }
  KeyValueList netdev_kv = KeyValueList::from_items(std::move(netdev_items));
  parse_user_net_options(netdev_kv);
  add_netdev(cl, {"-nic " + arg, id, type, netdev_kv});
  // QEMU's pc creates -nic NICs with the machine, before any -device: they
  // take the first free PCI slots and default MACs.
  auto& devices = cl.config.devices;
  auto first_device = std::find_if(devices.begin(), devices.end(),
                                   [](const DeviceSpec& d) { return d.option_text.rfind("-nic ", 0) != 0; });
  devices.insert(first_device, {"-nic " + arg, "virtio-net-pci", KeyValueList::from_items(std::move(device_items))});
}

void parse_net(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "type");
  if (kv.get("type").value_or("") == "none") {
    cl.config.nic_none = true;
    return;
  }
  // QEMU's older hub-based -net nic / -net user pairs are not implemented.
  throw Error("only -net none is supported (use -netdev with -device, or -nic)");
}

}  // namespace vireo
