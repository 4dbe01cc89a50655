// What an opened image and its backing chain are, for the monitor's
// query-block (QEMU's ImageInfo with its nested backing-image): described
// once when the drive is opened, since vireo never changes a chain at run
// time. The allocated size is read when asked, from the open file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vireo {

class BlockBackend;
class HostFile;

struct BlockImageFacts {
  std::string filename;
  std::string format;  // "raw" or "qcow2"
  uint64_t virtual_size = 0;
  const HostFile* file = nullptr;  // the open image file (actual-size)
  bool dirty = false;              // qcow2's dirty bit, when opened
  // qcow2 only
  bool qcow2 = false;
  uint64_t cluster_size = 0;
  bool v3 = false;  // compat 1.1, else 0.10
  bool lazy_refcounts = false;
  unsigned refcount_bits = 0;
  bool corrupt = false;
  std::string backing_filename;       // as the header names it
  std::string backing_format;         // from the header's extension, may be empty
  std::string full_backing_filename;  // as opened
};

// The image `top` and each backing file below it, top first.
std::vector<BlockImageFacts> describe_image_chain(const BlockBackend& top);

}  // namespace vireo
