// QMP commands libvirt sends while it starts and runs a domain (see
// tests/integration/data/libvirt-qemu72-domain-capture.txt): the QOM tree
// as far as vireo has one (the vCPUs and the -device devices), the vCPU's
// feature properties, the block nodes of -blockdev, query-uuid, and the
// migration capabilities, of which vireo has none.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "ui/monitor/monitor_core.h"

namespace vireo {

namespace {

struct FeatureName {
  const char* name;
  uint32_t CpuFeatures::*word;
  unsigned bit;
};

// QEMU's property names for the CPUID feature bits (target/i386/cpu.c's
// feature_word_info), for the words vireo's CpuFeatures holds. Bits that
// follow the guest's control registers (osxsave, ospke) are not properties.
constexpr FeatureName kFeatureNames[] = {
    {"fpu", &CpuFeatures::leaf1_edx, 0},       {"vme", &CpuFeatures::leaf1_edx, 1},
    {"de", &CpuFeatures::leaf1_edx, 2},        {"pse", &CpuFeatures::leaf1_edx, 3},
    {"tsc", &CpuFeatures::leaf1_edx, 4},       {"msr", &CpuFeatures::leaf1_edx, 5},
    {"pae", &CpuFeatures::leaf1_edx, 6},       {"mce", &CpuFeatures::leaf1_edx, 7},
    {"cx8", &CpuFeatures::leaf1_edx, 8},       {"apic", &CpuFeatures::leaf1_edx, 9},
    {"sep", &CpuFeatures::leaf1_edx, 11},      {"mtrr", &CpuFeatures::leaf1_edx, 12},
    {"pge", &CpuFeatures::leaf1_edx, 13},      {"mca", &CpuFeatures::leaf1_edx, 14},
    {"cmov", &CpuFeatures::leaf1_edx, 15},     {"pat", &CpuFeatures::leaf1_edx, 16},
    {"pse36", &CpuFeatures::leaf1_edx, 17},    {"pn", &CpuFeatures::leaf1_edx, 18},
    {"clflush", &CpuFeatures::leaf1_edx, 19},  {"ds", &CpuFeatures::leaf1_edx, 21},
    {"acpi", &CpuFeatures::leaf1_edx, 22},     {"mmx", &CpuFeatures::leaf1_edx, 23},
    {"fxsr", &CpuFeatures::leaf1_edx, 24},     {"sse", &CpuFeatures::leaf1_edx, 25},
    {"sse2", &CpuFeatures::leaf1_edx, 26},     {"ss", &CpuFeatures::leaf1_edx, 27},
    {"ht", &CpuFeatures::leaf1_edx, 28},       {"tm", &CpuFeatures::leaf1_edx, 29},
    {"ia64", &CpuFeatures::leaf1_edx, 30},     {"pbe", &CpuFeatures::leaf1_edx, 31},
    {"pni", &CpuFeatures::leaf1_ecx, 0},       {"pclmulqdq", &CpuFeatures::leaf1_ecx, 1},
    {"dtes64", &CpuFeatures::leaf1_ecx, 2},    {"monitor", &CpuFeatures::leaf1_ecx, 3},
    {"ds-cpl", &CpuFeatures::leaf1_ecx, 4},    {"vmx", &CpuFeatures::leaf1_ecx, 5},
    {"smx", &CpuFeatures::leaf1_ecx, 6},       {"est", &CpuFeatures::leaf1_ecx, 7},
    {"tm2", &CpuFeatures::leaf1_ecx, 8},       {"ssse3", &CpuFeatures::leaf1_ecx, 9},
    {"cid", &CpuFeatures::leaf1_ecx, 10},      {"fma", &CpuFeatures::leaf1_ecx, 12},
    {"cx16", &CpuFeatures::leaf1_ecx, 13},     {"xtpr", &CpuFeatures::leaf1_ecx, 14},
    {"pdcm", &CpuFeatures::leaf1_ecx, 15},     {"pcid", &CpuFeatures::leaf1_ecx, 17},
    {"dca", &CpuFeatures::leaf1_ecx, 18},      {"sse4.1", &CpuFeatures::leaf1_ecx, 19},
    {"sse4.2", &CpuFeatures::leaf1_ecx, 20},   {"x2apic", &CpuFeatures::leaf1_ecx, 21},
    {"movbe", &CpuFeatures::leaf1_ecx, 22},    {"popcnt", &CpuFeatures::leaf1_ecx, 23},
    {"tsc-deadline", &CpuFeatures::leaf1_ecx, 24}, {"aes", &CpuFeatures::leaf1_ecx, 25},
    {"xsave", &CpuFeatures::leaf1_ecx, 26},    {"avx", &CpuFeatures::leaf1_ecx, 28},
    {"f16c", &CpuFeatures::leaf1_ecx, 29},     {"rdrand", &CpuFeatures::leaf1_ecx, 30},
    {"hypervisor", &CpuFeatures::leaf1_ecx, 31},
    {"fsgsbase", &CpuFeatures::leaf7_ebx, 0},  {"tsc-adjust", &CpuFeatures::leaf7_ebx, 1},
    {"sgx", &CpuFeatures::leaf7_ebx, 2},       {"bmi1", &CpuFeatures::leaf7_ebx, 3},
    {"hle", &CpuFeatures::leaf7_ebx, 4},       {"avx2", &CpuFeatures::leaf7_ebx, 5},
    {"smep", &CpuFeatures::leaf7_ebx, 7},      {"bmi2", &CpuFeatures::leaf7_ebx, 8},
    {"erms", &CpuFeatures::leaf7_ebx, 9},      {"invpcid", &CpuFeatures::leaf7_ebx, 10},
    {"rtm", &CpuFeatures::leaf7_ebx, 11},      {"mpx", &CpuFeatures::leaf7_ebx, 14},
    {"avx512f", &CpuFeatures::leaf7_ebx, 16},  {"avx512dq", &CpuFeatures::leaf7_ebx, 17},
    {"rdseed", &CpuFeatures::leaf7_ebx, 18},   {"adx", &CpuFeatures::leaf7_ebx, 19},
    {"smap", &CpuFeatures::leaf7_ebx, 20},     {"avx512ifma", &CpuFeatures::leaf7_ebx, 21},
    {"clflushopt", &CpuFeatures::leaf7_ebx, 23}, {"clwb", &CpuFeatures::leaf7_ebx, 24},
    {"intel-pt", &CpuFeatures::leaf7_ebx, 25}, {"avx512pf", &CpuFeatures::leaf7_ebx, 26},
    {"avx512er", &CpuFeatures::leaf7_ebx, 27}, {"avx512cd", &CpuFeatures::leaf7_ebx, 28},
    {"sha-ni", &CpuFeatures::leaf7_ebx, 29},   {"avx512bw", &CpuFeatures::leaf7_ebx, 30},
    {"avx512vl", &CpuFeatures::leaf7_ebx, 31},
    {"avx512vbmi", &CpuFeatures::leaf7_ecx, 1}, {"umip", &CpuFeatures::leaf7_ecx, 2},
    {"pku", &CpuFeatures::leaf7_ecx, 3},       {"waitpkg", &CpuFeatures::leaf7_ecx, 5},
    {"avx512vbmi2", &CpuFeatures::leaf7_ecx, 6}, {"gfni", &CpuFeatures::leaf7_ecx, 8},
    {"vaes", &CpuFeatures::leaf7_ecx, 9},      {"vpclmulqdq", &CpuFeatures::leaf7_ecx, 10},
    {"avx512vnni", &CpuFeatures::leaf7_ecx, 11}, {"avx512bitalg", &CpuFeatures::leaf7_ecx, 12},
    {"avx512-vpopcntdq", &CpuFeatures::leaf7_ecx, 14}, {"la57", &CpuFeatures::leaf7_ecx, 16},
    {"rdpid", &CpuFeatures::leaf7_ecx, 22},    {"cldemote", &CpuFeatures::leaf7_ecx, 25},
    {"movdiri", &CpuFeatures::leaf7_ecx, 27},  {"movdir64b", &CpuFeatures::leaf7_ecx, 28},
    {"sgxlc", &CpuFeatures::leaf7_ecx, 30},
    {"avx512-4vnniw", &CpuFeatures::leaf7_edx, 2}, {"avx512-4fmaps", &CpuFeatures::leaf7_edx, 3},
    {"fsrm", &CpuFeatures::leaf7_edx, 4},      {"avx512-vp2intersect", &CpuFeatures::leaf7_edx, 8},
    {"md-clear", &CpuFeatures::leaf7_edx, 10}, {"serialize", &CpuFeatures::leaf7_edx, 14},
    {"tsx-ldtrk", &CpuFeatures::leaf7_edx, 16}, {"avx512-fp16", &CpuFeatures::leaf7_edx, 23},
    {"spec-ctrl", &CpuFeatures::leaf7_edx, 26}, {"stibp", &CpuFeatures::leaf7_edx, 27},
    {"arch-capabilities", &CpuFeatures::leaf7_edx, 29}, {"core-capability", &CpuFeatures::leaf7_edx, 30},
    {"ssbd", &CpuFeatures::leaf7_edx, 31},
    {"syscall", &CpuFeatures::ext1_edx, 11},   {"nx", &CpuFeatures::ext1_edx, 20},
    {"mmxext", &CpuFeatures::ext1_edx, 22},    {"fxsr-opt", &CpuFeatures::ext1_edx, 25},
    {"pdpe1gb", &CpuFeatures::ext1_edx, 26},   {"rdtscp", &CpuFeatures::ext1_edx, 27},
    {"lm", &CpuFeatures::ext1_edx, 29},        {"3dnowext", &CpuFeatures::ext1_edx, 30},
    {"3dnow", &CpuFeatures::ext1_edx, 31},
    {"lahf-lm", &CpuFeatures::ext1_ecx, 0},    {"cmp-legacy", &CpuFeatures::ext1_ecx, 1},
    {"svm", &CpuFeatures::ext1_ecx, 2},        {"extapic", &CpuFeatures::ext1_ecx, 3},
    {"cr8legacy", &CpuFeatures::ext1_ecx, 4},  {"abm", &CpuFeatures::ext1_ecx, 5},
    {"sse4a", &CpuFeatures::ext1_ecx, 6},      {"misalignsse", &CpuFeatures::ext1_ecx, 7},
    {"3dnowprefetch", &CpuFeatures::ext1_ecx, 8}, {"osvw", &CpuFeatures::ext1_ecx, 9},
    {"ibs", &CpuFeatures::ext1_ecx, 10},       {"xop", &CpuFeatures::ext1_ecx, 11},
    {"skinit", &CpuFeatures::ext1_ecx, 12},    {"wdt", &CpuFeatures::ext1_ecx, 13},
    {"lwp", &CpuFeatures::ext1_ecx, 15},       {"fma4", &CpuFeatures::ext1_ecx, 16},
    {"tce", &CpuFeatures::ext1_ecx, 17},       {"nodeid-msr", &CpuFeatures::ext1_ecx, 19},
    {"tbm", &CpuFeatures::ext1_ecx, 21},       {"topoext", &CpuFeatures::ext1_ecx, 22},
    {"perfctr-core", &CpuFeatures::ext1_ecx, 23}, {"perfctr-nb", &CpuFeatures::ext1_ecx, 24},
};

// The vCPU's device properties that are not features: it exists
// (realized), was there from the start, cannot be unplugged (vireo has no
// CPU hotplug) and starts powered on.
constexpr std::pair<const char*, bool> kCpuStateProperties[] = {
    {"realized", true}, {"hotplugged", false}, {"hotpluggable", false}, {"start-powered-off", false}};

constexpr std::string_view kCpuPathPrefix = "/machine/unattached/device[";

// The vCPU index a QOM path names, or -1.
int cpu_index_of(MonitorTarget& target, const std::string& path) {
  if (path.rfind(kCpuPathPrefix, 0) != 0 || path.back() != ']') return -1;
  std::string digits = path.substr(kCpuPathPrefix.size(), path.size() - kCpuPathPrefix.size() - 1);
  if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  if (digits.size() > 1 && digits[0] == '0') return -1;
  int index = std::stoi(digits);
  return index < static_cast<int>(target.cpus().size()) ? index : -1;
}

std::string cpu_type(MonitorTarget& target) { return target.cpu_model() + "-x86_64-cpu"; }

Json property(const std::string& name, const std::string& type) { return {{"name", name}, {"type", type}}; }

[[noreturn]] void no_such_path(const std::string& path) {
  throw CommandError("Device '" + path + "' not found", "DeviceNotFound");
}

Json qom_list(MonitorTarget& target, const std::string& path) {
  Json list = Json::array();
  if (cpu_index_of(target, path) >= 0) {
    list.push_back(property("type", "string"));
    for (const auto& [name, value] : kCpuStateProperties) list.push_back(property(name, "bool"));
    if (target.cpu_features()) {
      for (const FeatureName& f : kFeatureNames) list.push_back(property(f.name, "bool"));
    }
    return list;
  }
  list.push_back(property("type", "string"));
  if (path == "/") {
    list.push_back(property("machine", "child<pc-i440fx-7.2-machine>"));
  } else if (path == "/machine") {
    for (const char* container : {"peripheral", "peripheral-anon", "unattached"}) {
      list.push_back(property(container, "child<container>"));
    }
  } else if (path == "/machine/unattached") {
    // vireo's QOM tree holds the vCPUs here; its other built-in devices
    // are not QOM objects.
    for (size_t i = 0; i < target.cpus().size(); ++i) {
      list.push_back(property("device[" + std::to_string(i) + "]", "child<" + cpu_type(target) + ">"));
    }
  } else if (path == "/machine/peripheral" || path == "/machine/peripheral-anon") {
    const std::string prefix = path + "/";
    for (const MonitorQomDevice& d : target.qom_devices()) {
      if (d.path.rfind(prefix, 0) == 0) list.push_back(property(d.path.substr(prefix.size()), "child<" + d.type + ">"));
    }
  } else {
    bool found = false;
    for (const MonitorQomDevice& d : target.qom_devices()) found = found || d.path == path;
    if (!found) no_such_path(path);
  }
  return list;
}

Json qom_get(MonitorTarget& target, const std::string& path, const std::string& name) {
  if (cpu_index_of(target, path) >= 0) {
    if (name == "type") return cpu_type(target);
    for (const auto& [property_name, value] : kCpuStateProperties) {
      if (name == property_name) return value;
    }
    if (auto features = target.cpu_features()) {
      for (const FeatureName& f : kFeatureNames) {
        if (name == f.name) return ((*features).*(f.word) >> f.bit & 1) != 0;
      }
    }
    throw CommandError("Property '" + cpu_type(target) + "." + name + "' not found");
  }
  std::string type;
  if (path == "/" || path == "/machine" || path.rfind("/machine/", 0) == 0) {
    if (path == "/") type = "container";
    if (path == "/machine") type = "pc-i440fx-7.2-machine";
    if (path == "/machine/peripheral" || path == "/machine/peripheral-anon" || path == "/machine/unattached") {
      type = "container";
    }
    for (const MonitorQomDevice& d : target.qom_devices()) {
      if (d.path == path) type = d.type;
    }
  }
  if (type.empty()) no_such_path(path);
  if (name == "type") return type;
  throw CommandError("Property '" + type + "." + name + "' not found");
}

Json named_block_node(const MonitorBlockDevice& b, const std::string& node_name, const std::string& driver,
                      const std::string& format) {
  Json image{{"filename", b.file}, {"format", format}, {"virtual-size", b.virtual_size},
             {"actual-size", b.actual_size}, {"dirty-flag", false}};
  Json cache{{"writeback", b.cache != "writethrough" && b.cache != "directsync"},
             {"direct", b.cache == "none" || b.cache == "directsync"},
             {"no-flush", b.cache == "unsafe"}};
  return {{"file", b.file}, {"node-name", node_name}, {"ro", b.read_only}, {"drv", driver},
          {"backing_file_depth", 0}, {"encrypted", false}, {"detect_zeroes", "off"},
          {"bps", 0}, {"bps_rd", 0}, {"bps_wr", 0}, {"iops", 0}, {"iops_rd", 0}, {"iops_wr", 0},
          {"write_threshold", 0}, {"cache", cache}, {"image", image}};
}

// The "events" migration capability (one VM per process).
std::atomic<bool> g_migration_events{false};

}  // namespace

Json migration_capabilities() {
  return Json::array({{{"state", g_migration_events.load()}, {"capability", "events"}}});
}

void register_libvirt_qmp_commands(CommandTable& table, MonitorTarget& target) {
  MonitorTarget* t = &target;
  using P = ParamType;
  table.add({"query-uuid", {}, [t](const Json&, CommandContext&) {
               std::string uuid = t->uuid();
               return Json{{"UUID", uuid.empty() ? "00000000-0000-0000-0000-000000000000" : uuid}};
             }});
  // vireo cannot migrate yet. Its one migration capability is "events"
  // (send MIGRATION events while migrating), which libvirt sets on every
  // domain: kept and reported, and true to its word since no migration,
  // hence no such event, ever happens. Any other capability is refused
  // before anything is set, as QEMU refuses one it does not know.
  table.add({"migrate-set-capabilities", {{"capabilities", P::Any}}, [](const Json& args, CommandContext&) {
               const Json& list = args["capabilities"];
               if (!list.is_array()) throw CommandError("Invalid parameter type for 'capabilities', expected: array");
               for (size_t i = 0; i < list.size(); ++i) {
                 const Json& item = list[i];
                 const std::string at = "capabilities[" + std::to_string(i) + "]";
                 if (!item.is_object() || !item.contains("capability") || !item["capability"].is_string()) {
                   throw CommandError("Parameter '" + at + ".capability' is missing");
                 }
                 if (!item.contains("state") || !item["state"].is_boolean()) {
                   throw CommandError("Parameter '" + at + ".state' is missing");
                 }
                 const std::string name = item["capability"].get<std::string>();
                 if (name != "events") {
                   throw CommandError("Parameter '" + at + ".capability' does not accept value '" + name +
                                      "' (vireo has no migration yet)");
                 }
               }
               for (const Json& item : list) g_migration_events = item["state"].get<bool>();
               return Json::object();
             }});
  table.add({"qom-list", {{"path", P::String}}, [t](const Json& args, CommandContext&) {
               return qom_list(*t, string_arg(args, "path"));
             }});
  table.add({"qom-get", {{"path", P::String}, {"property", P::String}}, [t](const Json& args, CommandContext&) {
               return qom_get(*t, string_arg(args, "path"), string_arg(args, "property"));
             }});
  table.add({"query-named-block-nodes", {{"flat", P::Boolean, true}}, [t](const Json&, CommandContext&) {
               // Each disk's format node (its node-name is -blockdev's).
               // The protocol node below it is not listed yet.
               Json list = Json::array();
               for (const MonitorBlockDevice& b : t->block_devices()) {
                 list.push_back(named_block_node(b, b.node_name, b.format, b.format));
               }
               return list;
             }});
}

}  // namespace vireo
