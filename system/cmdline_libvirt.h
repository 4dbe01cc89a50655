// The options a management layer writes: what libvirt 9.0 puts on QEMU
// 7.2's command line for a domain (see docs/libvirt.md and the captured
// command line in tests/integration/data/libvirt-qemu72-domain-capture.txt).
//
// Each parser throws Error in QEMU's words naming the culprit; the option
// itself is prefixed by parse_command_line.
#pragma once

#include <string>
#include <string_view>

#include "system/cmdline.h"

namespace vireo {

// An option value in QEMU's JSON form ('{"driver":"isa-serial",...}', used
// when the value starts with '{') or its key=value form. JSON strings stay
// as they are, numbers are written in decimal, booleans become on/off,
// null becomes "null" and nested objects are flattened with dots
// ({"cache":{"direct":true}} is cache.direct=on), as QEMU's keyval does.
KeyValueList parse_option_value(const std::string& arg, std::string_view implied_key);

void parse_object(CommandLine& cl, const std::string& arg);
void parse_blockdev(CommandLine& cl, const std::string& arg);
void parse_audiodev(CommandLine& cl, const std::string& arg);
void parse_overcommit(CommandLine& cl, const std::string& arg);
void parse_uuid(CommandLine& cl, const std::string& arg);
void parse_rtc(CommandLine& cl, const std::string& arg);
void parse_boot(CommandLine& cl, const std::string& arg);
void parse_msg(CommandLine& cl, const std::string& arg);
void parse_name(CommandLine& cl, const std::string& arg);
void parse_global(CommandLine& cl, const std::string& arg);

// -machine's properties beyond type and accel (usb, dump-guest-core,
// memory-backend; the option table lists them). False if `item` is not one
// of them.
bool apply_machine_property(CommandLine& cl, const KeyValue& item);

// -chardev socket,fd=N: checks N is an open listening stream socket this
// process inherited and fills in the spec's fd and query-chardev filename.
void use_inherited_listener(ChardevSpec& spec, const std::string& fd_text);

// The listening sockets named by -chardev socket,fd=N in `args`, found
// without parsing the rest (for the error path, when parsing failed).
std::vector<int> inherited_listeners_in(const std::vector<std::string>& args);

// After the whole line is read: the RAM backend, and -blockdev nodes joined
// into drives for -device virtio-blk-pci,drive=NODE.
void finish_management_options(CommandLine& cl);

}  // namespace vireo
