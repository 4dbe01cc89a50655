#include "system/cmdline.h"

#include <algorithm>
#include <functional>
#include <map>

#include "accel/cpu_model.h"
#include "system/cmdline_libvirt.h"
#include "system/cmdline_net.h"
#include "system/device_catalog.h"
#include "util/error.h"

namespace vireo {

namespace {

std::string escape_commas(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

constexpr const char* kVersion = "0.1.0";

using Handler = std::function<void(CommandLine&, const std::string& arg)>;

struct OptionDef {
  const char* name;
  bool takes_argument;
  const char* help_argument;  // shown in -help; nullptr for flags
  const char* help;
  Handler handler;
};

// Whether `option` (a command_line_option_info() name) takes `key`.
bool option_takes_key(std::string_view option, std::string_view key) {
  for (const CommandLineOptionInfo& o : command_line_option_info()) {
    if (o.option != option) continue;
    for (const OptionParameterInfo& p : o.parameters) {
      if (p.name == key) return true;
    }
  }
  return false;
}

// QEMU's QemuOpts also take "id" for the options that name what they create.
void check_option_keys(const KeyValueList& kv, std::string_view option, bool takes_id = false) {
  for (const KeyValue& item : kv.items()) {
    if (takes_id && item.key == "id") continue;
    if (!option_takes_key(option, item.key)) throw Error("Invalid parameter '" + item.key + "'");
  }
}

void set_accelerators(VmConfig& config, const std::string& list) {
  config.accelerators.clear();
  for (size_t start = 0;;) {
    size_t colon = list.find(':', start);
    config.accelerators.push_back(list.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  for (const std::string& accel : config.accelerators) {
    if (accel != "kvm" && accel != "tcg") {
      throw Error("invalid accelerator " + accel);
    }
  }
}

const MachineTypeInfo& machine_info(const std::string& machine);

void parse_machine(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "type");
  if (auto type = kv.get("type"); type && (*type == "help" || *type == "?")) {
    cl.action = CommandLine::Action::ListMachines;
    return;
  }
  if (auto type = kv.get("type")) {
    const MachineTypeInfo* machine = nullptr;
    for (const MachineTypeInfo& m : machine_type_info()) {
      if (m.name == *type || m.alias == *type) machine = &m;
    }
    // QEMU prints the hint on a second line; one line is easier to read in logs.
    if (machine == nullptr) throw Error("unsupported machine type '" + *type + "' (-machine help lists them)");
    cl.config.machine_type = machine->machine;
  }
  // Other keys are the machine's properties; QEMU names an unknown one
  // by the machine's QOM type. memory-backend is a machine property QEMU
  // 7.2 does not list among -machine's options (query-command-line-options),
  // so neither does vireo's table.
  for (const KeyValue& item : kv.items()) {
    if (item.key != "memory-backend" && !option_takes_key("machine", item.key)) {
      throw Error("Property '" + machine_info(cl.config.machine_type).name + "-machine." + item.key + "' not found");
    }
  }
  for (const KeyValue& item : kv.items()) {
    if (item.key != "type" && item.key != "accel") apply_machine_property(cl, item);
  }
  if (auto accel = kv.get("accel")) set_accelerators(cl.config, *accel);
}

void parse_accel(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "accel");
  check_option_keys(kv, "accel");
  std::string name = kv.get("accel").value_or("");
  if (name == "help" || name == "?") {
    cl.action = CommandLine::Action::ListAccelerators;
    return;
  }
  if (name != "kvm" && name != "tcg") throw Error("invalid accelerator " + name);
  // Repeated -accel options are tried in the order given.
  for (const std::string& existing : cl.config.accelerators) {
    if (existing == name) return;
  }
  cl.config.accelerators.push_back(name);
}

void parse_memory(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "size");
  check_option_keys(kv, "memory");
  const std::string text = kv.get("size").value_or("");
  // QEMU's rules (softmmu/vl.c, parse_memory_options): the value is read as
  // bytes, then a number that ends in a digit is taken in MiB ("-m 512",
  // "-m 0x100"), "-m 0" means the default, and the size is rounded up to
  // 8 KiB.
  uint64_t bytes = text.empty() ? 0 : parse_size(text, 1, "size");
  if (!text.empty() && text.back() >= '0' && text.back() <= '9') {
    if (bytes > (UINT64_MAX >> 20)) {
      throw Error("Value '" + text + "' is out of range for parameter 'size'");
    }
    bytes <<= 20;
  }
  if (bytes == 0) bytes = VmConfig{}.ram_bytes;
  constexpr uint64_t kAlignment = 8192;
  if (bytes > UINT64_MAX - (kAlignment - 1)) {
    throw Error("Value '" + text + "' is out of range for parameter 'size'");
  }
  bytes = (bytes + kAlignment - 1) & ~(kAlignment - 1);
  // A deliberate difference: QEMU accepts less, but a PC without its first
  // megabyte cannot hold the firmware's data or a Linux boot.
  if (bytes < (1ull << 20)) throw Error("Invalid RAM size: must be at least 1M");
  cl.config.ram_bytes = bytes;
  cl.config.ram_size_given = true;
}

// The machine table's entry for VmConfig::machine_type ("pc", "none").
const MachineTypeInfo& machine_info(const std::string& machine) {
  for (const MachineTypeInfo& m : machine_type_info()) {
    if (m.machine == machine) return m;
  }
  return machine_type_info().front();
}

// QEMU's words when -smp asks for more CPUs than the machine takes; it
// checks once the whole line is read, so -smp and -machine may come in
// either order.
[[noreturn]] void too_many_cpus(uint64_t max_cpus, const std::string& machine) {
  const MachineTypeInfo& info = machine_info(machine);
  throw Error("Invalid SMP CPUs " + std::to_string(max_cpus) + ". The max CPUs supported by machine '" + info.name +
              "' is " + std::to_string(info.cpu_max));
}

// QEMU 7.2's topology rules (hw/core/machine-smp.c, smp_parse) for a machine
// that has dies but not clusters and, like every machine type since 6.2,
// prefers cores over sockets when it has to compute them.
void parse_smp(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "cpus");
  for (const KeyValue& item : kv.items()) {
    // QEMU 7.2 reads -smp through its SMPConfiguration QAPI type: its words.
    if (!option_takes_key("smp-opts", item.key)) throw Error("Parameter 'smp." + item.key + "' is unexpected");
  }
  bool zero_given = false;
  auto number = [&](const char* key) -> uint64_t {
    auto v = kv.get(key);
    if (!v) return 0;
    uint64_t n = parse_uint(*v, std::string("smp.") + key);
    if (n > UINT32_MAX) throw Error(std::string("Parameter 'smp.") + key + "' expects uint32_t");
    // QEMU 7.2 warns and then treats an explicit 0 as if it were omitted.
    if (n == 0) zero_given = true;
    return n;
  };
  uint64_t cpus = number("cpus");
  uint64_t sockets = number("sockets");
  uint64_t dies = number("dies");
  uint64_t clusters = number("clusters");
  uint64_t cores = number("cores");
  uint64_t threads = number("threads");
  uint64_t max_cpus = number("maxcpus");
  if (zero_given) {
    cl.warnings.push_back(
        "Deprecated CPU topology (considered invalid): CPU topology parameters must be greater "
        "than zero");
  }
  if (clusters > 1) throw Error("clusters not supported by this machine's CPU topology");
  if (dies == 0) dies = 1;

  // Each factor is below 2^32, so products of four fit in 128 bits.
  __extension__ using u128 = unsigned __int128;
  auto quotient = [](uint64_t n, u128 d) { return static_cast<uint64_t>(n / d); };
  if (cpus == 0 && max_cpus == 0) {
    if (sockets == 0) sockets = 1;
    if (cores == 0) cores = 1;
    if (threads == 0) threads = 1;
  } else {
    if (max_cpus == 0) max_cpus = cpus;
    if (cores == 0) {
      if (sockets == 0) sockets = 1;
      if (threads == 0) threads = 1;
      cores = quotient(max_cpus, static_cast<u128>(sockets) * dies * threads);
    } else if (sockets == 0) {
      if (threads == 0) threads = 1;
      sockets = quotient(max_cpus, static_cast<u128>(dies) * cores * threads);
    }
    if (threads == 0) threads = quotient(max_cpus, static_cast<u128>(sockets) * dies * cores);
  }
  const u128 product = static_cast<u128>(sockets) * dies * cores * threads;
  if (max_cpus == 0) max_cpus = static_cast<uint64_t>(std::min<u128>(product, UINT64_MAX));
  if (cpus == 0) cpus = max_cpus;

  const std::string hierarchy = "sockets (" + std::to_string(sockets) + ") * dies (" +
                                std::to_string(dies) + ") * cores (" + std::to_string(cores) +
                                ") * threads (" + std::to_string(threads) + ")";
  if (product != max_cpus) {
    throw Error("Invalid CPU topology: product of the hierarchy must match maxcpus: " + hierarchy +
                " != maxcpus (" + std::to_string(max_cpus) + ")");
  }
  if (max_cpus < cpus) {
    throw Error("Invalid CPU topology: maxcpus must be equal to or greater than smp: " + hierarchy +
                " == maxcpus (" + std::to_string(max_cpus) + ") < smp_cpus (" +
                std::to_string(cpus) + ")");
  }
  // More than any machine takes (checked against this one at the end).
  if (max_cpus > UINT32_MAX) too_many_cpus(max_cpus, cl.config.machine_type);
  // Every value is now at most max_cpus.
  auto narrow = [](uint64_t v) { return static_cast<unsigned>(v); };
  cl.config.smp = {narrow(cpus), narrow(sockets), narrow(dies), narrow(cores), narrow(threads),
                   narrow(max_cpus)};
}

void parse_cpu(CommandLine& cl, const std::string& arg) {
  std::vector<std::string> parts = split_escaped_commas(arg);
  const std::string& model = parts[0];
  if (model == "help" || model == "?") {
    cl.action = CommandLine::Action::ListCpus;
    return;
  }
  if (find_cpu_model(model) == nullptr) throw Error("unable to find CPU model '" + model + "'");
  if (parts.size() > 1) {
    throw Error("CPU feature flags are not supported yet: '" + parts[1] + "'");
  }
  cl.config.cpu_model = model;
}

void parse_serial(CommandLine& cl, const std::string& arg) {
  bool known = arg == "stdio" || arg == "mon:stdio" || arg == "null" || arg == "none" ||
               (arg.rfind("file:", 0) == 0 && arg.size() > 5);
  if (!known) {
    std::string driver = arg.substr(0, arg.find(':'));
    throw Error("'" + driver + "' is not a valid char driver");
  }
  if (cl.config.serial_specs.size() >= 4) throw Error("too many serial ports");
  cl.config.serial_specs.push_back(arg);
  cl.config.serial_given = true;
}

void parse_display(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "type");
  std::string type = kv.get("type").value_or("");
  if (type == "none") {
    cl.config.display_none = true;
    return;
  }
  if (type == "help" || type == "?") {
    cl.action = CommandLine::Action::ListDisplays;
    return;
  }
  throw Error("Display '" + type + "' is not available");
}

void parse_device(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = parse_option_value(arg, "driver");
  std::string driver = kv.get("driver").value_or("");
  if (driver == "virtio-blk") driver = "virtio-blk-pci";  // QEMU's aliases on PC machines
  if (driver == "virtio-net") driver = "virtio-net-pci";
  if (driver == "help" || driver == "?") {
    cl.action = CommandLine::Action::ListDevices;
    return;
  }
  const DeviceTypeInfo* type = find_device_type(driver);
  if (type == nullptr) throw Error("'" + driver + "' is not a valid device model name");
  if (!type->user_creatable) throw Error("Parameter 'driver' expects a pluggable device type");
  cl.config.devices.push_back({"-device " + arg, driver, kv});
}

// -drive (QEMU's blockdev.c drive_new): the keys vireo understands. The
// interface QEMU's pc uses by default, if=ide, does not exist here yet, so
// a drive without if= (and -hda) is attached as virtio-blk instead: the
// guest sees /dev/vda rather than /dev/sda until IDE arrives.
void add_drive(CommandLine& cl, const std::string& arg, const std::string& option_text) {
  KeyValueList kv = KeyValueList::parse(arg, "");
  DriveSpec drive;
  drive.option_text = option_text;
  for (const KeyValue& item : kv.items()) {
    if (item.key != "id" && !option_takes_key("drive", item.key)) {
      // QEMU hands unknown keys to the format driver, which names them so.
      std::string format = kv.get("format").value_or("raw");
      throw Error("Block format '" + format + "' does not support the option '" + item.key + "'");
    }
  }
  drive.file = kv.get("file").value_or("");
  if (drive.file.empty()) throw Error("A block device must be specified for \"file\"");
  drive.format = kv.get("format").value_or("");
  if (!drive.format.empty() && drive.format != "raw" && drive.format != "qcow2") {
    throw Error("Unknown driver '" + drive.format + "'");
  }
  const std::string interface = kv.get("if").value_or("ide");
  if (interface == "ide" || interface == "virtio") {
    drive.interface = "virtio";
  } else if (interface == "none") {
    drive.interface = "none";
  } else if (interface == "scsi" || interface == "floppy" || interface == "pflash" || interface == "mtd" ||
             interface == "sd" || interface == "xen") {
    throw Error("if=" + interface + " is not supported yet (use if=virtio or if=none)");
  } else {
    throw Error("unsupported bus type '" + interface + "'");
  }
  if (auto media = kv.get("media"); media && *media != "disk") {
    throw Error("media=" + *media + " is not supported yet");
  }
  drive.id = kv.get("id").value_or("");
  for (const DriveSpec& other : cl.config.drives) {
    if (!drive.id.empty() && other.id == drive.id) throw Error("Duplicate ID '" + drive.id + "' for drive");
  }
  drive.cache = kv.get("cache").value_or("writeback");
  static constexpr std::string_view kCacheModes[] = {"none", "writeback", "writethrough", "directsync", "unsafe"};
  if (std::find(std::begin(kCacheModes), std::end(kCacheModes), drive.cache) == std::end(kCacheModes)) {
    throw Error("invalid cache option");
  }
  if (auto ro = kv.get("readonly")) drive.read_only = parse_bool(*ro, "read-only");
  if (auto ro = kv.get("read-only")) drive.read_only = parse_bool(*ro, "read-only");
  if (auto snap = kv.get("snapshot")) {
    drive.snapshot = parse_bool(*snap, "snapshot");
    drive.snapshot_given = true;
  }
  drive.serial = kv.get("serial").value_or("");
  cl.config.drives.push_back(std::move(drive));
}

// A chardev in -qmp/-monitor's legacy form: "stdio", "null",
// "unix:PATH[,server=on][,wait=off]", "tcp:HOST:PORT[,...]", "file:PATH".
ChardevSpec parse_legacy_chardev(const std::string& text, const std::string& id) {
  ChardevSpec spec;
  spec.id = id;
  std::string head = text.substr(0, text.find(','));
  std::string rest = head.size() < text.size() ? text.substr(head.size() + 1) : "";
  if (head == "stdio" || head == "null") {
    spec.backend = head;
    spec.filename = head;
  } else if (head.rfind("file:", 0) == 0 && head.size() > 5) {
    spec.backend = "file";
    spec.path = head.substr(5);
    spec.filename = head;
  } else if (head.rfind("unix:", 0) == 0 && head.size() > 5) {
    spec.backend = "socket";
    spec.path = head.substr(5);
  } else if (head.rfind("tcp:", 0) == 0) {
    spec.backend = "socket";
    std::string address = head.substr(4);
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) throw Error("host and/or port not specified");
    spec.host = address.substr(0, colon);
    uint64_t port = parse_uint(address.substr(colon + 1), "port");
    if (port > 0xffff) throw Error("port out of range");
    spec.port = static_cast<uint16_t>(port);
    if (spec.host.empty()) spec.host = "0.0.0.0";
  } else {
    throw Error("'" + head.substr(0, head.find(':')) + "' is not a valid char driver");
  }
  if (!rest.empty()) {
    if (spec.backend != "socket") throw Error("options are only supported for unix: and tcp: sockets");
    KeyValueList kv = KeyValueList::parse(rest, "");
    kv.check_known({"server", "wait", "nowait"});
    if (auto v = kv.get("server")) spec.server = parse_bool(*v, "server");
    if (auto v = kv.get("wait")) spec.wait = parse_bool(*v, "wait");
    if (kv.has("nowait")) spec.wait = false;
  }
  if (spec.backend == "socket") {
    if (!spec.server) throw Error("only server sockets (server=on) are supported yet");
    if (spec.wait) throw Error("wait=on is not supported yet; use wait=off");
    spec.filename = spec.host.empty() ? "unix:" + spec.path + ",server=on"
                                      : "tcp:" + spec.host + ":" + std::to_string(spec.port) + ",server=on";
  }
  return spec;
}

// -qmp and -monitor: a chardev named as QEMU names them, and a monitor on it.
void add_legacy_monitor(CommandLine& cl, const std::string& arg, bool control) {
  if (arg == "none") return;
  bool pretty = false;
  std::string text = arg;
  // "-qmp unix:/p,server=on,pretty=on" is not QEMU's; pretty is -mon's.
  std::string id = "compat_monitor" + std::to_string(cl.config.monitors.size());
  cl.config.chardevs.push_back(parse_legacy_chardev(text, id));
  cl.config.monitors.push_back({id, control, pretty});
}

void parse_chardev(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "backend");
  check_option_keys(kv, "chardev", true);
  ChardevSpec spec;
  spec.backend = kv.get("backend").value_or("");
  if (kv.has("fd") && spec.backend != "socket") throw Error("Invalid parameter 'fd'");
  spec.id = kv.get("id").value_or("");
  if (spec.id.empty()) throw Error("Parameter 'id' is missing");
  for (const ChardevSpec& existing : cl.config.chardevs) {
    if (existing.id == spec.id) throw Error("attempt to add duplicate property '" + spec.id + "' to object (type 'container')");
  }
  if (spec.backend == "stdio" || spec.backend == "null") {
    spec.filename = spec.backend;
  } else if (spec.backend == "file") {
    spec.path = kv.get("path").value_or("");
    if (spec.path.empty()) throw Error("chardev: file: no filename given");
    spec.filename = "file:" + spec.path;
  } else if (spec.backend == "socket") {
    spec.path = kv.get("path").value_or("");
    spec.host = kv.get("host").value_or("");
    if (auto fd = kv.get("fd")) {
      if (!spec.path.empty() || !spec.host.empty()) throw Error("fd= cannot be combined with path= or host=");
      use_inherited_listener(spec, *fd);
    } else if (auto port = kv.get("port")) {
      uint64_t p = parse_uint(*port, "port");
      if (p > 0xffff) throw Error("port out of range");
      spec.port = static_cast<uint16_t>(p);
      if (spec.host.empty()) spec.host = "0.0.0.0";
    } else if (spec.path.empty()) {
      throw Error("chardev: socket: no host given");
    }
    spec.server = parse_bool(kv.get("server").value_or("off"), "server");
    spec.wait = parse_bool(kv.get("wait").value_or("on"), "wait");
    if (!spec.server) throw Error("only server sockets (server=on) are supported yet");
    if (spec.wait) throw Error("wait=on is not supported yet; use wait=off");
    if (spec.fd < 0) {
      spec.filename = !spec.path.empty() ? "unix:" + spec.path + ",server=on"
                                         : "tcp:" + spec.host + ":" + std::to_string(spec.port) + ",server=on";
    }
  } else if (spec.backend == "pty") {
    // The pty is opened when the machine is built; its name is known then.
    spec.filename = "pty";
  } else {
    throw Error("'" + spec.backend + "' is not a valid char driver name");
  }
  if (auto mux = kv.get("mux")) spec.mux = parse_bool(*mux, "mux");
  cl.config.chardevs.push_back(spec);
}

void parse_mon(CommandLine& cl, const std::string& arg) {
  KeyValueList kv = KeyValueList::parse(arg, "chardev");
  check_option_keys(kv, "mon", true);
  MonitorSpec spec;
  spec.chardev_id = kv.get("chardev").value_or("");
  if (spec.chardev_id.empty()) throw Error("Parameter 'chardev' is missing");
  std::string mode = kv.get("mode").value_or("readline");
  if (mode == "control") {
    spec.control = true;
  } else if (mode != "readline") {
    throw Error("unknown monitor mode '" + mode + "'");
  }
  if (auto pretty = kv.get("pretty")) spec.pretty = parse_bool(*pretty, "pretty");
  cl.config.monitors.push_back(spec);
}

const std::vector<OptionDef>& option_table() {
  using A = CommandLine::Action;
  static const std::vector<OptionDef> table = {
      {"h", false, nullptr, "display this help and exit",
       [](CommandLine& cl, const std::string&) { cl.action = A::PrintHelp; }},
      {"help", false, nullptr, "display this help and exit",
       [](CommandLine& cl, const std::string&) { cl.action = A::PrintHelp; }},
      {"version", false, nullptr, "display version information and exit",
       [](CommandLine& cl, const std::string&) { cl.action = A::PrintVersion; }},
      {"machine", true, "[type=]pc|none[,accel=kvm|tcg[:...]]", "select the machine ('-machine help' lists them)",
       parse_machine},
      {"M", true, "name", "same as -machine", parse_machine},
      {"accel", true, "[accel=]kvm|tcg", "select an accelerator; repeat to give a fallback", parse_accel},
      {"enable-kvm", false, nullptr, "same as -accel kvm",
       [](CommandLine& cl, const std::string&) { cl.config.accelerators = {"kvm"}; }},
      {"cpu", true, "model", "select the CPU model ('-cpu help' lists them)", parse_cpu},
      {"m", true, "[size=]megs[M|G]", "guest RAM size (default 128M)", parse_memory},
      {"smp", true, "[cpus=]n[,sockets=s][,cores=c][,threads=t][,maxcpus=m]", "number of vCPUs", parse_smp},
      {"bios", true, "file", "firmware image mapped below 4 GiB",
       [](CommandLine& cl, const std::string& a) { cl.config.bios_path = a; }},
      {"kernel", true, "bzImage", "boot a Linux kernel directly",
       [](CommandLine& cl, const std::string& a) { cl.config.kernel_path = a; }},
      {"initrd", true, "file", "initial ram disk for -kernel",
       [](CommandLine& cl, const std::string& a) { cl.config.initrd_path = a; }},
      {"append", true, "cmdline", "kernel command line for -kernel",
       [](CommandLine& cl, const std::string& a) { cl.config.kernel_cmdline = a; }},
      {"serial", true, "stdio|mon:stdio|file:path|null|none",
       "redirect the next serial port (mon:stdio: shared with the monitor, Ctrl-A c switches)", parse_serial},
      {"nographic", false, nullptr, "no display; serial port on stdio (Ctrl-A h for help)",
       [](CommandLine& cl, const std::string&) { cl.config.nographic = true; }},
      {"display", true, "none", "select the display backend", parse_display},
      {"nodefaults", false, nullptr, "create no default devices",
       [](CommandLine& cl, const std::string&) { cl.config.no_defaults = true; }},
      {"no-user-config", false, nullptr, "read no user configuration files (vireo reads none)",
       [](CommandLine&, const std::string&) {}},
      {"no-reboot", false, nullptr, "exit instead of rebooting",
       [](CommandLine& cl, const std::string&) { cl.config.no_reboot = true; }},
      {"no-shutdown", false, nullptr, "stop instead of exiting when the guest powers off",
       [](CommandLine& cl, const std::string&) { cl.config.no_shutdown = true; }},
      {"name", true, "[guest=]name[,debug-threads=on]", "name of the guest (debug-threads: name the vCPU threads)",
       parse_name},
      {"device", true, "driver[,prop=value...]", "add a device ('-device help' lists them)", parse_device},
      {"drive", true, "file=path[,format=raw|qcow2][,if=virtio|none][,id=][,cache=][,readonly=on][,snapshot=on]",
       "add a disk image (if=virtio: a virtio-blk disk; if=none: for -device virtio-blk-pci,drive=ID)",
       [](CommandLine& cl, const std::string& a) { add_drive(cl, a, "-drive " + a); }},
      {"netdev", true, "user,id=id[,hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport][,net=addr/mask]"
                       "[,host=addr][,dns=addr][,dhcpstart=addr][,restrict=on|off] | {JSON}",
       "a user-mode network back end (QEMU's slirp) for -device virtio-net-pci,netdev=id", parse_netdev},
      {"nic", true, "none | user[,model=virtio-net-pci][,mac=addr][,hostfwd=...]",
       "a user-mode network back end and its NIC in one option (vireo's default model: virtio-net-pci)", parse_nic},
      {"net", true, "none", "no network (vireo's pc adds no NIC by default; QEMU's adds an e1000)", parse_net},
      {"snapshot", false, nullptr, "write to temporary files instead of disk images",
       [](CommandLine& cl, const std::string&) { cl.config.snapshot_all = true; }},
      {"hda", true, "file", "first hard disk image (attached as virtio-blk until IDE exists)",
       [](CommandLine& cl, const std::string& a) { add_drive(cl, "file=" + escape_commas(a), "-hda " + a); }},
      {"S", false, nullptr, "do not start the CPUs at start-up (the monitor's 'cont' starts them)",
       [](CommandLine& cl, const std::string&) { cl.config.start_paused = true; }},
      {"qmp", true, "unix:path,server=on,wait=off|tcp:host:port,server=on,wait=off|stdio",
       "a QMP (JSON) monitor on a character device",
       [](CommandLine& cl, const std::string& a) { add_legacy_monitor(cl, a, true); }},
      {"monitor", true, "stdio|none|unix:path,server=on,wait=off|tcp:host:port,server=on,wait=off",
       "a human monitor (HMP) on a character device",
       [](CommandLine& cl, const std::string& a) { add_legacy_monitor(cl, a, false); }},
      {"chardev", true, "socket|stdio|file|null,id=id[,path=...][,host=...,port=...][,server=on,wait=off]",
       "a character device for -mon", parse_chardev},
      {"daemonize", false, nullptr, "run in the background once started",
       [](CommandLine& cl, const std::string&) { cl.config.daemonize = true; }},
      {"pidfile", true, "file", "write the process id to 'file'",
       [](CommandLine& cl, const std::string& a) { cl.config.pidfile = a; }},
      {"mon", true, "[chardev=]id[,mode=readline|control][,pretty=on|off]", "a monitor on a -chardev",
       parse_mon},
      // What libvirt writes (system/cmdline_libvirt.cpp).
      {"object", true, "secret,id=,data=|file=[,format=base64] | memory-backend-ram,id=,size= | {JSON}",
       "create an object", parse_object},
      {"blockdev", true, "{JSON} (driver file, raw or qcow2; node-name=)", "a block node for -device ...,drive=NODE",
       parse_blockdev},
      {"audiodev", true, "none,id=id | {JSON}", "an audio backend (only none: vireo has no sound device)",
       parse_audiodev},
      {"overcommit", true, "mem-lock=off[,cpu-pm=off]", "memory locking and CPU power management (off only)",
       parse_overcommit},
      {"uuid", true, "uuid", "the machine's UUID (query-uuid)", parse_uuid},
      {"rtc", true, "base=utc|localtime[,clock=host]", "the real-time clock's start value", parse_rtc},
      {"boot", true, "[order=drives][,menu=on|off][,strict=on|off]", "boot order (for the firmware)", parse_boot},
      {"msg", true, "timestamp=on|off", "prefix error messages with the time", parse_msg},
      {"global", true, "PIIX4_PM.disable_s3=1", "a device type's property default (PIIX4_PM.disable_s3/_s4=1)",
       parse_global},
      {"no-acpi", false, nullptr, "no ACPI (no tables for -kernel, no power button)",
       [](CommandLine& cl, const std::string&) { cl.config.no_acpi = true; }},
      {"no-hpet", false, nullptr, "no HPET (the guest times with the PIT, RTC and local APIC)",
       [](CommandLine& cl, const std::string&) { cl.config.no_hpet = true; }},
  };
  return table;
}

}  // namespace

const std::vector<MachineTypeInfo>& machine_type_info() {
  // QEMU 7.2's names: the pc machine vireo builds is its newest i440FX
  // version, and "none" is QEMU's empty machine (no devices, no CPU, RAM
  // only if -m asks for it), which management tools start to ask what the
  // binary can do.
  static const std::vector<MachineTypeInfo> types = {
      {"pc-i440fx-7.2", "pc", "Standard PC (i440FX + PIIX, 1996)", "pc", 255, true, "qemu64-x86_64-cpu", "pc.ram"},
      {"none", "", "empty machine", "none", 1, false, "", "ram"},
  };
  return types;
}

const std::vector<std::pair<std::string, std::string>>& machine_types() {
  // As QEMU's -machine help: an alias first, then the machine it names.
  static const std::vector<std::pair<std::string, std::string>> types = [] {
    std::vector<std::pair<std::string, std::string>> list;
    for (const MachineTypeInfo& m : machine_type_info()) {
      if (!m.alias.empty()) list.push_back({m.alias, m.description + " (alias of " + m.name + ")"});
      list.push_back({m.name, m.description + (m.is_default ? " (default)" : "")});
    }
    return list;
  }();
  return types;
}

const std::vector<CommandLineOptionInfo>& command_line_option_info() {
  using P = OptionParameterInfo;
  static const std::vector<CommandLineOptionInfo> options = {
      {"machine", {{"type", "string", "emulated machine"}, {"accel", "string", "accelerator list"},
                   // system/cmdline_libvirt.cpp
                   {"usb", "boolean", "Set on/off to enable/disable usb"},
                   {"dump-guest-core", "boolean", "Include guest memory in a core dump"}}},
      {"accel", {{"accel", "string", "kvm or tcg"}}},
      {"memory", {P{"size", "size", ""}, P{"slots", "number", ""}, P{"maxmem", "size", ""}}},
      {"smp-opts",
       {P{"cpus", "number", ""}, P{"sockets", "number", ""}, P{"dies", "number", ""}, P{"clusters", "number", ""},
        P{"cores", "number", ""}, P{"threads", "number", ""}, P{"maxcpus", "number", ""}}},
      {"name", {P{"guest", "string", "Sets the name of the guest"}, P{"process", "string", ""},
                P{"debug-threads", "boolean", ""}}},
      {"drive",
       {P{"file", "string", "file name"}, P{"format", "string", "disk format (raw, qcow2)"},
        P{"if", "string", "interface (virtio, none)"}, P{"cache", "string", "host cache usage"},
        P{"readonly", "boolean", ""}, P{"read-only", "boolean", ""}, P{"snapshot", "boolean", ""},
        P{"serial", "string", "disk serial number"}, P{"media", "string", "media type (disk)"}}},
      {"chardev",
       {P{"backend", "string", ""}, P{"path", "string", ""}, P{"host", "string", ""}, P{"port", "string", ""},
        P{"server", "boolean", ""}, P{"wait", "boolean", ""}, P{"mux", "boolean", ""}, P{"signal", "boolean", ""},
        P{"logfile", "string", ""}, P{"fd", "string", ""}}},
      // system/cmdline_libvirt.cpp checks the same keys.
      {"rtc", {P{"base", "string", ""}, P{"clock", "string", ""}, P{"driftfix", "string", ""}}},
      {"boot-opts",
       {P{"order", "string", ""}, P{"once", "string", ""}, P{"menu", "boolean", ""}, P{"splash-time", "number", ""},
        P{"reboot-timeout", "number", ""}, P{"strict", "boolean", ""}}},
      {"overcommit", {P{"mem-lock", "boolean", ""}, P{"cpu-pm", "boolean", ""}}},
      {"msg", {P{"timestamp", "boolean", ""}, P{"guest-name", "boolean", ""}}},
      {"global", {P{"driver", "string", ""}, P{"property", "string", ""}, P{"value", "string", ""}}},
      {"mon", {P{"chardev", "string", ""}, P{"mode", "string", ""}, P{"pretty", "boolean", ""}}},
      // -device properties depend on the device (device-list-properties).
      {"device", {}},
  };
  return options;
}

const std::vector<std::pair<std::string, std::string>>& device_types() {
  static const std::vector<std::pair<std::string, std::string>> types = [] {
    std::vector<std::pair<std::string, std::string>> list;
    for (const DeviceTypeInfo& type : device_catalog()) {
      if (type.user_creatable) list.push_back({type.name, type.help});
    }
    return list;
  }();
  return types;
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& raw = args[i];
    if (raw.size() < 2 || raw[0] != '-') {
      // QEMU treats a bare argument as the first hard disk image (-hda).
      try {
        add_drive(cl, "file=" + escape_commas(raw), raw);
      } catch (const Error& e) {
        throw Error(raw + ": " + e.what());
      }
      continue;
    }
    std::string name = raw.substr(raw[1] == '-' ? 2 : 1);
    const OptionDef* def = nullptr;
    for (const OptionDef& d : option_table()) {
      if (name == d.name) def = &d;
    }
    if (def == nullptr) throw Error(raw + ": invalid option");
    std::string arg;
    if (def->takes_argument) {
      if (i + 1 >= args.size()) throw Error(raw + ": requires an argument");
      arg = args[++i];
    }
    try {
      def->handler(cl, arg);
    } catch (const Error& e) {
      throw Error(raw + (def->takes_argument ? " " + arg : "") + ": " + e.what());
    }
    if (cl.action != CommandLine::Action::Run) return cl;
  }
  finish_management_options(cl);
  if (!cl.config.kernel_path.empty() && !cl.config.bios_path.empty()) {
    // QEMU allows both (the BIOS then loads the kernel through fw_cfg); vireo
    // boots kernels directly, so the combination is refused rather than guessed.
    throw Error("-kernel and -bios together are not supported yet");
  }
  if (cl.config.daemonize) {
    // QEMU's rules: a daemon has no terminal to talk to. -nographic is
    // refused while it would put default devices on stdio; with
    // -nodefaults there are none and it only means "no display" (QEMU also
    // lets -serial/-monitor redirections in; vireo has no parallel port,
    // whose default QEMU's pc would put there, so -nodefaults is the rule).
    if (cl.config.nographic && !cl.config.no_defaults) throw Error("-nographic cannot be used with -daemonize");
    for (const std::string& serial : cl.config.serial_specs) {
      if (serial == "stdio" || serial == "mon:stdio") throw Error("-serial stdio cannot be used with -daemonize");
    }
    for (const ChardevSpec& chardev : cl.config.chardevs) {
      if (chardev.backend == "stdio") throw Error("stdio cannot be used with -daemonize");
    }
  }
  for (const MonitorSpec& monitor : cl.config.monitors) {
    bool found = false;
    for (const ChardevSpec& chardev : cl.config.chardevs) found = found || chardev.id == monitor.chardev_id;
    if (!found) throw Error("-mon: chardev \"" + monitor.chardev_id + "\" not found");
  }
  // -snapshot is QEMU's default of snapshot= for every drive, wherever it
  // stands on the line; a drive's own snapshot=off still wins.
  for (DriveSpec& drive : cl.config.drives) {
    if (cl.config.snapshot_all && !drive.snapshot_given) drive.snapshot = true;
  }
  if (cl.config.smp.max_cpus > machine_info(cl.config.machine_type).cpu_max) {
    too_many_cpus(cl.config.smp.max_cpus, cl.config.machine_type);
  }
  if (cl.config.kernel_path.empty() && !cl.config.initrd_path.empty()) {
    throw Error("-initrd only allowed with -kernel option");
  }
  if (cl.config.kernel_path.empty() && !cl.config.kernel_cmdline.empty()) {
    throw Error("-append only allowed with -kernel option");
  }
  return cl;
}

std::string usage_text() {
  std::string text = version_text() +
                     "usage: vireo [options]\n\n"
                     "Options take one dash or two; values use QEMU's key=value,... syntax.\n\n";
  for (const OptionDef& d : option_table()) {
    std::string left = std::string("-") + d.name;
    if (d.help_argument) left += std::string(" ") + d.help_argument;
    text += left + "\n                " + d.help + "\n";
  }
  text += "\nDuring emulation with -nographic: Ctrl-A h shows the escape keys, Ctrl-A x exits.\n";
  return text;
}

std::string version_text() {
  return std::string("vireo emulator version ") + kVersion +
         " (QEMU 7.2.0 compatible command line)\n";
}

}  // namespace vireo
