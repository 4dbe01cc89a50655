#include "ui/monitor/command_table.h"

namespace vireo {

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::String: return "string";
    case ParamType::Integer: return "integer";
    case ParamType::Boolean: return "boolean";
    case ParamType::Number: return "number";
    case ParamType::Any: return "any";
  }
  return "any";
}

namespace qapi {

QapiType builtin(std::string name) {
  QapiType t;
  t.builtin = std::move(name);
  return t;
}

QapiType object(std::vector<QapiMember> members) {
  QapiType t;
  t.kind = QapiType::Kind::Object;
  t.members = std::move(members);
  return t;
}

QapiType list(QapiType element) {
  QapiType t;
  t.kind = QapiType::Kind::Array;
  t.element.push_back(std::move(element));
  return t;
}

QapiType enumeration(std::vector<std::string> values) {
  QapiType t;
  t.kind = QapiType::Kind::Enum;
  t.values = std::move(values);
  return t;
}

}  // namespace qapi

namespace {

bool has_type(const Json& value, ParamType type) {
  switch (type) {
    case ParamType::String: return value.is_string();
    case ParamType::Integer: return value.is_number_integer();
    case ParamType::Boolean: return value.is_boolean();
    case ParamType::Number: return value.is_number();
    case ParamType::Any: return true;
  }
  return false;
}

}  // namespace

void CommandTable::add(Command command) {
  // A name twice would be listed twice by query-commands and
  // query-qmp-schema, which clients (libvirt) index by name.
  if (find(command.name) != nullptr) throw std::logic_error("QMP command '" + command.name + "' registered twice");
  commands_.push_back(std::move(command));
}

const Command* CommandTable::find(const std::string& name) const {
  for (const Command& c : commands_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Json CommandTable::execute(const std::string& name, const Json& args, CommandContext& context) const {
  const Command* command = find(name);
  if (command == nullptr) throw CommandError("The command " + name + " has not been found", "CommandNotFound");
  if (!args.is_object()) throw CommandError("QMP input member 'arguments' must be an object");
  // QEMU's qobject input visitor: each declared member in order (missing,
  // then wrongly typed), and unknown members last.
  for (const Param& p : command->params) {
    auto it = args.find(p.name);
    if (it == args.end()) {
      if (!p.optional) throw CommandError("Parameter '" + p.name + "' is missing");
      continue;
    }
    if (!has_type(*it, p.type)) {
      throw CommandError("Invalid parameter type for '" + p.name + "', expected: " + param_type_name(p.type));
    }
  }
  for (const auto& [key, value] : args.items()) {
    bool known = false;
    for (const Param& p : command->params) known = known || p.name == key;
    if (!known) throw CommandError("Parameter '" + key + "' is unexpected");
  }
  return command->handler(args, context);
}

std::string string_arg(const Json& args, const char* name, const std::string& fallback) {
  auto it = args.find(name);
  return it != args.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t integer_arg(const Json& args, const char* name, int64_t fallback) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_number_integer()) return fallback;
  if (it->is_number_unsigned()) return static_cast<int64_t>(it->get<uint64_t>());
  return it->get<int64_t>();
}

bool bool_arg(const Json& args, const char* name, bool fallback) {
  auto it = args.find(name);
  return it != args.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace vireo
