// vireo-img map and compare: where a guest range's data lives, and whether
// two images read the same (qemu-img's output and exit statuses).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>

#include "block/raw.h"
#include "tools/img/img.h"

namespace vireo::img {

namespace {

// One run of a map: QEMU's MapEntry.
struct Extent {
  uint64_t start = 0;
  uint64_t length = 0;
  int depth = 0;
  bool present = false;
  bool zero = false;
  bool data = false;
  std::optional<uint64_t> offset;
  std::string filename;
};

Extent block_status(BlockBackend* image, const std::string& filename, uint64_t offset, uint64_t max_length, int depth) {
  Extent e;
  e.start = offset;
  e.depth = depth;
  if (Qcow2Image* qcow2 = as_qcow2(image)) {
    const uint64_t cluster = qcow2->cluster_size();
    auto [kind, host] = qcow2->cluster_status(offset);
    e.length = std::min(cluster - offset % cluster, max_length);
    // Extend over following clusters of the same kind (contiguous on the
    // host for data), so that a large image maps in few steps.
    const uint64_t cluster_start = offset - offset % cluster;
    for (uint64_t k = 1; kind != Qcow2ClusterKind::Compressed && e.length < max_length; ++k) {
      auto [next_kind, next_host] = qcow2->cluster_status(cluster_start + k * cluster);
      bool mapped = kind == Qcow2ClusterKind::Normal || (kind == Qcow2ClusterKind::Zero && host != 0);
      if (next_kind != kind || (mapped && next_host != host + k * cluster) || (!mapped && next_host != 0)) break;
      e.length = std::min(e.length + cluster, max_length);
    }
    switch (kind) {
      case Qcow2ClusterKind::Normal:
        e.present = e.data = true;
        e.offset = host + offset % cluster;
        e.filename = filename;
        return e;
      case Qcow2ClusterKind::Compressed:
        e.present = e.data = true;
        e.filename = filename;
        return e;
      case Qcow2ClusterKind::Zero:
        // A zero cluster that kept its allocation still maps somewhere.
        e.present = e.zero = true;
        if (host != 0) {
          e.offset = host + offset % cluster;
          e.filename = filename;
        }
        return e;
      case Qcow2ClusterKind::Unallocated:
        break;
    }
    BlockBackend* backing = qcow2->backing();
    if (backing && offset < backing->size_bytes()) {
      std::string backing_name = resolve_backing_path(filename, qcow2->header().backing_file);
      Extent below = block_status(backing, backing_name, offset, std::min(e.length, backing->size_bytes() - offset), depth + 1);
      return below;
    }
    e.zero = true;
    if (backing) e.depth = depth + 1;
    return e;
  }
  auto* raw = dynamic_cast<RawImage*>(image);
  auto [is_data, run] = raw->host_file().data_extent(offset);
  e.length = std::min(std::max<uint64_t>(run, 1), max_length);
  e.present = true;
  e.data = is_data;
  e.zero = !is_data;
  e.offset = offset;
  e.filename = filename;
  return e;
}

bool mergeable(const Extent& a, const Extent& b) {
  if (a.zero != b.zero || a.data != b.data || a.depth != b.depth || a.present != b.present ||
      a.filename != b.filename || a.offset.has_value() != b.offset.has_value()) {
    return false;
  }
  return !a.offset || *a.offset + a.length == *b.offset;
}

void print_extent(const Extent& e, bool json, bool first) {
  if (json) {
    std::printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s",
                first ? "[" : ",\n", e.start, e.length, e.depth, e.present ? "true" : "false", e.zero ? "true" : "false",
                e.data ? "true" : "false");
    if (e.offset) std::printf(", \"offset\": %" PRIu64, *e.offset);
    std::printf("}");
  } else if (e.data && e.offset) {
    std::printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e.start, e.length, *e.offset, e.filename.c_str());
  }
}

}  // namespace

int cmd_map(const Args& args) {
  ParsedArgs parsed = parse_args(args, "f:hU", {"output=", "help", "force-share", "image-opts", "object=", "start-offset=", "max-length="});
  std::string format;
  std::string output = "human";
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "output") output = option.value;
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  if (output != "human" && output != "json") throw ImgError("--output must be used with human or json as argument.");
  std::unique_ptr<BlockBackend> image;
  try {
    image = open_image(parsed.positional[0], format, true, false, wants_force_share(parsed));
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  const bool json = output == "json";
  if (!json) std::printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
  std::optional<Extent> pending;
  bool first = true;
  const uint64_t size = image->size_bytes();
  for (uint64_t offset = 0; offset < size;) {
    Extent e = block_status(image.get(), parsed.positional[0], offset, size - offset, 0);
    offset += e.length;
    if (pending && mergeable(*pending, e)) {
      pending->length += e.length;
      continue;
    }
    if (!json && e.data && !e.offset) {
      std::fprintf(stderr, "vireo-img: File contains external, encrypted or compressed clusters.\n");
      return 1;
    }
    if (pending) {
      print_extent(*pending, json, first);
      first = false;
    }
    pending = e;
  }
  if (pending) print_extent(*pending, json, first);
  if (json) std::printf("]\n");
  return 0;
}

int cmd_compare(const Args& args) {
  ParsedArgs parsed = parse_args(args, "hf:F:T:pqsU", {"help", "object=", "image-opts", "force-share"});
  std::string format1;
  std::string format2;
  bool strict = false;
  bool quiet = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format1 = option.value;
    if (option.name == "F") format2 = option.value;
    if (option.name == "s") strict = true;
    if (option.name == "q") quiet = true;
  }
  // qemu-img compare: 0 identical, 1 different, 2 error opening, 3 error
  // while checking.
  if (parsed.positional.size() != 2) {
    std::fprintf(stderr, "vireo-img: Expecting two image file names\n");
    return 2;
  }
  std::unique_ptr<BlockBackend> a;
  std::unique_ptr<BlockBackend> b;
  try {
    a = open_image(parsed.positional[0], format1, true, false, wants_force_share(parsed));
    b = open_image(parsed.positional[1], format2, true, false, wants_force_share(parsed));
  } catch (const Error& error) {
    std::fprintf(stderr, "vireo-img: %s\n", error.what());
    return 2;
  }
  auto say = [&](const std::string& text) {
    if (!quiet) std::printf("%s\n", text.c_str());
  };
  const uint64_t size_a = a->size_bytes();
  const uint64_t size_b = b->size_bytes();
  if (size_a != size_b) {
    if (strict) {
      say("Strict mode: Image size mismatch!");
      return 1;
    }
    say("Warning: Image size mismatch!");
  }
  constexpr uint64_t kChunk = 1 << 20;
  constexpr uint64_t kSector = 512;
  std::vector<uint8_t> buffer_a(kChunk);
  std::vector<uint8_t> buffer_b(kChunk);
  const uint64_t larger = std::max(size_a, size_b);
  try {
    for (uint64_t offset = 0; offset < larger; offset += kChunk) {
      uint64_t length = std::min(kChunk, larger - offset);
      // Past the end of the smaller image, it reads as zeroes.
      auto fill = [&](BlockBackend& image, uint64_t size, std::vector<uint8_t>& buffer) {
        std::fill(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(length), uint8_t{0});
        if (offset < size) image.read(offset, std::span(buffer.data(), std::min(length, size - offset)));
      };
      fill(*a, size_a, buffer_a);
      fill(*b, size_b, buffer_b);
      for (uint64_t at = 0; at < length; at += kSector) {
        uint64_t n = std::min(kSector, length - at);
        if (!std::equal(buffer_a.begin() + at, buffer_a.begin() + at + n, buffer_b.begin() + at)) {
          say("Content mismatch at offset " + std::to_string(offset + at) + "!");
          return 1;
        }
      }
    }
  } catch (const Error& error) {
    std::fprintf(stderr, "vireo-img: %s\n", error.what());
    return 3;
  }
  say("Images are identical.");
  return 0;
}

}  // namespace vireo::img
