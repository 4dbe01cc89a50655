// The human monitor's commands: QEMU's HMP names and output, each built on
// a QMP command of the core where one exists (hmp-commands.hx and
// hmp-commands-info.hx list QEMU's).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "hw/core/guest_memory.h"
#include "ui/monitor/guest_paging.h"
#include "ui/monitor/monitor_core.h"
#include "ui/monitor/register_dump.h"
#include "ui/monitor/x86_disasm.h"

namespace vireo {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// An HMP number: 0x hex, 0 octal or decimal, as strtoull with base 0.
uint64_t parse_number(const std::string& text, const char* what) {
  if (text.empty()) throw CommandError(std::string("missing ") + what);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (*end != '\0' || errno != 0 || text[0] == '-') throw CommandError("invalid " + std::string(what) + " '" + text + "'");
  return v;
}

std::string hex64(uint64_t v) {
  char b[20];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

void no_arguments(const std::string& args) {
  if (!args.empty()) throw CommandError("too many arguments");
}

}  // namespace

Hmp::Hmp(const CommandTable& qmp_table, MonitorTarget& target) : qmp_(qmp_table), target_(target) {
  auto simple = [this](const char* qmp_name) {
    return [this, qmp_name](const std::string& args, CommandContext& context) {
      no_arguments(args);
      qmp(qmp_name, Json::object(), context);
      return std::string();
    };
  };
  commands_ = {
      {"help", "[cmd]", "show the help", [this](const std::string& a, CommandContext&) { return help(a); }},
      {"?", "[cmd]", "show the help", [this](const std::string& a, CommandContext&) { return help(a); }},
      {"info", "[subcommand]", "show various information about the system state",
       [this](const std::string& a, CommandContext& context) {
         std::vector<std::string> words = split_words(a);
         if (words.empty()) return help("info");
         for (const HmpCommand& c : info_) {
           if (c.name == words[0]) return c.handler(trim(a.substr(a.find(words[0]) + words[0].size())), context);
         }
         return help("info");
       }},
      {"stop", "", "stop emulation", simple("stop")},
      {"cont", "", "resume emulation", simple("cont")},
      {"c", "", "resume emulation", simple("cont")},
      {"system_reset", "", "reset the system", simple("system_reset")},
      {"system_powerdown", "", "send system power down event", simple("system_powerdown")},
      {"quit", "", "quit the emulator", simple("quit")},
      {"q", "", "quit the emulator", simple("quit")},
      {"cpu", "index", "set the default CPU",
       [this](const std::string& a, CommandContext& context) {
         uint64_t index = parse_number(trim(a), "CPU index");
         if (index >= target_.cpus().size()) throw CommandError("invalid CPU index");
         context.cpu_index = static_cast<unsigned>(index);
         return std::string();
       }},
      {"x", "/fmt addr", "virtual memory dump starting at 'addr'",
       [this](const std::string& a, CommandContext& context) { return memory_dump(a, false, context); }},
      {"xp", "/fmt addr", "physical memory dump starting at 'addr'",
       [this](const std::string& a, CommandContext& context) { return memory_dump(a, true, context); }},
      {"memsave", "addr size file", "save to disk virtual memory dump starting at 'addr' of size 'size'",
       [this](const std::string& a, CommandContext& context) {
         std::vector<std::string> w = split_words(a);
         if (w.size() != 3) throw CommandError("memsave needs addr size file");
         qmp("memsave", {{"val", parse_number(w[0], "address")}, {"size", parse_number(w[1], "size")}, {"filename", w[2]}}, context);
         return std::string();
       }},
      {"pmemsave", "addr size file", "save to disk physical memory dump starting at 'addr' of size 'size'",
       [this](const std::string& a, CommandContext& context) {
         std::vector<std::string> w = split_words(a);
         if (w.size() != 3) throw CommandError("pmemsave needs addr size file");
         qmp("pmemsave", {{"val", parse_number(w[0], "address")}, {"size", parse_number(w[1], "size")}, {"filename", w[2]}}, context);
         return std::string();
       }},
      {"screendump", "filename", "save screen from head 'head' of display device 'device' into PPM image 'filename'",
       [this](const std::string& a, CommandContext& context) {
         qmp("screendump", {{"filename", trim(a)}}, context);
         return std::string();
       }},
      {"sendkey", "keys [hold_ms]", "send keys to the VM (e.g. 'sendkey ctrl-alt-f1')",
       [this](const std::string& a, CommandContext& context) {
         qmp("send-key", {{"keys", Json::array({trim(a)})}}, context);
         return std::string();
       }},
  };
  info_ = {
      {"status", "", "show the current VM status (running|paused)",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         Json s = qmp("query-status", Json::object(), context);
         std::string status = s["status"].get<std::string>();
         std::string out = std::string("VM status: ") + (s["running"].get<bool>() ? "running" : "paused");
         if (!s["running"].get<bool>() && status != "paused") out += " (" + status + ")";
         return out + "\n";
       }},
      {"uuid", "", "show the current VM UUID",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         return qmp("query-uuid", Json::object(), context)["UUID"].get<std::string>() + "\n";
       }},
      {"version", "", "show the version of QEMU",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         Json v = qmp("query-version", Json::object(), context);
         const Json& q = v["qemu"];
         return std::to_string(q["major"].get<int>()) + "." + std::to_string(q["minor"].get<int>()) + "." +
                std::to_string(q["micro"].get<int>()) + " (" + v["package"].get<std::string>() + ")\n";
       }},
      {"name", "", "show the current VM name",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         Json n = qmp("query-name", Json::object(), context);
         return n.contains("name") ? n["name"].get<std::string>() + "\n" : std::string();
       }},
      {"kvm", "", "show KVM information",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         Json k = qmp("query-kvm", Json::object(), context);
         std::string state = !k["present"].get<bool>() ? "not compiled" : k["enabled"].get<bool>() ? "enabled" : "disabled";
         return "kvm support: " + state + "\n";
       }},
      {"cpus", "", "show infos for each CPU",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         std::string out;
         for (const Json& cpu : qmp("query-cpus-fast", Json::object(), context)) {
           int64_t index = cpu["cpu-index"].get<int64_t>();
           out += (index == context.cpu_index ? "* CPU #" : "  CPU #") + std::to_string(index) +
                  ": thread_id=" + std::to_string(cpu["thread-id"].get<int64_t>()) + "\n";
         }
         return out;
       }},
      {"registers", "[-a]", "show the cpu registers (-a: all CPUs)",
       [this](const std::string& a, CommandContext& context) { return info_registers(a, context); }},
      {"mtree", "", "show memory tree", [this](const std::string& a, CommandContext&) {
         no_arguments(a);
         return info_mtree();
       }},
      {"chardev", "", "show the character devices",
       [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         std::string out;
         for (const Json& c : qmp("query-chardev", Json::object(), context)) {
           out += c["label"].get<std::string>() + ": filename=" + c["filename"].get<std::string>() + "\n";
         }
         return out;
       }},
      {"network", "", "show the network state", [this](const std::string& a, CommandContext&) {
         no_arguments(a);
         return target_.network_info();
       }},
      {"pci", "", "show PCI info", [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         return info_pci(qmp("query-pci", Json::object(), context));
       }},
      {"block", "", "show the block devices", [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         return info_block(qmp("query-block", Json::object(), context));
       }},
      {"blockstats", "", "show block device statistics", [this](const std::string& a, CommandContext& context) {
         no_arguments(a);
         std::string out;
         for (const Json& b : qmp("query-blockstats", Json::object(), context)) {
           const Json& s = b["stats"];
           auto n = [&s](const char* key) { return std::to_string(s.value(key, int64_t{0})); };
           out += b["device"].get<std::string>() + ": rd_bytes=" + n("rd_bytes") + " wr_bytes=" + n("wr_bytes") +
                  " rd_operations=" + n("rd_operations") + " wr_operations=" + n("wr_operations") +
                  " flush_operations=" + n("flush_operations") + " wr_total_time_ns=" + n("wr_total_time_ns") +
                  " rd_total_time_ns=" + n("rd_total_time_ns") + " flush_total_time_ns=" + n("flush_total_time_ns") +
                  " rd_merged=" + n("rd_merged") + " wr_merged=" + n("wr_merged") + " idle_time_ns=" + n("idle_time_ns") +
                  "\n";
         }
         return out;
       }},
      {"qtree", "", "show device tree", [this](const std::string& a, CommandContext&) {
         no_arguments(a);
         return format_device_tree(target_.device_tree());
       }},
      {"snapshots", "", "show the currently saved VM snapshots", [](const std::string&, CommandContext&) -> std::string {
         throw CommandError("vireo has no snapshots yet");
       }},
  };
}

Json Hmp::qmp(const std::string& name, const Json& args, CommandContext& context) {
  return qmp_.execute(name, args, context);
}

std::string Hmp::execute(const std::string& raw_line, CommandContext& context) {
  std::string line = trim(raw_line);
  if (line.empty()) return "";
  size_t end = line.find_first_of(" \t/");
  std::string name = line.substr(0, end);
  // "x/4xb 0x1000": the format sticks to the command name.
  std::string args = end == std::string::npos ? "" : trim(line.substr(end));
  for (const HmpCommand& c : commands_) {
    if (c.name != name) continue;
    try {
      return c.handler(args, context);
    } catch (const CommandError& e) {
      return std::string("Error: ") + e.what() + "\n";
    }
  }
  return "unknown command: '" + name + "'\n";
}

std::string Hmp::help(const std::string& args) {
  std::string topic = trim(args);
  auto line = [](const std::string& prefix, const HmpCommand& c) {
    return prefix + c.name + (c.params.empty() ? "" : " " + c.params) + " -- " + c.help + "\n";
  };
  std::string out;
  if (topic == "info") {
    for (const HmpCommand& c : info_) out += line("info ", c);
    return out;
  }
  for (const HmpCommand& c : commands_) {
    if (topic.empty() || c.name == topic) out += line("", c);
  }
  if (out.empty()) return "unknown command: '" + topic + "'\n";
  return out;
}

// QEMU's x/xp: "/[count][format][size] addr" with format x (hex), d
// (signed), u (unsigned), o (octal), c (char) and size b/h/w/g (1, 2, 4, 8
// bytes); defaults 1, x, w. Bytes go 8 per line, larger units 16 bytes'.
std::string Hmp::memory_dump(const std::string& args, bool physical, CommandContext& context) {
  std::string rest = args;
  uint64_t count = 1;
  char format = 'x';
  unsigned size = 4;
  bool size_given = false;
  if (!rest.empty() && rest[0] == '/') {
    size_t end = rest.find_first_of(" \t");
    std::string spec = rest.substr(1, end == std::string::npos ? std::string::npos : end - 1);
    rest = end == std::string::npos ? "" : trim(rest.substr(end));
    size_t i = 0;
    if (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
      count = 0;
      while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
        count = count * 10 + static_cast<uint64_t>(spec[i++] - '0');
        if (count > 1'000'000) throw CommandError("count too large");
      }
    }
    for (; i < spec.size(); ++i) {
      switch (spec[i]) {
        case 'x': case 'd': case 'u': case 'o': case 'c': case 'i': format = spec[i]; break;
        case 'b': size = 1; size_given = true; break;
        case 'h': size = 2; size_given = true; break;
        case 'w': size = 4; size_given = true; break;
        case 'g': size = 8; size_given = true; break;
        default: throw CommandError(std::string("invalid char in format: '") + spec[i] + "'");
      }
    }
  }
  if (format == 'c' && !size_given) size = 1;
  uint64_t address = parse_number(trim(rest), "address");
  std::optional<X86CpuState> cpu;
  if (!physical || format == 'i') {
    auto states = target_.cpu_states();
    if (!states || context.cpu_index >= states->size()) throw CommandError("the machine did not respond");
    cpu = (*states)[context.cpu_index];
  }
  if (format == 'i') return disassembly(address, count, physical, *cpu);
  const unsigned per_line = size == 1 ? 8 : 16 / size;
  std::string out;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t va = address + i * size;
    if (i % per_line == 0) {
      if (i != 0) out += "\n";
      out += hex64(va) + ":";
    }
    uint64_t pa = va;
    if (!physical) {
      auto translated = translate_guest_virtual(target_.memory(), *cpu, va);
      if (!translated) return out + " Cannot access memory\n";
      pa = *translated;
    }
    uint64_t value = 0;  // little-endian guest, little-endian host
    if (!target_.memory().read(pa, &value, size)) return out + " Cannot access memory\n";
    char text[40];
    unsigned bits = size * 8;
    switch (format) {
      case 'x': std::snprintf(text, sizeof text, " 0x%0*" PRIx64, static_cast<int>(size * 2), value); break;
      case 'o': std::snprintf(text, sizeof text, " %#*" PRIo64, static_cast<int>((bits + 2) / 3), value); break;
      case 'u': std::snprintf(text, sizeof text, " %*" PRIu64, static_cast<int>((bits * 10 + 32) / 33), value); break;
      case 'd': {
        int64_t signed_value = bits == 64 ? static_cast<int64_t>(value)
                                          : static_cast<int64_t>(value << (64 - bits)) >> (64 - bits);
        std::snprintf(text, sizeof text, " %*" PRId64, static_cast<int>((bits * 10 + 32) / 33), signed_value);
        break;
      }
      case 'c':
        if (value >= 32 && value < 127 && value != '\\' && value != '\'') {
          std::snprintf(text, sizeof text, " '%c'", static_cast<char>(value));
        } else {
          std::snprintf(text, sizeof text, " '\\x%02" PRIx64 "'", value & 0xff);
        }
        break;
    }
    out += text;
  }
  return out + "\n";
}

// x/i: instructions decoded by the software CPU's own decoder, in the
// current vCPU's code size (CS.L in long mode, else CS.D), printed as
// QEMU's monitor prints them (x86_disasm.cpp).
std::string Hmp::disassembly(uint64_t address, uint64_t count, bool physical, const X86CpuState& cpu) {
  unsigned code_bits = (cpu.efer & kEferLma) && cpu.segment[kCs].l ? 64 : cpu.segment[kCs].db ? 32 : 16;
  std::string out;
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t bytes[15];
    size_t available = 0;
    for (; available < sizeof bytes; ++available) {
      uint64_t va = address + available;
      std::optional<uint64_t> pa = physical ? std::optional<uint64_t>(va) : translate_guest_virtual(target_.memory(), cpu, va);
      if (!pa || !target_.memory().read(*pa, &bytes[available], 1)) break;
    }
    char where[32];
    std::snprintf(where, sizeof where, "0x%08" PRIx64 ": ", address);
    if (available == 0) return out + where + "Cannot access memory\n";
    DisassembledInsn insn = disassemble_att(bytes, available, code_bits, address);
    out += format_disassembly_lines(address, bytes, insn);
    address += insn.length;
  }
  return out;
}

// QEMU 7.2 prints "\nCPU#n\n" before each vCPU's dump, with or without -a.
std::string Hmp::info_registers(const std::string& args, CommandContext& context) {
  std::string a = trim(args);
  if (!a.empty() && a != "-a") throw CommandError("invalid argument '" + a + "'");
  auto cpus = target_.cpu_registers();
  if (!cpus) throw CommandError("the machine did not respond");
  if (a != "-a" && context.cpu_index >= cpus->size()) throw CommandError("No CPU available");
  RegisterDumpOptions options;
  options.limit_bits_in_flags = target_.accelerator() != "kvm";
  std::string out;
  for (size_t index = 0; index < cpus->size(); ++index) {
    if (a != "-a" && index != context.cpu_index) continue;
    out += "\nCPU#" + std::to_string(index) + "\n";
    out += format_x86_registers((*cpus)[index].state, (*cpus)[index].dump, options);
  }
  return out;
}

// QEMU's "info pci" layout, one paragraph per function.
std::string Hmp::info_pci(const Json& buses) {
  std::string out;
  char line[160];
  for (const Json& bus : buses) {
    for (const Json& d : bus["devices"]) {
      std::snprintf(line, sizeof line, "  Bus %2d, device %3d, function %d:\n", d["bus"].get<int>(),
                    d["slot"].get<int>(), d["function"].get<int>());
      out += line;
      const Json& c = d["class_info"];
      const Json& id = d["id"];
      std::string name = c.contains("desc") ? c["desc"].get<std::string>() : "";
      if (name.empty()) {
        std::snprintf(line, sizeof line, "Class %04x", c["class"].get<unsigned>());
        name = line;
      }
      std::snprintf(line, sizeof line, "    %s: PCI device %04x:%04x\n      PCI subsystem %04x:%04x\n", name.c_str(),
                    id["vendor"].get<unsigned>(), id["device"].get<unsigned>(), id["subsystem-vendor"].get<unsigned>(),
                    id["subsystem"].get<unsigned>());
      out += line;
      if (d.contains("irq")) {
        std::snprintf(line, sizeof line, "      IRQ %d, pin %c\n", d["irq"].get<int>(),
                      static_cast<char>('A' + d["irq_pin"].get<int>() - 1));
        out += line;
      }
      for (const Json& r : d["regions"]) {
        // An unassigned BAR is at -1, and its end wraps, as QEMU prints it.
        const uint64_t address = static_cast<uint64_t>(r["address"].get<int64_t>());
        const uint64_t last = address + r["size"].get<uint64_t>() - 1;
        if (r["type"] == "io") {
          std::snprintf(line, sizeof line, "      BAR%d: I/O at 0x%04" PRIx64 " [0x%04" PRIx64 "].\n",
                        r["bar"].get<int>(), address, last);
        } else {
          std::snprintf(line, sizeof line, "      BAR%d: %d bit%s memory at 0x%08" PRIx64 " [0x%08" PRIx64 "].\n",
                        r["bar"].get<int>(), r["mem_type_64"].get<bool>() ? 64 : 32,
                        r["prefetch"].get<bool>() ? " prefetchable" : "", address, last);
        }
        out += line;
      }
      out += "      id \"" + d["qdev_id"].get<std::string>() + "\"\n";
    }
  }
  return out;
}

// QEMU's "info block" layout for attached drives.
std::string Hmp::info_block(const Json& devices) {
  std::string out;
  for (const Json& b : devices) {
    if (!out.empty()) out += "\n";
    const Json& in = b["inserted"];
    out += b["device"].get<std::string>() + " (" + in["node-name"].get<std::string>() + "): " +
           in["file"].get<std::string>() + " (" + in["drv"].get<std::string>() +
           (in["ro"].get<bool>() ? ", read-only" : "") + ")\n";
    out += "    Attached to:      " + b["qdev"].get<std::string>() + "\n";
    const Json& cache = in["cache"];
    out += std::string("    Cache mode:       ") + (cache["writeback"].get<bool>() ? "writeback" : "writethrough") +
           (cache["direct"].get<bool>() ? ", direct" : "") + (cache["no-flush"].get<bool>() ? ", ignore flushes" : "") +
           "\n";
    if (in.contains("backing_file")) {
      out += "    Backing file:     " + in["backing_file"].get<std::string>() + " (chain depth: " +
             std::to_string(in["backing_file_depth"].get<int64_t>()) + ")\n";
    }
  }
  return out;
}

// QEMU's "info mtree" layout, from what vireo has: the RAM/ROM regions of
// GuestMemory and the device ranges of the two buses.
std::string Hmp::info_mtree() {
  auto range = [](const std::string& indent, uint64_t base, uint64_t size, const char* kind, const std::string& name) {
    char b[128];
    std::snprintf(b, sizeof b, "%s%016" PRIx64 "-%016" PRIx64 " (prio 0, %s): ", indent.c_str(), base,
                  base + size - 1, kind);
    return std::string(b) + name + "\n";
  };
  struct Entry {
    uint64_t base, size;
    const char* kind;
    std::string name;
  };
  std::vector<Entry> memory;
  for (const MemoryRegion& r : target_.memory().regions()) memory.push_back({r.guest_base, r.size, r.read_only ? "rom" : "ram", r.name});
  for (const IoBus::Range& r : target_.mmio_ranges()) memory.push_back({r.base, r.size, "i/o", r.device_name});
  std::sort(memory.begin(), memory.end(), [](const Entry& x, const Entry& y) { return x.base < y.base; });
  // Size 0 wraps to the whole 64-bit space: the root region.
  std::string out = "address-space: memory\n" + range("  ", 0, 0, "i/o", "system");
  for (const Entry& e : memory) out += range("    ", e.base, e.size, e.kind, e.name);
  out += "\naddress-space: I/O\n" + range("  ", 0, 0x10000, "i/o", "io");
  for (const IoBus::Range& r : target_.io_ranges()) out += range("    ", r.base, r.size, "i/o", r.device_name);
  return out;
}

MonitorCore::MonitorCore(MonitorTarget& target) : target_(target) {
  register_qmp_commands(table_, target_);
  register_libvirt_qmp_commands(table_, target_);
  hmp_ = std::make_unique<Hmp>(table_, target_);
  Hmp* hmp = hmp_.get();
  table_.add({"human-monitor-command", {{"command-line", ParamType::String}, {"cpu-index", ParamType::Integer, true}},
              [hmp](const Json& args, CommandContext& context) {
                CommandContext hmp_context;
                int64_t cpu = integer_arg(args, "cpu-index", 0);
                if (cpu < 0) throw CommandError("Parameter 'cpu-index' expects a valid CPU index");
                hmp_context.cpu_index = static_cast<unsigned>(cpu);
                std::string out = hmp->execute(string_arg(args, "command-line"), hmp_context);
                context.after_reply = std::move(hmp_context.after_reply);
                // HMP output lines end in "\r\n" on the wire, as QEMU's.
                std::string wire;
                for (char c : out) {
                  if (c == '\n') wire += '\r';
                  wire += c;
                }
                return Json(wire);
              }});
}

}  // namespace vireo
