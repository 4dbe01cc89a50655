// QEMU's option-value syntax: a comma-separated list of key=value pairs,
// where ",," stands for a literal comma and the first item may omit its key
// ("-machine pc,accel=kvm" means type=pc). A bare key means key=on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vireo {

struct KeyValue {
  std::string key;
  std::string value;
};

class KeyValueList {
 public:
  // Throws Error on an empty key. `implied_key` may be empty when the option
  // has none, in which case a leading bare item is a boolean key.
  static KeyValueList parse(std::string_view text, std::string_view implied_key);
  // From pairs already split (a JSON option value).
  static KeyValueList from_items(std::vector<KeyValue> items) {
    KeyValueList list;
    list.items_ = std::move(items);
    return list;
  }

  // The last value given for `key` (QEMU: later settings win).
  std::optional<std::string> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  const std::vector<KeyValue>& items() const { return items_; }

  // Throws Error naming the first key not in `known`, as QEMU's
  // "Invalid parameter 'x'".
  void check_known(std::initializer_list<std::string_view> known) const;

 private:
  std::vector<KeyValue> items_;
};

// Splits on single commas, turning ",," into ",".
std::vector<std::string> split_escaped_commas(std::string_view text);

// Sizes as QEMU reads them: a decimal number, optionally fractional, or a
// 0x hex number, with a suffix B, K, M, G, T, P or E (any case; powers of
// 1024). Without a suffix the number is in `default_unit` bytes, and a
// fraction then needs default_unit > 1. Throws Error with QEMU's wording,
// naming `parameter`: "expects a non-negative number below 2^64" for
// malformed text, "is out of range" for values of 2^64 and more.
uint64_t parse_size(std::string_view text, uint64_t default_unit, std::string_view parameter);

// on/off/yes/no/true/false; throws Error naming `parameter`.
bool parse_bool(std::string_view text, std::string_view parameter);

// Unsigned integer, decimal or 0x-hex or 0-octal as strtoull base 0.
uint64_t parse_uint(std::string_view text, std::string_view parameter);

}  // namespace vireo
