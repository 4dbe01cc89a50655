#include "system/keyval.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/error.h"

namespace vireo {

std::vector<std::string> split_escaped_commas(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      current += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      current += ',';
      ++i;
    } else {
      parts.push_back(std::move(current));
      current.clear();
    }
  }
  parts.push_back(std::move(current));
  return parts;
}

KeyValueList KeyValueList::parse(std::string_view text, std::string_view implied_key) {
  KeyValueList list;
  std::vector<std::string> parts = split_escaped_commas(text);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (i == 0 && !implied_key.empty()) {
        list.items_.push_back({std::string(implied_key), part});
        continue;
      }
      // QEMU ignores an empty trailing item ("a=b,"), and a bare key is on.
      if (part.empty()) {
        if (i + 1 == parts.size() && i > 0) continue;
        throw Error("Invalid parameter ''");
      }
      list.items_.push_back({part, "on"});
      continue;
    }
    if (eq == 0) throw Error("Invalid parameter ''");
    list.items_.push_back({part.substr(0, eq), part.substr(eq + 1)});
  }
  return list;
}

std::optional<std::string> KeyValueList::get(std::string_view key) const {
  for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
    if (it->key == key) return it->value;
  }
  return std::nullopt;
}

void KeyValueList::check_known(std::initializer_list<std::string_view> known) const {
  for (const KeyValue& kv : items_) {
    bool found = false;
    for (std::string_view k : known) found = found || kv.key == k;
    if (!found) throw Error("Invalid parameter '" + kv.key + "'");
  }
}

namespace {

uint64_t suffix_multiplier(char suffix) {
  switch (suffix) {
    case 'B': case 'b': return 1;
    case 'K': case 'k': return 1ull << 10;
    case 'M': case 'm': return 1ull << 20;
    case 'G': case 'g': return 1ull << 30;
    case 'T': case 't': return 1ull << 40;
    case 'P': case 'p': return 1ull << 50;
    case 'E': case 'e': return 1ull << 60;
    default: return 0;
  }
}

}  // namespace

// The rules are QEMU's (util/cutils.c, do_strtosz), checked against
// qemu-system-x86_64 7.2: the integer part is decimal ("010" is ten), "0x"
// switches to hex without a fraction, a fraction needs a scaling suffix
// ("1.5" alone is refused, "1.k" is 1 KiB), exponents are refused, and the
// result is rounded to the nearest byte.
uint64_t parse_size(std::string_view text, uint64_t default_unit, std::string_view parameter) {
  const std::string invalid = "Parameter '" + std::string(parameter) +
                              "' expects a non-negative number below 2^64";
  const std::string out_of_range = "Value '" + std::string(text) +
                                   "' is out of range for parameter '" + std::string(parameter) + "'";
  const std::string s(text);
  const char* begin = s.c_str();

  errno = 0;
  char* end = nullptr;
  unsigned long long integer = std::strtoull(begin, &end, 10);
  if (end == begin) throw Error(invalid);
  // strtoull negates "-1" silently; a size is never negative.
  if (std::string_view(begin, static_cast<size_t>(end - begin)).find('-') != std::string_view::npos) {
    throw Error(invalid);
  }
  if (errno == ERANGE) throw Error(out_of_range);

  double fraction = 0;
  if (integer == 0 && (*end == 'x' || *end == 'X')) {
    errno = 0;
    integer = std::strtoull(begin, &end, 16);
    if (errno == ERANGE) throw Error(out_of_range);
    if (*end == '.') throw Error(invalid);
  } else if (*end == '.') {
    char* fraction_end = nullptr;
    fraction = std::strtod(end, &fraction_end);
    if (fraction_end == end || !std::isfinite(fraction)) {
      ++end;  // a bare "." before the suffix, as in "1.k"
      fraction = 0;
    } else if (std::string_view(end, static_cast<size_t>(fraction_end - end))
                   .find_first_of("eE") != std::string_view::npos) {
      throw Error(invalid);
    } else {
      end = fraction_end;
    }
  }

  uint64_t unit = suffix_multiplier(*end);
  if (unit != 0) {
    ++end;
  } else {
    unit = default_unit;
  }
  if (*end != '\0') throw Error(invalid);
  if (unit == 1 && fraction != 0) throw Error(invalid);

  // integer * unit + fraction * unit, exact in 128 bits; the fraction as a
  // 64-bit binary fixed-point number, rounded half up.
  __extension__ using u128 = unsigned __int128;
  const u128 fraction_fixed = static_cast<u128>(std::ldexp(fraction, 64));
  const u128 fraction_bytes = fraction_fixed * unit;
  const u128 total = static_cast<u128>(integer) * unit + (fraction_bytes >> 64) +
                     ((fraction_bytes >> 63) & 1);
  if (total > UINT64_MAX) throw Error(out_of_range);
  return static_cast<uint64_t>(total);
}

bool parse_bool(std::string_view text, std::string_view parameter) {
  if (text == "on" || text == "yes" || text == "true") return true;
  if (text == "off" || text == "no" || text == "false") return false;
  throw Error("Parameter '" + std::string(parameter) + "' expects 'on' or 'off'");
}

uint64_t parse_uint(std::string_view text, std::string_view parameter) {
  std::string s(text);
  errno = 0;
  char* end = nullptr;
  if (s.empty() || s[0] == '-') throw Error("Parameter '" + std::string(parameter) + "' expects integer");
  unsigned long long value = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0') {
    throw Error("Parameter '" + std::string(parameter) + "' expects integer");
  }
  return value;
}

}  // namespace vireo
