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

uint64_t parse_size(std::string_view text, uint64_t default_unit, std::string_view parameter) {
  const std::string message = "Parameter '" + std::string(parameter) +
                              "' expects a non-negative number below 2^64";
  std::string s(text);
  if (s.empty() || s[0] == '-' || s[0] == ' ') throw Error(message);

  // Integer part first (hex allowed); a fraction only for decimal numbers.
  errno = 0;
  char* end = nullptr;
  unsigned long long integer = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str()) throw Error(message);
  double fraction = 0;
  bool hex = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (*end == '.' && !hex) {
    char* frac_end = nullptr;
    fraction = std::strtod(end, &frac_end);
    if (frac_end == end) throw Error(message);
    end = frac_end;
  }
  uint64_t unit = default_unit;
  if (*end != '\0') {
    unit = suffix_multiplier(*end);
    if (unit == 0 || end[1] != '\0') throw Error(message);
  }
  if (unit != 0 && integer > UINT64_MAX / unit) throw Error(message);
  uint64_t whole = integer * unit;
  double extra = fraction * static_cast<double>(unit);
  if (extra >= static_cast<double>(UINT64_MAX - whole)) throw Error(message);
  return whole + static_cast<uint64_t>(std::llround(extra));
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
