// The QMP commands with which a management tool learns what the emulator
// is before it starts a guest on it (libvirt runs "-machine none" and asks
// these): the target, the QAPI schema, the QOM types and their properties,
// the machine types and the command line's options.
//
// Every answer is built from what vireo has: the schema from the command
// table (commands, their arguments and replies) and the machine's events,
// the types from the device catalog (system/device_catalog.h), the machine
// types and the CPU models, the options from the command line's own key
// table (command_line_option_info). So a tool is told what vireo
// implements and nothing else: libvirt chooses the syntax of the command
// line it builds from these (docs/libvirt.md).
#include <map>
#include <set>

#include "accel/cpu_model.h"
#include "system/cmdline.h"
#include "system/device_catalog.h"
#include "ui/monitor/monitor_core.h"

namespace vireo {

namespace {

// ---- query-qmp-schema ------------------------------------------------------

// QEMU's introspection format (qapi/introspect.json): every type used is an
// entry of its own, referred to by name; names other than the builtins'
// are masked as numbers, as QEMU masks them ("0" is its empty object).
class SchemaBuilder {
 public:
  Json entries() const {
    Json all = Json::array();
    for (const Json& e : definitions_) all.push_back(e);
    for (const Json& e : types_) all.push_back(e);
    return all;
  }

  void add_command(const Command& command) {
    std::vector<QapiMember> members;
    for (const Param& p : command.params) members.push_back({p.name, param_type(p.type), p.optional});
    std::string arg = ref(qapi::object(members));
    std::string ret = ref(command.returns);
    definitions_.push_back({{"name", command.name}, {"ret-type", ret}, {"meta-type", "command"}, {"arg-type", arg}});
  }

  void add_event(const std::string& name, const QapiType& data) {
    definitions_.push_back({{"name", name}, {"meta-type", "event"}, {"arg-type", ref(data)}});
  }

 private:
  static QapiType param_type(ParamType type) {
    switch (type) {
      case ParamType::String: return qapi::str();
      case ParamType::Integer: return qapi::integer();
      case ParamType::Boolean: return qapi::boolean();
      case ParamType::Number: return qapi::number();
      case ParamType::Any: return qapi::any();
    }
    return qapi::any();
  }

  static const char* json_type(const std::string& builtin) {
    if (builtin == "str") return "string";
    if (builtin == "int") return "int";
    if (builtin == "bool") return "boolean";
    if (builtin == "number") return "number";
    if (builtin == "null") return "null";
    return "value";  // any
  }

  // The name of `type`'s entry, adding it (and what it refers to) once.
  std::string ref(const QapiType& type) {
    switch (type.kind) {
      case QapiType::Kind::Builtin:
        if (builtins_.insert(type.builtin).second) {
          types_.push_back({{"name", type.builtin}, {"json-type", json_type(type.builtin)}, {"meta-type", "builtin"}});
        }
        return type.builtin;
      case QapiType::Kind::Array: {
        std::string element = ref(type.element.at(0));
        std::string name = "[" + element + "]";
        if (arrays_.insert(name).second) {
          types_.push_back({{"name", name}, {"element-type", element}, {"meta-type", "array"}});
        }
        return name;
      }
      case QapiType::Kind::Object: {
        Json members = Json::array();
        for (const QapiMember& m : type.members) {
          Json member{{"name", m.name}};
          if (m.optional) member["default"] = nullptr;  // QEMU's mark of an optional member
          member["type"] = ref(m.type);
          members.push_back(std::move(member));
        }
        return named("object", {{"members", members}, {"meta-type", "object"}});
      }
      case QapiType::Kind::Enum: {
        Json members = Json::array();
        for (const std::string& v : type.values) members.push_back({{"name", v}});
        return named("enum", {{"members", members}, {"meta-type", "enum"}, {"values", type.values}});
      }
    }
    return "any";
  }

  // Structurally equal types share one entry.
  std::string named(const std::string& kind, Json body) {
    std::string key = kind + body.dump();
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    std::string name = std::to_string(names_.size());
    names_.emplace(key, name);
    Json entry{{"name", name}};
    for (auto& [k, v] : body.items()) entry[k] = v;
    types_.push_back(std::move(entry));
    return name;
  }

  std::vector<Json> definitions_;  // commands and events
  std::vector<Json> types_;
  std::set<std::string> builtins_;
  std::set<std::string> arrays_;
  std::map<std::string, std::string> names_;
};

// The events the machine emits (RunControl's MachineEvent, formatted by
// QmpSession::format_event): SHUTDOWN and RESET say who asked and why, in
// QEMU's ShutdownCause words; the others carry nothing.
QapiType event_data(MachineEvent::Kind kind) {
  if (kind == MachineEvent::Kind::Shutdown || kind == MachineEvent::Kind::Reset) {
    // The causes vireo reports (QEMU has more: host-ui, guest-panic, ...).
    QapiType cause = qapi::enumeration({"host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal",
                                        "guest-shutdown", "guest-reset"});
    return qapi::object({{"guest", qapi::boolean()}, {"reason", cause}});
  }
  return qapi::nothing();
}

constexpr MachineEvent::Kind kEvents[] = {MachineEvent::Kind::Shutdown, MachineEvent::Kind::Powerdown,
                                          MachineEvent::Kind::Reset, MachineEvent::Kind::Stop,
                                          MachineEvent::Kind::Resume};

// ---- QOM types -------------------------------------------------------------

struct QomType {
  std::string name;
  std::string parent;  // empty for "object"
  bool abstract;
};

// Every QOM type vireo has, with QEMU 7.2's names and parents: the abstract
// classes above them, the accelerators, the machine types, the CPU models
// and the devices.
std::vector<QomType> qom_types() {
  std::vector<QomType> types = {
      {"object", "", true},
      {"device", "object", true},
      {"machine", "object", true},
      {"x86-machine", "machine", true},
      {"generic-pc-machine", "x86-machine", true},
      // QEMU lists the accelerator base class as concrete.
      {"accel", "object", false},
      {"tcg-accel", "accel", false},
      {"kvm-accel", "accel", false},
      {"cpu", "device", true},
      {"x86_64-cpu", "cpu", true},
      {"isa-device", "device", true},
      {"sys-bus-device", "device", true},
      {"pci-device", "device", true},
      {"pci-host-bridge", "sys-bus-device", true},
      {"pci-piix3", "pci-device", true},
      {"virtio-device", "device", true},
      {"virtio-pci", "pci-device", true},
      {"virtio-blk-pci-base", "virtio-pci", true},
      {"virtio-net-pci-base", "virtio-pci", true},
      {"pit-common", "isa-device", true},
      {"pic-common", "isa-device", true},
      {"ioapic-common", "sys-bus-device", true},
      {"apic-common", "device", true},
  };
  for (const MachineTypeInfo& m : machine_type_info()) {
    types.push_back({m.name + "-machine", m.machine == "pc" ? "generic-pc-machine" : "machine", false});
  }
  for (const CpuModel& cpu : cpu_models()) {
    // QEMU's host CPU type is a kind of max.
    types.push_back({cpu.name + "-x86_64-cpu", cpu.name == "host" ? "max-x86_64-cpu" : "x86_64-cpu", false});
  }
  for (const DeviceTypeInfo& device : device_catalog()) types.push_back({device.name, device.parent, false});
  return types;
}

const QomType* find_qom_type(const std::vector<QomType>& types, const std::string& name) {
  for (const QomType& t : types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Whether `type` is `ancestor` or derives from it.
bool derives_from(const std::vector<QomType>& types, const std::string& type, const std::string& ancestor) {
  for (const QomType* t = find_qom_type(types, type); t != nullptr; t = find_qom_type(types, t->parent)) {
    if (t->name == ancestor) return true;
  }
  return false;
}

// ObjectPropertyInfo, as qom-list-properties and device-list-properties give it.
Json property_json(const DevicePropertyInfo& p) {
  Json info{{"name", p.name}, {"type", p.type}};
  if (!p.description.empty()) info["description"] = p.description;
  if (!p.default_value.empty()) info["default-value"] = Json::parse(p.default_value);
  return info;
}

// A machine type's properties: what -machine accepts besides its type and
// accelerator (accel= is the command line's shorthand, not a property).
Json machine_properties() {
  Json list = Json::array();
  list.push_back({{"name", "type"}, {"type", "string"}});
  for (const CommandLineOptionInfo& option : command_line_option_info()) {
    if (option.option != "machine") continue;
    for (const OptionParameterInfo& p : option.parameters) {
      if (p.name == "type" || p.name == "accel") continue;
      // QemuOpts type names to QOM's.
      std::string type = p.type == "boolean" ? "bool" : p.type == "number" ? "int" : p.type;
      Json info{{"name", p.name}, {"type", type}};
      if (!p.help.empty()) info["description"] = p.help;
      list.push_back(std::move(info));
    }
  }
  return list;
}

QapiType property_info_type() {
  return qapi::object({{"name", qapi::str()},
                       {"type", qapi::str()},
                       {"description", qapi::str(), true},
                       {"default-value", qapi::any(), true}});
}

}  // namespace

void register_introspection_commands(CommandTable& table, MonitorTarget& target) {
  using P = ParamType;
  (void)target;
  const CommandTable* tp = &table;

  table.add({"query-target", {}, [](const Json&, CommandContext&) { return Json{{"arch", "x86_64"}}; },
             qapi::object({{"arch", qapi::enumeration({"x86_64"})}})});

  // Generated from the table as it is when asked, so commands registered
  // anywhere are in it.
  table.add({"query-qmp-schema", {},
             [tp](const Json&, CommandContext&) {
               SchemaBuilder schema;
               for (const Command& c : tp->commands()) schema.add_command(c);
               for (MachineEvent::Kind kind : kEvents) schema.add_event(event_name(kind), event_data(kind));
               return schema.entries();
             },
             qapi::list(qapi::object({{"name", qapi::str()}, {"meta-type", qapi::str()}}))});

  table.add({"qom-list-types", {{"implements", P::String, true}, {"abstract", P::Boolean, true}},
             [](const Json& args, CommandContext&) {
               const std::vector<QomType> types = qom_types();
               const std::string implements = string_arg(args, "implements");
               const bool include_abstract = bool_arg(args, "abstract");
               Json list = Json::array();
               for (const QomType& t : types) {
                 if (t.abstract && !include_abstract) continue;
                 if (!implements.empty() && !derives_from(types, t.name, implements)) continue;
                 Json info{{"name", t.name}};
                 if (t.abstract) info["abstract"] = true;
                 if (!t.parent.empty()) info["parent"] = t.parent;
                 list.push_back(std::move(info));
               }
               return list;
             },
             qapi::list(qapi::object(
                 {{"name", qapi::str()}, {"abstract", qapi::boolean(), true}, {"parent", qapi::str(), true}}))});

  table.add({"device-list-properties", {{"typename", P::String}},
             [](const Json& args, CommandContext&) {
               const std::vector<QomType> types = qom_types();
               const std::string name = string_arg(args, "typename");
               const QomType* type = find_qom_type(types, name);
               if (type == nullptr) throw CommandError("Device '" + name + "' not found", "DeviceNotFound");
               const DeviceTypeInfo* device = find_device_type(name);
               if (type->abstract || !derives_from(types, name, "device") || device == nullptr) {
                 throw CommandError("Parameter 'typename' expects a non-abstract device type");
               }
               Json list = Json::array();
               for (const DevicePropertyInfo& p : device->properties) list.push_back(property_json(p));
               return list;
             },
             qapi::list(property_info_type())});

  table.add({"qom-list-properties", {{"typename", P::String}},
             [](const Json& args, CommandContext&) {
               const std::vector<QomType> types = qom_types();
               const std::string name = string_arg(args, "typename");
               // A deliberate difference: QEMU answers DeviceNotFound for a
               // class it does not have; vireo answers that the type has no
               // properties. libvirt 9.0 asks about memory-backend-file
               // whatever qom-list-types said, and crashes on that error.
               if (find_qom_type(types, name) == nullptr) return Json::array();
               if (derives_from(types, name, "machine") && name != "machine") return machine_properties();
               Json list = Json::array();
               list.push_back({{"name", "type"}, {"type", "string"}});
               if (const DeviceTypeInfo* device = find_device_type(name)) {
                 for (const DevicePropertyInfo& p : device->properties) list.push_back(property_json(p));
               }
               return list;
             },
             qapi::list(property_info_type())});

  table.add({"query-machines", {},
             [](const Json&, CommandContext&) {
               Json list = Json::array();
               for (const MachineTypeInfo& m : machine_type_info()) {
                 // QEMU 7.2's MachineInfo; its optional members only when set.
                 Json info{{"hotpluggable-cpus", false}, {"name", m.name}, {"numa-mem-supported", false}};
                 if (!m.default_cpu_type.empty()) info["default-cpu-type"] = m.default_cpu_type;
                 if (m.is_default) info["is-default"] = true;
                 info["cpu-max"] = m.cpu_max;
                 info["deprecated"] = false;
                 info["default-ram-id"] = m.default_ram_id;
                 if (!m.alias.empty()) info["alias"] = m.alias;
                 list.push_back(std::move(info));
               }
               return list;
             },
             qapi::list(qapi::object({{"name", qapi::str()},
                                      {"alias", qapi::str(), true},
                                      {"is-default", qapi::boolean(), true},
                                      {"cpu-max", qapi::integer()},
                                      {"hotpluggable-cpus", qapi::boolean()},
                                      {"numa-mem-supported", qapi::boolean()},
                                      {"deprecated", qapi::boolean()},
                                      {"default-cpu-type", qapi::str(), true},
                                      {"default-ram-id", qapi::str(), true}}))});

  table.add({"query-command-line-options", {{"option", P::String, true}},
             [](const Json& args, CommandContext&) {
               const std::string wanted = string_arg(args, "option");
               Json list = Json::array();
               for (const CommandLineOptionInfo& option : command_line_option_info()) {
                 if (!wanted.empty() && option.option != wanted) continue;
                 Json parameters = Json::array();
                 for (const OptionParameterInfo& p : option.parameters) {
                   Json info{{"name", p.name}};
                   if (!p.help.empty()) info["help"] = p.help;
                   info["type"] = p.type;
                   parameters.push_back(std::move(info));
                 }
                 list.push_back({{"parameters", parameters}, {"option", option.option}});
               }
               if (!wanted.empty() && list.empty()) throw CommandError("invalid option name: " + wanted);
               return list;
             },
             qapi::list(qapi::object(
                 {{"option", qapi::str()},
                  {"parameters",
                   qapi::list(qapi::object({{"name", qapi::str()},
                                            {"type", qapi::enumeration({"string", "boolean", "number", "size"})},
                                            {"help", qapi::str(), true},
                                            {"default", qapi::str(), true}}))}}))});

  // vireo cannot migrate a guest yet. Of QEMU's capabilities (xbzrle,
  // events, postcopy-ram, ...) it has only "events" (qmp_libvirt.cpp),
  // which libvirt sets on every domain it starts.
  table.add({"query-migrate-capabilities", {}, [](const Json&, CommandContext&) { return migration_capabilities(); },
             qapi::list(qapi::object({{"capability", qapi::enumeration({"events"})}, {"state", qapi::boolean()}}))});
}

}  // namespace vireo
