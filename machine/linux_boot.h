// Direct Linux boot (Documentation/arch/x86/boot.rst, the 64-bit boot
// protocol): load a bzImage's protected-mode kernel at 1 MiB, fill in
// boot_params ("the zero page") with the command line, initrd and e820
// map, build identity page tables and a GDT, and start the CPU at the
// kernel's 64-bit entry point, as kvmtool and Firecracker do. No real-mode
// code runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accel/cpu_state.h"
#include "machine/e820.h"

namespace vireo {

class GuestMemory;

// Where the loader puts things (guest-physical).
struct LinuxBootLayout {
  static constexpr uint64_t kGdt = 0x500;
  static constexpr uint64_t kBootParams = 0x7000;     // the zero page
  static constexpr uint64_t kPml4 = 0x9000;
  static constexpr uint64_t kPdpt = 0xa000;
  static constexpr uint64_t kPageDirectories = 0xb000;  // four, mapping 4 GiB
  static constexpr uint64_t kCommandLine = 0x20000;
  static constexpr uint64_t kKernel = 0x100000;
  static constexpr uint16_t kBootCs = 0x10;  // __BOOT_CS
  static constexpr uint16_t kBootDs = 0x18;  // __BOOT_DS
};

// Offsets of boot_params fields (Documentation/arch/x86/zero-page.rst and
// the setup header table in boot.rst).
namespace boot_params {
inline constexpr size_t kExtRamdiskImage = 0x0c0;
inline constexpr size_t kExtRamdiskSize = 0x0c4;
inline constexpr size_t kExtCmdLinePtr = 0x0c8;
inline constexpr size_t kE820Entries = 0x1e8;
inline constexpr size_t kSetupSects = 0x1f1;
inline constexpr size_t kVidMode = 0x1fa;
inline constexpr size_t kBootFlag = 0x1fe;
inline constexpr size_t kJump = 0x200;
inline constexpr size_t kHeader = 0x202;
inline constexpr size_t kVersion = 0x206;
inline constexpr size_t kTypeOfLoader = 0x210;
inline constexpr size_t kLoadFlags = 0x211;
inline constexpr size_t kRamdiskImage = 0x218;
inline constexpr size_t kRamdiskSize = 0x21c;
inline constexpr size_t kHeapEndPtr = 0x224;
inline constexpr size_t kCmdLinePtr = 0x228;
inline constexpr size_t kInitrdAddrMax = 0x22c;
inline constexpr size_t kKernelAlignment = 0x230;
inline constexpr size_t kRelocatableKernel = 0x234;
inline constexpr size_t kXloadflags = 0x236;
inline constexpr size_t kCmdlineSize = 0x238;
inline constexpr size_t kPrefAddress = 0x258;
inline constexpr size_t kInitSize = 0x260;
inline constexpr size_t kE820Table = 0x2d0;
inline constexpr size_t kE820MaxEntries = 128;
inline constexpr size_t kSize = 4096;

inline constexpr uint8_t kLoadedHigh = 0x01;
inline constexpr uint8_t kCanUseHeap = 0x80;
inline constexpr uint16_t kXlfKernel64 = 0x01;
inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
}  // namespace boot_params

struct LinuxBootImage {
  std::vector<uint8_t> kernel;  // the whole bzImage file
  std::vector<uint8_t> initrd;  // may be empty
  std::string command_line;
};

// Places everything in guest memory and returns the boot CPU's state at the
// 64-bit entry point. Throws Error naming what is wrong with the image or
// what does not fit in `ram_below_4g` bytes of low RAM.
X86CpuState load_linux(GuestMemory& memory, const LinuxBootImage& image,
                       const std::vector<E820Entry>& e820, uint64_t ram_below_4g);

}  // namespace vireo
