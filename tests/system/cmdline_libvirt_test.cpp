// What libvirt writes on the command line (system/cmdline_libvirt.cpp): the
// values vireo takes from it, in both the JSON and the key=value form.
#include "system/cmdline_libvirt.h"

#include <catch2/catch.hpp>

#include "net/user_net_options.h"
#include "system/device_catalog.h"
#include "tests/system/command_line_error.h"
#include "util/error.h"

using vireo::CommandLine;
using vireo::Error;
using vireo::parse_command_line;

TEST_CASE("libvirt options: JSON values flatten as QEMU's keyval", "[cmdline][libvirt]") {
  vireo::KeyValueList kv = vireo::parse_option_value(
      R"({"driver":"file","filename":"/a,b","auto-read-only":true,"size":268435456,"backing":null,"cache":{"direct":false}})",
      "driver");
  CHECK(kv.get("driver") == "file");
  CHECK(kv.get("filename") == "/a,b");  // no comma escaping in JSON
  CHECK(kv.get("auto-read-only") == "on");
  CHECK(kv.get("size") == "268435456");
  CHECK(kv.get("backing") == "null");
  CHECK(kv.get("cache.direct") == "off");
  CHECK(vireo::parse_option_value("isa-serial,chardev=c", "driver").get("driver") == "isa-serial");
  CHECK_THROWS_AS(vireo::parse_option_value(R"({"driver":)", "driver"), Error);
  // Lists are numbered, as QEMU's keyval (-netdev's hostfwd list).
  vireo::KeyValueList list = vireo::parse_option_value(R"({"hostfwd":[{"str":"tcp::1-:2"},{"str":"udp::3-:4"}]})", "type");
  CHECK(list.get("hostfwd.0.str") == "tcp::1-:2");
  CHECK(list.get("hostfwd.1.str") == "udp::3-:4");
  CHECK_THROWS_AS(vireo::parse_option_value(R"({"a":1.5})", "driver"), Error);
}

TEST_CASE("libvirt options: the RAM backend sets the RAM size", "[cmdline][libvirt]") {
  CommandLine cl = parse_command_line({"-machine", "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
                                       "-object", R"({"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456})"});
  CHECK(cl.config.machine_type == "pc");
  CHECK(cl.config.ram_bytes == 256ull << 20);
  CHECK_FALSE(cl.config.dump_guest_core);
  CHECK(parse_command_line({"-m", "256", "-machine", "pc,memory-backend=r", "-object",
                            "memory-backend-ram,id=r,size=256M"})
            .config.ram_bytes == 256ull << 20);
  CHECK(error_of({"-m", "128", "-machine", "pc,memory-backend=r", "-object", "memory-backend-ram,id=r,size=256M"}) ==
        "Machine memory size does not match the size of the memory backend");
  CHECK(error_of({"-object", "memory-backend-ram,id=r,size=1M,share=on"}).find("share=on") != std::string::npos);
  CHECK(error_of({"-object", "memory-backend-ram,id=r,size=1M", "-object", "secret,id=r,data=x"}) ==
        "-object secret,id=r,data=x: attempt to add duplicate property 'r' to object (type 'container')");
}

TEST_CASE("libvirt options: -blockdev nodes become a drive named by the format node", "[cmdline][libvirt]") {
  CommandLine cl = parse_command_line(
      {"-blockdev",
       R"({"driver":"file","filename":"/d.qcow2","node-name":"libvirt-1-storage","auto-read-only":true,"discard":"unmap","cache":{"direct":true,"no-flush":false}})",
       "-blockdev",
       R"({"node-name":"libvirt-1-format","read-only":true,"driver":"qcow2","file":"libvirt-1-storage","backing":null})"});
  REQUIRE(cl.config.drives.size() == 1);
  const vireo::DriveSpec& d = cl.config.drives[0];
  CHECK(d.id == "libvirt-1-format");
  CHECK(d.node_name == "libvirt-1-format");
  CHECK(d.file_node_name == "libvirt-1-storage");
  CHECK(d.from_blockdev);
  CHECK(d.file == "/d.qcow2");
  CHECK(d.format == "qcow2");
  CHECK(d.interface == "none");
  CHECK(d.read_only);
  CHECK(d.cache == "none");
  // A file node used directly is a raw drive.
  CommandLine raw = parse_command_line({"-blockdev", R"({"driver":"file","filename":"/r.img","node-name":"n"})"});
  REQUIRE(raw.config.drives.size() == 1);
  CHECK(raw.config.drives[0].format == "raw");
  CHECK(error_of({"-blockdev", R"({"driver":"file","filename":"/r","node-name":"n","discard":"ignore"})"})
            .find("discard=ignore") != std::string::npos);
  CHECK(error_of({"-blockdev", R"({"driver":"file","filename":"/r","node-name":"n"})", "-blockdev",
                  R"({"driver":"file","filename":"/s","node-name":"n"})"})
            .find("Duplicate nodes with node-name='n'") != std::string::npos);
}

TEST_CASE("libvirt options: the small ones", "[cmdline][libvirt]") {
  CommandLine cl = parse_command_line({"-name", "guest=vm1,debug-threads=on", "-uuid",
                                       "767B554C-F52E-40F3-B8E8-0CA478A027B5", "-rtc", "base=localtime", "-no-acpi",
                                       "-boot", "strict=on,menu=off", "-overcommit", "mem-lock=off", "-audiodev",
                                       R"({"id":"audio1","driver":"none"})", "-chardev", "pty,id=charserial0"});
  CHECK(cl.config.name == "vm1");
  CHECK(cl.config.debug_threads);
  CHECK(cl.config.uuid == "767b554c-f52e-40f3-b8e8-0ca478a027b5");
  CHECK(cl.config.rtc_localtime);
  CHECK(cl.config.no_acpi);
  CHECK(cl.config.audiodevs == std::vector<std::string>{"audio1"});
  REQUIRE(cl.config.chardevs.size() == 1);
  CHECK(cl.config.chardevs[0].backend == "pty");
  CHECK(error_of({"-boot", "order=z"}) == "-boot order=z: Invalid boot device 'z'");
  CHECK(error_of({"-rtc", "base=2006-06-17T16:01:21"}).find("only utc and localtime") != std::string::npos);
  CHECK(error_of({"-machine", "pc,usb=on"}).find("no USB controller") != std::string::npos);
  CHECK_NOTHROW(parse_command_line({"-global", "PIIX4_PM.disable_s3=1", "-global",
                                    "driver=PIIX4_PM,property=disable_s4,value=1"}));
  CHECK(error_of({"-global", "PIIX4_PM.disable_s3=0"}).find("no S3 sleep state") != std::string::npos);
  CHECK(error_of({"-global", "PIIX4_PM.nothing=1"}) == "-global PIIX4_PM.nothing=1: Property 'PIIX4_PM.nothing' not found");
  CHECK(error_of({"-global", "nodev.x=1"}).find("invalid class name") != std::string::npos);
  CHECK(error_of({"-chardev", "null,id=c,fd=3"}) == "-chardev null,id=c,fd=3: Invalid parameter 'fd'");
}

TEST_CASE("libvirt options: -netdev user in both of libvirt's forms, and its virtio-net-pci", "[cmdline][libvirt][net]") {
  for (const char* netdev : {"user,id=hostnet0", R"({"type":"user","id":"hostnet0"})"}) {
    INFO(netdev);
    CommandLine cl = parse_command_line(
        {"-netdev", netdev, "-device",
         "virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:6b:3c:58,bus=pci.0,addr=0x3"});
    REQUIRE(cl.config.netdevs.size() == 1);
    CHECK(cl.config.netdevs[0].id == "hostnet0");
    CHECK(cl.config.netdevs[0].type == "user");
    REQUIRE(cl.config.devices.size() == 1);
    CHECK(cl.config.devices[0].driver == "virtio-net-pci");
    check_device_properties(cl.config.devices[0]);
  }
  // The JSON device form too, and JSON's hostfwd list.
  CommandLine cl = parse_command_line(
      {"-netdev", R"({"type":"user","id":"n0","hostfwd":[{"str":"tcp::2222-:22"}]})", "-device",
       R"({"driver":"virtio-net-pci","netdev":"n0","id":"net0","mac":"52:54:00:6b:3c:58","bus":"pci.0","addr":"0x3"})"});
  REQUIRE(cl.config.netdevs.size() == 1);
  CHECK(parse_user_net_options(cl.config.netdevs[0].properties).forwards.size() == 1);
  CHECK(cl.config.devices.at(0).properties.get("mac") == "52:54:00:6b:3c:58");
}

TEST_CASE("-nic: a back end and a virtio-net-pci NIC, placed before -device NICs; -nic none, -net none", "[cmdline][net]") {
  CommandLine cl = parse_command_line({"-netdev", "user,id=a", "-device", "virtio-net-pci,netdev=a", "-nic",
                                       "user,mac=52:54:00:00:00:01,hostfwd=tcp::8022-:22"});
  REQUIRE(cl.config.netdevs.size() == 2);
  CHECK(cl.config.netdevs[1].id == "__org.qemu.nic1");
  CHECK_FALSE(cl.config.netdevs[1].properties.has("mac"));
  REQUIRE(cl.config.devices.size() == 2);
  CHECK(cl.config.devices[0].option_text.rfind("-nic ", 0) == 0);
  CHECK(cl.config.devices[0].properties.get("netdev") == "__org.qemu.nic1");
  CHECK(cl.config.devices[0].properties.get("mac") == "52:54:00:00:00:01");
  CHECK(parse_command_line({"-nic", "none"}).config.nic_none);
  CHECK(parse_command_line({"-net", "none"}).config.nic_none);
  CHECK_THROWS_WITH(parse_command_line({"-nic", "user,model=e1000"}),
                    "-nic user,model=e1000: Unsupported NIC model: e1000 (vireo has only virtio-net-pci)");
}
