#include "net/user_net_options.h"

#include <arpa/inet.h>

#include "util/error.h"

namespace vireo {

namespace {

// inet_aton, as QEMU uses: it also takes the short forms "10.2" and "1.2.3".
bool parse_ipv4(const std::string& text, uint32_t& address) {
  in_addr a{};
  if (text.empty() || inet_aton(text.c_str(), &a) == 0) return false;
  address = ntohl(a.s_addr);
  return true;
}

bool parse_port(const std::string& text, uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// Splits `text` at the first `separator`; false if there is none.
bool take_until(std::string& text, char separator, std::string& head) {
  const size_t at = text.find(separator);
  if (at == std::string::npos) return false;
  head = text.substr(0, at);
  text.erase(0, at + 1);
  return true;
}

}  // namespace

std::string ipv4_text(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

HostForward parse_host_forward(const std::string& rule) {
  auto bad = [&](const char* why) { return Error("Invalid host forwarding rule '" + rule + "' (" + why + ")"); };
  HostForward fwd;
  fwd.rule = rule;
  std::string rest = rule;
  std::string part;
  if (!take_until(rest, ':', part)) throw bad("No : separators");
  if (part == "udp") {
    fwd.udp = true;
  } else if (!part.empty() && part != "tcp") {
    throw bad("Bad protocol name");
  }
  if (!take_until(rest, ':', part)) throw bad("Missing : separator");
  if (!part.empty() && !parse_ipv4(part, fwd.host_addr)) throw bad("Bad host address");
  if (!take_until(rest, '-', part)) throw bad("Bad host port separator");
  if (!parse_port(part, fwd.host_port)) throw bad("Bad host port");
  if (!take_until(rest, ':', part)) throw bad("Missing guest address");
  if (!part.empty() && !parse_ipv4(part, fwd.guest_addr)) throw bad("Bad guest address");
  if (!parse_port(rest, fwd.guest_port) || fwd.guest_port == 0) throw bad("Bad guest port");
  return fwd;
}

UserNetOptions parse_user_net_options(const KeyValueList& kv) {
  UserNetOptions options;
  for (const KeyValue& item : kv.items()) {
    const std::string& key = item.key;
    if (key == "id" || key == "type" || key == "net" || key == "host" || key == "dhcpstart" || key == "dns" ||
        key == "restrict" || key == "ipv4" || key == "ipv6" || key == "hostname" || key == "domainname") {
      continue;
    }
    if (key == "hostfwd") {
      options.forwards.push_back(parse_host_forward(item.value));
      continue;
    }
    // QEMU's other user-network options (TFTP, SMB, guestfwd, IPv6
    // addressing, DNS search) are not implemented: said, not ignored.
    if (key == "tftp" || key == "bootfile" || key == "smb" || key == "smbserver" || key == "guestfwd" ||
        key == "dnssearch" || key == "tftp-server-name" || key == "ipv6-net" || key == "ipv6-prefix" ||
        key == "ipv6-prefixlen" || key == "ipv6-host" || key == "ipv6-dns" || key == "ip") {
      throw Error("-netdev user: " + key + "= is not supported yet");
    }
    throw Error("Invalid parameter '" + key + "'");
  }
  options.id = kv.get("id").value_or("");
  if (auto v = kv.get("restrict")) options.restricted = parse_bool(*v, "restrict");
  if (auto v = kv.get("ipv4")) options.ipv4 = parse_bool(*v, "ipv4");
  if (auto v = kv.get("ipv6")) options.ipv6 = parse_bool(*v, "ipv6");
  if (!options.ipv4 && !options.ipv6) throw Error("IPv4 and IPv6 disabled");
  options.hostname = kv.get("hostname").value_or("");
  options.domainname = kv.get("domainname").value_or("");

  if (auto net = kv.get("net")) {
    // ADDR[/BITS|/MASK]; without a mask, QEMU takes the address class's.
    std::string text = *net;
    const size_t slash = text.find('/');
    std::string mask_text = slash == std::string::npos ? "" : text.substr(slash + 1);
    std::string addr_text = text.substr(0, slash);
    uint32_t address;
    if (!parse_ipv4(addr_text, address)) throw Error("Failed to parse netmask");
    uint32_t mask;
    if (mask_text.empty()) {
      mask = (address >> 31) == 0 ? 0xff000000 : (address >> 30) == 2 ? 0xffff0000 : 0xffffff00;
    } else if (mask_text.find('.') == std::string::npos) {
      uint16_t bits;
      if (!parse_port(mask_text, bits)) throw Error("Failed to parse netmask");
      if (bits < 4 || bits > 32) throw Error("Invalid netmask provided (must be in range 4-32)");
      mask = bits == 32 ? 0xffffffff : ~(0xffffffffu >> bits);
    } else if (!parse_ipv4(mask_text, mask)) {
      throw Error("Failed to parse netmask");
    }
    options.netmask = mask;
    options.network = address & mask;
    // The other addresses follow the network unless given (QEMU's
    // defaults: .2, .3 and .15 of it).
    options.host = options.network | 2;
    options.dns = options.network | 3;
    options.dhcp_start = options.network | 15;
  }
  const uint32_t mask = options.netmask;
  if (auto v = kv.get("host")) {
    if (!parse_ipv4(*v, options.host)) throw Error("Failed to parse host");
    if ((options.host & mask) != options.network) throw Error("Host doesn't belong to network");
  }
  if (auto v = kv.get("dns")) {
    if (!parse_ipv4(*v, options.dns)) throw Error("Failed to parse DNS");
    if ((options.dns & mask) != options.network) throw Error("DNS doesn't belong to network");
    if (options.dns == options.host) throw Error("DNS must be different from host");
  }
  if (auto v = kv.get("dhcpstart")) {
    if (!parse_ipv4(*v, options.dhcp_start)) throw Error("Failed to parse DHCP start address");
    if ((options.dhcp_start & mask) != options.network) throw Error("DHCP doesn't belong to network");
    if (options.dhcp_start == options.host || options.dhcp_start == options.dns) {
      throw Error("DHCP must be different from host and DNS");
    }
  }
  return options;
}

}  // namespace vireo
