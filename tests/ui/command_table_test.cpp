// The command core's argument checking: QEMU's wording for every mistake,
// in QEMU's order.
#include <catch2/catch.hpp>

#include "ui/monitor/command_table.h"

using namespace vireo;

namespace {

CommandTable sample_table() {
  CommandTable table;
  table.add({"memsave",
             {{"val", ParamType::Integer}, {"size", ParamType::Integer}, {"filename", ParamType::String},
              {"flag", ParamType::Boolean, true}},
             [](const Json& args, CommandContext&) { return Json{{"val", integer_arg(args, "val")}}; }});
  return table;
}

std::string error_of(const CommandTable& table, const std::string& name, const Json& args) {
  CommandContext context;
  try {
    table.execute(name, args, context);
  } catch (const CommandError& e) {
    return e.error_class() + ": " + e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("command table: an unknown command is CommandNotFound with QEMU's wording", "[monitor]") {
  CHECK(error_of(sample_table(), "foo", Json::object()) == "CommandNotFound: The command foo has not been found");
}

TEST_CASE("command table: missing, mistyped and unexpected arguments", "[monitor]") {
  CommandTable table = sample_table();
  CHECK(error_of(table, "memsave", {{"size", 1}, {"filename", "f"}}) == "GenericError: Parameter 'val' is missing");
  CHECK(error_of(table, "memsave", {{"val", "x"}, {"size", 1}, {"filename", "f"}}) ==
        "GenericError: Invalid parameter type for 'val', expected: integer");
  CHECK(error_of(table, "memsave", {{"val", 1.5}, {"size", 1}, {"filename", "f"}}) ==
        "GenericError: Invalid parameter type for 'val', expected: integer");
  CHECK(error_of(table, "memsave", {{"val", 1}, {"size", 1}, {"filename", 3}}) ==
        "GenericError: Invalid parameter type for 'filename', expected: string");
  CHECK(error_of(table, "memsave", {{"val", 1}, {"size", 1}, {"filename", "f"}, {"flag", 1}}) ==
        "GenericError: Invalid parameter type for 'flag', expected: boolean");
  CHECK(error_of(table, "memsave", {{"val", 1}, {"size", 1}, {"filename", "f"}, {"bogus", 1}}) ==
        "GenericError: Parameter 'bogus' is unexpected");
  // A missing member is reported before an unexpected one, as QEMU does.
  CHECK(error_of(table, "memsave", {{"bogus", 1}}) == "GenericError: Parameter 'val' is missing");
}

TEST_CASE("command table: valid arguments reach the handler", "[monitor]") {
  CommandTable table = sample_table();
  CommandContext context;
  Json r = table.execute("memsave", {{"val", 4096}, {"size", 1}, {"filename", "f"}}, context);
  CHECK(r["val"] == 4096);
}

TEST_CASE("command table: a name registered twice is a programming error", "[monitor]") {
  CommandTable table = sample_table();
  CHECK_THROWS_AS(table.add({"memsave", {}, [](const Json&, CommandContext&) { return Json::object(); }}),
                  std::logic_error);
  CHECK(table.commands().size() == 1);
}
