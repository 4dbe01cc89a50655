// One QMP client's protocol state, independent of how its bytes travel:
// QEMU's wire protocol (docs/interop/qmp-spec.rst). The session sends the
// greeting, insists on qmp_capabilities before anything else, splits the
// byte stream into JSON messages, checks each request's shape and runs it
// on the command table, and formats replies and events.
//
// Messages are found as QEMU's JSON streamer finds them: by bracket depth
// (outside strings), so a request need not end with a newline. Text that is
// not inside braces is a parse error up to the next newline, and so is a
// message with a character no JSON token contains. A message
// longer than kMaxMessageBytes is refused and skipped up to its end, so a
// client cannot make the monitor hold unbounded input.
//
// Threads: one session belongs to one client and is used by one thread at
// a time (the monitor's); it has no locks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hw/core/run_control.h"
#include "ui/monitor/command_table.h"

namespace vireo {

// Splits a byte stream into JSON texts by bracket depth.
class JsonStreamer {
 public:
  static constexpr size_t kMaxMessageBytes = 1 << 20;
  static constexpr unsigned kMaxDepth = 1024;  // QEMU's MAX_NESTING

  struct Piece {
    std::string text;
    bool error = false;  // too long or too deep: `text` says why
  };
  // Appends bytes; returns the complete messages (and errors) they finish.
  std::vector<Piece> feed(std::string_view bytes);

 private:
  std::string buffer_;
  unsigned depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  bool garbage_ = false;   // depth 0 and not whitespace: until newline
  bool skipping_ = false;  // an oversized message: drop until it ends
  bool skip_line_ = false;  // after a lexical error: drop until newline
};

class QmpSession {
 public:
  QmpSession(const CommandTable& table, Json version) : table_(table), version_(std::move(version)) {}

  std::string greeting() const;

  // Feeds client bytes; returns the reply lines (each ending in "\r\n", as
  // QEMU's) and collects post-reply actions into `after_reply`.
  std::string receive(std::string_view bytes, std::vector<std::function<void()>>& after_reply);

  // Handles one complete JSON text; returns the reply line or "".
  std::string handle_message(const std::string& text, std::vector<std::function<void()>>& after_reply);

  // Events go only to sessions past capability negotiation.
  bool wants_events() const { return negotiated_; }
  static std::string format_event(const MachineEvent& event);

  bool pretty = false;

 private:
  std::string reply(Json message) const;

  const CommandTable& table_;
  Json version_;
  JsonStreamer streamer_;
  bool negotiated_ = false;
};

}  // namespace vireo
