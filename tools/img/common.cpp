#include <algorithm>
#include <cmath>
#include <cstdio>

#include "system/keyval.h"
#include "tools/img/img.h"

namespace vireo::img {

ParsedArgs parse_args(const Args& args, const std::string& short_options, const std::vector<std::string>& long_options) {
  ParsedArgs out;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      auto spec = std::find_if(long_options.begin(), long_options.end(), [&](const std::string& s) {
        return s == name || s == name + "=";
      });
      if (spec == long_options.end()) throw ImgError("unrecognized option '" + arg + "'");
      bool takes_value = spec->back() == '=';
      if (takes_value && !has_value) {
        if (i + 1 >= args.size()) throw ImgError("option '--" + name + "' requires an argument");
        value = args[++i];
      } else if (!takes_value && has_value) {
        throw ImgError("option '--" + name + "' doesn't allow an argument");
      }
      out.options.push_back({name, value});
      continue;
    }
    for (size_t j = 1; j < arg.size(); ++j) {
      size_t at = short_options.find(arg[j]);
      if (at == std::string::npos || arg[j] == ':') throw ImgError(std::string("invalid option -- '") + arg[j] + "'");
      if (at + 1 < short_options.size() && short_options[at + 1] == ':') {
        std::string value = arg.substr(j + 1);
        if (value.empty()) {
          if (i + 1 >= args.size()) throw ImgError(std::string("option requires an argument -- '") + arg[j] + "'");
          value = args[++i];
        }
        out.options.push_back({std::string(1, arg[j]), value});
        break;
      }
      out.options.push_back({std::string(1, arg[j]), ""});
    }
  }
  return out;
}

std::string size_to_str(uint64_t bytes) {
  static const char* const kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int exponent = 0;
  std::frexp(static_cast<double>(bytes) / (1000.0 / 1024.0), &exponent);
  int unit = std::clamp((exponent - 1) / 10, 0, 6);
  char text[64];
  std::snprintf(text, sizeof text, "%0.3g %sB", static_cast<double>(bytes) / static_cast<double>(1ull << (unit * 10)),
                kSuffixes[unit]);
  return text;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool wants_force_share(const ParsedArgs& parsed) {
  return std::any_of(parsed.options.begin(), parsed.options.end(),
                     [](const Option& o) { return o.name == "U" || o.name == "force-share"; });
}

std::unique_ptr<BlockBackend> open_image(const std::string& path, const std::string& format, bool read_only,
                                         bool no_backing, bool force_share) {
  if (!format.empty() && format != "raw" && format != "qcow2") throw ImgError("Unknown driver '" + format + "'");
  BlockOpenOptions options;
  options.path = path;
  options.format = format;
  options.read_only = read_only;
  options.no_backing = no_backing;
  options.force_share = force_share;
  return open_block_backend(options);
}

Qcow2Image* as_qcow2(BlockBackend* image) { return dynamic_cast<Qcow2Image*>(image); }

std::vector<std::pair<std::string, std::string>> parse_create_options(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& item : split_escaped_commas(text)) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos) throw ImgError("Invalid parameter '" + item + "'");
    out.push_back({item.substr(0, eq), item.substr(eq + 1)});
  }
  return out;
}

}  // namespace vireo::img
