#include "system/cmdline_libvirt.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "system/device_catalog.h"
#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

void flatten(const nlohmann::json& value, const std::string& prefix, std::vector<KeyValue>& out) {
  if (value.is_object()) {
    if (value.empty() && !prefix.empty()) throw Error("Parameter '" + prefix + "' is missing");
    for (const auto& [key, member] : value.items()) {
      flatten(member, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  if (value.is_array()) {
    // As QEMU's keyval: list members are numbered ("hostfwd.0.str").
    for (size_t i = 0; i < value.size(); ++i) flatten(value[i], prefix + "." + std::to_string(i), out);
    return;
  }
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "on" : "off";
  } else if (value.is_number_unsigned()) {
    text = std::to_string(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    text = std::to_string(value.get<int64_t>());
  } else if (value.is_null()) {
    text = "null";
  } else {
    // Fractions appear in no option vireo implements.
    throw Error("Parameter '" + prefix + "' has an unsupported type");
  }
  out.push_back({prefix, text});
}

void check_keys(const KeyValueList& kv, std::initializer_list<std::string_view> known, const std::string& type) {
  for (const KeyValue& item : kv.items()) {
    if (std::find(known.begin(), known.end(), item.key) == known.end()) {
      throw Error("Property '" + type + "." + item.key + "' not found");
    }
  }
}

bool is_base64(const std::string& text) {
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool padding = c == '=' && i >= text.size() - 2 && (i == text.size() - 1 || text[i + 1] == '=');
    if (!alnum && c != '+' && c != '/' && !padding) return false;
  }
  return true;
}

// QEMU's secret object: the data inline (data=) or in a file (file=), raw
// or base64. vireo holds secrets for the objects that would use them
// (encrypted images, TLS, network block devices), none of which exist yet;
// libvirt creates its master key secret for every domain regardless.
void check_secret(const ObjectSpec& object) {
  const KeyValueList& kv = object.properties;
  check_keys(kv, {"qom-type", "id", "data", "file", "format", "keyid", "iv"}, "secret");
  const bool data = kv.has("data");
  const bool file = kv.has("file");
  if (data == file) throw Error("Either 'data' or 'file' must be provided, but not both");
  const std::string format = kv.get("format").value_or("raw");
  if (format != "raw" && format != "base64") {
    throw Error("Parameter 'format' does not accept value '" + format + "'");
  }
  if (kv.has("keyid") || kv.has("iv")) {
    throw Error("secret: keyid/iv (secrets encrypted with another secret) are not supported yet");
  }
  std::string content;
  if (file) {
    std::ifstream in(*kv.get("file"), std::ios::binary);
    if (!in) throw Error(with_errno("Unable to read " + *kv.get("file"), errno));
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    content = *kv.get("data");
  }
  if (format == "base64" && !is_base64(content)) throw Error("Failed to decode base64 data");
}

void check_memory_backend(const ObjectSpec& object) {
  const KeyValueList& kv = object.properties;
  // merge and dump are madvise hints on the backend's memory, which with
  // memory-backend= is the guest RAM vireo maps; vireo gives the RAM no
  // MADV_MERGEABLE, and dump follows -machine dump-guest-core.
  check_keys(kv, {"qom-type", "id", "size", "share", "merge", "dump", "prealloc", "x-use-canonical-path-for-ramblock-id"},
             "memory-backend-ram");
  if (!kv.has("size")) throw Error("can't create backend with size 0");
  uint64_t size = parse_size(*kv.get("size"), 1, "size");
  if (size == 0) throw Error("can't create backend with size 0");
  if (auto share = kv.get("share"); share && parse_bool(*share, "share")) {
    throw Error("memory-backend-ram: share=on is not supported yet");
  }
  if (auto merge = kv.get("merge"); merge && parse_bool(*merge, "merge")) {
    throw Error("memory-backend-ram: merge=on is not supported yet");
  }
  if (auto prealloc = kv.get("prealloc"); prealloc && parse_bool(*prealloc, "prealloc")) {
    throw Error("memory-backend-ram: prealloc=on is not supported yet");
  }
  if (auto dump = kv.get("dump")) parse_bool(*dump, "dump");
}

bool valid_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

const ObjectSpec* find_object(const CommandLine& cl, const std::string& id) {
  for (const ObjectSpec& o : cl.config.objects) {
    if (o.id == id) return &o;
  }
  return nullptr;
}

}  // namespace

KeyValueList parse_option_value(const std::string& arg, std::string_view implied_key) {
  if (arg.empty() || arg[0] != '{') return KeyValueList::parse(arg, implied_key);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(arg);
  } catch (const nlohmann::json::exception&) {
    throw Error("JSON parse error");
  }
  if (!value.is_object()) throw Error("JSON value must be an object");
  std::vector<KeyValue> items;
  flatten(value, "", items);
  return KeyValueList::from_items(std::move(items));
}

void parse_object(CommandLine& cl, const std::string& arg) {
  ObjectSpec object;
  object.option_text = "-object " + arg;
  object.properties = parse_option_value(arg, "qom-type");
  object.qom_type = object.properties.get("qom-type").value_or("");
  object.id = object.properties.get("id").value_or("");
  if (object.qom_type.empty()) throw Error("Parameter 'qom-type' is missing");
  if (object.id.empty()) throw Error("Parameter 'id' is missing");
  if (object.qom_type == "secret") {
    check_secret(object);
  } else if (object.qom_type == "memory-backend-ram") {
    check_memory_backend(object);
  } else {
    throw Error("invalid object type: " + object.qom_type);
  }
  if (find_object(cl, object.id) != nullptr) {
    throw Error("attempt to add duplicate property '" + object.id + "' to object (type 'container')");
  }
  cl.config.objects.push_back(std::move(object));
}

// -blockdev: the nodes libvirt 9.0 writes for a disk image, a protocol node
// (driver "file") and a format node ("raw" or "qcow2") on top of it.
void parse_blockdev(CommandLine& cl, const std::string& arg) {
  BlockdevSpec node;
  node.option_text = "-blockdev " + arg;
  node.properties = parse_option_value(arg, "");
  node.driver = node.properties.get("driver").value_or("");
  node.node_name = node.properties.get("node-name").value_or("");
  if (node.driver.empty()) throw Error("Parameter 'driver' is missing");
  if (node.node_name.empty()) throw Error("A top-level block node needs a node-name (vireo names no nodes itself)");
  const KeyValueList& kv = node.properties;
  if (node.driver == "file") {
    check_keys(kv, {"driver", "node-name", "filename", "read-only", "auto-read-only", "discard", "cache.direct",
                    "cache.no-flush"},
               "file");
    if (!kv.has("filename")) throw Error("Parameter 'filename' is missing");
  } else if (node.driver == "raw" || node.driver == "qcow2") {
    check_keys(kv, {"driver", "node-name", "file", "read-only", "auto-read-only", "discard", "cache.direct",
                    "cache.no-flush", "backing"},
               node.driver);
    if (!kv.has("file")) throw Error("Parameter 'file' is missing");
    if (auto backing = kv.get("backing"); backing && *backing != "null") {
      throw Error("backing: only null (the image's own backing file) is supported yet");
    }
  } else {
    throw Error("Parameter 'driver' does not accept value '" + node.driver + "'");
  }
  for (const char* key : {"read-only", "auto-read-only", "cache.direct", "cache.no-flush"}) {
    if (auto v = kv.get(key)) parse_bool(*v, key);
  }
  // vireo's virtio-blk passes the guest's discards to the image, which is
  // discard=unmap; ignoring them (QEMU's default) is not implemented.
  if (auto discard = kv.get("discard"); discard && *discard != "unmap") {
    throw Error("discard=" + *discard + " is not supported yet (vireo always unmaps)");
  }
  for (const BlockdevSpec& other : cl.config.blockdevs) {
    if (other.node_name == node.node_name) throw Error("Duplicate nodes with node-name='" + node.node_name + "'");
  }
  cl.config.blockdevs.push_back(std::move(node));
}

// -audiodev: vireo has no sound device yet, so the only backend that makes
// sense is "none", which discards audio; libvirt adds one to every domain.
void parse_audiodev(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = parse_option_value(arg, "driver");
  const std::string driver = kv.get("driver").value_or("");
  const std::string id = kv.get("id").value_or("");
  if (driver.empty()) throw Error("Parameter 'driver' is missing");
  if (id.empty()) throw Error("Parameter 'id' is missing");
  if (driver != "none") throw Error("audiodev driver '" + driver + "' is not supported yet (only none)");
  for (const KeyValue& item : kv.items()) {
    if (item.key != "driver" && item.key != "id" && item.key.rfind("in.", 0) != 0 &&
        item.key.rfind("out.", 0) != 0 && item.key != "timer-period") {
      throw Error("Invalid parameter '" + item.key + "'");
    }
  }
  if (std::find(cl.config.audiodevs.begin(), cl.config.audiodevs.end(), id) != cl.config.audiodevs.end()) {
    throw Error("Duplicate ID '" + id + "' for audiodev");
  }
  cl.config.audiodevs.push_back(id);
}

// -overcommit: vireo never locks guest memory and never passes the CPU's
// power management to the guest, which is what "off" asks for.
void parse_overcommit(CommandLine&, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "");
  kv.check_known({"mem-lock", "cpu-pm"});
  if (auto v = kv.get("mem-lock"); v && parse_bool(*v, "mem-lock")) throw Error("mem-lock=on is not supported yet");
  if (auto v = kv.get("cpu-pm"); v && parse_bool(*v, "cpu-pm")) throw Error("cpu-pm=on is not supported yet");
}

void parse_uuid(CommandLine& cl, const std::string& arg) {
  if (!valid_uuid(arg)) throw Error("Fail to parse UUID string. Wrong format.");
  std::string lower = arg;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  cl.config.uuid = lower;
}

void parse_rtc(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "");
  kv.check_known({"base", "clock", "driftfix"});
  const std::string base = kv.get("base").value_or("utc");
  if (base == "localtime") {
    cl.config.rtc_localtime = true;
  } else if (base == "utc") {
    cl.config.rtc_localtime = false;
  } else {
    throw Error("base=" + base + ": only utc and localtime are supported yet");
  }
  // The RTC follows the host's clock while the guest runs (QEMU's
  // clock=host, its default) and stands still while it is paused.
  if (auto clock = kv.get("clock"); clock && *clock != "host") {
    throw Error("clock=" + *clock + " is not supported yet (only host)");
  }
  if (auto drift = kv.get("driftfix")) {
    if (*drift != "slew" && *drift != "none") throw Error("Invalid parameter 'driftfix'");
    cl.config.rtc_slew = *drift == "slew";
  }
}

// -boot: what the firmware is told (machine/pc_fw_cfg.cpp, pc_cmos.cpp):
// order/once become the CMOS boot order, menu the fw_cfg boot-menu item,
// strict a HALT at the end of the bootorder file, splash-time and
// reboot-timeout the etc/boot-menu-wait and etc/boot-fail-wait files.
// With -kernel the kernel is loaded directly and none of it matters.
// The pc machine's checks (at most three devices, a/b/c/d/n) come here
// too, with QEMU's words, since pc is the machine that boots.
namespace {

int64_t parse_signed(const std::string& text, const char* key) {
  if (!text.empty() && text[0] == '-') return -static_cast<int64_t>(parse_uint(text.substr(1), key));
  return static_cast<int64_t>(parse_uint(text, key));
}

void check_pc_boot_devices(const std::string& devices) {
  for (char c : devices) {
    if (c < 'a' || c > 'p') throw Error("Invalid boot device '" + std::string(1, c) + "'");
  }
  if (devices.size() > 3) throw Error("Too many boot devices for PC");
  for (char c : devices) {
    if (std::string_view("abcdn").find(c) == std::string_view::npos) {
      throw Error("Invalid boot device for PC: '" + std::string(1, c) + "'");
    }
  }
}

}  // namespace

void parse_boot(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "order");
  kv.check_known({"order", "once", "menu", "strict", "splash-time", "reboot-timeout"});
  BootConfig& boot = cl.config.boot;
  if (auto v = kv.get("menu")) boot.menu = parse_bool(*v, "boot.menu");
  if (auto v = kv.get("strict")) boot.strict = parse_bool(*v, "boot.strict");
  if (auto v = kv.get("order")) {
    check_pc_boot_devices(*v);
    boot.order = *v;
  }
  if (auto v = kv.get("once")) {
    check_pc_boot_devices(*v);
    boot.once = *v;
  }
  if (auto v = kv.get("reboot-timeout")) {
    const int64_t ms = parse_signed(*v, "reboot-timeout");
    if (ms < -1 || ms > 0xffff) throw Error("reboot timeout is invalid,it should be a value between -1 and 65535");
    boot.reboot_timeout_ms = ms;
  }
  if (auto v = kv.get("splash-time")) {
    const int64_t ms = parse_signed(*v, "splash-time");
    if (ms < 0 || ms > 0xffff) throw Error("splash-time is invalid,it should be a value between 0 and 65535");
    boot.splash_time_ms = ms;
  }
}

void parse_msg(CommandLine&, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "");
  kv.check_known({"timestamp", "guest-name"});
  if (auto v = kv.get("timestamp")) set_log_timestamps(parse_bool(*v, "timestamp"));
  if (auto v = kv.get("guest-name")) parse_bool(*v, "guest-name");
}

void parse_name(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "guest");
  kv.check_known({"guest", "process", "debug-threads"});
  cl.config.name = kv.get("guest").value_or("");
  if (auto v = kv.get("debug-threads")) cl.config.debug_threads = parse_bool(*v, "debug-threads");
}

// -global DRIVER.PROPERTY=VALUE (or driver=,property=,value=): a default
// for a device type's property. The built-in PIIX4_PM's disable_s3 and
// disable_s4 are the ones libvirt writes (<pm> in the domain XML); vireo
// has neither sleep state, so only 1 is true of it. mc146818rtc's
// lost_tick_policy is -rtc driftfix's. Other properties are not supported yet.
void parse_global(CommandLine& cl, const std::string& arg) {
  std::string driver, property, value;
  if (arg.find("driver=") == 0 || arg.find(",property=") != std::string::npos) {
    KeyValueList kv = KeyValueList::parse(arg, "");
    kv.check_known({"driver", "property", "value"});
    driver = kv.get("driver").value_or("");
    property = kv.get("property").value_or("");
    value = kv.get("value").value_or("");
  } else {
    const size_t dot = arg.find('.');
    const size_t equals = arg.find('=', dot == std::string::npos ? 0 : dot);
    if (dot == std::string::npos || equals == std::string::npos) {
      throw Error("Invalid format: expected DRIVER.PROPERTY=VALUE");
    }
    driver = arg.substr(0, dot);
    property = arg.substr(dot + 1, equals - dot - 1);
    value = arg.substr(equals + 1);
  }
  const DeviceTypeInfo* type = find_device_type(driver);
  if (type == nullptr) throw Error("global " + driver + "." + property + " has invalid class name");
  bool known = false;
  for (const DevicePropertyInfo& p : type->properties) known = known || p.name == property;
  if (!known) throw Error("Property '" + driver + "." + property + "' not found");
  if (driver == "PIIX4_PM" && (property == "disable_s3" || property == "disable_s4")) {
    uint64_t n = parse_uint(value, property);
    if (n > 0xff) throw Error("Property " + driver + "." + property + " doesn't take value " + value);
    if (n != 1) throw Error(std::string("vireo's ACPI has no ") + (property == "disable_s3" ? "S3" : "S4") +
                            " sleep state yet: only " + property + "=1 is supported");
    return;
  }
  if (driver == "mc146818rtc" && property == "lost_tick_policy") {
    if (value != "slew" && value != "discard") {
      throw Error("Property " + driver + "." + property + " doesn't take value '" + value +
                  "' (vireo's RTC has the policies discard and slew)");
    }
    cl.config.rtc_slew = value == "slew";
    return;
  }
  throw Error("-global " + driver + "." + property + " is not supported yet");
}

bool apply_machine_property(CommandLine& cl, const KeyValue& item) {
  if (item.key == "usb") {
    // vireo has no USB controller: usb=off is what it is.
    if (parse_bool(item.value, "usb")) throw Error("usb=on: vireo has no USB controller yet");
    return true;
  }
  if (item.key == "dump-guest-core") {
    cl.config.dump_guest_core = parse_bool(item.value, "dump-guest-core");
    return true;
  }
  if (item.key == "memory-backend") {
    cl.config.memory_backend = item.value;
    return true;
  }
  return false;
}

void use_inherited_listener(ChardevSpec& spec, const std::string& fd_text) {
  uint64_t fd = parse_uint(fd_text, "fd");
  if (fd > 65535 || fcntl(static_cast<int>(fd), F_GETFD) < 0) {
    throw Error("File descriptor '" + fd_text + "' is not open");
  }
  const int n = static_cast<int>(fd);
  int type = 0, listening = 0;
  socklen_t length = sizeof type;
  if (getsockopt(n, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) {
    throw Error("File descriptor " + fd_text + " is not a stream socket");
  }
  length = sizeof listening;
  if (getsockopt(n, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0) {
    throw Error("File descriptor " + fd_text + " is not a listening socket (only server=on is supported)");
  }
  fcntl(n, F_SETFD, FD_CLOEXEC);
  fcntl(n, F_SETFL, fcntl(n, F_GETFL) | O_NONBLOCK);
  spec.fd = n;
  // query-chardev names the socket's address, as QEMU does.
  sockaddr_storage address{};
  length = sizeof address;
  spec.filename = "fd:" + fd_text;
  if (getsockname(n, reinterpret_cast<sockaddr*>(&address), &length) == 0 && address.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
    size_t max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    spec.path = std::string(un->sun_path, strnlen(un->sun_path, max));
    spec.filename = "unix:" + spec.path + ",server=on";
  }
}

std::vector<int> inherited_listeners_in(const std::vector<std::string>& args) {
  std::vector<int> listeners;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "-chardev" && args[i] != "--chardev") continue;
    try {
      std::optional<std::string> fd_text = KeyValueList::parse(args[i + 1], "backend").get("fd");
      if (!fd_text) continue;
      uint64_t fd = parse_uint(*fd_text, "fd");
      int listening = 0;
      socklen_t length = sizeof listening;
      if (fd <= 65535 && getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 &&
          listening != 0) {
        listeners.push_back(static_cast<int>(fd));
      }
    } catch (const Error&) {
      // Not a well-formed -chardev: nothing to find in it.
    }
  }
  return listeners;
}

void finish_management_options(CommandLine& cl) {
  VmConfig& config = cl.config;
  if (!config.memory_backend.empty()) {
    const ObjectSpec* backend = find_object(cl, config.memory_backend);
    if (backend == nullptr || backend->qom_type.rfind("memory-backend-", 0) != 0) {
      throw Error("Memory backend '" + config.memory_backend + "' not found");
    }
    uint64_t size = parse_size(*backend->properties.get("size"), 1, "size");
    if (config.ram_size_given && size != config.ram_bytes) {
      throw Error("Machine memory size does not match the size of the memory backend");
    }
    if (size < (1ull << 20)) throw Error("Invalid RAM size: must be at least 1M");
    config.ram_bytes = size;
    if (auto dump = backend->properties.get("dump")) config.dump_guest_core = parse_bool(*dump, "dump");
  }
  // Format nodes become drives that -device virtio-blk-pci,drive= finds by
  // node name; each protocol node must be used by exactly one of them.
  std::vector<std::string> used;
  for (const BlockdevSpec& node : config.blockdevs) {
    if (node.driver == "file") continue;
    const std::string file_node = *node.properties.get("file");
    const BlockdevSpec* file = nullptr;
    for (const BlockdevSpec& other : config.blockdevs) {
      if (other.node_name == file_node) file = &other;
    }
    try {
      if (file == nullptr) throw Error("Cannot find device='' nor node-name='" + file_node + "'");
      if (file->driver != "file") throw Error("node '" + file_node + "': only a file node may be below a format node yet");
      if (std::find(used.begin(), used.end(), file_node) != used.end()) {
        throw Error("node '" + file_node + "' is already used by another format node");
      }
    } catch (const Error& e) {
      throw Error(node.option_text + ": " + e.what());
    }
    used.push_back(file_node);
    DriveSpec drive;
    drive.option_text = node.option_text;
    drive.id = node.node_name;
    drive.node_name = node.node_name;
    drive.file_node_name = file_node;
    drive.from_blockdev = true;
    drive.file = *file->properties.get("filename");
    drive.format = node.driver;
    drive.interface = "none";
    auto flag = [](const BlockdevSpec& n, const char* key) {
      auto v = n.properties.get(key);
      return v && parse_bool(*v, key);
    };
    drive.read_only = flag(node, "read-only") || flag(*file, "read-only");
    // -drive's cache modes are these two flags (QEMU's blockdev.c).
    const bool direct = flag(*file, "cache.direct") || flag(node, "cache.direct");
    const bool no_flush = flag(*file, "cache.no-flush") || flag(node, "cache.no-flush");
    drive.cache = no_flush ? "unsafe" : direct ? "none" : "writeback";
    for (const DriveSpec& other : config.drives) {
      if (other.id == drive.id) throw Error(node.option_text + ": Duplicate ID '" + drive.id + "' for drive");
    }
    config.drives.push_back(std::move(drive));
  }
  for (const BlockdevSpec& node : config.blockdevs) {
    if (node.driver == "file" && std::find(used.begin(), used.end(), node.node_name) == used.end()) {
      // A protocol node attached directly to a device: a raw image.
      DriveSpec drive;
      drive.option_text = node.option_text;
      drive.id = node.node_name;
      drive.node_name = node.node_name;
      drive.from_blockdev = true;
      drive.file = *node.properties.get("filename");
      drive.format = "raw";
      drive.interface = "none";
      auto ro = node.properties.get("read-only");
      drive.read_only = ro && parse_bool(*ro, "read-only");
      config.drives.push_back(std::move(drive));
    }
  }
}

}  // namespace vireo
