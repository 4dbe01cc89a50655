// The QMP commands (QEMU's qapi/*.json schemas give each reply's shape).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "accel/cpu_model.h"
#include "hw/core/guest_memory.h"
#include "ui/monitor/guest_paging.h"
#include "ui/monitor/monitor_core.h"

namespace vireo {

namespace {

constexpr auto kMachineTimeout = std::chrono::seconds(10);

// Asks the machine's main thread and waits until it acted.
void request_and_wait(MonitorTarget& target, MachineRequest request) {
  uint64_t ticket = target.control().request(std::move(request));
  if (ticket != 0 && !target.control().wait_done(ticket, kMachineTimeout)) {
    throw CommandError("the machine did not respond within 10 seconds");
  }
}

Json no_arguments_result() { return Json::object(); }

// memsave/pmemsave: QEMU's wording for a bad range.
[[noreturn]] void invalid_range(uint64_t address, int64_t size) {
  char text[96];
  std::snprintf(text, sizeof text, "Invalid addr 0x%016llx/size %lld specified",
                static_cast<unsigned long long>(address), static_cast<long long>(size));
  throw CommandError(text);
}

void save_memory(MonitorTarget& target, const Json& args, bool physical, unsigned cpu_index) {
  uint64_t address = static_cast<uint64_t>(integer_arg(args, "val"));
  int64_t size = integer_arg(args, "size");
  std::string filename = string_arg(args, "filename");
  if (size < 0 || (size > 0 && address + static_cast<uint64_t>(size) - 1 < address)) invalid_range(address, size);
  // Nothing past the end of the highest RAM/ROM region: a client asking
  // for 2^60 bytes must not keep the monitor writing zeros for ever.
  uint64_t memory_end = 0;
  for (const MemoryRegion& r : target.memory().regions()) memory_end = std::max(memory_end, r.guest_base + r.size);
  if (physical && address + static_cast<uint64_t>(size) > memory_end) invalid_range(address, size);
  if (!physical && static_cast<uint64_t>(size) > memory_end) invalid_range(address, size);
  std::optional<X86CpuState> cpu;
  if (!physical) {
    auto states = target.cpu_states();
    if (!states) throw CommandError("the machine did not respond within 10 seconds");
    if (cpu_index >= states->size()) throw CommandError("Parameter 'cpu-index' expects a valid CPU index");
    cpu = (*states)[cpu_index];
  }
  std::ofstream out(filename, std::ios::binary | std::ios::trunc);
  if (!out) throw CommandError("Could not open '" + filename + "': " + std::strerror(errno));
  std::vector<uint8_t> page(4096);
  uint64_t done = 0;
  while (done < static_cast<uint64_t>(size)) {
    uint64_t va = address + done;
    uint64_t chunk = std::min<uint64_t>(4096 - (va & 0xfff), static_cast<uint64_t>(size) - done);
    uint64_t pa = va;
    if (!physical) {
      auto translated = translate_guest_virtual(target.memory(), *cpu, va);
      if (!translated) invalid_range(address, size);
      pa = *translated;
    }
    // Holes between RAM regions read as zero, as unassigned memory does.
    if (!target.memory().read(pa, page.data(), chunk)) std::fill(page.begin(), page.begin() + static_cast<long>(chunk), 0);
    out.write(reinterpret_cast<const char*>(page.data()), static_cast<std::streamsize>(chunk));
    done += chunk;
  }
  if (!out.flush()) throw CommandError("writing '" + filename + "' failed: " + std::strerror(errno));
}

[[noreturn]] void not_yet(const std::string& what) { throw CommandError(what); }

Json pci_function_json(const MonitorPciFunction& f) {
  Json regions = Json::array();
  for (const MonitorPciRegion& r : f.regions) {
    Json region{{"bar", r.bar}, {"type", r.io ? "io" : "memory"}, {"address", r.address}, {"size", r.size}};
    if (!r.io) {
      region["prefetch"] = r.prefetchable;
      region["mem_type_64"] = r.mem64;
    }
    regions.push_back(std::move(region));
  }
  Json class_info{{"class", f.class_code}};
  if (const char* desc = pci_class_description(f.class_code)) class_info["desc"] = desc;
  Json device{{"bus", f.bus},
              {"slot", f.slot},
              {"function", f.function},
              {"class_info", class_info},
              {"id",
               {{"vendor", f.vendor},
                {"device", f.device},
                {"subsystem-vendor", f.subsystem_vendor},
                {"subsystem", f.subsystem}}},
              {"irq_pin", f.interrupt_pin},
              {"qdev_id", f.qdev_id},
              {"regions", regions}};
  // QEMU's PciDeviceInfo has irq only for a function with an INTx# pin.
  if (f.interrupt_pin != 0) device["irq"] = f.interrupt_line;
  return device;
}

// -drive cache= as QEMU's BlockdevCacheInfo (its table in qemu-options.hx).
Json cache_json(const std::string& mode) {
  return {{"writeback", mode != "writethrough" && mode != "directsync"},
          {"direct", mode == "none" || mode == "directsync"},
          {"no-flush", mode == "unsafe"}};
}

// QEMU's ImageInfo for image `index` of a chain, the images below it
// nested as backing-image.
Json image_info_json(const std::vector<MonitorImageInfo>& chain, size_t index) {
  const MonitorImageInfo& i = chain[index];
  Json image = Json::object();
  if (index + 1 < chain.size()) image["backing-image"] = image_info_json(chain, index + 1);
  if (i.qcow2 && !i.backing_format.empty()) image["backing-filename-format"] = i.backing_format;
  image["virtual-size"] = i.virtual_size;
  image["filename"] = i.filename;
  if (i.qcow2) image["cluster-size"] = i.cluster_size;
  image["format"] = i.format;
  image["actual-size"] = i.actual_size;
  if (i.qcow2) {
    Json data{{"compat", i.v3 ? "1.1" : "0.10"}, {"compression-type", "zlib"}};
    if (i.v3) data["lazy-refcounts"] = i.lazy_refcounts;
    data["refcount-bits"] = i.refcount_bits;
    if (i.v3) {
      data["corrupt"] = i.corrupt;
      data["extended-l2"] = false;
    }
    image["format-specific"] = {{"type", "qcow2"}, {"data", data}};
    if (!i.backing_filename.empty()) {
      image["full-backing-filename"] = i.full_backing_filename;
      image["backing-filename"] = i.backing_filename;
    }
  }
  image["dirty-flag"] = i.dirty;
  return image;
}

Json block_info_json(const MonitorBlockDevice& b) {
  Json image = b.chain.empty() ? Json{{"filename", b.file}, {"format", b.format}, {"virtual-size", b.virtual_size},
                                      {"actual-size", b.actual_size}, {"dirty-flag", false}}
                               : image_info_json(b.chain, 0);
  // No I/O throttling, detect-zeroes or write threshold in vireo: QEMU's
  // values for "off".
  Json inserted{{"file", b.file}, {"node-name", b.node_name}, {"ro", b.read_only}, {"drv", b.format},
                {"backing_file_depth", 0}, {"encrypted", false}, {"detect_zeroes", "off"},
                {"bps", 0}, {"bps_rd", 0}, {"bps_wr", 0}, {"iops", 0}, {"iops_rd", 0}, {"iops_wr", 0},
                {"write_threshold", 0}, {"cache", cache_json(b.cache)}, {"image", image}};
  // The chain below the image: QEMU names the first backing file as
  // opened and counts the files below.
  if (b.chain.size() > 1) {
    inserted["backing_file"] = b.chain[0].full_backing_filename;
    inserted["backing_file_depth"] = b.chain.size() - 1;
  }
  return {{"device", b.device}, {"qdev", b.qdev}, {"type", "unknown"}, {"removable", false},
          {"locked", false}, {"io-status", "ok"}, {"inserted", inserted}};
}

Json block_stats_json(const BlockStatsSnapshot& s, bool device_level, int64_t now_ns) {
  Json stats{{"rd_bytes", s.read.bytes},
             {"wr_bytes", s.write.bytes},
             {"unmap_bytes", s.unmap.bytes},
             {"rd_operations", s.read.operations},
             {"wr_operations", s.write.operations},
             {"flush_operations", s.flush.operations},
             {"unmap_operations", s.unmap.operations},
             {"rd_total_time_ns", s.read.total_time_ns},
             {"wr_total_time_ns", s.write.total_time_ns},
             {"flush_total_time_ns", s.flush.total_time_ns},
             {"unmap_total_time_ns", s.unmap.total_time_ns},
             {"wr_highest_offset", s.write_highest_offset},
             // vireo serves one request at a time: nothing is merged.
             {"rd_merged", 0},
             {"wr_merged", 0},
             {"unmap_merged", 0},
             {"failed_rd_operations", device_level ? s.read.failed : 0},
             {"failed_wr_operations", device_level ? s.write.failed : 0},
             {"failed_flush_operations", device_level ? s.flush.failed : 0},
             {"failed_unmap_operations", device_level ? s.unmap.failed : 0},
             {"invalid_rd_operations", device_level ? s.read.invalid : 0},
             {"invalid_wr_operations", device_level ? s.write.invalid : 0},
             {"invalid_flush_operations", device_level ? s.flush.invalid : 0},
             {"invalid_unmap_operations", device_level ? s.unmap.invalid : 0},
             // As QEMU: the device counts failed and invalid requests, the
             // node below it does not.
             {"account_invalid", device_level},
             {"account_failed", device_level},
             {"timed_stats", Json::array()}};
  if (s.last_io_ns != 0) stats["idle_time_ns"] = now_ns - s.last_io_ns;
  return stats;
}

}  // namespace

const char* pci_class_description(uint16_t class_code) {
  // Names from the PCI Code and ID Assignment Specification, worded as
  // lspci and QEMU print them.
  static constexpr struct {
    uint16_t code;
    const char* name;
  } kClasses[] = {
      {0x0100, "SCSI controller"}, {0x0101, "IDE controller"},   {0x0106, "SATA controller"},
      {0x0180, "Storage controller"}, {0x0200, "Ethernet controller"}, {0x0300, "VGA controller"},
      {0x0600, "Host bridge"},     {0x0601, "ISA bridge"},       {0x0604, "PCI bridge"},
      {0x0680, "Bridge"},          {0x0c03, "USB controller"},   {0x00ff, "Misc device"},
  };
  for (const auto& c : kClasses) {
    if (c.code == class_code) return c.name;
  }
  return nullptr;
}

namespace {

}  // namespace

Json monitor_version() {
  return {{"qemu", {{"micro", 0}, {"minor", 2}, {"major", 7}}}, {"package", "vireo 0.1.0"}};
}

void register_qmp_commands(CommandTable& table, MonitorTarget& target) {
  MonitorTarget* t = &target;
  using P = ParamType;
  // Listed for query-commands; QmpSession answers it itself.
  table.add({"qmp_capabilities", {{"enable", P::Any, true}}, [](const Json&, CommandContext&) { return no_arguments_result(); },
             qapi::nothing()});

  table.add({"query-status", {}, [t](const Json&, CommandContext&) {
               RunState s = t->control().status();
               return Json{{"status", run_state_name(s)}, {"singlestep", false}, {"running", s == RunState::Running}};
             },
             qapi::object({{"running", qapi::boolean()},
                           {"singlestep", qapi::boolean()},
                           {"status", qapi::enumeration({"prelaunch", "running", "paused", "shutdown", "internal-error"})}})});
  table.add({"stop", {}, [t](const Json&, CommandContext&) {
               request_and_wait(*t, {MachineRequest::Kind::Pause});
               return no_arguments_result();
             },
             qapi::nothing()});
  table.add({"cont", {}, [t](const Json&, CommandContext&) {
               RunState s = t->control().status();
               if (s == RunState::Shutdown || s == RunState::InternalError) {
                 throw CommandError("Resetting the Virtual Machine is required");
               }
               request_and_wait(*t, {MachineRequest::Kind::Resume});
               return no_arguments_result();
             },
             qapi::nothing()});
  table.add({"system_reset", {}, [t](const Json&, CommandContext&) {
               request_and_wait(*t, {MachineRequest::Kind::Reset, 0, "host-qmp-system-reset"});
               return no_arguments_result();
             },
             qapi::nothing()});
  table.add({"system_powerdown", {}, [t](const Json&, CommandContext&) {
               t->press_power_button();
               return no_arguments_result();
             },
             qapi::nothing()});
  table.add({"quit", {}, [t](const Json&, CommandContext& context) {
               context.after_reply = [t] { t->control().request_exit(0, "host-qmp-quit"); };
               return no_arguments_result();
             },
             qapi::nothing()});
  const QapiType version_triple =
      qapi::object({{"major", qapi::integer()}, {"minor", qapi::integer()}, {"micro", qapi::integer()}});
  table.add({"query-version", {}, [](const Json&, CommandContext&) { return monitor_version(); },
             qapi::object({{"qemu", version_triple}, {"package", qapi::str()}})});
  table.add({"query-name", {}, [t](const Json&, CommandContext&) {
               std::string name = t->guest_name();
               return name.empty() ? Json::object() : Json{{"name", name}};
             },
             qapi::object({{"name", qapi::str(), true}})});
  table.add({"query-kvm", {}, [t](const Json&, CommandContext&) {
               return Json{{"enabled", t->accelerator() == "kvm"}, {"present", true}};
             },
             qapi::object({{"enabled", qapi::boolean()}, {"present", qapi::boolean()}})});
  table.add({"query-cpus-fast", {}, [t](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const MonitorCpuInfo& cpu : t->cpus()) {
                 list.push_back({{"thread-id", cpu.thread_id},
                                 {"props", {{"core-id", cpu.core_id}, {"thread-id", cpu.thread_in_core}, {"socket-id", cpu.socket_id}}},
                                 {"qom-path", "/machine/unattached/device[" + std::to_string(cpu.index) + "]"},
                                 {"cpu-index", cpu.index},
                                 {"target", "x86_64"}});
               }
               return list;
             },
             qapi::list(qapi::object({{"cpu-index", qapi::integer()},
                                      {"qom-path", qapi::str()},
                                      {"thread-id", qapi::integer()},
                                      {"props", qapi::object({{"socket-id", qapi::integer(), true},
                                                              {"core-id", qapi::integer(), true},
                                                              {"thread-id", qapi::integer(), true}}),
                                       true},
                                      {"target", qapi::enumeration({"x86_64"})}}))});
  table.add({"query-cpu-definitions", {}, [](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const CpuModel& m : cpu_models()) {
                 list.push_back({{"name", m.name},
                                 {"typename", m.name + "-x86_64-cpu"},
                                 {"unavailable-features", Json::array()},
                                 {"static", false},
                                 {"migration-safe", !m.from_accelerator},
                                 {"deprecated", false}});
               }
               return list;
             },
             qapi::list(qapi::object({{"name", qapi::str()},
                                      {"migration-safe", qapi::boolean(), true},
                                      {"static", qapi::boolean()},
                                      {"unavailable-features", qapi::list(qapi::str()), true},
                                      {"typename", qapi::str()},
                                      {"deprecated", qapi::boolean()}}))});
  const CommandTable* tp = &table;
  table.add({"query-commands", {}, [tp](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const Command& c : tp->commands()) list.push_back({{"name", c.name}});
               return list;
             },
             qapi::list(qapi::object({{"name", qapi::str()}}))});
  // No query-events: QEMU 7.2, the reference, no longer has it
  // (query-qmp-schema replaced it), and clients treat its absence so.
  table.add({"query-chardev", {}, [t](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const MonitorChardevInfo& c : t->chardevs()) {
                 list.push_back({{"frontend-open", c.frontend_open}, {"filename", c.filename}, {"label", c.label}});
               }
               return list;
             },
             qapi::list(qapi::object(
                 {{"label", qapi::str()}, {"filename", qapi::str()}, {"frontend-open", qapi::boolean()}}))});
  table.add({"memsave",
             {{"val", P::Integer}, {"size", P::Integer}, {"filename", P::String}, {"cpu-index", P::Integer, true}},
             [t](const Json& args, CommandContext& context) {
               int64_t cpu = integer_arg(args, "cpu-index", context.cpu_index);
               if (cpu < 0) throw CommandError("Parameter 'cpu-index' expects a valid CPU index");
               save_memory(*t, args, false, static_cast<unsigned>(cpu));
               return no_arguments_result();
             },
             qapi::nothing()});
  table.add({"pmemsave", {{"val", P::Integer}, {"size", P::Integer}, {"filename", P::String}},
             [t](const Json& args, CommandContext&) {
               save_memory(*t, args, true, 0);
               return no_arguments_result();
             },
             qapi::nothing()});
  // Subsystems that do not exist in vireo yet: clear errors rather than
  // empty answers a client would take for "no devices".
  table.add({"screendump", {{"filename", P::String}, {"device", P::String, true}, {"head", P::Integer, true}, {"format", P::String, true}},
             [](const Json&, CommandContext&) -> Json { not_yet("vireo has no display yet, so there is nothing to dump"); }});
  table.add({"send-key", {{"keys", P::Any}, {"hold-time", P::Integer, true}},
             [](const Json&, CommandContext&) -> Json { not_yet("vireo has no keyboard input path for send-key yet"); }});
  table.add({"query-pci", {}, [t](const Json&, CommandContext&) {
               Json devices = Json::array();
               for (const MonitorPciFunction& f : t->pci_functions()) devices.push_back(pci_function_json(f));
               return Json::array({{{"bus", 0}, {"devices", devices}}});
             }});
  table.add({"query-block", {}, [t](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const MonitorBlockDevice& b : t->block_devices()) list.push_back(block_info_json(b));
               return list;
             }});
  table.add({"query-blockstats", {{"query-nodes", P::Boolean, true}}, [t](const Json& args, CommandContext&) {
               const int64_t now = BlockAccounting::now_ns();
               Json list = Json::array();
               if (args.contains("query-nodes") && args["query-nodes"].get<bool>()) {
                 // Per node, as QEMU: the request counters belong to the
                 // device (BlockBackend); a node knows its highest write.
                 for (const MonitorBlockDevice& b : t->block_devices()) {
                   BlockStatsSnapshot node_level;
                   node_level.write_highest_offset = b.stats.write_highest_offset;
                   Json file{{"node-name", b.file_node_name}, {"stats", block_stats_json(node_level, false, now)}};
                   Json format{{"node-name", b.node_name},
                               {"stats", block_stats_json(node_level, false, now)},
                               {"parent", file}};
                   // The protocol node was opened first, and is listed first.
                   list.push_back(std::move(file));
                   list.push_back(std::move(format));
                 }
                 return list;
               }
               for (const MonitorBlockDevice& b : t->block_devices()) {
                 Json entry{{"device", b.device}, {"qdev", b.qdev}, {"node-name", b.node_name},
                            {"stats", block_stats_json(b.stats, true, now)}};
                 // A raw image passes every request to its file unchanged,
                 // so the file node below it saw the same I/O. A qcow2
                 // file node's traffic differs and is not counted yet.
                 if (b.format == "raw") {
                   entry["parent"] = {{"node-name", b.node_name + "-file"},
                                      {"stats", block_stats_json(b.stats, false, now)},
                                      {"driver-specific",
                                       {{"driver", "file"},
                                        {"discard-nb-ok", b.stats.unmap.operations},
                                        {"discard-nb-failed", b.stats.unmap.failed},
                                        {"discard-bytes-ok", b.stats.unmap.bytes}}}};
                 }
                 list.push_back(std::move(entry));
               }
               return list;
             }});
  // The probe a management tool runs before it starts a guest
  // (qmp_introspection.cpp); registered last, as query-qmp-schema and
  // query-commands describe whatever the table holds when asked.
  register_introspection_commands(table, target);
}

}  // namespace vireo
