// vireo-img info: qemu-img info's human and JSON output (the same keys as
// QEMU's ImageInfo), optionally for the whole backing chain.
#include <cstdio>
#include <ctime>

#include "block/host_file.h"
#include "tools/img/img.h"

namespace vireo::img {

namespace {

struct ImageFacts {
  std::string filename;
  std::string format;
  uint64_t virtual_size = 0;
  uint64_t actual_size = 0;
  bool dirty = false;
  // qcow2 only
  bool is_qcow2 = false;
  uint64_t cluster_size = 0;
  Qcow2Header header;
  std::string full_backing_filename;
  std::vector<Qcow2Snapshot> snapshots;
};

ImageFacts collect(const std::string& path, const std::string& format, bool force_share) {
  auto image = open_image(path, format, true, true, force_share);
  ImageFacts facts;
  facts.filename = path;
  facts.virtual_size = image->size_bytes();
  if (Qcow2Image* qcow2 = as_qcow2(image.get())) {
    facts.format = "qcow2";
    facts.is_qcow2 = true;
    facts.header = qcow2->header();
    facts.cluster_size = qcow2->cluster_size();
    facts.actual_size = qcow2->host_file().allocated_bytes();
    facts.dirty = facts.header.incompatible_features & kIncompatDirty;
    if (!facts.header.backing_file.empty()) {
      facts.full_backing_filename = resolve_backing_path(path, facts.header.backing_file);
    }
    facts.snapshots = qcow2->snapshots();
  } else {
    facts.format = "raw";
    facts.actual_size = HostFile(path, true, false).allocated_bytes();
  }
  return facts;
}

void print_human(const ImageFacts& f) {
  std::printf("image: %s\nfile format: %s\n", f.filename.c_str(), f.format.c_str());
  std::printf("virtual size: %s (%llu bytes)\n", size_to_str(f.virtual_size).c_str(),
              static_cast<unsigned long long>(f.virtual_size));
  std::printf("disk size: %s\n", size_to_str(f.actual_size).c_str());
  if (!f.is_qcow2) return;
  std::printf("cluster_size: %llu\n", static_cast<unsigned long long>(f.cluster_size));
  if (f.dirty) std::printf("cleanly shut down: no\n");
  if (!f.header.backing_file.empty()) {
    std::printf("backing file: %s", f.header.backing_file.c_str());
    if (f.full_backing_filename != f.header.backing_file) std::printf(" (actual path: %s)", f.full_backing_filename.c_str());
    std::printf("\n");
    if (!f.header.backing_format.empty()) std::printf("backing file format: %s\n", f.header.backing_format.c_str());
  }
  if (!f.snapshots.empty()) print_snapshot_list(f.snapshots);
  std::printf("Format specific information:\n");
  bool v3 = f.header.version >= 3;
  std::printf("    compat: %s\n    compression type: zlib\n", v3 ? "1.1" : "0.10");
  if (v3) std::printf("    lazy refcounts: %s\n", f.header.compatible_features & kCompatLazyRefcounts ? "true" : "false");
  std::printf("    refcount bits: %u\n", 1u << f.header.refcount_order);
  if (v3) {
    std::printf("    corrupt: %s\n    extended l2: false\n",
                f.header.incompatible_features & kIncompatCorrupt ? "true" : "false");
  }
}

std::string to_json(const ImageFacts& f, const std::string& indent) {
  std::vector<std::string> fields;
  const std::string in = indent + "    ";
  auto add = [&](const std::string& key, const std::string& value) { fields.push_back(in + "\"" + key + "\": " + value); };
  if (f.is_qcow2) {
    if (!f.snapshots.empty()) {
      std::string list = "[\n";
      for (size_t i = 0; i < f.snapshots.size(); ++i) {
        const Qcow2Snapshot& s = f.snapshots[i];
        const std::string sin = in + "        ";
        list += in + "    {\n" + sin + "\"icount\": 0,\n" + sin + "\"vm-clock-nsec\": " + std::to_string(s.vm_clock_nsec % 1000000000) +
                ",\n" + sin + "\"name\": " + json_string(s.name) + ",\n" + sin + "\"date-sec\": " + std::to_string(s.date_sec) +
                ",\n" + sin + "\"date-nsec\": " + std::to_string(s.date_nsec) + ",\n" + sin + "\"vm-clock-sec\": " +
                std::to_string(s.vm_clock_nsec / 1000000000) + ",\n" + sin + "\"id\": " + json_string(s.id) + ",\n" + sin +
                "\"vm-state-size\": " + std::to_string(s.vm_state_size) + "\n" + in + "    }" +
                (i + 1 < f.snapshots.size() ? ",\n" : "\n");
      }
      add("snapshots", list + in + "]");
    }
  }
  if (f.is_qcow2 && !f.header.backing_format.empty()) add("backing-filename-format", json_string(f.header.backing_format));
  add("virtual-size", std::to_string(f.virtual_size));
  add("filename", json_string(f.filename));
  if (f.is_qcow2) add("cluster-size", std::to_string(f.cluster_size));
  add("format", json_string(f.format));
  add("actual-size", std::to_string(f.actual_size));
  if (f.is_qcow2) {
    bool v3 = f.header.version >= 3;
    const std::string din = in + "        ";
    std::string data = "{\n" + din + "\"compat\": " + (v3 ? "\"1.1\"" : "\"0.10\"") + ",\n" + din +
                       "\"compression-type\": \"zlib\",\n";
    if (v3) {
      data += din + "\"lazy-refcounts\": " + (f.header.compatible_features & kCompatLazyRefcounts ? "true" : "false") + ",\n";
    }
    data += din + "\"refcount-bits\": " + std::to_string(1u << f.header.refcount_order);
    if (v3) {
      data += ",\n" + din + "\"corrupt\": " + (f.header.incompatible_features & kIncompatCorrupt ? "true" : "false") +
              ",\n" + din + "\"extended-l2\": false";
    }
    data += "\n" + in + "    }";
    add("format-specific", "{\n" + in + "    \"type\": \"qcow2\",\n" + in + "    \"data\": " + data + "\n" + in + "}");
    if (!f.header.backing_file.empty()) {
      add("full-backing-filename", json_string(f.full_backing_filename));
      add("backing-filename", json_string(f.header.backing_file));
    }
  }
  add("dirty-flag", f.dirty ? "true" : "false");
  std::string out = indent + "{\n";
  for (size_t i = 0; i < fields.size(); ++i) out += fields[i] + (i + 1 < fields.size() ? ",\n" : "\n");
  return out + indent + "}";
}

}  // namespace

int cmd_info(const Args& args) {
  ParsedArgs parsed = parse_args(args, "f:hU", {"output=", "backing-chain", "force-share", "help", "image-opts", "object="});
  std::string format;
  std::string output = "human";
  bool chain = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "output") output = option.value;
    if (option.name == "backing-chain") chain = true;
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  if (output != "human" && output != "json") throw ImgError("--output must be used with human or json as argument.");

  std::vector<ImageFacts> images;
  std::string path = parsed.positional[0];
  for (int depth = 0; depth < 64; ++depth) {
    try {
      images.push_back(collect(path, format, wants_force_share(parsed)));
    } catch (const BlockError& error) {
      throw ImgError(error.what());
    }
    const ImageFacts& last = images.back();
    if (!chain || last.full_backing_filename.empty()) break;
    path = last.full_backing_filename;
    format = last.header.backing_format;
  }
  if (output == "json") {
    if (chain) {
      std::printf("[\n");
      for (size_t i = 0; i < images.size(); ++i) {
        std::printf("%s%s\n", to_json(images[i], "    ").c_str(), i + 1 < images.size() ? "," : "");
      }
      std::printf("]\n");
    } else {
      std::printf("%s\n", to_json(images[0], "").c_str());
    }
    return 0;
  }
  for (size_t i = 0; i < images.size(); ++i) {
    if (i > 0) std::printf("\n");
    print_human(images[i]);
  }
  return 0;
}

}  // namespace vireo::img
