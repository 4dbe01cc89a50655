// Everything the command line asks for, before any of it is created.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "system/keyval.h"

namespace vireo {

struct DeviceSpec {
  std::string option_text;  // as typed, for error messages ("-device x,y=z")
  std::string driver;
  KeyValueList properties;  // includes "driver"
};

// One -netdev (or the back end a -nic creates): checked while parsing,
// created with the machine.
struct NetdevSpec {
  std::string option_text;  // as typed, for error messages
  std::string id;
  std::string type;         // "user"
  KeyValueList properties;  // the back end's options (hostfwd=, net=, ...)
};

// One -drive (or -hda): an image and how a device attaches it.
struct DriveSpec {
  std::string option_text;  // as typed, for error messages
  std::string id;           // empty: none given (if=virtio drives need none)
  std::string file;
  std::string format;       // "raw", "qcow2", or empty to probe
  // "virtio" or "none" (attached by -device virtio-blk-pci,drive=ID).
  std::string interface = "virtio";
  std::string cache = "writeback";
  bool read_only = false;
  // snapshot=on (or -snapshot): the guest's writes go to a temporary qcow2
  // overlay and the image file stays as it was.
  bool snapshot = false;
  bool snapshot_given = false;  // snapshot= was on the line: -snapshot leaves it alone
  std::string serial;
  // -blockdev: the format node's name (query-block's node-name; the drive
  // then has no BlockBackend name, so query-block's "device" is empty) and
  // the protocol node below it.
  std::string node_name;
  std::string file_node_name;
  bool from_blockdev = false;
};

// -blockdev: one node of the block graph, checked and joined into DriveSpecs
// once the whole command line is read.
struct BlockdevSpec {
  std::string option_text;
  std::string node_name;
  std::string driver;       // "file", "raw", "qcow2"
  KeyValueList properties;  // flattened ("cache.direct")
};

// -object: user-creatable objects vireo knows (secret, memory-backend-ram).
struct ObjectSpec {
  std::string option_text;
  std::string qom_type;
  std::string id;
  KeyValueList properties;
};

struct SmpConfig {
  unsigned cpus = 1;
  unsigned sockets = 1;
  unsigned dies = 1;
  unsigned cores = 1;
  unsigned threads = 1;
  unsigned max_cpus = 1;
};

// -chardev (and the chardevs -qmp/-monitor/-serial mon: create).
struct ChardevSpec {
  std::string id;
  std::string backend;  // "socket", "stdio", "file", "null", "pty"
  int fd = -1;          // socket: an inherited listening socket (fd=N)
  std::string path;     // socket: a unix socket path; file: the file
  std::string host;     // socket: tcp host ("" for a unix socket)
  uint16_t port = 0;
  bool server = false;
  bool wait = true;
  bool mux = false;     // shared by a serial port and a monitor (mon:stdio)
  std::string filename;  // QEMU's query-chardev "filename" ("unix:/p,server=on")
};

// -mon: a monitor on a chardev.
struct MonitorSpec {
  std::string chardev_id;
  bool control = false;  // mode=control (QMP) rather than readline (HMP)
  bool pretty = false;
};

// -boot: what the firmware is told about booting (QEMU's boot-opts).
struct BootConfig {
  std::string order = "cad";  // drive letters for the CMOS boot order
  std::string once;           // order for the first boot only; empty: none
  bool menu = false;          // menu=on: the firmware offers its boot menu
  bool strict = false;        // strict=on: no fallback past the bootindex list
  int64_t splash_time_ms = -1;    // splash-time=; -1: not given
  int64_t reboot_timeout_ms = -1; // reboot-timeout=; -1: never reboot after a failed boot
};

struct VmConfig {
  std::string machine_type = "pc";
  // -machine memory-backend=ID: guest RAM is that -object memory-backend-ram.
  std::string memory_backend;
  // -machine dump-guest-core=off: guest RAM is left out of core dumps.
  bool dump_guest_core = true;
  bool no_acpi = false;        // -no-acpi
  bool no_hpet = false;        // -no-hpet: no HPET device and no ACPI HPET table
  bool rtc_localtime = false;  // -rtc base=localtime
  // -rtc driftfix=slew (-global mc146818rtc.lost_tick_policy=slew): the RTC
  // re-raises periodic interrupts the guest missed; otherwise they merge.
  bool rtc_slew = false;
  std::string uuid;            // -uuid; empty: none given
  bool debug_threads = false;  // -name ...,debug-threads=on: vCPU threads are named
  std::vector<ObjectSpec> objects;
  std::vector<BlockdevSpec> blockdevs;
  std::vector<std::string> audiodevs;  // -audiodev ids (driver none)
  // Accelerators to try in order ("-accel kvm -accel tcg", "accel=kvm:tcg").
  // Empty means QEMU's default, tcg.
  std::vector<std::string> accelerators;
  std::string cpu_model = "qemu64";
  uint64_t ram_bytes = 128ull << 20;  // QEMU's default
  bool ram_size_given = false;  // -m was on the line (the none machine has RAM only then)
  SmpConfig smp;

  std::string bios_path;
  std::string kernel_path;
  std::string initrd_path;
  std::string kernel_cmdline;

  // Character-device specs for COM1..COM4 ("stdio", "file:PATH", "null", "none").
  std::vector<std::string> serial_specs;
  bool serial_given = false;
  bool nographic = false;
  bool display_none = false;
  bool no_defaults = false;

  bool no_reboot = false;
  bool no_shutdown = false;
  std::string name;

  BootConfig boot;

  std::vector<DriveSpec> drives;
  bool snapshot_all = false;  // -snapshot: snapshot=on for every drive that does not say otherwise
  std::vector<DeviceSpec> devices;
  // -netdev, and those -nic creates (their NICs are in `devices`).
  std::vector<NetdevSpec> netdevs;
  bool nic_none = false;  // -nic none / -net none: no default NIC (vireo adds none anyway)

  bool start_paused = false;  // -S
  std::vector<ChardevSpec> chardevs;
  std::vector<MonitorSpec> monitors;
  bool daemonize = false;
  std::string pidfile;
};

}  // namespace vireo
