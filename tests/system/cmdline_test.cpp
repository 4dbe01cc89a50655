// QEMU's command line as vireo reads it (system/cmdline.cpp). Where a
// message or a computed value is QEMU's, it was checked against
// qemu-system-x86_64 7.2 (Debian 12), the reference.
#include "system/cmdline.h"

#include <catch2/catch.hpp>

#include "tests/system/command_line_error.h"
#include "util/error.h"

using vireo::CommandLine;
using vireo::Error;
using vireo::parse_command_line;
using Action = CommandLine::Action;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

CommandLine parse(std::vector<std::string> args) { return parse_command_line(args); }


}  // namespace

TEST_CASE("no options: QEMU's defaults", "[cmdline]") {
  CommandLine cl = parse({});
  CHECK(cl.action == Action::Run);
  CHECK(cl.config.machine_type == "pc");
  CHECK(cl.config.accelerators.empty());  // meaning tcg, QEMU's default
  CHECK(cl.config.cpu_model == "qemu64");
  CHECK(cl.config.ram_bytes == 128 * MiB);
  CHECK(cl.config.smp.cpus == 1);
  CHECK(cl.warnings.empty());
}

TEST_CASE("-m: a bare number is MiB, suffixes scale, 0 means the default", "[cmdline][memory]") {
  CHECK(parse({"-m", "512"}).config.ram_bytes == 512 * MiB);
  CHECK(parse({"-m", "1G"}).config.ram_bytes == GiB);
  CHECK(parse({"-m", "1.5G"}).config.ram_bytes == 3 * GiB / 2);
  CHECK(parse({"-m", "0x100"}).config.ram_bytes == 256 * MiB);  // hex, still MiB
  CHECK(parse({"-m", "010"}).config.ram_bytes == 10 * MiB);     // decimal, not octal
  CHECK(parse({"-m", "size=2G"}).config.ram_bytes == 2 * GiB);
  CHECK(parse({"-m", "2048k"}).config.ram_bytes == 2 * MiB);
  CHECK(parse({"-m", "0"}).config.ram_bytes == 128 * MiB);
  // Rounded up to 8 KiB, as QEMU does.
  CHECK(parse({"-m", "1049000B"}).config.ram_bytes == 1056768);
}

TEST_CASE("-m: bad sizes are refused with QEMU's wording", "[cmdline][memory]") {
  const std::string invalid = "Parameter 'size' expects a non-negative number below 2^64";
  CHECK(error_of({"-m", "foo"}) == "-m foo: " + invalid);
  CHECK(error_of({"-m", "-1"}) == "-m -1: " + invalid);
  CHECK(error_of({"-m", "1.5"}) == "-m 1.5: " + invalid);  // a fraction of a byte
  CHECK(error_of({"-m", "0x"}) == "-m 0x: " + invalid);
  CHECK(error_of({"-m", "16E"}) == "-m 16E: Value '16E' is out of range for parameter 'size'");
  // In range as bytes, but not once taken as MiB.
  CHECK(error_of({"-m", "18446744073709551615"}) ==
        "-m 18446744073709551615: Value '18446744073709551615' is out of range for parameter 'size'");
  CHECK(error_of({"-m", "512k"}) == "-m 512k: Invalid RAM size: must be at least 1M");
  CHECK(error_of({"-m", "1G,bogus=1"}) == "-m 1G,bogus=1: Invalid parameter 'bogus'");
}

TEST_CASE("-smp: omitted topology values are computed, preferring cores", "[cmdline][smp]") {
  struct Case {
    const char* arg;
    unsigned cpus, sockets, dies, cores, threads, max_cpus;
  };
  const Case cases[] = {
      {"4", 4, 1, 1, 4, 1, 4},
      {"cpus=2", 2, 1, 1, 2, 1, 2},
      {"4,sockets=2", 4, 2, 1, 2, 1, 4},
      {"4,cores=2", 4, 2, 1, 2, 1, 4},
      {"4,threads=2", 4, 1, 1, 2, 2, 4},
      {"8,sockets=2,cores=2", 8, 2, 1, 2, 2, 8},  // threads computed last
      {"6,maxcpus=8", 6, 1, 1, 8, 1, 8},
      {"5,maxcpus=8,cores=2", 5, 4, 1, 2, 1, 8},
      {"4,dies=2", 4, 1, 2, 2, 1, 4},
      {"sockets=2,cores=3,threads=2", 12, 2, 1, 3, 2, 12},
      {"maxcpus=4", 4, 1, 1, 4, 1, 4},
      {"0x4", 4, 1, 1, 4, 1, 4},
      {"010", 8, 1, 1, 8, 1, 8},  // QEMU's integers read 0-prefixed octal
      {"2,clusters=1", 2, 1, 1, 2, 1, 2},
      {"255", 255, 1, 1, 255, 1, 255},
  };
  for (const Case& c : cases) {
    INFO("-smp " << c.arg);
    vireo::SmpConfig smp = parse({"-smp", c.arg}).config.smp;
    CHECK(smp.cpus == c.cpus);
    CHECK(smp.sockets == c.sockets);
    CHECK(smp.dies == c.dies);
    CHECK(smp.cores == c.cores);
    CHECK(smp.threads == c.threads);
    CHECK(smp.max_cpus == c.max_cpus);
  }
}

TEST_CASE("-smp: an explicit 0 is taken as omitted, with QEMU 7.2's warning", "[cmdline][smp]") {
  CommandLine cl = parse({"-smp", "0"});
  CHECK(cl.config.smp.cpus == 1);
  REQUIRE(cl.warnings.size() == 1);
  CHECK(cl.warnings[0] ==
        "Deprecated CPU topology (considered invalid): CPU topology parameters must be greater "
        "than zero");
  CHECK(parse({"-smp", "2,sockets=0"}).config.smp.sockets == 1);
}

TEST_CASE("-smp: impossible topologies are refused with QEMU's wording", "[cmdline][smp]") {
  CHECK(error_of({"-smp", "4,sockets=3"}) ==
        "-smp 4,sockets=3: Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)");
  CHECK(error_of({"-smp", "2,sockets=4"}) ==
        "-smp 2,sockets=4: Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (4) * dies (1) * cores (0) * threads (1) != maxcpus (2)");
  CHECK(error_of({"-smp", "4,cores=2,threads=2,sockets=2"}) ==
        "-smp 4,cores=2,threads=2,sockets=2: Invalid CPU topology: product of the hierarchy must "
        "match maxcpus: sockets (2) * dies (1) * cores (2) * threads (2) != maxcpus (4)");
  CHECK(error_of({"-smp", "4,maxcpus=2"}) ==
        "-smp 4,maxcpus=2: Invalid CPU topology: maxcpus must be equal to or greater than smp: "
        "sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)");
  // Checked once the line is read, without the option's prefix, as QEMU.
  CHECK(error_of({"-smp", "2000"}) == "Invalid SMP CPUs 2000. The max CPUs supported by machine 'pc-i440fx-7.2' is 255");
  CHECK(error_of({"-smp", "2", "-M", "none"}) == "Invalid SMP CPUs 2. The max CPUs supported by machine 'none' is 1");
  CHECK(parse({"-smp", "255"}).config.smp.cpus == 255);
  CHECK(error_of({"-smp", "maxcpus=5000000000"}) ==
        "-smp maxcpus=5000000000: Parameter 'smp.maxcpus' expects uint32_t");
  CHECK(error_of({"-smp", "x"}) == "-smp x: Parameter 'smp.cpus' expects integer");
  CHECK(error_of({"-smp", "2,cores=y"}) == "-smp 2,cores=y: Parameter 'smp.cores' expects integer");
  CHECK(error_of({"-smp", "4,foo=1"}) == "-smp 4,foo=1: Parameter 'smp.foo' is unexpected");
  CHECK(error_of({"-smp", "4,clusters=2"}) ==
        "-smp 4,clusters=2: clusters not supported by this machine's CPU topology");
  CHECK(error_of({"-smp", "5000000000"}) ==
        "-smp 5000000000: Parameter 'smp.cpus' expects uint32_t");
  // Factors near 2^32 must not overflow into an accepted topology.
  CHECK_THROWS_AS(parse({"-smp", "sockets=65536,cores=65536,threads=2"}), Error);
  CHECK_THROWS_AS(parse({"-smp", "4,sockets=4294967295,dies=4294967295"}), Error);
}

TEST_CASE("help values ask for a listing instead of running", "[cmdline]") {
  CHECK(parse({"-machine", "help"}).action == Action::ListMachines);
  CHECK(parse({"-M", "?"}).action == Action::ListMachines);
  CHECK(parse({"-machine", "type=help"}).action == Action::ListMachines);
  CHECK(parse({"-cpu", "help"}).action == Action::ListCpus);
  CHECK(parse({"-device", "help"}).action == Action::ListDevices);
  CHECK(parse({"-accel", "help"}).action == Action::ListAccelerators);
  CHECK(parse({"-display", "help"}).action == Action::ListDisplays);
  CHECK(parse({"-h"}).action == Action::PrintHelp);
  CHECK(parse({"-help"}).action == Action::PrintHelp);
  CHECK(parse({"-version"}).action == Action::PrintVersion);
  // The first action ends parsing: what follows is not even looked at.
  CHECK(parse({"-version", "-bogus"}).action == Action::PrintVersion);
}

TEST_CASE("--name is the same option as -name", "[cmdline]") {
  CHECK(parse({"--m", "256"}).config.ram_bytes == 256 * MiB);
  CHECK(parse({"--machine", "pc", "--nographic"}).config.nographic);
  CHECK(error_of({"--m", "foo"}) ==
        "--m foo: Parameter 'size' expects a non-negative number below 2^64");
}

TEST_CASE("unknown options and missing arguments", "[cmdline]") {
  CHECK(error_of({"-bogus"}) == "-bogus: invalid option");
  CHECK(error_of({"--bogus"}) == "--bogus: invalid option");
  CHECK(error_of({"-m"}) == "-m: requires an argument");
  CHECK(error_of({"-nographic", "-kernel"}) == "-kernel: requires an argument");
}

TEST_CASE("-drive, -hda and a bare image name", "[cmdline]") {
  CommandLine cl = parse({"-drive", "file=a.img,format=raw,if=virtio,cache=none,readonly=on,serial=S1"});
  REQUIRE(cl.config.drives.size() == 1);
  const vireo::DriveSpec& d = cl.config.drives[0];
  CHECK(d.file == "a.img");
  CHECK(d.format == "raw");
  CHECK(d.interface == "virtio");
  CHECK(d.cache == "none");
  CHECK(d.read_only);
  CHECK(d.serial == "S1");
  CHECK(d.option_text == "-drive file=a.img,format=raw,if=virtio,cache=none,readonly=on,serial=S1");
  // QEMU's default interface (ide) is attached as virtio until IDE exists.
  CHECK(parse({"-drive", "file=b.img"}).config.drives[0].interface == "virtio");
  CHECK(parse({"-drive", "file=b.img,if=none,id=d0"}).config.drives[0].interface == "none");
  // -hda and a bare argument: commas in the name stay part of it.
  CHECK(parse({"-hda", "x,y.img"}).config.drives[0].file == "x,y.img");
  CHECK(parse({"disk.img"}).config.drives[0].file == "disk.img");
  CHECK(parse({"-drive", "file=a.img,snapshot=on"}).config.drives[0].snapshot);
  CHECK_FALSE(parse({"-drive", "file=a.img"}).config.drives[0].snapshot);
}

TEST_CASE("-snapshot turns snapshot=on for drives that do not say otherwise", "[cmdline]") {
  // QEMU applies -snapshot after the whole line is read, so its place does not matter.
  CommandLine cl = parse({"-drive", "file=a.img", "-snapshot", "-hda", "b.img", "-drive", "file=c.img,snapshot=off",
                          "-drive", "file=d.img,if=none,id=d0"});
  REQUIRE(cl.config.drives.size() == 4);
  CHECK(cl.config.drives[0].snapshot);
  CHECK(cl.config.drives[1].snapshot);
  CHECK_FALSE(cl.config.drives[2].snapshot);
  CHECK(cl.config.drives[3].snapshot);
  CHECK(error_of({"-drive", "file=a.img,snapshot=maybe"}) ==
        "-drive file=a.img,snapshot=maybe: Parameter 'snapshot' expects 'on' or 'off'");
}

TEST_CASE("-drive errors use QEMU's wording", "[cmdline]") {
  CHECK(error_of({"-drive", "file=a.img,foo=bar"}) ==
        "-drive file=a.img,foo=bar: Block format 'raw' does not support the option 'foo'");
  CHECK(error_of({"-drive", "file=a.img,format=qcow2,foo=bar"}) ==
        "-drive file=a.img,format=qcow2,foo=bar: Block format 'qcow2' does not support the option 'foo'");
  CHECK(error_of({"-drive", "file=a.img,format=vmdkx"}) == "-drive file=a.img,format=vmdkx: Unknown driver 'vmdkx'");
  CHECK(error_of({"-drive", "file=a.img,if=floppyx"}) == "-drive file=a.img,if=floppyx: unsupported bus type 'floppyx'");
  CHECK(error_of({"-drive", "file=a.img,cache=bogus"}) == "-drive file=a.img,cache=bogus: invalid cache option");
  CHECK(error_of({"-drive", "file=a.img,readonly=maybe"}) ==
        "-drive file=a.img,readonly=maybe: Parameter 'read-only' expects 'on' or 'off'");
  CHECK(error_of({"-drive", "format=raw,if=virtio"}) ==
        "-drive format=raw,if=virtio: A block device must be specified for \"file\"");
  CHECK(error_of({"-drive", "file=a,if=none,id=d0", "-drive", "file=b,if=none,id=d0"}) ==
        "-drive file=b,if=none,id=d0: Duplicate ID 'd0' for drive");
}

TEST_CASE("-initrd and -append need -kernel, as in QEMU", "[cmdline]") {
  CHECK(error_of({"-initrd", "initrd.gz"}) == "-initrd only allowed with -kernel option");
  CHECK(error_of({"-append", "console=ttyS0"}) == "-append only allowed with -kernel option");
  CommandLine cl = parse({"-kernel", "vmlinuz", "-initrd", "initrd.gz", "-append", "quiet"});
  CHECK(cl.config.kernel_path == "vmlinuz");
  CHECK(cl.config.initrd_path == "initrd.gz");
  CHECK(cl.config.kernel_cmdline == "quiet");
  CHECK(error_of({"-kernel", "vmlinuz", "-bios", "bios.bin"}) ==
        "-kernel and -bios together are not supported yet");
}

TEST_CASE("-machine, -accel and -enable-kvm choose the accelerators", "[cmdline]") {
  CHECK(parse({"-machine", "pc,accel=kvm:tcg"}).config.accelerators ==
        std::vector<std::string>{"kvm", "tcg"});
  CHECK(parse({"-accel", "kvm", "-accel", "tcg", "-accel", "kvm"}).config.accelerators ==
        std::vector<std::string>{"kvm", "tcg"});
  CHECK(parse({"-enable-kvm"}).config.accelerators == std::vector<std::string>{"kvm"});
  CHECK(error_of({"-accel", "foo"}) == "-accel foo: invalid accelerator foo");
  CHECK(error_of({"-machine", "accel=hvf"}) == "-machine accel=hvf: invalid accelerator hvf");
}

TEST_CASE("-machine names: pc is an alias of pc-i440fx-7.2; none is the empty machine", "[cmdline]") {
  CHECK(parse({"-machine", "pc-i440fx-7.2"}).config.machine_type == "pc");
  CHECK(parse({"-M", "pc"}).config.machine_type == "pc");
  CommandLine none = parse({"-machine", "none,accel=kvm:tcg"});
  CHECK(none.config.machine_type == "none");
  CHECK(none.config.accelerators == std::vector<std::string>{"kvm", "tcg"});
  CHECK_FALSE(none.config.ram_size_given);
  CHECK(parse({"-M", "none", "-m", "64"}).config.ram_size_given);
  // -machine help lists the alias first, then the machine it names (QEMU).
  const auto& help = vireo::machine_types();
  REQUIRE(help.size() >= 3);
  CHECK(help[0].first == "pc");
  CHECK(help[0].second == "Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)");
  CHECK(help[1].first == "pc-i440fx-7.2");
  CHECK(help[1].second == "Standard PC (i440FX + PIIX, 1996) (default)");
}

TEST_CASE("the keys each option takes are the table query-command-line-options reports", "[cmdline]") {
  // Every key in the table is accepted by its option...
  CHECK(parse({"-machine", "type=pc,accel=tcg"}).config.machine_type == "pc");
  CHECK(parse({"-name", "guest=g,process=p,debug-threads=on"}).config.name == "g");
  CHECK(parse({"-m", "size=64M,slots=1,maxmem=1G"}).config.ram_bytes == 64 * MiB);
  // ...and a key outside it is refused, with QEMU's words.
  CHECK(error_of({"-name", "g,colour=red"}) == "-name g,colour=red: Invalid parameter 'colour'");
  CHECK(error_of({"-accel", "tcg,thread=single"}) == "-accel tcg,thread=single: Invalid parameter 'thread'");
  CHECK(error_of({"-mon", "chardev=c,mode=control,speed=9"}) ==
        "-mon chardev=c,mode=control,speed=9: Invalid parameter 'speed'");
  bool machine_listed = false;
  for (const vireo::CommandLineOptionInfo& option : vireo::command_line_option_info()) {
    for (const vireo::OptionParameterInfo& p : option.parameters) {
      CHECK((p.type == "string" || p.type == "boolean" || p.type == "number" || p.type == "size"));
    }
    machine_listed = machine_listed || option.option == "machine";
  }
  CHECK(machine_listed);
}

TEST_CASE("-daemonize with -nographic: only without default devices (QEMU's rule)", "[cmdline]") {
  CHECK(error_of({"-daemonize", "-nographic"}) == "-nographic cannot be used with -daemonize");
  // libvirt's capability probe.
  CommandLine probe = parse({"-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
                             "-qmp", "unix:/tmp/x.sock,server=on,wait=off", "-pidfile", "/tmp/x.pid", "-daemonize"});
  CHECK(probe.config.daemonize);
  CHECK(probe.config.nographic);
  CHECK(probe.config.machine_type == "none");
  CHECK(probe.config.start_paused);
  CHECK(probe.config.pidfile == "/tmp/x.pid");
}

TEST_CASE("unknown machines, CPUs, devices and char drivers are named", "[cmdline]") {
  CHECK(error_of({"-M", "foo"}) ==
        "-M foo: unsupported machine type 'foo' (-machine help lists them)");
  CHECK(error_of({"-machine", "pc,foo=bar"}) == "-machine pc,foo=bar: Property 'pc-i440fx-7.2-machine.foo' not found");
  CHECK(error_of({"-machine", "none,foo=bar"}) == "-machine none,foo=bar: Property 'none-machine.foo' not found");
  CHECK(error_of({"-cpu", "foo"}) == "-cpu foo: unable to find CPU model 'foo'");
  CHECK(parse({"-cpu", "max"}).config.cpu_model == "max");
  CHECK(error_of({"-device", "foo"}) == "-device foo: 'foo' is not a valid device model name");
  CHECK(error_of({"-serial", "foo"}) == "-serial foo: 'foo' is not a valid char driver");
  CHECK(error_of({"-serial", "tcp:1:2"}) == "-serial tcp:1:2: 'tcp' is not a valid char driver");
  CHECK(error_of({"-display", "gtk"}) == "-display gtk: Display 'gtk' is not available");
}

TEST_CASE("-device keeps its properties for the machine to check", "[cmdline]") {
  CommandLine cl = parse({"-device", "isa-debug-exit,iobase=0xf4,iosize=4"});
  REQUIRE(cl.config.devices.size() == 1);
  const vireo::DeviceSpec& d = cl.config.devices[0];
  CHECK(d.driver == "isa-debug-exit");
  CHECK(d.option_text == "-device isa-debug-exit,iobase=0xf4,iosize=4");
  CHECK(d.properties.get("iobase") == "0xf4");
  CHECK(d.properties.get("iosize") == "4");
}

TEST_CASE("serial, display and run-control flags", "[cmdline]") {
  CommandLine cl = parse({"-serial", "stdio", "-serial", "file:/tmp/com2.log", "-serial", "none",
                          "-display", "none", "-no-reboot", "-no-shutdown", "-name", "guest=vm1",
                          "-nodefaults", "-no-user-config"});
  CHECK(cl.config.serial_specs ==
        std::vector<std::string>{"stdio", "file:/tmp/com2.log", "none"});
  CHECK(cl.config.serial_given);
  CHECK(cl.config.display_none);
  CHECK(cl.config.no_reboot);
  CHECK(cl.config.no_shutdown);
  CHECK(cl.config.no_defaults);
  CHECK(cl.config.name == "vm1");
  CHECK(parse({"-name", "plain"}).config.name == "plain");
  CHECK(error_of({"-serial", "null", "-serial", "null", "-serial", "null", "-serial", "null",
                  "-serial", "null"}) == "-serial null: too many serial ports");
}

TEST_CASE("the usage text lists every option", "[cmdline]") {
  const std::string text = vireo::usage_text();
  for (const char* option : {"-machine", "-accel", "-enable-kvm", "-cpu", "-m ", "-smp", "-bios",
                             "-kernel", "-initrd", "-append", "-serial", "-nographic", "-display",
                             "-no-reboot", "-no-shutdown", "-name", "-device"}) {
    INFO(option);
    CHECK(text.find(std::string("\n") + option) != std::string::npos);
  }
}

TEST_CASE("monitor options: -S, -qmp, -monitor, -chardev with -mon", "[cmdline]") {
  CommandLine cl = parse({"-S", "-qmp", "unix:/tmp/q.sock,server=on,wait=off", "-monitor",
                          "tcp:127.0.0.1:4444,server,nowait", "-chardev",
                          "socket,id=c1,path=/tmp/c1.sock,server=on,wait=off", "-mon", "chardev=c1,mode=control,pretty=on"});
  CHECK(cl.config.start_paused);
  REQUIRE(cl.config.chardevs.size() == 3);
  CHECK(cl.config.chardevs[0].id == "compat_monitor0");
  CHECK(cl.config.chardevs[0].path == "/tmp/q.sock");
  CHECK(cl.config.chardevs[0].filename == "unix:/tmp/q.sock,server=on");
  CHECK(cl.config.chardevs[1].host == "127.0.0.1");
  CHECK(cl.config.chardevs[1].port == 4444);
  CHECK_FALSE(cl.config.chardevs[1].wait);
  REQUIRE(cl.config.monitors.size() == 3);
  CHECK(cl.config.monitors[0].control);
  CHECK_FALSE(cl.config.monitors[1].control);
  CHECK(cl.config.monitors[2].chardev_id == "c1");
  CHECK(cl.config.monitors[2].pretty);
  CHECK(parse({"-monitor", "none"}).config.monitors.empty());
  CHECK(parse({"-serial", "mon:stdio"}).config.serial_specs == std::vector<std::string>{"mon:stdio"});
}

TEST_CASE("monitor options: mistakes are named", "[cmdline]") {
  CHECK(error_of({"-qmp", "pipe:x"}) == "-qmp pipe:x: 'pipe' is not a valid char driver");
  CHECK(error_of({"-qmp", "unix:/tmp/x"}) ==
        "-qmp unix:/tmp/x: only server sockets (server=on) are supported yet");
  CHECK(error_of({"-mon", "chardev=nope"}) == "-mon: chardev \"nope\" not found");
  CHECK(error_of({"-mon", "mode=control"}) == "-mon mode=control: Parameter 'chardev' is missing");
  CHECK(error_of({"-chardev", "socket,path=/x,server=on,wait=off"}) ==
        "-chardev socket,path=/x,server=on,wait=off: Parameter 'id' is missing");
  CHECK(error_of({"-chardev", "spice,id=a"}) == "-chardev spice,id=a: 'spice' is not a valid char driver name");
}
