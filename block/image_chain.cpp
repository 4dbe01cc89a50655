#include "block/image_chain.h"

#include "block/qcow2.h"
#include "block/raw.h"

namespace vireo {

std::vector<BlockImageFacts> describe_image_chain(const BlockBackend& top) {
  std::vector<BlockImageFacts> chain;
  for (const BlockBackend* image = &top; image != nullptr;) {
    BlockImageFacts facts;
    facts.virtual_size = image->size_bytes();
    const BlockBackend* next = nullptr;
    if (const auto* qcow2 = dynamic_cast<const Qcow2Image*>(image)) {
      const Qcow2Header& h = qcow2->header();
      facts.filename = qcow2->path();
      facts.format = "qcow2";
      facts.file = &qcow2->host_file();
      facts.qcow2 = true;
      facts.dirty = (h.incompatible_features & kIncompatDirty) != 0;
      facts.cluster_size = qcow2->cluster_size();
      facts.v3 = h.version >= 3;
      facts.lazy_refcounts = (h.compatible_features & kCompatLazyRefcounts) != 0;
      facts.refcount_bits = 1u << h.refcount_order;
      facts.corrupt = (h.incompatible_features & kIncompatCorrupt) != 0;
      facts.backing_filename = h.backing_file;
      facts.backing_format = h.backing_format;
      if (!h.backing_file.empty()) facts.full_backing_filename = resolve_backing_path(qcow2->path(), h.backing_file);
      next = qcow2->backing();
    } else if (const auto* raw = dynamic_cast<const RawImage*>(image)) {
      facts.filename = raw->host_file().path();
      facts.format = "raw";
      facts.file = &raw->host_file();
    } else {
      break;  // no other formats exist; nothing to describe
    }
    chain.push_back(std::move(facts));
    image = next;
  }
  return chain;
}

}  // namespace vireo
