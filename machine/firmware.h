// PC firmware (-bios): the image sits at the top of 4 GiB, where the reset
// vector 0xfffffff0 is, and its last 128 KiB also appear just below 1 MiB
// ("isa-bios", where real-mode code runs), as in QEMU's pc machine.
//
// Below 1 MiB the i440FX's PAM registers choose, per segment, between the
// ROM and the RAM behind it; SeaBIOS switches its segments to RAM, copies
// itself there and keeps its variables there during POST. vireo does not
// model PAM: the isa-bios window is shadow RAM from power-on, filled with
// the ROM's copy at every reset — what the firmware would see after
// switching it to RAM. A deliberate difference: writes there before that
// switch (or after firmware write-protects it) are not dropped.
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
// most 16 MiB), maps it read-only at the top of 4 GiB and as shadow RAM
// below 1 MiB. Throws Error naming the file.
void map_firmware(GuestMemory& memory, const std::vector<uint8_t>& image, const std::string& path);

// Copies the image back into its ROM and the shadow (on reset).
void reload_firmware(GuestMemory& memory, const std::vector<uint8_t>& image);

}  // namespace vireo
