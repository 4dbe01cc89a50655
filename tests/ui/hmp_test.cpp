// HMP commands over the shared core: output as QEMU formats it.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/ui/fake_target.h"
#include "ui/monitor/monitor_core.h"

using namespace vireo;

namespace {

struct Fixture {
  test::FakeTarget target;
  MonitorCore core{target};
  CommandContext context;
  std::string run(const std::string& line) { return core.hmp().execute(line, context); }
};

}  // namespace

TEST_CASE("hmp: info status follows the run state", "[monitor]") {
  Fixture f;
  CHECK(f.run("info status") == "VM status: paused (prelaunch)\n");
  CHECK(f.run("cont").empty());
  CHECK(f.run("info status") == "VM status: running\n");
  f.run("stop");
  CHECK(f.run("info status") == "VM status: paused\n");
}

TEST_CASE("hmp: help lists commands; help cmd shows one; unknown commands say so", "[monitor]") {
  Fixture f;
  std::string help = f.run("help");
  CHECK(help.find("info [subcommand] -- ") != std::string::npos);
  CHECK(help.find("x /fmt addr -- ") != std::string::npos);
  CHECK(f.run("help stop") == "stop -- stop emulation\n");
  CHECK(f.run("help info").find("info status -- ") != std::string::npos);
  CHECK(f.run("frobnicate") == "unknown command: 'frobnicate'\n");
}

TEST_CASE("hmp: xp dumps physical memory in QEMU's /fmt layout", "[monitor]") {
  Fixture f;
  const uint8_t bytes[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x41};
  std::memcpy(f.target.ram() + 0x1000, bytes, sizeof bytes);
  CHECK(f.run("xp /4xb 0x1000") == "0000000000001000: 0x11 0x22 0x33 0x44\n");
  CHECK(f.run("xp /2xw 0x1000") == "0000000000001000: 0x44332211 0x88776655\n");
  CHECK(f.run("xp/1xg 0x1000") == "0000000000001000: 0x8877665544332211\n");
  CHECK(f.run("xp /9xb 0x1000") ==
        "0000000000001000: 0x11 0x22 0x33 0x44 0x55 0x66 0x77 0x88\n0000000000001008: 0x99\n");
  CHECK(f.run("xp /1db 0x1008") == "0000000000001008: -103\n");
  CHECK(f.run("xp /1c 0x1009") == "0000000000001009: 'A'\n");
  CHECK(f.run("xp /1xb 0x200000") == "0000000000200000: Cannot access memory\n");
  CHECK(f.run("xp /4z 0") == "Error: invalid char in format: 'z'\n");
}

TEST_CASE("hmp: x goes through the current CPU's paging; real mode is identity", "[monitor]") {
  Fixture f;
  f.target.ram()[0x500] = 0x5a;
  CHECK(f.run("x /1xb 0x500") == "0000000000000500: 0x5a\n");
}

TEST_CASE("hmp: x/i disassembles in the vCPU's code size", "[monitor]") {
  Fixture f;
  // 31 c0 = xor eax, eax; 90 = nop; in 16-bit real mode (the reset state).
  const uint8_t code[] = {0x31, 0xc0, 0x90};
  std::memcpy(f.target.ram() + 0x7c00, code, sizeof code);
  std::string out = f.run("x /2i 0x7c00");
  CHECK(out.find("0x0000000000007c00:  xor") != std::string::npos);
  CHECK(out.find("0x0000000000007c02:  nop") != std::string::npos);
}

TEST_CASE("hmp: info cpus marks the current CPU; cpu switches it", "[monitor]") {
  Fixture f;
  CHECK(f.run("info cpus") == "* CPU #0: thread_id=1000\n  CPU #1: thread_id=1001\n");
  CHECK(f.run("cpu 1").empty());
  CHECK(f.run("info cpus") == "  CPU #0: thread_id=1000\n* CPU #1: thread_id=1001\n");
  CHECK(f.run("cpu 5") == "Error: invalid CPU index\n");
}

TEST_CASE("hmp: info registers shows the current vCPU, -a all of them", "[monitor]") {
  Fixture f;
  f.target.states[0].rip = 0xfff0;
  f.target.states[1].gpr[kRbx] = 0x1234;
  std::string one = f.run("info registers");
  CHECK(one.find("RIP=000000000000fff0") != std::string::npos);
  CHECK(one.find("CPU#") == std::string::npos);
  std::string all = f.run("info registers -a");
  CHECK(all.find("CPU#1") != std::string::npos);
  CHECK(all.find("RBX=0000000000001234") != std::string::npos);
}

TEST_CASE("hmp: info version, kvm, name, chardev, mtree", "[monitor]") {
  Fixture f;
  CHECK(f.run("info version") == "7.2.0 (vireo 0.1.0)\n");
  CHECK(f.run("info kvm") == "kvm support: disabled\n");
  CHECK(f.run("info name").empty());
  f.target.name = "guest1";
  CHECK(f.run("info name") == "guest1\n");
  CHECK(f.run("info chardev") == "serial0: filename=stdio\n");
  std::string mtree = f.run("info mtree");
  CHECK(mtree.find("0000000000000000-00000000000fffff (prio 0, ram): pc.ram") != std::string::npos);
  CHECK(mtree.find("00000000000003f8-00000000000003ff (prio 0, i/o): serial") != std::string::npos);
}

TEST_CASE("hmp: subsystems vireo lacks give clear errors", "[monitor]") {
  Fixture f;
  CHECK(f.run("info pci").rfind("Error: ", 0) == 0);
  CHECK(f.run("screendump /tmp/x.ppm").rfind("Error: ", 0) == 0);
  CHECK(f.run("sendkey ctrl-alt-f1").rfind("Error: ", 0) == 0);
}

TEST_CASE("hmp: human-monitor-command runs HMP through QMP with CRLF lines", "[monitor]") {
  Fixture f;
  CommandContext context;
  Json r = f.core.table().execute("human-monitor-command", {{"command-line", "info status"}}, context);
  CHECK(r == "VM status: paused (prelaunch)\r\n");
}
