// vireo-img check: qemu-img check's report, JSON keys and exit statuses
// (0 clean, 1 check failed, 2 corruptions, 3 leaks only, 63 format
// without checks).
#include <cinttypes>
#include <cstdio>

#include "tools/img/img.h"

namespace vireo::img {

namespace {

constexpr int kExitCheckFailed = 1;
constexpr int kExitCorrupt = 2;
constexpr int kExitLeaks = 3;
constexpr int kExitNotSupported = 63;

void print_json(const Qcow2CheckResult& r, const std::string& filename) {
  std::vector<std::string> fields;
  auto add = [&](const char* key, uint64_t value, bool present) {
    if (present) fields.push_back("    \"" + std::string(key) + "\": " + std::to_string(value));
  };
  add("image-end-offset", r.image_end_offset, r.image_end_offset != 0);
  add("total-clusters", r.total_clusters, r.total_clusters != 0);
  add("check-errors", 0, true);
  add("leaks", r.leaks, r.leaks != 0);
  add("corruptions", r.corruptions, r.corruptions != 0);
  add("leaks-fixed", r.leaks_fixed, r.leaks_fixed != 0);
  add("corruptions-fixed", r.corruptions_fixed, r.corruptions_fixed != 0);
  add("allocated-clusters", r.allocated_clusters, r.allocated_clusters != 0);
  fields.push_back("    \"filename\": " + json_string(filename));
  fields.push_back("    \"format\": \"qcow2\"");
  add("fragmented-clusters", r.fragmented_clusters, r.fragmented_clusters != 0);
  add("compressed-clusters", r.compressed_clusters, r.compressed_clusters != 0);
  std::printf("{\n");
  for (size_t i = 0; i < fields.size(); ++i) std::printf("%s%s\n", fields[i].c_str(), i + 1 < fields.size() ? "," : "");
  std::printf("}\n");
}

void print_human(const Qcow2CheckResult& r) {
  if (r.corruptions == 0 && r.leaks == 0) {
    std::printf("No errors were found on the image.\n");
  } else {
    if (r.corruptions != 0) {
      std::printf("\n%" PRIu64 " errors were found on the image.\n"
                  "Data may be corrupted, or further writes to the image may corrupt it.\n",
                  r.corruptions);
    }
    if (r.leaks != 0) {
      std::printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
                  "This means waste of disk space, but no harm to data.\n",
                  r.leaks);
    }
  }
  if (r.total_clusters != 0 && r.allocated_clusters != 0) {
    std::printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
                r.allocated_clusters, r.total_clusters,
                static_cast<double>(r.allocated_clusters) * 100.0 / static_cast<double>(r.total_clusters),
                static_cast<double>(r.fragmented_clusters) * 100.0 / static_cast<double>(r.allocated_clusters),
                static_cast<double>(r.compressed_clusters) * 100.0 / static_cast<double>(r.allocated_clusters));
  }
  if (r.image_end_offset != 0) std::printf("Image end offset: %" PRIu64 "\n", r.image_end_offset);
}

}  // namespace

int cmd_check(const Args& args) {
  ParsedArgs parsed = parse_args(args, "hf:r:TqU", {"help", "output=", "repair=", "force-share", "image-opts", "object="});
  std::string format;
  std::string output = "human";
  Qcow2Repair repair = Qcow2Repair::None;
  bool quiet = false;
  for (const Option& option : parsed.options) {
    if (option.name == "f") format = option.value;
    if (option.name == "output") output = option.value;
    if (option.name == "q") quiet = true;
    if (option.name == "r" || option.name == "repair") {
      if (option.value == "leaks") {
        repair = Qcow2Repair::Leaks;
      } else if (option.value == "all") {
        repair = Qcow2Repair::All;
      } else {
        throw ImgError("Invalid argument - Invalid -r argument '" + option.value + "'");
      }
    }
  }
  if (parsed.positional.size() != 1) throw ImgError("Expecting one image file name");
  if (output != "human" && output != "json") throw ImgError("--output must be used with human or json as argument.");
  const std::string& filename = parsed.positional[0];

  std::unique_ptr<BlockBackend> image;
  try {
    image = open_image(filename, format, repair == Qcow2Repair::None, true, wants_force_share(parsed));
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  Qcow2Image* qcow2 = as_qcow2(image.get());
  if (!qcow2) {
    std::fprintf(stderr, "vireo-img: This image format does not support checks\n");
    return kExitNotSupported;
  }
  Qcow2CheckResult result;
  try {
    result = qcow2->check(repair);
    for (const std::string& message : result.messages) std::fprintf(stderr, "%s\n", message.c_str());
    if (result.leaks_fixed != 0 || result.corruptions_fixed != 0) {
      if (output == "human" && !quiet) {
        std::printf("The following inconsistencies were found and repaired:\n\n"
                    "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n"
                    "Double checking the fixed image now...\n",
                    result.leaks_fixed, result.corruptions_fixed);
      }
      Qcow2CheckResult again = qcow2->check(Qcow2Repair::None);
      again.leaks_fixed = result.leaks_fixed;
      again.corruptions_fixed = result.corruptions_fixed;
      result = again;
    }
  } catch (const BlockError& error) {
    std::fprintf(stderr, "vireo-img: Check failed: %s\n", error.what());
    return kExitCheckFailed;
  }
  if (output == "json") {
    print_json(result, filename);
  } else if (!quiet) {
    print_human(result);
  }
  if (result.corruptions != 0) return kExitCorrupt;
  if (result.leaks != 0) return kExitLeaks;
  return 0;
}

}  // namespace vireo::img
