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
  CHECK(f.run("x /2i 0x7c00") ==
        "0x00007c00:  31 c0                    xorw     %ax, %ax\n"
        "0x00007c02:  90                       nop      \n");
  // The same bytes in a 32-bit code segment.
  f.target.states[0].segment[kCs].db = true;
  CHECK(f.run("x /1i 0x7c00") == "0x00007c00:  31 c0                    xorl     %eax, %eax\n");
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
  CHECK(one.rfind("\nCPU#0\nEAX=", 0) == 0);
  CHECK(one.find("EIP=0000fff0") != std::string::npos);
  CHECK(one.find("CPU#1") == std::string::npos);
  std::string all = f.run("info registers -a");
  CHECK(all.find("\nCPU#1\n") != std::string::npos);
  CHECK(all.find("EBX=00001234") != std::string::npos);
  f.context.cpu_index = 1;
  CHECK(f.run("info registers").rfind("\nCPU#1\n", 0) == 0);
  CHECK(f.run("info registers -x").rfind("Error: ", 0) == 0);
}

// QEMU 7.2's own output (qemu-system-x86_64 -M pc -S -accel tcg, "info
// registers" before the first instruction) for the RESET state.
TEST_CASE("hmp: info registers at RESET is QEMU's text", "[monitor]") {
  Fixture f;
  f.target.states[0] = power_on_cpu_state(0x60fb1, true);
  CHECK(f.run("info registers") ==
        "\nCPU#0\n"
        "EAX=00000000 EBX=00000000 ECX=00000000 EDX=00060fb1\n"
        "ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000\n"
        "EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\n"
        "ES =0000 00000000 0000ffff 00009300\n"
        "CS =f000 ffff0000 0000ffff 00009b00\n"
        "SS =0000 00000000 0000ffff 00009300\n"
        "DS =0000 00000000 0000ffff 00009300\n"
        "FS =0000 00000000 0000ffff 00009300\n"
        "GS =0000 00000000 0000ffff 00009300\n"
        "LDT=0000 00000000 0000ffff 00008200\n"
        "TR =0000 00000000 0000ffff 00008b00\n"
        "GDT=     00000000 0000ffff\n"
        "IDT=     00000000 0000ffff\n"
        "CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000\n"
        "DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 \n"
        "DR6=00000000ffff0ff0 DR7=0000000000000400\n"
        "EFER=0000000000000000\n"
        "FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n"
        "FPR0=0000000000000000 0000 FPR1=0000000000000000 0000\n"
        "FPR2=0000000000000000 0000 FPR3=0000000000000000 0000\n"
        "FPR4=0000000000000000 0000 FPR5=0000000000000000 0000\n"
        "FPR6=0000000000000000 0000 FPR7=0000000000000000 0000\n"
        "XMM00=0000000000000000 0000000000000000 XMM01=0000000000000000 0000000000000000\n"
        "XMM02=0000000000000000 0000000000000000 XMM03=0000000000000000 0000000000000000\n"
        "XMM04=0000000000000000 0000000000000000 XMM05=0000000000000000 0000000000000000\n"
        "XMM06=0000000000000000 0000000000000000 XMM07=0000000000000000 0000000000000000\n");
}

// A 64-bit kernel's state, worded as QEMU prints one: 64-bit registers,
// flag letters, segments with DPL and type, system descriptors' names.
TEST_CASE("hmp: info registers in long mode", "[monitor]") {
  Fixture f;
  X86CpuState& s = f.target.states[0];
  s.efer = kEferLme | kEferLma | kEferSce;
  s.cr0 = 0x80050033;
  s.cr4 = 0x6f0;
  s.cr3 = 0x1234000;
  s.rip = 0xffffffff81000000;
  s.rflags = 0x246 | (1u << 11) | 1;  // IF, ZF, PF, OF, CF
  s.gpr[kRax] = 1;
  s.gpr[kR8] = 0x88;
  for (SegmentCache& c : s.segment) c = {0, 0xffffffff, 0x18, 3, 0, true, true, true, false, true, false, false};
  s.segment[kCs] = {0, 0xffffffff, 0x10, 0xb, 0, true, true, false, true, true, false, false};
  s.tr = {0xfffffe0000003000, 0x4087, 0x40, 0xb, 0, true, false, false, false, false, false, false};
  s.ldtr = {0, 0, 0, 2, 0, false, false, false, false, false, false, true};
  s.gdtr = {0xfffffe0000001000, 0x7f};
  f.target.dumps[0].halted = true;
  f.target.dumps[0].xmm[15][1] = 0xabcdef;
  std::string out = f.run("info registers");
  CHECK(out.find("RAX=0000000000000001 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000\n") != std::string::npos);
  CHECK(out.find("R8 =0000000000000088 R9 =0000000000000000") != std::string::npos);
  CHECK(out.find("RIP=ffffffff81000000 RFL=00000a47 [-O-Z-PC] CPL=0 II=0 A20=1 SMM=0 HLT=1\n") != std::string::npos);
  CHECK(out.find("CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]\n") != std::string::npos);
  CHECK(out.find("DS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n") != std::string::npos);
  CHECK(out.find("TR =0040 fffffe0000003000 00004087 00008b00 DPL=0 TSS64-busy\n") != std::string::npos);
  CHECK(out.find("GDT=     fffffe0000001000 0000007f\n") != std::string::npos);
  CHECK(out.find("CR0=80050033 CR2=0000000000000000 CR3=0000000001234000 CR4=000006f0\n") != std::string::npos);
  CHECK(out.find("EFER=0000000000000501\n") != std::string::npos);
  CHECK(out.find("XMM14=0000000000000000 0000000000000000 XMM15=0000000000abcdef 0000000000000000\n") != std::string::npos);
  // With AVX enabled in XCR0 (a kvm vCPU), whole YMM registers, one a line.
  f.target.dumps[0].xcr0 = 7;
  f.target.dumps[0].ymm_high[15][0] = 0x1111;
  f.target.dumps[0].ymm_high[15][1] = 0x2222;
  out = f.run("info registers");
  CHECK(out.find("YMM15=0000000000002222 0000000000001111 0000000000abcdef 0000000000000000\n") != std::string::npos);
  CHECK(out.find("XMM") == std::string::npos);
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
  target.disks.push_back({"virtio0", "#block100", "#block100-file", "/machine/peripheral-anon/device[0]/virtio-backend", "/tmp/d.img",
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

TEST_CASE("hmp: info qtree prints buses and devices in QEMU's layout", "[monitor]") {
  Fixture f;
  DeviceTreeDevice blk{"virtio-blk-device", "", {tree_string("drive", "d0"), tree_size("logical_block_size", 512)}, {}};
  DeviceTreeDevice pci_function{"virtio-blk-pci", "vd0", {"addr = 05.0"}, {{"virtio-bus", "virtio-pci-bus", {blk}}}};
  DeviceTreeDevice host{"i440FX-pcihost", "", {}, {{"pci.0", "PCI", {pci_function}}}};
  f.target.tree.devices = {DeviceTreeDevice{"hpet", "", {tree_uint("timers", 3), tree_mmio(0xfed00000, 0x400)}, {}}, host};
  CHECK(f.run("info qtree") ==
        "bus: main-system-bus\n"
        "  type System\n"
        "  dev: hpet, id \"\"\n"
        "    timers = 3 (0x3)\n"
        "    mmio 00000000fed00000/0000000000000400\n"
        "  dev: i440FX-pcihost, id \"\"\n"
        "    bus: pci.0\n"
        "      type PCI\n"
        "      dev: virtio-blk-pci, id \"vd0\"\n"
        "        addr = 05.0\n"
        "        bus: virtio-bus\n"
        "          type virtio-pci-bus\n"
        "          dev: virtio-blk-device, id \"\"\n"
        "            drive = \"d0\"\n"
        "            logical_block_size = 512 (512 B)\n");
  CHECK(tree_size("discard_granularity", 4294967295u) == "discard_granularity = 4294967295 (4 GiB)");
  CHECK(tree_size("pci-hole64-size", 2147483648u) == "pci-hole64-size = 2147483648 (2 GiB)");
  CHECK(tree_int("pageh-base", -1) == "pageh-base = -1 (0xffffffffffffffff)");
  CHECK(f.run("info qtree x").rfind("Error: ", 0) == 0);
}
