// vireo-img: qemu-img's command line over vireo's block layer. Each
// command is one function taking its own arguments (after the command
// name) and returning the process exit status qemu-img would.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "block/block_backend.h"
#include "block/qcow2.h"

namespace vireo::img {

using Args = std::vector<std::string>;

int cmd_create(const Args& args);
int cmd_info(const Args& args);
int cmd_check(const Args& args);
int cmd_convert(const Args& args);
int cmd_snapshot(const Args& args);
int cmd_resize(const Args& args);
int cmd_map(const Args& args);
int cmd_compare(const Args& args);
int cmd_commit(const Args& args);
int cmd_rebase(const Args& args);
int cmd_measure(const Args& args);

// A usage or setup error: printed as "vireo-img: <message>", exit status 1.
class ImgError : public Error {
 public:
  using Error::Error;
};

// getopt-style parsing of one command's arguments: `short_options` as for
// getopt ("f:hq"), long options given as "name" (flag) or "name=" (takes a
// value). Options come back in order; the rest are positional.
struct Option {
  std::string name;  // "f", or "output" for --output
  std::string value;
};
struct ParsedArgs {
  std::vector<Option> options;
  std::vector<std::string> positional;
};
ParsedArgs parse_args(const Args& args, const std::string& short_options, const std::vector<std::string>& long_options);

// "64 MiB", "1.5 GiB", "324 KiB": QEMU's size_to_str().
std::string size_to_str(uint64_t bytes);
std::string json_string(const std::string& text);

// Opens an image as qemu-img does for the command (format given or probed).
// `force_share` (-U) skips QEMU's advisory locks.
std::unique_ptr<BlockBackend> open_image(const std::string& path, const std::string& format, bool read_only,
                                         bool no_backing = false, bool force_share = false);
// Whether the parsed options include -U / --force-share.
bool wants_force_share(const struct ParsedArgs& parsed);
Qcow2Image* as_qcow2(BlockBackend* image);

// The table `snapshot -l` and `info` print.
void print_snapshot_list(const std::vector<Qcow2Snapshot>& list);

// -o key=value,... lists (commas doubled to escape).
std::vector<std::pair<std::string, std::string>> parse_create_options(const std::string& text);

}  // namespace vireo::img
