// Fuzz target: the monitor's input parsers. The bytes go, as a client's
// stream, to a QMP session (JSON streamer, request checks, argument
// checks of the command table) and to the HMP line editor and command
// parser over a fake machine. Every reply must be one JSON object per
// line; nothing may crash or throw.
//
// Commands that write files (memsave, pmemsave, screendump) are kept out:
// a fuzzer must not write where its input says.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/ui/fake_target.h"
#include "ui/monitor/line_editor.h"
#include "ui/monitor/monitor_core.h"
#include "ui/monitor/qmp_session.h"

namespace {

struct Shared {
  vireo::test::FakeTarget target;
  vireo::MonitorCore core{target};
};

Shared& shared() {
  static Shared* s = new Shared;  // lives for the process; never destroyed mid-run
  return *s;
}

bool writes_files(const std::string& text) {
  return text.find("memsave") != std::string::npos || text.find("screendump") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vireo;
  std::string input(reinterpret_cast<const char*>(data), size);
  Shared& s = shared();

  if (!writes_files(input)) {
    QmpSession session(s.core.table(), monitor_version());
    std::vector<std::function<void()>> after_reply;  // never run: no quit
    // Negotiated, so commands reach the table; in two pieces, so messages
    // split across reads are exercised too.
    session.receive("{\"execute\":\"qmp_capabilities\"}", after_reply);
    std::string out = session.receive(input.substr(0, size / 2), after_reply);
    out += session.receive(input.substr(size / 2), after_reply);
    size_t start = 0;
    while (start < out.size()) {
      size_t end = out.find("\r\n", start);
      if (end == std::string::npos) std::abort();  // every reply ends in CRLF
      Json reply = Json::parse(out.substr(start, end - start), nullptr, false);
      if (!reply.is_object() || !(reply.contains("return") || reply.contains("error"))) std::abort();
      start = end + 2;
    }
  }

  LineEditor editor;
  CommandContext context;
  for (char c : input) {
    std::optional<std::string> line;
    editor.feed(c, line);
    if (line && !writes_files(*line)) s.core.hmp().execute(*line, context);
  }
  return 0;
}
