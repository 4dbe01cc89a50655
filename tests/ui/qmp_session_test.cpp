// The QMP protocol over the command core with a fake machine: greeting,
// negotiation, request shapes, ids, errors, events, and bad input.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>

#include "tests/ui/fake_target.h"
#include "ui/monitor/monitor_core.h"
#include "ui/monitor/qmp_session.h"

using namespace vireo;

namespace {

struct Fixture {
  test::FakeTarget target;
  MonitorCore core{target};
  QmpSession session{core.table(), monitor_version()};
  std::vector<std::function<void()>> after;

  // Sends text; returns the parsed replies.
  std::vector<Json> send(const std::string& text) {
    std::string out = session.receive(text, after);
    std::vector<Json> replies;
    size_t start = 0;
    while (start < out.size()) {
      size_t end = out.find("\r\n", start);
      REQUIRE(end != std::string::npos);
      replies.push_back(Json::parse(out.substr(start, end - start)));
      start = end + 2;
    }
    return replies;
  }
  Json one(const std::string& text) {
    auto r = send(text);
    REQUIRE(r.size() == 1);
    return r[0];
  }
  void negotiate() { REQUIRE(one(R"({"execute":"qmp_capabilities"})").contains("return")); }
};

}  // namespace

TEST_CASE("qmp: the greeting has QEMU's shape", "[monitor]") {
  Fixture f;
  std::string g = f.session.greeting();
  REQUIRE(g.size() > 2);
  CHECK(g.substr(g.size() - 2) == "\r\n");
  Json greeting = Json::parse(g);
  CHECK(greeting["QMP"]["version"]["qemu"]["major"] == 7);
  CHECK(greeting["QMP"]["capabilities"].is_array());
}

TEST_CASE("qmp: commands before qmp_capabilities are refused as QEMU does", "[monitor]") {
  Fixture f;
  Json r = f.one(R"({"execute":"query-status","id":7})");
  CHECK(r["error"]["class"] == "CommandNotFound");
  CHECK(r["error"]["desc"] == "Expecting capabilities negotiation with 'qmp_capabilities'");
  CHECK(r["id"] == 7);
  f.negotiate();
  Json again = f.one(R"({"execute":"qmp_capabilities"})");
  CHECK(again["error"]["class"] == "CommandNotFound");
}

TEST_CASE("qmp: query-status follows stop and cont, with id echoed and events first", "[monitor]") {
  Fixture f;
  f.negotiate();
  Json status = f.one(R"({"execute":"query-status","id":"a"})");
  CHECK(status["return"]["status"] == "prelaunch");
  CHECK(status["return"]["running"] == false);
  CHECK(status["id"] == "a");
  CHECK(f.one(R"({"execute":"cont"})")["return"] == Json::object());
  CHECK(f.one(R"({"execute":"query-status"})")["return"]["status"] == "running");
  CHECK(f.one(R"({"execute":"stop","id":{"nested":[1]}})")["id"]["nested"][0] == 1);
  CHECK(f.one(R"({"execute":"query-status"})")["return"]["status"] == "paused");
}

TEST_CASE("qmp: events are formatted with seconds and microseconds", "[monitor]") {
  MachineEvent e{MachineEvent::Kind::Shutdown, false, "host-qmp-quit", 1'700'000'000'123'456};
  Json j = Json::parse(QmpSession::format_event(e));
  CHECK(j["event"] == "SHUTDOWN");
  CHECK(j["timestamp"]["seconds"] == 1'700'000'000);
  CHECK(j["timestamp"]["microseconds"] == 123'456);
  CHECK(j["data"]["guest"] == false);
  CHECK(j["data"]["reason"] == "host-qmp-quit");
  Json stop = Json::parse(QmpSession::format_event({MachineEvent::Kind::Stop}));
  CHECK_FALSE(stop.contains("data"));
}

TEST_CASE("qmp: malformed requests get QEMU's GenericError replies", "[monitor]") {
  Fixture f;
  f.negotiate();
  CHECK(f.one("[]\n")["error"]["desc"] == "QMP input must be a JSON object");
  CHECK(f.one(R"({"execute":1})")["error"]["desc"] == "QMP input member 'execute' must be a string");
  Json lacks = f.one(R"({"id":3})");
  CHECK(lacks["error"]["desc"] == "QMP input lacks member 'execute'");
  CHECK(lacks["id"] == 3);
  CHECK(f.one(R"({"execute":"stop","arguments":[]})")["error"]["desc"] ==
        "QMP input member 'arguments' must be an object");
  CHECK(f.one(R"({"execute":"stop","extra":1})")["error"]["desc"] == "QMP input member 'extra' is unexpected");
  Json bad = f.one("{bad\n");
  CHECK(bad["error"]["class"] == "GenericError");
  CHECK(bad["error"]["desc"].get<std::string>().rfind("JSON parse error, ", 0) == 0);
  CHECK(f.one("garbage\n")["error"]["desc"].get<std::string>().rfind("JSON parse error, ", 0) == 0);
  // The session still works afterwards.
  CHECK(f.one(R"({"execute":"query-name"})")["return"] == Json::object());
}

TEST_CASE("qmp: messages split across reads, several in one read, no newline needed", "[monitor]") {
  Fixture f;
  CHECK(f.send(R"({"execute":"qmp_capa)").empty());
  CHECK(f.send(R"(bilities"})").size() == 1);
  auto two = f.send(R"({"execute":"query-kvm"}{"execute":"query-name", "id": "}{"})");
  REQUIRE(two.size() == 2);
  CHECK(two[0]["return"]["enabled"] == false);
  CHECK(two[1]["id"] == "}{");
}

TEST_CASE("qmp: an oversized message is refused and the session goes on", "[monitor]") {
  Fixture f;
  f.negotiate();
  std::string huge = R"({"execute":"query-name","id":")" + std::string(JsonStreamer::kMaxMessageBytes + 10, 'a') + "\"}";
  auto r = f.send(huge);
  REQUIRE(r.size() == 1);
  CHECK(r[0]["error"]["class"] == "GenericError");
  CHECK(f.one(R"({"execute":"query-name"})").contains("return"));
  std::string deep(2000, '[');
  auto d = f.send(deep + std::string(2000, ']'));
  REQUIRE(d.size() == 1);
  CHECK(d[0]["error"]["class"] == "GenericError");
  CHECK(f.one(R"({"execute":"query-name"})").contains("return"));
}

TEST_CASE("qmp: quit replies first and asks the machine to exit afterwards", "[monitor]") {
  Fixture f;
  f.negotiate();
  CHECK(f.one(R"({"execute":"quit"})")["return"] == Json::object());
  REQUIRE(f.after.size() == 1);
  CHECK(f.target.control().status() == RunState::Prelaunch);  // nothing happened yet
}

TEST_CASE("qmp: query-commands lists the table, system_reset and powerdown reach the machine", "[monitor]") {
  Fixture f;
  f.negotiate();
  Json commands = f.one(R"({"execute":"query-commands"})")["return"];
  bool has_cont = false;
  for (const Json& c : commands) has_cont = has_cont || c["name"] == "cont";
  CHECK(has_cont);
  f.one(R"({"execute":"system_reset"})");
  CHECK(f.target.resets == 1);
  f.one(R"({"execute":"system_powerdown"})");
  CHECK(f.target.power_button_presses == 1);
  CHECK(f.one(R"({"execute":"send-key","arguments":{"keys":[]}})")["error"]["class"] == "GenericError");
}

TEST_CASE("qmp: pmemsave writes guest memory to a file; a bad range is refused", "[monitor]") {
  Fixture f;
  f.negotiate();
  for (int i = 0; i < 16; ++i) f.target.ram()[0x2000 + i] = static_cast<uint8_t>(0xa0 + i);
  std::string path = "/tmp/vireo-pmemsave-test-" + std::to_string(getpid());
  Json r = f.one(R"({"execute":"pmemsave","arguments":{"val":8192,"size":16,"filename":")" + path + "\"}}");
  CHECK(r["return"] == Json::object());
  FILE* file = std::fopen(path.c_str(), "rb");
  REQUIRE(file != nullptr);
  uint8_t bytes[32];
  size_t n = std::fread(bytes, 1, sizeof bytes, file);
  std::fclose(file);
  std::remove(path.c_str());
  REQUIRE(n == 16);
  CHECK(bytes[0] == 0xa0);
  CHECK(bytes[15] == 0xaf);
  Json bad = f.one(R"({"execute":"pmemsave","arguments":{"val":1,"size":-1,"filename":")" + path + "\"}}");
  CHECK(bad["error"]["desc"] == "Invalid addr 0x0000000000000001/size -1 specified");
  Json huge = f.one(R"({"execute":"pmemsave","arguments":{"val":0,"size":1152921504606846976,"filename":")" + path + "\"}}");
  CHECK(huge["error"]["desc"] == "Invalid addr 0x0000000000000000/size 1152921504606846976 specified");
}
