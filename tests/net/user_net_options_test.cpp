// -netdev user's options and hostfwd rules, as QEMU 7.2 reads them.
#include "net/user_net_options.h"

#include <catch2/catch.hpp>

#include "util/error.h"

using namespace vireo;

TEST_CASE("-netdev user defaults to QEMU's 10.0.2.0/24 network") {
  UserNetOptions o = parse_user_net_options(KeyValueList::parse("user,id=n0", "type"));
  CHECK(o.id == "n0");
  CHECK(ipv4_text(o.network) == "10.0.2.0");
  CHECK(o.netmask == 0xffffff00);
  CHECK(ipv4_text(o.host) == "10.0.2.2");
  CHECK(ipv4_text(o.dns) == "10.0.2.3");
  CHECK(ipv4_text(o.dhcp_start) == "10.0.2.15");
  CHECK_FALSE(o.restricted);
}

TEST_CASE("-netdev user,net= moves the host, DNS and DHCP addresses with the network") {
  UserNetOptions o = parse_user_net_options(KeyValueList::parse("user,id=n0,net=192.168.76.9/24,restrict=on", "type"));
  CHECK(ipv4_text(o.network) == "192.168.76.0");
  CHECK(ipv4_text(o.host) == "192.168.76.2");
  CHECK(ipv4_text(o.dhcp_start) == "192.168.76.15");
  CHECK(o.restricted);
  o = parse_user_net_options(KeyValueList::parse("user,id=n0,net=10.1.0.0/255.255.0.0,host=10.1.0.1", "type"));
  CHECK(o.netmask == 0xffff0000);
  CHECK(ipv4_text(o.host) == "10.1.0.1");
  CHECK_THROWS_WITH(parse_user_net_options(KeyValueList::parse("user,id=n0,net=10.0.5.0/3", "type")),
                    "Invalid netmask provided (must be in range 4-32)");
  CHECK_THROWS_WITH(parse_user_net_options(KeyValueList::parse("user,id=n0,host=10.0.3.2", "type")),
                    "Host doesn't belong to network");
}

TEST_CASE("hostfwd rules: protocol, addresses and ports") {
  HostForward f = parse_host_forward("tcp::5555-:22");
  CHECK_FALSE(f.udp);
  CHECK(f.host_addr == 0);
  CHECK(f.host_port == 5555);
  CHECK(f.guest_addr == 0);
  CHECK(f.guest_port == 22);
  f = parse_host_forward("udp:127.0.0.1:6000-10.0.2.20:53");
  CHECK(f.udp);
  CHECK(ipv4_text(f.host_addr) == "127.0.0.1");
  CHECK(ipv4_text(f.guest_addr) == "10.0.2.20");
  f = parse_host_forward(":0.0.0.0:0-:80");  // protocol defaults to tcp, host port 0 = any
  CHECK_FALSE(f.udp);
  CHECK(f.host_port == 0);
  CHECK_THROWS_WITH(parse_host_forward("tcp::70000-:22"), "Invalid host forwarding rule 'tcp::70000-:22' (Bad host port)");
  CHECK_THROWS_WITH(parse_host_forward("sctp::1-:2"), "Invalid host forwarding rule 'sctp::1-:2' (Bad protocol name)");
  CHECK_THROWS_WITH(parse_host_forward("tcp:x:1-:2"), "Invalid host forwarding rule 'tcp:x:1-:2' (Bad host address)");
  CHECK_THROWS_WITH(parse_host_forward("tcp::1-:"), "Invalid host forwarding rule 'tcp::1-:' (Bad guest port)");
  CHECK_THROWS_WITH(parse_host_forward("tcp::1-2"), "Invalid host forwarding rule 'tcp::1-2' (Missing guest address)");
  CHECK_THROWS_WITH(parse_host_forward("nothing"), "Invalid host forwarding rule 'nothing' (No : separators)");
}

TEST_CASE("-netdev user: repeated hostfwd= keys each add a rule; unknown keys are refused") {
  UserNetOptions o = parse_user_net_options(
      KeyValueList::parse("user,id=n0,hostfwd=tcp::5555-:22,hostfwd=udp::5556-:53", "type"));
  REQUIRE(o.forwards.size() == 2);
  CHECK(o.forwards[1].udp);
  CHECK_THROWS_WITH(parse_user_net_options(KeyValueList::parse("user,id=n0,foo=1", "type")), "Invalid parameter 'foo'");
  CHECK_THROWS_WITH(parse_user_net_options(KeyValueList::parse("user,id=n0,smb=/tmp", "type")),
                    "-netdev user: smb= is not supported yet");
}
