#include "machine/firmware.h"

#include <cstring>

#include "hw/core/guest_memory.h"
#include "util/error.h"

namespace vireo {

void map_firmware(GuestMemory& memory, const std::vector<uint8_t>& image, const std::string& path) {
  uint64_t size = image.size();
  if (size == 0 || size % 65536 != 0 || size > FirmwareLayout::kMaxBytes) {
    throw Error("could not load PC BIOS '" + path +
                "': size must be a non-zero multiple of 64 KiB up to 16 MiB");
  }
  uint8_t* rom = memory.allocate("pc.bios", size);
  std::memcpy(rom, image.data(), size);
  memory.map({"pc.bios", (1ull << 32) - size, size, rom, true});
  uint64_t isa_size = std::min(size, FirmwareLayout::kIsaBiosMaxBytes);
  // Its own memory (not the ROM's): the firmware's writes stay below 1 MiB.
  uint8_t* shadow = memory.allocate("isa-bios", isa_size);
  std::memcpy(shadow, image.data() + (size - isa_size), isa_size);
  memory.map({"isa-bios", 0x100000 - isa_size, isa_size, shadow, false});
}

void reload_firmware(GuestMemory& memory, const std::vector<uint8_t>& image) {
  memory.load((1ull << 32) - image.size(), image.data(), image.size());
  uint64_t isa_size = std::min<uint64_t>(image.size(), FirmwareLayout::kIsaBiosMaxBytes);
  memory.load(0x100000 - isa_size, image.data() + (image.size() - isa_size), isa_size);
}

}  // namespace vireo
