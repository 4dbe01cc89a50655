// The HMP line editor: what a line becomes after editing keys, and history.
#include <catch2/catch.hpp>

#include "ui/monitor/line_editor.h"

using namespace vireo;

namespace {

// Feeds `keys`; returns the completed lines.
std::vector<std::string> type(LineEditor& editor, const std::string& keys) {
  std::vector<std::string> lines;
  for (char c : keys) {
    std::optional<std::string> line;
    editor.feed(c, line);
    if (line) lines.push_back(*line);
  }
  return lines;
}

}  // namespace

TEST_CASE("line editor: characters are echoed and Enter completes the line", "[monitor]") {
  LineEditor editor;
  std::optional<std::string> line;
  CHECK(editor.feed('i', line) == "i");
  CHECK(type(editor, "nfo status\r") == std::vector<std::string>{"info status"});
}

TEST_CASE("line editor: CR LF is one line, not two", "[monitor]") {
  LineEditor editor;
  CHECK(type(editor, "stop\r\ncont\n") == std::vector<std::string>{"stop", "cont"});
}

TEST_CASE("line editor: backspace, cursor movement, insert in the middle, kill keys", "[monitor]") {
  LineEditor editor;
  CHECK(type(editor, "infx\x7fo\r") == std::vector<std::string>{"info"});
  CHECK(type(editor, "ifo\033[D\033[Dn\r") == std::vector<std::string>{"info"});
  CHECK(type(editor, "abc\x01X\x05Y\r") == std::vector<std::string>{"XabcY"});
  CHECK(type(editor, "hello world\x17there\r") == std::vector<std::string>{"hello there"});
  CHECK(type(editor, "junk\x15ok\r") == std::vector<std::string>{"ok"});
  CHECK(type(editor, "abcd\033[D\033[D\x0b\r") == std::vector<std::string>{"ab"});
  CHECK(type(editor, "abcd\033[1~\033[3~\r") == std::vector<std::string>{"bcd"});
}

TEST_CASE("line editor: up and down walk the history and return to the typed line", "[monitor]") {
  LineEditor editor;
  type(editor, "first\rsecond\r");
  CHECK(type(editor, "\033[A\r") == std::vector<std::string>{"second"});
  CHECK(type(editor, "\033[A\033[A\033[A\r") == std::vector<std::string>{"first"});
  CHECK(type(editor, "new\033[A\033[B\r") == std::vector<std::string>{"new"});
}

TEST_CASE("line editor: a line is capped at kMaxLineBytes", "[monitor]") {
  LineEditor editor;
  auto lines = type(editor, std::string(LineEditor::kMaxLineBytes + 100, 'a') + "\r");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].size() == LineEditor::kMaxLineBytes);
}
