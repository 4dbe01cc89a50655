// The monitor's command core: one table of commands that both front ends
// call. QMP hands it a command name and JSON arguments; HMP parses its
// human syntax into the same JSON and formats the JSON reply for humans.
//
// A handler returns the command's JSON result or throws CommandError with
// one of QMP's error classes (qapi/error.json: GenericError,
// CommandNotFound, DeviceNotFound, ...). Arguments are checked against the
// command's declared parameters before the handler runs, with QEMU's
// wording for each mistake.
//
// Threads: the table is built before the monitor starts serving and is
// read-only afterwards; handlers run on the monitor's thread.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vireo {

// Keeps keys in the order written, as QEMU's replies have them.
using Json = nlohmann::ordered_json;

class CommandError : public std::runtime_error {
 public:
  explicit CommandError(const std::string& desc, std::string error_class = "GenericError")
      : std::runtime_error(desc), error_class_(std::move(error_class)) {}
  const std::string& error_class() const { return error_class_; }

 private:
  std::string error_class_;
};

enum class ParamType { String, Integer, Boolean, Number, Any };
const char* param_type_name(ParamType type);  // QEMU's: "string", "integer", ...

struct Param {
  std::string name;
  ParamType type;
  bool optional = false;
};

// A QAPI type, as query-qmp-schema describes it (QEMU's qapi/introspect.json):
// what a command returns or an event carries. Built with the qapi:: helpers
// below; the schema is generated from these and the commands' Params.
struct QapiMember;
struct QapiType {
  enum class Kind { Builtin, Object, Array, Enum };
  Kind kind = Kind::Builtin;
  std::string builtin = "any";       // Builtin: "str", "int", "bool", "number", "null", "any"
  std::vector<QapiMember> members;   // Object
  std::vector<QapiType> element;     // Array: exactly one
  std::vector<std::string> values;   // Enum
};
struct QapiMember {
  std::string name;
  QapiType type;
  bool optional = false;
};

namespace qapi {
QapiType builtin(std::string name);
inline QapiType str() { return builtin("str"); }
inline QapiType integer() { return builtin("int"); }
inline QapiType boolean() { return builtin("bool"); }
inline QapiType number() { return builtin("number"); }
inline QapiType any() { return builtin("any"); }
QapiType object(std::vector<QapiMember> members);
QapiType list(QapiType element);
QapiType enumeration(std::vector<std::string> values);
// What a command with nothing to return gives back: {} (QEMU's empty object).
inline QapiType nothing() { return object({}); }
}  // namespace qapi

// What a handler may ask of the front end that called it.
struct CommandContext {
  // Runs after the reply went out (quit: the reply first, then the exit).
  std::function<void()> after_reply;
  // The vCPU HMP commands act on (QEMU's "current CPU", cpu-index).
  unsigned cpu_index = 0;
};

struct Command {
  std::string name;
  std::vector<Param> params;
  std::function<Json(const Json& args, CommandContext& context)> handler;
  // The reply's type for query-qmp-schema; "any" when a command does not say.
  QapiType returns = qapi::any();
};

class CommandTable {
 public:
  // Throws std::logic_error if a command of that name is already there.
  void add(Command command);
  const Command* find(const std::string& name) const;
  const std::vector<Command>& commands() const { return commands_; }

  // Checks `args` (an object) against the command's parameters and runs it.
  // Throws CommandError: CommandNotFound for an unknown name, GenericError
  // for argument mistakes and whatever the handler throws.
  Json execute(const std::string& name, const Json& args, CommandContext& context) const;

 private:
  std::vector<Command> commands_;
};

// Argument accessors for handlers (types were checked by execute()).
std::string string_arg(const Json& args, const char* name, const std::string& fallback = "");
int64_t integer_arg(const Json& args, const char* name, int64_t fallback = 0);
bool bool_arg(const Json& args, const char* name, bool fallback = false);

}  // namespace vireo
