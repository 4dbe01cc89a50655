// Fuzz target: qcow2 images. The input is the image file; opening it,
// checking it, reading, writing, discarding, zeroing, snapshots, resizing
// and repairing must either work
// or throw vireo::Error (BlockError), never crash, hang or touch anything
// but the image (backing files are not opened).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "block/qcow2.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The image lives in a memfd, opened by path as a user's file would be.
  int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
  if (fd < 0) return 0;
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  vireo::BlockOpenOptions options;
  options.path = "/proc/self/fd/" + std::to_string(fd);
  options.format = "qcow2";
  options.no_backing = true;
  for (bool read_only : {true, false}) {
    options.read_only = read_only;
    try {
      auto image = vireo::open_qcow2(options, 0);
      image->check(vireo::Qcow2Repair::None);
      image->snapshots();
      const uint64_t disk = image->size_bytes();
      std::vector<uint8_t> buffer(4096);
      for (uint64_t offset : {uint64_t{0}, disk / 3, disk > 4096 ? disk - 4096 : 0}) {
        size_t length = static_cast<size_t>(std::min<uint64_t>(buffer.size(), disk - offset));
        try {
          image->read(offset, std::span(buffer.data(), length));
        } catch (const vireo::Error&) {
        }
        if (read_only) continue;
        try {
          image->write(offset, std::span(buffer.data(), length));
          image->write_zeroes(offset, length);
          image->discard(offset, length);
        } catch (const vireo::Error&) {
        }
      }
      if (!read_only) {
        try {
          image->create_snapshot("fuzz", 0, 0);
          image->write(0, std::span(buffer.data(), static_cast<size_t>(std::min<uint64_t>(512, disk))));
          image->apply_snapshot("fuzz");
          image->delete_snapshot("1");
        } catch (const vireo::Error&) {
        }
        try {
          image->resize(disk + 65536);
        } catch (const vireo::Error&) {
        }
        image->check(vireo::Qcow2Repair::All);
      }
    } catch (const vireo::Error&) {
    }
  }
  close(fd);
  return 0;
}
