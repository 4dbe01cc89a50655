// QEMU's key=value option syntax and its number formats (system/keyval.cpp).
// Expected values and error wordings were taken from qemu-system-x86_64 7.2.
#include "system/keyval.h"

#include <catch2/catch.hpp>

#include "util/error.h"

using vireo::Error;
using vireo::KeyValueList;
using vireo::parse_bool;
using vireo::parse_size;
using vireo::parse_uint;
using vireo::split_escaped_commas;

namespace {

constexpr uint64_t KiB = 1ull << 10;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// The message of the Error that `f` throws; fails the test if none is thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no vireo::Error was thrown");
  return "";
}

}  // namespace

TEST_CASE("a leading item without '=' takes the implied key", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("pc,accel=kvm", "type");
  REQUIRE(kv.items().size() == 2);
  CHECK(kv.get("type") == "pc");
  CHECK(kv.get("accel") == "kvm");
}

TEST_CASE("an explicit key in the first item is not replaced by the implied key", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("accel=kvm", "type");
  CHECK_FALSE(kv.has("type"));
  CHECK(kv.get("accel") == "kvm");
}

TEST_CASE("a bare key means key=on, also first when there is no implied key", "[keyval]") {
  KeyValueList with_implied = KeyValueList::parse("pc,usb", "type");
  CHECK(with_implied.get("usb") == "on");

  KeyValueList without_implied = KeyValueList::parse("debug,level=3", "");
  CHECK(without_implied.get("debug") == "on");
  CHECK(without_implied.get("level") == "3");
}

TEST_CASE("',,' is a literal comma inside a value", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("file:a,,b.log,x=y,,z", "path");
  CHECK(kv.get("path") == "file:a,b.log");
  CHECK(kv.get("x") == "y,z");
  CHECK(split_escaped_commas("a,,,b") == std::vector<std::string>{"a,", "b"});
  CHECK(split_escaped_commas("") == std::vector<std::string>{""});
}

TEST_CASE("only the first '=' separates key and value", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("append=root=/dev/vda", "");
  CHECK(kv.get("append") == "root=/dev/vda");
}

TEST_CASE("a later setting of the same key wins", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("cpus=2,cpus=4", "cpus");
  CHECK(kv.get("cpus") == "4");
  CHECK(kv.items().size() == 2);
}

TEST_CASE("a trailing comma is ignored; an empty key is refused", "[keyval]") {
  CHECK(KeyValueList::parse("a=b,", "").items().size() == 1);
  CHECK(error_of([] { KeyValueList::parse("=b", ""); }) == "Invalid parameter ''");
  CHECK(error_of([] { KeyValueList::parse("a=b,,,=c", ""); }) == "Invalid parameter ''");
}

TEST_CASE("check_known names the first unknown key as QEMU does", "[keyval]") {
  KeyValueList kv = KeyValueList::parse("pc,accel=kvm,foo=1", "type");
  CHECK_NOTHROW(KeyValueList::parse("pc,accel=kvm", "type").check_known({"type", "accel"}));
  CHECK(error_of([&] { kv.check_known({"type", "accel"}); }) == "Invalid parameter 'foo'");
}

TEST_CASE("sizes: suffixes are powers of 1024, in either case", "[keyval][size]") {
  CHECK(parse_size("512", MiB, "size") == 512 * MiB);
  CHECK(parse_size("1G", MiB, "size") == GiB);
  CHECK(parse_size("1g", MiB, "size") == GiB);
  CHECK(parse_size("64M", 1, "size") == 64 * MiB);
  CHECK(parse_size("2048k", 1, "size") == 2048 * KiB);
  CHECK(parse_size("3T", 1, "size") == 3ull << 40);
  CHECK(parse_size("1P", 1, "size") == 1ull << 50);
  CHECK(parse_size("15E", 1, "size") == 15ull << 60);
  CHECK(parse_size("100B", MiB, "size") == 100);
}

TEST_CASE("sizes: fractions need a scaling suffix and round to the byte", "[keyval][size]") {
  CHECK(parse_size("1.5G", 1, "size") == 3 * GiB / 2);
  CHECK(parse_size("2.5g", 1, "size") == 2684354560ull);
  CHECK(parse_size("0.5G", 1, "size") == 512 * MiB);
  CHECK(parse_size("1.5", MiB, "size") == 3 * MiB / 2);  // the default unit scales
  CHECK(parse_size("1.k", 1, "size") == KiB);             // QEMU accepts a bare '.'
  CHECK(parse_size("0.0001K", 1, "size") == 0);            // 0.1024 bytes rounds down
  CHECK(parse_size("0.0005K", 1, "size") == 1);            // 0.512 bytes rounds up
  CHECK(error_of([] { parse_size("1.5", 1, "size"); }) ==
        "Parameter 'size' expects a non-negative number below 2^64");
}

TEST_CASE("sizes: decimal unless 0x; hex takes no fraction", "[keyval][size]") {
  CHECK(parse_size("010", MiB, "size") == 10 * MiB);  // not octal
  CHECK(parse_size("0x100", MiB, "size") == 256 * MiB);
  CHECK(parse_size("0X10", 1, "size") == 16);
  CHECK(parse_size("0x1G", 1, "size") == GiB);
  CHECK(parse_size(" 64", MiB, "size") == 64 * MiB);  // strtoull's leading blanks
  CHECK(error_of([] { parse_size("0x1.8G", 1, "size"); }) ==
        "Parameter 'size' expects a non-negative number below 2^64");
  CHECK(error_of([] { parse_size("0x", 1, "size"); }) ==
        "Parameter 'size' expects a non-negative number below 2^64");
}

TEST_CASE("sizes: malformed text gets QEMU's wording, naming the parameter", "[keyval][size]") {
  const std::string invalid = "Parameter 'size' expects a non-negative number below 2^64";
  for (const char* text : {"", "foo", "-1", "1x", "1.5x", "1GB", "1e3", "1.5e3G", "G", ".5G", "1 G"}) {
    INFO("text: '" << text << "'");
    CHECK(error_of([&] { parse_size(text, MiB, "size"); }) == invalid);
  }
  CHECK(error_of([] { parse_size("x", 1, "maxmem"); }) ==
        "Parameter 'maxmem' expects a non-negative number below 2^64");
}

TEST_CASE("sizes: 2^64 and more are out of range", "[keyval][size]") {
  CHECK(parse_size("18446744073709551615", 1, "size") == UINT64_MAX);
  CHECK(error_of([] { parse_size("16E", 1, "size"); }) ==
        "Value '16E' is out of range for parameter 'size'");
  CHECK(error_of([] { parse_size("18446744073709551616", 1, "size"); }) ==
        "Value '18446744073709551616' is out of range for parameter 'size'");
  CHECK(error_of([] { parse_size("100000E", 1, "size"); }) ==
        "Value '100000E' is out of range for parameter 'size'");
  CHECK(error_of([] { parse_size("0x10000000000000000", 1, "size"); }) ==
        "Value '0x10000000000000000' is out of range for parameter 'size'");
}

TEST_CASE("booleans: on/off and their synonyms", "[keyval]") {
  for (const char* yes : {"on", "yes", "true"}) CHECK(parse_bool(yes, "x"));
  for (const char* no : {"off", "no", "false"}) CHECK_FALSE(parse_bool(no, "x"));
  CHECK(error_of([] { parse_bool("maybe", "reboot"); }) == "Parameter 'reboot' expects 'on' or 'off'");
  CHECK(error_of([] { parse_bool("", "reboot"); }) == "Parameter 'reboot' expects 'on' or 'off'");
}

TEST_CASE("unsigned integers: decimal, 0x hex and 0 octal as QEMU's QAPI parser", "[keyval]") {
  CHECK(parse_uint("42", "n") == 42);
  CHECK(parse_uint("0xf4", "iobase") == 0xf4);
  CHECK(parse_uint("010", "n") == 8);
  for (const char* bad : {"", "-1", "x", "4k", "1.0", "18446744073709551616"}) {
    INFO("text: '" << bad << "'");
    CHECK(error_of([&] { parse_uint(bad, "smp.cpus"); }) == "Parameter 'smp.cpus' expects integer");
  }
}
