// The human monitor's line editing on a raw terminal (or socket): typed
// characters are echoed, and the usual keys work — Backspace, Delete,
// Left/Right, Home/End (also Ctrl-A/Ctrl-E), Ctrl-K, Ctrl-U, Ctrl-W, and
// Up/Down through the history of earlier lines. Keys arrive as bytes:
// the VT100/xterm sequences ESC [ A..D, ESC [ H/F, ESC O H/F, ESC [ 1~/4~/3~.
//
// Threads: one per client, used by the thread that reads its input.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>

namespace vireo {

class LineEditor {
 public:
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr size_t kMaxHistory = 100;

  // Takes one input byte. Returns what to write back to the terminal (echo
  // and cursor movement); sets `line` when Enter completes one.
  std::string feed(char c, std::optional<std::string>& line);

 private:
  std::string redraw_from(size_t position, size_t old_length);
  std::string replace_line(const std::string& text);

  std::string buffer_;
  size_t cursor_ = 0;
  enum class Escape { None, Esc, Csi, Ss3 } escape_ = Escape::None;
  std::string csi_params_;
  std::deque<std::string> history_;
  size_t history_pos_ = 0;  // == history_.size(): the line being typed
  std::string typed_;       // the line being typed, kept while browsing
  bool last_was_cr_ = false;  // "\r\n" ends one line, not two
};

}  // namespace vireo
