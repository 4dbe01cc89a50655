// PC firmware (-bios): the image sits at the top of 4 GiB, where the reset
// vector 0xfffffff0 is, and its last 128 KiB also appear just below 1 MiB
// (the "isa-bios" alias real-mode code runs from), as in QEMU's pc machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vireo {

class GuestMemory;

struct FirmwareLayout {
  static constexpr uint64_t kIsaBiosMaxBytes = 128 * 1024;
  static constexpr uint64_t kMaxBytes = 16ull << 20;
};

// Checks the image (a non-empty multiple of 64 KiB, as QEMU requires, of at
// most 16 MiB) and maps it read-only at both places. Throws Error naming
// the file.
void map_firmware(GuestMemory& memory, const std::vector<uint8_t>& image, const std::string& path);

// Copies the image back into its ROM (on reset).
void reload_firmware(GuestMemory& memory, const std::vector<uint8_t>& image);

}  // namespace vireo
