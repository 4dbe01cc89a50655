// What a management tool learns from vireo's monitor before it starts a
// guest (ui/monitor/qmp_introspection.cpp): answers built from the command
// table, the device catalog and the command line's tables, in QEMU 7.2's
// shapes and error classes.
#include <catch2/catch.hpp>

#include <set>

#include "system/device_catalog.h"
#include "tests/ui/fake_target.h"
#include "ui/monitor/monitor_core.h"
#include "util/error.h"

using namespace vireo;

namespace {

struct Fixture {
  test::FakeTarget target;
  MonitorCore core{target};
  CommandContext context;
  Json run(const std::string& name, const Json& args = Json::object()) {
    return core.table().execute(name, args, context);
  }
  std::string error_of(const std::string& name, const Json& args) {
    try {
      run(name, args);
    } catch (const CommandError& e) {
      return e.error_class() + ": " + e.what();
    }
    return "no error";
  }
};

const Json* find_named(const Json& list, const std::string& name) {
  for (const Json& entry : list) {
    if (entry.value("name", "") == name) return &entry;
  }
  return nullptr;
}

// libvirt's schema query syntax (virQEMUQAPISchemaPathGet): "cmd/arg-type/
// member/^enum-value", each step through the entry a name refers to.
bool schema_path_exists(const Json& schema, const std::string& path) {
  std::vector<std::string> steps;
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    steps.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const Json* entry = find_named(schema, steps[0]);
  for (size_t i = 1; entry != nullptr && i < steps.size(); ++i) {
    const std::string& step = steps[i];
    if (step == "arg-type" || step == "ret-type") {
      if (!entry->contains(step)) return false;
      entry = find_named(schema, (*entry)[step].get<std::string>());
    } else if (step[0] == '^') {
      if (!entry->contains("values")) return false;
      const Json& values = (*entry)["values"];
      return std::find(values.begin(), values.end(), step.substr(1)) != values.end();
    } else {
      if (entry->value("meta-type", "") == "array") entry = find_named(schema, (*entry)["element-type"].get<std::string>());
      if (entry == nullptr || !entry->contains("members")) return false;
      const Json* member = find_named((*entry)["members"], step);
      if (member == nullptr) return false;
      entry = find_named(schema, (*member)["type"].get<std::string>());
    }
  }
  return entry != nullptr;
}

}  // namespace

TEST_CASE("introspection: query-target is x86_64", "[monitor][introspection]") {
  Fixture f;
  CHECK(f.run("query-target") == Json{{"arch", "x86_64"}});
}

TEST_CASE("introspection: the schema is generated from the command table", "[monitor][introspection]") {
  Fixture f;
  const Json schema = f.run("query-qmp-schema");
  REQUIRE(schema.is_array());
  // Every command of the table, and nothing else, is a command entry.
  std::set<std::string> listed;
  for (const Json& e : schema) {
    if (e["meta-type"] == "command") listed.insert(e["name"].get<std::string>());
  }
  std::set<std::string> table;
  for (const Command& c : f.core.table().commands()) table.insert(c.name);
  CHECK(listed == table);
  // Every name an entry refers to is defined.
  std::set<std::string> defined;
  for (const Json& e : schema) defined.insert(e["name"].get<std::string>());
  for (const Json& e : schema) {
    for (const char* key : {"arg-type", "ret-type", "element-type"}) {
      if (e.contains(key)) CHECK(defined.count(e[key].get<std::string>()) == 1);
    }
    if (e["meta-type"] == "object") {
      for (const Json& m : e["members"]) CHECK(defined.count(m["type"].get<std::string>()) == 1);
    }
  }
  // Arguments, their optionality and the declared replies, as libvirt
  // walks them.
  CHECK(schema_path_exists(schema, "qom-list-types/arg-type/implements"));
  CHECK(schema_path_exists(schema, "query-status/ret-type/status/^running"));
  CHECK(schema_path_exists(schema, "query-machines/ret-type/default-ram-id"));
  CHECK_FALSE(schema_path_exists(schema, "query-status/ret-type/nonexistent"));
  CHECK_FALSE(schema_path_exists(schema, "device_add"));
  const Json* types = find_named(schema, "qom-list-types");
  REQUIRE(types != nullptr);
  const Json* args = find_named(schema, (*types)["arg-type"].get<std::string>());
  REQUIRE(args != nullptr);
  const Json* implements = find_named((*args)["members"], "implements");
  REQUIRE(implements != nullptr);
  CHECK(implements->contains("default"));  // QEMU's mark of an optional member
  CHECK((*implements)["type"] == "str");
  // The machine's events, with SHUTDOWN's data.
  CHECK(schema_path_exists(schema, "SHUTDOWN/arg-type/reason/^guest-shutdown"));
  CHECK(schema_path_exists(schema, "RESUME"));
  const Json* str = find_named(schema, "str");
  REQUIRE(str != nullptr);
  CHECK((*str)["meta-type"] == "builtin");
  CHECK((*str)["json-type"] == "string");
}

TEST_CASE("introspection: a command added to the table appears in the schema with its types",
          "[monitor][introspection]") {
  test::FakeTarget target;
  CommandTable table;
  register_qmp_commands(table, target);
  table.add({"x-sample", {{"count", ParamType::Integer}, {"label", ParamType::String, true}},
             [](const Json&, CommandContext&) { return Json::array(); },
             qapi::list(qapi::object({{"flag", qapi::boolean()}}))});
  CommandContext context;
  const Json schema = table.execute("query-qmp-schema", Json::object(), context);
  CHECK(schema_path_exists(schema, "x-sample/arg-type/count"));
  CHECK(schema_path_exists(schema, "x-sample/arg-type/label"));
  CHECK(schema_path_exists(schema, "x-sample/ret-type/flag"));
  const Json* sample = find_named(schema, "x-sample");
  REQUIRE(sample != nullptr);
  CHECK((*sample)["ret-type"].get<std::string>().front() == '[');
}

TEST_CASE("introspection: qom-list-types lists vireo's types with QEMU's parents", "[monitor][introspection]") {
  Fixture f;
  const Json concrete = f.run("qom-list-types");
  for (const char* name : {"tcg-accel", "kvm-accel", "pc-i440fx-7.2-machine", "none-machine", "isa-serial",
                           "virtio-blk-pci", "isa-debug-exit", "qemu64-x86_64-cpu", "max-x86_64-cpu"}) {
    INFO(name);
    CHECK(find_named(concrete, name) != nullptr);
  }
  CHECK((*find_named(concrete, "tcg-accel"))["parent"] == "accel");
  CHECK((*find_named(concrete, "pc-i440fx-7.2-machine"))["parent"] == "generic-pc-machine");
  CHECK((*find_named(concrete, "virtio-blk-pci"))["parent"] == "virtio-blk-pci-base");
  CHECK((*find_named(concrete, "host-x86_64-cpu"))["parent"] == "max-x86_64-cpu");
  CHECK(find_named(concrete, "device") == nullptr);  // abstract: only with abstract=true
  // Each parent chain reaches "object" through listed types.
  const Json all = f.run("qom-list-types", {{"abstract", true}});
  CHECK((*find_named(all, "device"))["abstract"] == true);
  for (const Json& t : all) {
    std::string name = t["name"];
    INFO(name);
    for (int depth = 0; name != "object" && depth < 10; ++depth) {
      const Json* entry = find_named(all, name);
      REQUIRE(entry != nullptr);
      REQUIRE(entry->contains("parent"));
      name = (*entry)["parent"];
    }
    CHECK(name == "object");
  }
  // implements= narrows to a class and what derives from it.
  const Json devices = f.run("qom-list-types", {{"implements", "device"}});
  CHECK(find_named(devices, "virtio-blk-pci") != nullptr);
  CHECK(find_named(devices, "tcg-accel") == nullptr);
  const Json machines = f.run("qom-list-types", {{"implements", "machine"}});
  CHECK(machines.size() == 2);
  CHECK(f.run("qom-list-types", {{"implements", "no-such-type"}}) == Json::array());
}

TEST_CASE("introspection: device-list-properties gives what -device accepts, QEMU's errors otherwise",
          "[monitor][introspection]") {
  Fixture f;
  const Json exit_props = f.run("device-list-properties", {{"typename", "isa-debug-exit"}});
  REQUIRE(find_named(exit_props, "iobase") != nullptr);
  CHECK((*find_named(exit_props, "iobase"))["type"] == "uint32");
  CHECK((*find_named(exit_props, "iobase"))["default-value"] == 1281);
  const Json blk = f.run("device-list-properties", {{"typename", "virtio-blk-pci"}});
  CHECK(find_named(blk, "drive") != nullptr);
  CHECK(f.error_of("device-list-properties", {{"typename", "virtio-net-ccw"}}) ==
        "DeviceNotFound: Device 'virtio-net-ccw' not found");
  CHECK(f.error_of("device-list-properties", {{"typename", "pc-i440fx-7.2-machine"}}) ==
        "GenericError: Parameter 'typename' expects a non-abstract device type");
  CHECK(f.error_of("device-list-properties", {{"typename", "device"}}) ==
        "GenericError: Parameter 'typename' expects a non-abstract device type");
  CHECK(f.error_of("device-list-properties", Json::object()) == "GenericError: Parameter 'typename' is missing");
  // The catalog is what -device checks: each listed property is accepted,
  // anything else refused.
  for (const DeviceTypeInfo& type : device_catalog()) {
    if (!type.user_creatable) continue;
    for (const DevicePropertyInfo& p : type.properties) {
      DeviceSpec spec{"-device " + type.name, type.name, KeyValueList::parse(p.name + "=1", "")};
      CHECK_NOTHROW(check_device_properties(spec));
    }
    DeviceSpec bogus{"-device x", type.name, KeyValueList::parse("bogus=1", "")};
    CHECK_THROWS_WITH(check_device_properties(bogus), "Property '" + type.name + ".bogus' not found");
  }
}

TEST_CASE("introspection: qom-list-properties always answers a list", "[monitor][introspection]") {
  Fixture f;
  // libvirt 9.0 asks about memory-backend-file whatever qom-list-types said
  // and cannot take an error there.
  CHECK(f.run("qom-list-properties", {{"typename", "memory-backend-file"}}) == Json::array());
  const Json machine = f.run("qom-list-properties", {{"typename", "none-machine"}});
  CHECK(find_named(machine, "type") != nullptr);
  CHECK(find_named(machine, "accel") == nullptr);  // -machine accel= is not a property
  const Json blk = f.run("qom-list-properties", {{"typename", "virtio-blk-pci"}});
  CHECK(find_named(blk, "drive") != nullptr);
}

TEST_CASE("introspection: query-machines: pc-i440fx-7.2 alias pc, and none", "[monitor][introspection]") {
  Fixture f;
  const Json machines = f.run("query-machines");
  const Json* pc = find_named(machines, "pc-i440fx-7.2");
  REQUIRE(pc != nullptr);
  CHECK((*pc)["alias"] == "pc");
  CHECK((*pc)["is-default"] == true);
  CHECK((*pc)["default-ram-id"] == "pc.ram");
  CHECK((*pc)["cpu-max"] == 255);
  CHECK((*pc)["default-cpu-type"] == "qemu64-x86_64-cpu");
  CHECK((*pc)["hotpluggable-cpus"] == false);
  const Json* none = find_named(machines, "none");
  REQUIRE(none != nullptr);
  CHECK_FALSE(none->contains("is-default"));
  CHECK_FALSE(none->contains("default-cpu-type"));
  CHECK((*none)["cpu-max"] == 1);
}

TEST_CASE("introspection: query-command-line-options reports the parsers' key table", "[monitor][introspection]") {
  Fixture f;
  const Json all = f.run("query-command-line-options");
  bool machine_found = false;
  for (const Json& option : all) {
    if (option["option"] != "machine") continue;
    machine_found = true;
    CHECK(find_named(option["parameters"], "type") != nullptr);
    CHECK(find_named(option["parameters"], "accel") != nullptr);
  }
  CHECK(machine_found);
  const Json memory = f.run("query-command-line-options", {{"option", "memory"}});
  REQUIRE(memory.size() == 1);
  CHECK((*find_named(memory[0]["parameters"], "size"))["type"] == "size");
  CHECK(f.error_of("query-command-line-options", {{"option", "sandbox"}}) ==
        "GenericError: invalid option name: sandbox");
}

TEST_CASE("introspection: the one migration capability, events", "[monitor][introspection]") {
  Fixture f;
  const Json caps = f.run("query-migrate-capabilities");
  REQUIRE(caps.size() == 1);
  CHECK(caps[0]["capability"] == "events");
  CHECK(caps[0]["state"].is_boolean());
}
