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
  CHECK(f.run("screendump /tmp/x.ppm").rfind("Error: ", 0) == 0);
  CHECK(f.run("sendkey ctrl-alt-f1").rfind("Error: ", 0) == 0);
}

TEST_CASE("hmp: human-monitor-command runs HMP through QMP with CRLF lines", "[monitor]") {
  Fixture f;
  CommandContext context;
  Json r = f.core.table().execute("human-monitor-command", {{"command-line", "info status"}}, context);
  CHECK(r == "VM status: paused (prelaunch)\r\n");
}

namespace {

// The pc's host bridge and a virtio-blk-pci function with an I/O BAR and a
// 64-bit prefetchable one, and its disk after some I/O.
void add_pc_devices(test::FakeTarget& target) {
  target.pci.push_back({0, 0, 0, 0x0600, 0x8086, 0x1237, 0x1af4, 0x1100, 0, 0, "", {}});
  target.pci.push_back({0, 2, 0, 0x0100, 0x1af4, 0x1001, 0x1af4, 0x0002, 11, 1, "disk0",
                        {{0, true, false, false, 0xc000, 0x80}, {4, false, true, true, -1, 0x4000}}});
  BlockStatsSnapshot stats;
  stats.read = {4096, 2, 0, 1, 1500};
  stats.write = {512, 1, 0, 0, 700};
  stats.flush = {0, 3, 0, 0, 90};
  stats.last_io_ns = BlockAccounting::now_ns();
  target.disks.push_back({"virtio0", "#block100", "/machine/peripheral-anon/device[0]/virtio-backend", "/tmp/d.img",
                          "raw", true, "none", 8 << 20, 4096, stats});
}

}  // namespace

TEST_CASE("hmp: info pci lists functions, IRQ pins and BARs as QEMU does", "[monitor]") {
  Fixture f;
  add_pc_devices(f.target);
  CHECK(f.run("info pci") ==
        "  Bus  0, device   0, function 0:\n"
        "    Host bridge: PCI device 8086:1237\n"
        "      PCI subsystem 1af4:1100\n"
        "      id \"\"\n"
        "  Bus  0, device   2, function 0:\n"
        "    SCSI controller: PCI device 1af4:1001\n"
        "      PCI subsystem 1af4:0002\n"
        "      IRQ 11, pin A\n"
        "      BAR0: I/O at 0xc000 [0xc07f].\n"
        "      BAR4: 64 bit prefetchable memory at 0xffffffffffffffff [0x00003ffe].\n"
        "      id \"disk0\"\n");
}

TEST_CASE("hmp: info block and info blockstats", "[monitor]") {
  Fixture f;
  add_pc_devices(f.target);
  CHECK(f.run("info block") ==
        "virtio0 (#block100): /tmp/d.img (raw, read-only)\n"
        "    Attached to:      /machine/peripheral-anon/device[0]/virtio-backend\n"
        "    Cache mode:       writeback, direct\n");
  std::string stats = f.run("info blockstats");
  CHECK(stats.rfind("virtio0: rd_bytes=4096 wr_bytes=512 rd_operations=2 wr_operations=1 flush_operations=3 "
                    "wr_total_time_ns=700 rd_total_time_ns=1500 flush_total_time_ns=90 rd_merged=0 wr_merged=0 "
                    "idle_time_ns=",
                    0) == 0);
  CHECK(stats.back() == '\n');
}

TEST_CASE("qmp: query-pci, query-block and query-blockstats replies", "[monitor]") {
  Fixture f;
  add_pc_devices(f.target);
  CommandContext context;
  Json pci = f.core.table().execute("query-pci", Json::object(), context);
  REQUIRE(pci.size() == 1);
  const Json& devices = pci[0]["devices"];
  REQUIRE(devices.size() == 2);
  CHECK_FALSE(devices[0].contains("irq"));  // no INTx# pin
  CHECK(devices[0]["class_info"] == Json{{"class", 0x0600}, {"desc", "Host bridge"}});
  CHECK(devices[1]["irq"] == 11);
  CHECK(devices[1]["qdev_id"] == "disk0");
  CHECK(devices[1]["regions"][0] == Json{{"bar", 0}, {"type", "io"}, {"address", 0xc000}, {"size", 0x80}});
  CHECK(devices[1]["regions"][1]["address"] == -1);
  CHECK(devices[1]["regions"][1]["mem_type_64"] == true);

  Json block = f.core.table().execute("query-block", Json::object(), context);
  REQUIRE(block.size() == 1);
  CHECK(block[0]["device"] == "virtio0");
  CHECK(block[0]["inserted"]["ro"] == true);
  CHECK(block[0]["inserted"]["image"]["virtual-size"] == 8 << 20);
  CHECK(block[0]["inserted"]["cache"] == Json{{"writeback", true}, {"direct", true}, {"no-flush", false}});

  Json stats = f.core.table().execute("query-blockstats", Json::object(), context);
  REQUIRE(stats.size() == 1);
  CHECK(stats[0]["stats"]["rd_bytes"] == 4096);
  CHECK(stats[0]["stats"]["invalid_rd_operations"] == 1);
  CHECK(stats[0]["stats"]["idle_time_ns"].get<int64_t>() >= 0);
  CHECK(stats[0]["parent"]["stats"]["invalid_rd_operations"] == 0);  // the file node does not account them
  CHECK(stats[0]["parent"]["stats"]["rd_bytes"] == 4096);
}
