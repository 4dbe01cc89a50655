// vireo-img snapshot, resize, commit and rebase: commands that change an
// existing image, with qemu-img's options, messages and exit statuses.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "block/host_file.h"
#include "block/raw.h"
#include "system/keyval.h"
#include "tools/img/img.h"

namespace vireo::img {

namespace {

std::unique_ptr<BlockBackend> open_or_fail(const std::string& path, const std::string& format, bool read_only,
                                           bool no_backing = false, bool force_share = false) {
  try {
    return open_image(path, format, read_only, no_backing, force_share);
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
}

Qcow2Image& require_qcow2(BlockBackend* image, const std::string& what) {
  Qcow2Image* qcow2 = as_qcow2(image);
  if (!qcow2) throw ImgError(what);
  return *qcow2;
}

std::string clock_text(uint64_t nsec) {
  uint64_t msec = nsec / 1000000;
  char text[64];
  std::snprintf(text, sizeof text, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(msec / 3600000),
                static_cast<unsigned long long>(msec / 60000 % 60), static_cast<unsigned long long>(msec / 1000 % 60),
                static_cast<unsigned long long>(msec % 1000));
  return text;
}

}  // namespace

void print_snapshot_list(const std::vector<Qcow2Snapshot>& list) {
  std::printf("Snapshot list:\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n");
  for (const Qcow2Snapshot& s : list) {
    char date[32];
    time_t seconds = s.date_sec;
    struct tm tm;
    localtime_r(&seconds, &tm);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    std::printf("%-9s %-17s %7s %19s %12s %10s\n", s.id.c_str(), s.name.c_str(), size_to_str(s.vm_state_size).c_str(), date,
                clock_text(s.vm_clock_nsec).c_str(), "0");
  }
}

int cmd_snapshot(const Args& args) {
  ParsedArgs parsed = parse_args(args, "la:c:d:f:hqU", {"help", "object=", "image-opts", "force-share"});
  std::string format;
  char action = 0;
  std::string name;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "l" || option.name == "a" || option.name == "c" || option.name == "d") {
      if (action != 0) throw ImgError("Cannot mix '-l', '-a', '-c', '-d'");
      action = option.name[0];
      name = option.value;
    }
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  if (action == 0) action = 'l';
  auto image = open_or_fail(parsed.positional[0], format, action == 'l', true, action == 'l' && wants_force_share(parsed));
  Qcow2Image& qcow2 = require_qcow2(image.get(), "This image format does not support snapshots");
  try {
    switch (action) {
      case 'l': {
        auto list = qcow2.snapshots();
        if (!list.empty()) print_snapshot_list(list);
        return 0;
      }
      case 'c': {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        try {
          qcow2.create_snapshot(name, static_cast<uint32_t>(now.tv_sec), static_cast<uint32_t>(now.tv_nsec / 1000 * 1000));
        } catch (const BlockError& error) {
          throw ImgError("Could not create snapshot '" + name + "': " + error.what());
        }
        return 0;
      }
      case 'a':
        try {
          qcow2.apply_snapshot(name);
        } catch (const BlockError& error) {
          throw ImgError("Could not apply snapshot '" + name + "': " + error.what());
        }
        return 0;
      case 'd':
        try {
          qcow2.delete_snapshot(name);
        } catch (const BlockError& error) {
          throw ImgError("Could not delete snapshot '" + name + "': " + error.what());
        }
        return 0;
    }
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  return 0;
}

int cmd_resize(const Args& args) {
  // "-1G" is a size here, not an option: take the last argument first.
  Args rest = args;
  if (rest.empty()) throw ImgError("Expecting image file name and size");
  std::string size_text = rest.back();
  rest.pop_back();
  ParsedArgs parsed = parse_args(rest, "f:hq", {"help", "shrink", "preallocation=", "object=", "image-opts"});
  std::string format;
  bool shrink = false;
  bool quiet = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "shrink") shrink = true;
    if (option.name == "q") quiet = true;
    if (option.name == "preallocation" && option.value != "off") throw ImgError("Unsupported preallocation mode '" + option.value + "'");
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting image file name and size");
  int sign = 0;
  if (!size_text.empty() && (size_text[0] == '+' || size_text[0] == '-')) {
    sign = size_text[0] == '+' ? 1 : -1;
    size_text = size_text.substr(1);
  }
  uint64_t amount;
  try {
    amount = parse_size(size_text, 1, "size");
  } catch (const Error&) {
    throw ImgError("Invalid image size specified. You may use k, M, G, T, P or E suffixes for \nkilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
  }
  auto image = open_or_fail(parsed.positional[0], format, false, true);
  uint64_t old_size = image->size_bytes();
  if (sign < 0 && amount > old_size) throw ImgError("New image size must be positive");
  uint64_t new_size = sign == 0 ? amount : sign > 0 ? old_size + amount : old_size - amount;
  if (new_size < old_size) {
    if (!shrink) throw ImgError("Use the --shrink option to perform a shrink operation.");
    std::fprintf(stderr, "vireo-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. "
                         "Before performing such an operation, make sure there is no important data there.\n");
  }
  try {
    if (Qcow2Image* qcow2 = as_qcow2(image.get())) {
      qcow2->resize(new_size);
    } else {
      image.reset();
      HostFile file(parsed.positional[0], false, false);
      file.truncate(new_size);
      file.flush();
    }
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  if (!quiet) std::printf("Image resized.\n");
  return 0;
}

int cmd_commit(const Args& args) {
  ParsedArgs parsed = parse_args(args, "f:ht:b:dpqr:", {"help", "object=", "image-opts"});
  std::string format;
  bool keep = false;
  bool quiet = false;
  bool progress = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "d") keep = true;
    if (option.name == "q") quiet = true;
    if (option.name == "p") progress = true;
    if (option.name == "b") throw ImgError("commit -b is not supported by vireo-img (commits into the direct backing file)");
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  const std::string& path = parsed.positional[0];
  auto image = open_or_fail(path, format, false, true);
  Qcow2Image* top = as_qcow2(image.get());
  if (!top || top->header().backing_file.empty()) throw ImgError("Image does not have a backing file");
  std::string base_path = resolve_backing_path(path, top->header().backing_file);
  auto base = open_or_fail(base_path, top->header().backing_format, false);
  try {
    if (base->size_bytes() < top->size_bytes()) {
      if (Qcow2Image* base_qcow2 = as_qcow2(base.get())) {
        base_qcow2->resize(top->size_bytes());
      } else {
        base.reset();
        HostFile(base_path, false, false).truncate(top->size_bytes());
        base = open_or_fail(base_path, "raw", false);
      }
    }
    // Every cluster the top image holds itself goes down into the base.
    const uint64_t size = top->size_bytes();
    const uint64_t cluster = top->cluster_size();
    std::vector<uint8_t> buffer(cluster);
    for (uint64_t offset = 0; offset < size; offset += cluster) {
      auto [kind, host] = top->cluster_status(offset);
      if (kind == Qcow2ClusterKind::Unallocated) continue;
      uint64_t length = std::min(cluster, size - offset);
      if (kind == Qcow2ClusterKind::Zero) {
        base->write_zeroes(offset, length);
      } else {
        top->read(offset, std::span(buffer.data(), length));
        base->write(offset, std::span(buffer.data(), length));
      }
      if (progress) std::printf("    (%3.2f/100%%)\r", static_cast<double>(offset) * 100.0 / static_cast<double>(size));
    }
    base->flush();
    if (!keep) top->make_empty();
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  if (progress) std::printf("    (100.00/100%%)\n");
  if (!quiet) std::printf("Image committed.\n");
  return 0;
}

int cmd_rebase(const Args& args) {
  ParsedArgs parsed = parse_args(args, "hf:F:b:upt:T:qc", {"help", "object=", "image-opts"});
  std::string format;
  std::string backing_file;
  std::string backing_format;
  bool have_backing = false;
  bool unsafe = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "b") {
      backing_file = option.value;
      have_backing = true;
    }
    if (option.name == "F") backing_format = option.value;
    if (option.name == "u") unsafe = true;
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  if (!have_backing) throw ImgError("Must specify backing file (-b) or use unsafe mode (-u)");
  const std::string& path = parsed.positional[0];
  if (!backing_file.empty() && backing_format.empty()) {
    try {
      backing_format = probe_image_format(resolve_backing_path(path, backing_file));
    } catch (const BlockError& error) {
      throw ImgError(error.what());
    }
  }
  // Safe mode reads through the old chain, so the image opens with it.
  auto image = open_or_fail(path, format, false, unsafe);
  Qcow2Image& top = require_qcow2(image.get(), "This image format does not support backing files");
  try {
    if (!unsafe) {
      // Where the top image shows the old backing file's data, and the new
      // backing file would show something else, keep the old data in the top.
      std::unique_ptr<BlockBackend> new_backing;
      if (!backing_file.empty()) new_backing = open_or_fail(resolve_backing_path(path, backing_file), backing_format, true);
      const uint64_t size = top.size_bytes();
      const uint64_t cluster = top.cluster_size();
      std::vector<uint8_t> old_data(cluster);
      std::vector<uint8_t> new_data(cluster);
      for (uint64_t offset = 0; offset < size; offset += cluster) {
        if (top.cluster_status(offset).first != Qcow2ClusterKind::Unallocated) continue;
        uint64_t length = std::min(cluster, size - offset);
        top.read(offset, std::span(old_data.data(), length));
        std::fill(new_data.begin(), new_data.end(), uint8_t{0});
        if (new_backing && offset < new_backing->size_bytes()) {
          new_backing->read(offset, std::span(new_data.data(), std::min(length, new_backing->size_bytes() - offset)));
        }
        if (!std::equal(old_data.begin(), old_data.begin() + static_cast<ptrdiff_t>(length), new_data.begin())) {
          top.write(offset, std::span(old_data.data(), length));
        }
      }
      top.flush();
    }
    top.set_backing(backing_file, backing_format);
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  return 0;
}

}  // namespace vireo::img
