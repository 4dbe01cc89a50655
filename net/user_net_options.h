// -netdev user's options (QEMU's NetdevUserOptions), parsed and checked as
// QEMU 7.2's net/slirp.c does, with its error wording: the guest network
// (net=, default 10.0.2.0/24), the host's address on it (host=, default
// .2), the DNS forwarder (dns=, .3), the first DHCP address (dhcpstart=,
// .15), restrict=on (the guest reaches only the host's forwarded ports and
// the emulated services), and hostfwd= rules (repeatable):
//   hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
// An empty HOSTADDR listens on every host address, an empty GUESTADDR is
// the first DHCP address.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "system/keyval.h"

namespace vireo {

struct HostForward {
  std::string rule;  // as written, for messages
  bool udp = false;
  uint32_t host_addr = 0;   // IPv4, host byte order; 0: any
  uint16_t host_port = 0;   // 0: any free port (as QEMU allows)
  uint32_t guest_addr = 0;  // 0: the first DHCP address
  uint16_t guest_port = 0;
};

struct UserNetOptions {
  std::string id;
  // IPv4 addresses in host byte order.
  uint32_t network = 0x0a000200;  // 10.0.2.0
  uint32_t netmask = 0xffffff00;  // /24
  uint32_t host = 0x0a000202;     // 10.0.2.2
  uint32_t dhcp_start = 0x0a00020f;  // 10.0.2.15
  uint32_t dns = 0x0a000203;      // 10.0.2.3
  bool ipv4 = true;
  bool ipv6 = true;
  bool restricted = false;
  std::string hostname;
  std::string domainname;
  std::vector<HostForward> forwards;
};

// From -netdev user's key=value list (with id and type), or JSON turned into
// one. Throws Error with QEMU's words.
UserNetOptions parse_user_net_options(const KeyValueList& kv);

// One hostfwd= rule; throws Error("Invalid host forwarding rule '...' (why)").
HostForward parse_host_forward(const std::string& rule);

// "10.0.2.15" for a host-order address.
std::string ipv4_text(uint32_t address);

}  // namespace vireo
