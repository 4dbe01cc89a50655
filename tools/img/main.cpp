// vireo-img: create, inspect, check and convert disk images, with
// qemu-img's command line and output (QEMU's docs/tools/qemu-img.rst).
#include <cstdio>
#include <cstring>
#include <map>

#include "tools/img/img.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: vireo-img [standard options] command [command options]\n"
               "Disk image utility for vireo, with qemu-img's command line.\n\n"
               "Command syntax:\n"
               "  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename\n"
               "  commit [-q] [-f fmt] [-p] filename\n"
               "  compare [-f fmt] [-F fmt] [-q] [-s] [-U] filename1 filename2\n"
               "  convert [-c] [-p] [-q] [-f fmt] [-O output_fmt] [-o options] [-U] filename output_filename\n"
               "  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n"
               "  info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename\n"
               "  map [-f fmt] [--output=ofmt] [-U] filename\n"
               "  measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [-f fmt] filename]\n"
               "  rebase [-q] [-f fmt] [-p] [-u] -b backing_file [-F backing_fmt] filename\n"
               "  resize [-q] [-f fmt] [--shrink] filename [+ | -]size\n"
               "  snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] filename\n\n"
               "Supported formats: qcow2 raw\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vireo::img;
  if (argc < 2) {
    std::fprintf(stderr, "vireo-img: Not enough arguments\nTry 'vireo-img --help' for more information\n");
    return 1;
  }
  std::string command = argv[1];
  if (command == "-h" || command == "--help") {
    usage(stdout);
    return 0;
  }
  if (command == "-V" || command == "--version") {
    std::printf("vireo-img version 0.1.0\n");
    return 0;
  }
  static const std::map<std::string, int (*)(const Args&)> kCommands = {
      {"check", cmd_check},     {"commit", cmd_commit}, {"compare", cmd_compare}, {"convert", cmd_convert},
      {"create", cmd_create},   {"info", cmd_info},     {"map", cmd_map},         {"measure", cmd_measure},
      {"rebase", cmd_rebase},   {"resize", cmd_resize}, {"snapshot", cmd_snapshot},
  };
  auto found = kCommands.find(command);
  if (found == kCommands.end()) {
    std::fprintf(stderr, "vireo-img: Command not found: %s\n", command.c_str());
    return 1;
  }
  Args args(argv + 2, argv + argc);
  try {
    return found->second(args);
  } catch (const vireo::Error& error) {
    std::fprintf(stderr, "vireo-img: %s\n", error.what());
    return 1;
  }
}
