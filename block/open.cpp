// open_block_backend(): format probing, backing chains, and the errors a
// user sees when a file is missing or is not what -drive says it is.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "block/block_backend.h"
#include "block/qcow2.h"
#include "block/raw.h"

namespace vireo {

namespace {

// A chain deeper than this is taken for a loop (an image that names itself
// or an ancestor as its backing file).
constexpr int kMaxBackingDepth = 64;

bool has_qcow2_magic(const HostFile& file) {
  uint8_t magic[4] = {};
  if (file.size_bytes() < sizeof magic) return false;
  file.read_at(0, magic);
  return load_be(magic, 4) == kQcow2Magic;
}

std::unique_ptr<BlockBackend> open_at_depth(const BlockOpenOptions& options, int depth);

void lock_image(HostFile& file, const BlockOpenOptions& options) {
  try {
    file.lock(!options.read_only);
  } catch (const BlockError& error) {
    throw BlockError("Could not open '" + options.path + "': " + error.what());
  }
}

}  // namespace

std::string resolve_backing_path(const std::string& image_path, const std::string& backing_name) {
  if (backing_name.empty() || backing_name[0] == '/') return backing_name;
  size_t slash = image_path.rfind('/');
  if (slash == std::string::npos) return backing_name;
  return image_path.substr(0, slash + 1) + backing_name;
}

std::string probe_image_format(const std::string& path) {
  HostFile file(path, true, false);
  return has_qcow2_magic(file) ? "qcow2" : "raw";
}

std::unique_ptr<Qcow2Image> open_qcow2(const BlockOpenOptions& options, int depth) {
  const bool direct = options.cache == CacheMode::None || options.cache == CacheMode::Directsync;
  HostFile file(options.path, options.read_only, direct);
  if (!options.force_share) lock_image(file, options);
  const uint64_t file_bytes = file.size_bytes();
  if (!has_qcow2_magic(file)) throw BlockError("Could not open '" + options.path + "': Image is not in qcow2 format");
  // The header and its extensions lie in the first cluster, at most 2 MiB.
  std::vector<uint8_t> head(std::min<uint64_t>(file_bytes, 1u << kQcow2MaxClusterBits));
  file.read_at(0, head);
  Qcow2Header header;
  try {
    header = parse_qcow2_header(head, file_bytes);
  } catch (const BlockError& error) {
    throw BlockError("Could not open '" + options.path + "': " + error.what());
  }
  std::unique_ptr<BlockBackend> backing;
  if (!header.backing_file.empty() && !options.no_backing) {
    if (depth >= kMaxBackingDepth) {
      throw BlockError("Could not open '" + options.path + "': backing chain is deeper than " +
                       std::to_string(kMaxBackingDepth) + " images (a loop?)");
    }
    BlockOpenOptions backing_options;
    backing_options.path = resolve_backing_path(options.path, header.backing_file);
    backing_options.format = header.backing_format;
    backing_options.read_only = true;
    backing_options.cache = options.cache;
    backing_options.force_share = options.force_share;
    try {
      backing = open_at_depth(backing_options, depth + 1);
    } catch (const BlockError& error) {
      throw BlockError(std::string("Could not open backing file: ") + error.what());
    }
  }
  return std::make_unique<Qcow2Image>(std::move(file), std::move(header), options.cache, std::move(backing));
}

namespace {

std::unique_ptr<BlockBackend> open_at_depth(const BlockOpenOptions& options, int depth) {
  std::string format = options.format;
  if (format.empty()) format = probe_image_format(options.path);
  if (format == "qcow2") return open_qcow2(options, depth);
  if (format == "raw") {
    const bool direct = options.cache == CacheMode::None || options.cache == CacheMode::Directsync;
    HostFile file(options.path, options.read_only, direct);
    if (!options.force_share) lock_image(file, options);
    return std::make_unique<RawImage>(std::move(file), options.cache);
  }
  throw BlockError("Unknown driver '" + format + "'");
}

}  // namespace

std::unique_ptr<BlockBackend> open_block_backend(const BlockOpenOptions& options) {
  if (!options.snapshot || options.read_only) return open_at_depth(options, 0);

  // The image itself, read-only: its size and format for the overlay.
  BlockOpenOptions base_options = options;
  base_options.snapshot = false;
  base_options.read_only = true;
  std::string format = options.format.empty() ? probe_image_format(options.path) : options.format;
  uint64_t size = open_at_depth(base_options, 0)->size_bytes();
  char* absolute = realpath(options.path.c_str(), nullptr);
  if (!absolute) throw BlockError(with_errno("Could not open '" + options.path + "'", errno));
  std::string base_path = absolute;
  free(absolute);

  const char* tmpdir = std::getenv("TMPDIR");
  std::string overlay_path = std::string(tmpdir && *tmpdir ? tmpdir : "/var/tmp") + "/vireo.XXXXXX";
  int fd = mkstemp(overlay_path.data());
  if (fd < 0) throw BlockError(with_errno("Could not create temporary overlay '" + overlay_path + "'", errno));
  close(fd);
  try {
    Qcow2CreateOptions create;
    create.size_bytes = size;
    create.backing_file = base_path;
    create.backing_format = format;
    create_qcow2(overlay_path, create);
    BlockOpenOptions overlay_options = options;
    overlay_options.path = overlay_path;
    overlay_options.format = "qcow2";
    overlay_options.snapshot = false;
    overlay_options.read_only = false;
    std::unique_ptr<BlockBackend> overlay = open_at_depth(overlay_options, 0);
    unlink(overlay_path.c_str());
    return overlay;
  } catch (...) {
    unlink(overlay_path.c_str());
    throw;
  }
}

}  // namespace vireo
