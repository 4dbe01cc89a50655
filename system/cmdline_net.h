// The network options: -netdev, -nic and -net. Each parser throws Error in
// QEMU's words; the option itself is prefixed by parse_command_line.
#pragma once

#include <string>

#include "system/cmdline.h"

namespace vireo {

// -netdev user,id=ID[,hostfwd=...][,net=...] or its JSON form.
void parse_netdev(CommandLine& cl, const std::string& arg);
// -nic none | -nic user[,model=virtio-net-pci][,mac=][,id=][,hostfwd=...]:
// a back end and its NIC in one option.
void parse_nic(CommandLine& cl, const std::string& arg);
// -net none (QEMU's older option; only "none" is implemented).
void parse_net(CommandLine& cl, const std::string& arg);

}  // namespace vireo
