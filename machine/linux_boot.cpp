#include "machine/linux_boot.h"

#include <algorithm>
#include <cstring>

#include "hw/core/guest_memory.h"
#include "util/error.h"

namespace vireo {

namespace {

template <typename T>
T get(const std::vector<uint8_t>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

template <typename T>
void put(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

void load_or_throw(GuestMemory& memory, uint64_t gpa, const void* data, uint64_t size,
                   const char* what) {
  if (!memory.load(gpa, data, size)) {
    throw Error(std::string("linux boot: ") + what + " does not fit in guest RAM");
  }
}

// A flat 4 GiB GDT: null, null, __BOOT_CS (64-bit code), __BOOT_DS.
void write_gdt(GuestMemory& memory) {
  const uint64_t gdt[4] = {
      0,
      0,
      0x00af9b000000ffffull,  // present, DPL0, code exec/read accessed, L=1, G=1
      0x00cf93000000ffffull,  // present, DPL0, data read/write accessed, D/B=1, G=1
  };
  load_or_throw(memory, LinuxBootLayout::kGdt, gdt, sizeof gdt, "GDT");
}

// Identity map of the first 4 GiB with 2 MiB pages: the boot protocol asks
// for the kernel, boot_params and command line to be mapped 1:1.
void write_page_tables(GuestMemory& memory) {
  constexpr uint64_t kPresentWritable = 0x3;
  constexpr uint64_t kLargePage = 0x80;
  uint64_t pml4[512] = {};
  pml4[0] = LinuxBootLayout::kPdpt | kPresentWritable;
  uint64_t pdpt[512] = {};
  for (uint64_t i = 0; i < 4; ++i) {
    pdpt[i] = (LinuxBootLayout::kPageDirectories + i * 4096) | kPresentWritable;
  }
  load_or_throw(memory, LinuxBootLayout::kPml4, pml4, sizeof pml4, "page tables");
  load_or_throw(memory, LinuxBootLayout::kPdpt, pdpt, sizeof pdpt, "page tables");
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t pd[512];
    for (uint64_t j = 0; j < 512; ++j) {
      pd[j] = ((i * 512 + j) << 21) | kPresentWritable | kLargePage;
    }
    load_or_throw(memory, LinuxBootLayout::kPageDirectories + i * 4096, pd, sizeof pd,
                  "page tables");
  }
}

SegmentCache flat_segment(uint16_t selector, bool code) {
  SegmentCache s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xffffffff;
  s.type = code ? 0xb : 0x3;
  s.present = true;
  s.s = true;
  s.g = true;
  s.l = code;
  s.db = !code;
  return s;
}

}  // namespace

X86CpuState load_linux(GuestMemory& memory, const LinuxBootImage& image,
                       const std::vector<E820Entry>& e820, uint64_t ram_below_4g) {
  namespace bp = boot_params;
  const std::vector<uint8_t>& kernel = image.kernel;
  if (kernel.size() < 0x1000 || get<uint16_t>(kernel, bp::kBootFlag) != 0xaa55 ||
      get<uint32_t>(kernel, bp::kHeader) != bp::kHdrSMagic) {
    throw Error("linux boot: not a bzImage (no boot-protocol header)");
  }
  uint16_t version = get<uint16_t>(kernel, bp::kVersion);
  // 2.12 introduced xloadflags, which say whether the 64-bit entry exists.
  if (version < 0x020c || !(get<uint16_t>(kernel, bp::kXloadflags) & bp::kXlfKernel64)) {
    throw Error("linux boot: kernel lacks the 64-bit boot protocol (needs 2.12 and XLF_KERNEL_64)");
  }
  size_t setup_sects = kernel[bp::kSetupSects] ? kernel[bp::kSetupSects] : 4;
  size_t setup_bytes = (setup_sects + 1) * 512;
  if (setup_bytes >= kernel.size()) throw Error("linux boot: bzImage is truncated");
  uint64_t protected_mode_bytes = kernel.size() - setup_bytes;
  // The kernel does not run where it is loaded: startup_64 (arch/x86/boot/
  // compressed/head_64.S) moves a relocatable kernel to the load address
  // rounded up to kernel_alignment but never below pref_address
  // (LOAD_PHYSICAL_ADDR, 16 MiB in distribution kernels), and runs any other
  // kernel at pref_address; from there it needs init_size bytes. Nothing else
  // (the initrd) may be placed in that range, and all of it must be RAM.
  uint64_t pref_address = get<uint64_t>(kernel, bp::kPrefAddress);
  uint64_t alignment = get<uint32_t>(kernel, bp::kKernelAlignment);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) alignment = 1;
  uint64_t run_address = pref_address;
  if (kernel[bp::kRelocatableKernel] != 0) {
    uint64_t aligned_load = (LinuxBootLayout::kKernel + alignment - 1) & ~(alignment - 1);
    run_address = std::max(aligned_load, pref_address);
  }
  if (run_address >= (1ull << 32)) {
    throw Error("linux boot: the kernel wants to run above 4 GiB (pref_address)");
  }
  uint64_t kernel_end = std::max(LinuxBootLayout::kKernel + protected_mode_bytes,
                                 run_address + get<uint32_t>(kernel, bp::kInitSize));
  if (kernel_end > ram_below_4g) {
    throw Error("linux boot: the kernel needs " + std::to_string((kernel_end + (1 << 20) - 1) >> 20) +
                " MiB of RAM; give it more with -m");
  }
  load_or_throw(memory, LinuxBootLayout::kKernel, kernel.data() + setup_bytes,
                protected_mode_bytes, "kernel");

  // boot_params starts zeroed with a copy of the image's setup header.
  std::vector<uint8_t> params(bp::kSize, 0);
  size_t header_end = std::min<size_t>(bp::kHeader + kernel[bp::kJump + 1], bp::kSize);
  std::memcpy(params.data() + bp::kSetupSects, kernel.data() + bp::kSetupSects,
              header_end - bp::kSetupSects);
  put<uint16_t>(params, bp::kVidMode, 0xffff);  // "normal" text mode
  params[bp::kTypeOfLoader] = 0xff;             // undefined loader
  params[bp::kLoadFlags] |= bp::kLoadedHigh | bp::kCanUseHeap;
  put<uint16_t>(params, bp::kHeapEndPtr, 0xfe00);

  uint32_t cmdline_max = get<uint32_t>(kernel, bp::kCmdlineSize);
  if (image.command_line.size() > cmdline_max) {
    throw Error("linux boot: kernel command line is " + std::to_string(image.command_line.size()) +
                " bytes; this kernel takes at most " + std::to_string(cmdline_max));
  }
  std::string cmdline = image.command_line;
  load_or_throw(memory, LinuxBootLayout::kCommandLine, cmdline.c_str(), cmdline.size() + 1,
                "command line");
  put<uint32_t>(params, bp::kCmdLinePtr, LinuxBootLayout::kCommandLine);

  if (!image.initrd.empty()) {
    // As high as the kernel allows, page aligned, and above the kernel.
    uint64_t limit = std::min<uint64_t>(uint64_t{get<uint32_t>(kernel, bp::kInitrdAddrMax)} + 1,
                                        ram_below_4g);
    uint64_t size = image.initrd.size();
    if (size > limit || ((limit - size) & ~0xfffull) < kernel_end) {
      throw Error("linux boot: initrd of " + std::to_string(size >> 20) +
                  " MiB does not fit below the kernel's limit; give the guest more memory with -m");
    }
    uint64_t address = (limit - size) & ~0xfffull;
    load_or_throw(memory, address, image.initrd.data(), size, "initrd");
    put<uint32_t>(params, bp::kRamdiskImage, static_cast<uint32_t>(address));
    put<uint32_t>(params, bp::kRamdiskSize, static_cast<uint32_t>(size));
  }

  if (e820.size() > bp::kE820MaxEntries) throw Error("linux boot: too many e820 entries");
  params[bp::kE820Entries] = static_cast<uint8_t>(e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    size_t at = bp::kE820Table + i * 20;  // packed: u64 addr, u64 size, u32 type
    put<uint64_t>(params, at, e820[i].address);
    put<uint64_t>(params, at + 8, e820[i].size);
    put<uint32_t>(params, at + 16, static_cast<uint32_t>(e820[i].type));
  }
  load_or_throw(memory, LinuxBootLayout::kBootParams, params.data(), params.size(), "boot_params");

  write_gdt(memory);
  write_page_tables(memory);

  X86CpuState cpu;
  for (SegmentCache& seg : cpu.segment) seg = flat_segment(LinuxBootLayout::kBootDs, false);
  cpu.segment[kCs] = flat_segment(LinuxBootLayout::kBootCs, true);
  cpu.tr.type = 0xb;  // busy 64-bit TSS: a long-mode CPU needs a valid TR
  cpu.tr.s = false;
  cpu.tr.present = true;
  cpu.tr.limit = 0x67;
  cpu.ldtr.type = 2;
  cpu.ldtr.s = false;
  cpu.ldtr.unusable = true;
  cpu.gdtr = {LinuxBootLayout::kGdt, 4 * 8 - 1};
  cpu.idtr = {0, 0};
  cpu.cr0 = kCr0Pe | kCr0Et | kCr0Ne | kCr0Pg;
  cpu.cr3 = LinuxBootLayout::kPml4;
  cpu.cr4 = kCr4Pae;
  cpu.efer = kEferLme | kEferLma;
  cpu.rflags = kRflagsFixed;
  // The 64-bit entry point is 0x200 past the start of the protected-mode kernel.
  cpu.rip = LinuxBootLayout::kKernel + 0x200;
  cpu.gpr[kRsi] = LinuxBootLayout::kBootParams;
  cpu.apic_base = 0xfee00000ull | (1ull << 11) | (1ull << 8);
  return cpu;
}

}  // namespace vireo
