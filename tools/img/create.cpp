// vireo-img create: qemu-img create's options and "Formatting ..." line.
#include <cstdio>
#include <cstring>
#include <optional>

#include "block/host_file.h"
#include "system/keyval.h"
#include "tools/img/img.h"

namespace vireo::img {

int cmd_create(const Args& args) {
  ParsedArgs parsed = parse_args(args, "F:b:f:ho:quU", {"help", "object="});
  std::string format = "raw";
  std::string options_text;
  std::string backing_file;
  std::string backing_format;
  bool quiet = false;
  bool unsafe = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "b") backing_file = option.value;
    if (option.name == "F") backing_format = option.value;
    if (option.name == "q") quiet = true;
    if (option.name == "u") unsafe = true;
    if (option.name == "o") options_text += (options_text.empty() ? "" : ",") + option.value;
    if (option.name == "object") throw ImgError("--object is not supported");
  }
  if (parsed.positional.empty() || parsed.positional.size() > 2) throw ImgError("Expecting image file name");
  const std::string filename = parsed.positional[0];
  if (format != "raw" && format != "qcow2") throw ImgError("Unknown file format '" + format + "'");

  std::optional<uint64_t> size;
  if (parsed.positional.size() == 2) {
    try {
      size = parse_size(parsed.positional[1], 1, "size");
    } catch (const Error&) {
      throw ImgError("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
    }
  }
  Qcow2CreateOptions qcow2;
  std::string compat_text;
  std::string preallocation;
  for (auto& [key, value] : parse_create_options(options_text)) {
    auto qcow2_only = [&] {
      if (format != "qcow2") throw ImgError(filename + ": Invalid parameter '" + key + "'");
    };
    if (key == "size") {
      size = parse_size(value, 1, "size");
    } else if (key == "preallocation") {
      if (value == "off") {
        qcow2.preallocation = Qcow2Preallocation::Off;
      } else if (value == "metadata" && format == "qcow2") {
        qcow2.preallocation = Qcow2Preallocation::Metadata;
      } else if (value == "falloc") {
        qcow2.preallocation = Qcow2Preallocation::Falloc;
      } else if (value == "full") {
        qcow2.preallocation = Qcow2Preallocation::Full;
      } else {
        throw ImgError(filename + ": Parameter 'preallocation' does not accept value '" + value + "'");
      }
      preallocation = value;
    } else if (key == "cluster_size") {
      qcow2_only();
      qcow2.cluster_size = parse_size(value, 1, "cluster_size");
    } else if (key == "backing_file") {
      qcow2_only();
      backing_file = value;
    } else if (key == "backing_fmt") {
      qcow2_only();
      backing_format = value;
    } else if (key == "compat") {
      qcow2_only();
      compat_text = value;
      if (value == "0.10" || value == "v2") {
        qcow2.version = 2;
      } else if (value == "1.1" || value == "v3") {
        qcow2.version = 3;
      } else {
        throw ImgError(filename + ": Parameter 'version' does not accept value '" + value + "'");
      }
    } else if (key == "lazy_refcounts") {
      qcow2_only();
      qcow2.lazy_refcounts = parse_bool(value, "lazy_refcounts");
    } else if (key == "refcount_bits") {
      qcow2_only();
      qcow2.refcount_bits = static_cast<uint32_t>(parse_uint(value, "refcount_bits"));
    } else if (key == "extended_l2" || key == "compression_type") {
      qcow2_only();
      if (value != "off" && value != "zlib") throw ImgError(filename + ": " + key + "=" + value + " is not supported by vireo-img");
    } else {
      throw ImgError(filename + ": Invalid parameter '" + key + "'");
    }
  }
  if (!backing_file.empty() && format != "qcow2") {
    throw ImgError(filename + ": Backing file not supported for file format '" + format + "'");
  }
  if (!backing_file.empty()) {
    if (backing_format.empty()) {
      throw ImgError(filename + ": Backing file specified without backing format");
    }
    if (!unsafe || !size) {
      try {
        auto backing = open_image(resolve_backing_path(filename, backing_file), backing_format, true);
        if (!size) size = backing->size_bytes();
      } catch (const BlockError& error) {
        throw ImgError(filename + ": " + error.what() + "\nCould not open backing image.");
      }
    }
  }
  if (!size) throw ImgError(filename + ": Image creation needs a size parameter");

  if (!quiet) {
    std::string line = "Formatting '" + filename + "', fmt=" + format;
    if (format == "qcow2") {
      line += " cluster_size=" + std::to_string(qcow2.cluster_size) + " extended_l2=off";
      if (!preallocation.empty()) line += " preallocation=" + preallocation;
      line += " compression_type=zlib size=" + std::to_string(*size);
      if (!compat_text.empty()) line += " compat=" + compat_text;
      if (!backing_file.empty()) line += " backing_file=" + backing_file + " backing_fmt=" + backing_format;
      line += std::string(" lazy_refcounts=") + (qcow2.lazy_refcounts ? "on" : "off") +
              " refcount_bits=" + std::to_string(qcow2.refcount_bits);
    } else {
 if (!preallocation.empty()) line += " preallocation=" + preallocation;
      line += " size=" + std::to_string(*size);
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  try {
    if (format == "raw") {
      HostFile file = HostFile::create(filename);
      file.truncate(*size);
      if (qcow2.preallocation == Qcow2Preallocation::Falloc && !file.allocate(0, *size)) {
        throw BlockError("Could not preallocate data for the new file");
      }
      if (qcow2.preallocation == Qcow2Preallocation::Full) {
        std::vector<uint8_t> zeroes(std::min<uint64_t>(*size, 1 << 20), 0);
        for (uint64_t at = 0; at < *size; at += zeroes.size()) {
          file.write_at(at, std::span(zeroes.data(), std::min<uint64_t>(zeroes.size(), *size - at)));
        }
      }
    } else {
      qcow2.size_bytes = *size;
      qcow2.backing_file = backing_file;
      qcow2.backing_format = backing_format;
      create_qcow2(filename, qcow2);
    }
  } catch (const BlockError& error) {
    throw ImgError(filename + ": " + error.what());
  }
  return 0;
}

}  // namespace vireo::img
