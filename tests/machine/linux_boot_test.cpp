// Direct Linux boot through the 64-bit boot protocol (machine/linux_boot.cpp),
// with a bzImage made here: a setup header as Documentation/arch/x86/boot.rst
// describes it, followed by a recognisable "protected-mode kernel".
#include "machine/linux_boot.h"

#include <catch2/catch.hpp>

#include <cstring>

#include "hw/core/guest_memory.h"
#include "util/error.h"

using vireo::E820Entry;
using vireo::GuestMemory;
using vireo::LinuxBootImage;
using vireo::LinuxBootLayout;
using vireo::PcMemoryLayout;
using vireo::X86CpuState;
namespace bp = vireo::boot_params;

namespace {

constexpr uint64_t MiB = 1ull << 20;

template <typename T>
void put(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T>
T peek(const GuestMemory& memory, uint64_t gpa) {
  T value{};
  REQUIRE(memory.read(gpa, &value, sizeof value));
  return value;
}

// The header fields a bzImage carries, with a modern kernel's values.
struct BzImageSpec {
  uint8_t setup_sects = 4;
  uint16_t version = 0x020f;
  uint8_t loadflags = bp::kLoadedHigh;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint32_t kernel_alignment = 0x200000;
  uint8_t relocatable = 1;
  uint16_t xloadflags = bp::kXlfKernel64;
  uint32_t cmdline_size = 2047;
  uint64_t pref_address = 0x1000000;  // 16 MiB, LOAD_PHYSICAL_ADDR
  uint32_t init_size = 8 * MiB;
  size_t payload_bytes = 0x4000;
};

uint8_t payload_byte(size_t i) { return static_cast<uint8_t>(i * 7 + 3); }

std::vector<uint8_t> make_bzimage(const BzImageSpec& spec) {
  size_t setup_bytes = (size_t{spec.setup_sects} + 1) * 512;
  std::vector<uint8_t> image(setup_bytes + spec.payload_bytes, 0);
  image[bp::kSetupSects] = spec.setup_sects;
  put<uint16_t>(image, bp::kBootFlag, 0xaa55);
  image[bp::kJump] = 0xeb;      // jmp short over the header,
  image[bp::kJump + 1] = 0x6a;  // which thus ends at 0x26c
  put<uint32_t>(image, bp::kHeader, bp::kHdrSMagic);
  put<uint16_t>(image, bp::kVersion, spec.version);
  image[bp::kLoadFlags] = spec.loadflags;
  put<uint32_t>(image, bp::kInitrdAddrMax, spec.initrd_addr_max);
  put<uint32_t>(image, bp::kKernelAlignment, spec.kernel_alignment);
  image[bp::kRelocatableKernel] = spec.relocatable;
  put<uint16_t>(image, bp::kXloadflags, spec.xloadflags);
  put<uint32_t>(image, bp::kCmdlineSize, spec.cmdline_size);
  put<uint64_t>(image, bp::kPrefAddress, spec.pref_address);
  put<uint32_t>(image, bp::kInitSize, spec.init_size);
  for (size_t i = 0; i < spec.payload_bytes; ++i) image[setup_bytes + i] = payload_byte(i);
  return image;
}

// A guest with `ram_bytes` of RAM from address 0, as the loader sees it.
struct Guest {
  explicit Guest(uint64_t ram_bytes) : ram(ram_bytes), layout(PcMemoryLayout::for_ram_size(ram_bytes)) {
    uint8_t* host = memory.allocate("ram", layout.below_4g);
    memory.map({"ram", 0, layout.below_4g, host, false});
  }
  X86CpuState boot(const LinuxBootImage& image) {
    return vireo::load_linux(memory, image, layout.e820(), layout.below_4g);
  }
  uint64_t ram;
  PcMemoryLayout layout;
  GuestMemory memory;
};

std::string error_of(Guest& guest, const LinuxBootImage& image) {
  try {
    guest.boot(image);
  } catch (const vireo::Error& e) {
    return e.what();
  }
  FAIL("load_linux accepted the image");
  return "";
}

// Translates through the guest's 4-level page tables (Intel SDM vol. 3
// §4.5), or returns ~0 if the address is not mapped.
uint64_t translate(const GuestMemory& memory, uint64_t cr3, uint64_t va) {
  constexpr uint64_t kPresent = 1, kLarge = 0x80, kAddressMask = 0x000ffffffffff000ull;
  uint64_t table = cr3 & kAddressMask;
  for (int level = 3; level >= 0; --level) {
    unsigned index = (va >> (12 + 9 * level)) & 0x1ff;
    uint64_t entry = peek<uint64_t>(memory, table + index * 8);
    if (!(entry & kPresent)) return ~0ull;
    if (level > 0 && (entry & kLarge)) {
      uint64_t page_bytes = 1ull << (12 + 9 * level);
      return (entry & kAddressMask & ~(page_bytes - 1)) | (va & (page_bytes - 1));
    }
    table = entry & kAddressMask;
  }
  return table | (va & 0xfff);
}

}  // namespace

TEST_CASE("the protected-mode kernel is loaded at 1 MiB", "[linux-boot]") {
  Guest guest(128 * MiB);
  BzImageSpec spec;
  guest.boot({make_bzimage(spec), {}, ""});
  for (size_t i : {size_t{0}, size_t{0x200}, spec.payload_bytes - 1}) {
    INFO("payload byte " << i);
    CHECK(peek<uint8_t>(guest.memory, LinuxBootLayout::kKernel + i) == payload_byte(i));
  }
}

TEST_CASE("boot_params: the setup header and what the loader fills in", "[linux-boot]") {
  Guest guest(128 * MiB);
  const uint64_t zp = LinuxBootLayout::kBootParams;
  guest.boot({make_bzimage({}), {}, "console=ttyS0 vireo.test=boot"});

  // The image's header was copied...
  CHECK(peek<uint8_t>(guest.memory, zp + bp::kSetupSects) == 4);
  CHECK(peek<uint16_t>(guest.memory, zp + bp::kBootFlag) == 0xaa55);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kHeader) == bp::kHdrSMagic);
  CHECK(peek<uint16_t>(guest.memory, zp + bp::kVersion) == 0x020f);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kInitSize) == 8 * MiB);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kKernelAlignment) == 0x200000);
  // ...and the loader's fields written (boot.rst, "Details of header fields").
  CHECK(peek<uint8_t>(guest.memory, zp + bp::kTypeOfLoader) == 0xff);
  CHECK(peek<uint8_t>(guest.memory, zp + bp::kLoadFlags) == (bp::kLoadedHigh | bp::kCanUseHeap));
  CHECK(peek<uint16_t>(guest.memory, zp + bp::kHeapEndPtr) == 0xfe00);
  CHECK(peek<uint16_t>(guest.memory, zp + bp::kVidMode) == 0xffff);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kCmdLinePtr) == LinuxBootLayout::kCommandLine);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kExtCmdLinePtr) == 0);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kRamdiskImage) == 0);
  CHECK(peek<uint32_t>(guest.memory, zp + bp::kRamdiskSize) == 0);

  char cmdline[64] = {};
  REQUIRE(guest.memory.read(LinuxBootLayout::kCommandLine, cmdline, 31));
  CHECK(std::string(cmdline) == "console=ttyS0 vireo.test=boot");
}

TEST_CASE("boot_params carries the machine's e820 map", "[linux-boot]") {
  Guest guest(256 * MiB);
  guest.boot({make_bzimage({}), {}, ""});
  const std::vector<E820Entry> e820 = guest.layout.e820();
  const uint64_t zp = LinuxBootLayout::kBootParams;
  REQUIRE(peek<uint8_t>(guest.memory, zp + bp::kE820Entries) == e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    INFO("entry " << i);
    uint64_t at = zp + bp::kE820Table + i * 20;
    CHECK(peek<uint64_t>(guest.memory, at) == e820[i].address);
    CHECK(peek<uint64_t>(guest.memory, at + 8) == e820[i].size);
    CHECK(peek<uint32_t>(guest.memory, at + 16) == static_cast<uint32_t>(e820[i].type));
  }
}

TEST_CASE("the initrd goes high, page aligned, under every limit", "[linux-boot]") {
  std::vector<uint8_t> initrd(3 * MiB + 123);
  for (size_t i = 0; i < initrd.size(); ++i) initrd[i] = static_cast<uint8_t>(i ^ (i >> 8));
  const uint64_t zp = LinuxBootLayout::kBootParams;

  SECTION("RAM is the limit") {
    Guest guest(128 * MiB);
    guest.boot({make_bzimage({}), initrd, ""});
    uint32_t address = peek<uint32_t>(guest.memory, zp + bp::kRamdiskImage);
    CHECK(peek<uint32_t>(guest.memory, zp + bp::kRamdiskSize) == initrd.size());
    CHECK(address % 4096 == 0);
    CHECK(address + initrd.size() <= 128 * MiB);
    CHECK(address + initrd.size() > 128 * MiB - 4096);  // as high as it goes
    std::vector<uint8_t> in_guest(initrd.size());
    REQUIRE(guest.memory.read(address, in_guest.data(), in_guest.size()));
    CHECK(in_guest == initrd);
  }
  SECTION("initrd_addr_max is the limit") {
    Guest guest(1024 * MiB);
    BzImageSpec spec;
    spec.initrd_addr_max = 0x37ffffff;  // the traditional 896 MiB
    guest.boot({make_bzimage(spec), initrd, ""});
    uint32_t address = peek<uint32_t>(guest.memory, zp + bp::kRamdiskImage);
    CHECK(address % 4096 == 0);
    CHECK(address + initrd.size() <= 0x38000000);
    CHECK(address + initrd.size() > 0x38000000 - 4096);
  }
  SECTION("never inside the range the kernel decompresses into") {
    // pref_address 16 MiB + init_size 40 MiB: the kernel owns [16, 56) MiB.
    BzImageSpec spec;
    spec.init_size = 40 * MiB;
    Guest fits(64 * MiB);
    std::vector<uint8_t> eight(8 * MiB);
    fits.boot({make_bzimage(spec), eight, ""});
    CHECK(peek<uint32_t>(fits.memory, zp + bp::kRamdiskImage) >= 56 * MiB);

    // 9 MiB would have to start at 55 MiB, inside the kernel's range.
    Guest too_small(64 * MiB);
    std::vector<uint8_t> nine(9 * MiB);
    CHECK(error_of(too_small, {make_bzimage(spec), nine, ""}) ==
          "linux boot: initrd of 9 MiB does not fit below the kernel's limit; give the guest "
          "more memory with -m");
  }
}

TEST_CASE("the kernel's run address follows pref_address and kernel_alignment", "[linux-boot]") {
  std::vector<uint8_t> initrd(2 * MiB);
  const uint64_t zp = LinuxBootLayout::kBootParams;
  SECTION("a relocatable kernel with 32 MiB alignment runs at 32 MiB") {
    BzImageSpec spec;
    spec.pref_address = 0x100000;
    spec.kernel_alignment = 32 * MiB;
    spec.init_size = 20 * MiB;
    Guest guest(54 * MiB);  // 32 + 20 = 52 MiB for the kernel, 2 for the initrd
    guest.boot({make_bzimage(spec), initrd, ""});
    CHECK(peek<uint32_t>(guest.memory, zp + bp::kRamdiskImage) == 52 * MiB);
    Guest smaller(53 * MiB);
    CHECK_THROWS_AS(smaller.boot({make_bzimage(spec), initrd, ""}), vireo::Error);
  }
  SECTION("a kernel that is not relocatable runs at pref_address") {
    BzImageSpec spec;
    spec.relocatable = 0;
    spec.pref_address = 0x1000000;
    spec.init_size = 20 * MiB;
    Guest guest(35 * MiB);
    CHECK(error_of(guest, {make_bzimage(spec), {}, ""}) ==
          "linux boot: the kernel needs 36 MiB of RAM; give it more with -m");
    Guest bigger(38 * MiB);
    bigger.boot({make_bzimage(spec), initrd, ""});
    CHECK(peek<uint32_t>(bigger.memory, zp + bp::kRamdiskImage) == 36 * MiB);
  }
}

TEST_CASE("page tables identity-map the first 4 GiB", "[linux-boot]") {
  Guest guest(128 * MiB);
  X86CpuState cpu = guest.boot({make_bzimage({}), {}, ""});
  for (uint64_t va : {0x0ull, 0x7000ull, 0x20000ull, 0x100200ull, 0x1234567ull, 0x7ffffffull,
                      0xbfffffffull, 0xfee00000ull, 0xffffffffull}) {
    INFO("address 0x" << std::hex << va);
    CHECK(translate(guest.memory, cpu.cr3, va) == va);
  }
  CHECK(translate(guest.memory, cpu.cr3, 0x100000000ull) == ~0ull);  // 4 GiB: not mapped
}

TEST_CASE("the GDT has __BOOT_CS as 64-bit code and __BOOT_DS as flat data", "[linux-boot]") {
  Guest guest(128 * MiB);
  X86CpuState cpu = guest.boot({make_bzimage({}), {}, ""});
  REQUIRE(cpu.gdtr.base == LinuxBootLayout::kGdt);
  REQUIRE(cpu.gdtr.limit == 4 * 8 - 1);
  uint64_t cs = peek<uint64_t>(guest.memory, cpu.gdtr.base + LinuxBootLayout::kBootCs);
  uint64_t ds = peek<uint64_t>(guest.memory, cpu.gdtr.base + LinuxBootLayout::kBootDs);
  auto bit = [](uint64_t descriptor, int n) { return (descriptor >> n) & 1; };
  // Intel SDM vol. 3 §3.4.5: P is bit 47, S bit 44, executable bit 43, L bit 53, D/B bit 54.
  CHECK(bit(cs, 47) == 1);
  CHECK(bit(cs, 44) == 1);
  CHECK(bit(cs, 43) == 1);
  CHECK(bit(cs, 53) == 1);
  CHECK(bit(cs, 54) == 0);
  CHECK(bit(ds, 47) == 1);
  CHECK(bit(ds, 43) == 0);
  CHECK(bit(ds, 41) == 1);  // writable
  CHECK(peek<uint64_t>(guest.memory, cpu.gdtr.base) == 0);
}

TEST_CASE("the boot CPU starts in long mode at the 64-bit entry point", "[linux-boot]") {
  Guest guest(128 * MiB);
  X86CpuState cpu = guest.boot({make_bzimage({}), {}, ""});
  CHECK(cpu.rip == 0x100200);
  CHECK(cpu.gpr[vireo::kRsi] == 0x7000);
  CHECK((cpu.efer & (vireo::kEferLme | vireo::kEferLma)) == (vireo::kEferLme | vireo::kEferLma));
  CHECK((cpu.cr0 & (vireo::kCr0Pe | vireo::kCr0Pg)) == (vireo::kCr0Pe | vireo::kCr0Pg));
  CHECK((cpu.cr4 & vireo::kCr4Pae) != 0);
  CHECK(cpu.cr3 == LinuxBootLayout::kPml4);
  CHECK((cpu.rflags & vireo::kRflagsIf) == 0);  // interrupts off
  const vireo::SegmentCache& cs = cpu.segment[vireo::kCs];
  CHECK(cs.selector == 0x10);
  CHECK(cs.l);
  CHECK_FALSE(cs.db);
  for (unsigned seg : {vireo::kDs, vireo::kEs, vireo::kSs}) {
    INFO("segment " << seg);
    CHECK(cpu.segment[seg].selector == 0x18);
    CHECK(cpu.segment[seg].base == 0);
    CHECK(cpu.segment[seg].limit == 0xffffffff);
  }
}

TEST_CASE("images that are not 64-bit bzImages are refused", "[linux-boot]") {
  Guest guest(128 * MiB);
  SECTION("no HdrS signature") {
    std::vector<uint8_t> image = make_bzimage({});
    put<uint32_t>(image, bp::kHeader, 0x464c457f);  // an ELF vmlinux is not a bzImage
    CHECK(error_of(guest, {image, {}, ""}) == "linux boot: not a bzImage (no boot-protocol header)");
  }
  SECTION("no 0xAA55 boot flag") {
    std::vector<uint8_t> image = make_bzimage({});
    put<uint16_t>(image, bp::kBootFlag, 0);
    CHECK(error_of(guest, {image, {}, ""}) == "linux boot: not a bzImage (no boot-protocol header)");
  }
  SECTION("shorter than a setup header") {
    CHECK(error_of(guest, {std::vector<uint8_t>(100), {}, ""}) ==
          "linux boot: not a bzImage (no boot-protocol header)");
  }
  SECTION("boot protocol older than 2.12") {
    BzImageSpec spec;
    spec.version = 0x020b;
    CHECK(error_of(guest, {make_bzimage(spec), {}, ""}) ==
          "linux boot: kernel lacks the 64-bit boot protocol (needs 2.12 and XLF_KERNEL_64)");
  }
  SECTION("no 64-bit entry point (XLF_KERNEL_64 clear)") {
    BzImageSpec spec;
    spec.xloadflags = 0;
    CHECK(error_of(guest, {make_bzimage(spec), {}, ""}) ==
          "linux boot: kernel lacks the 64-bit boot protocol (needs 2.12 and XLF_KERNEL_64)");
  }
  SECTION("setup sectors run past the end of the file") {
    BzImageSpec spec;
    spec.setup_sects = 4;
    std::vector<uint8_t> image = make_bzimage(spec);
    image[bp::kSetupSects] = 60;
    CHECK(error_of(guest, {image, {}, ""}) == "linux boot: bzImage is truncated");
  }
}

TEST_CASE("a command line longer than cmdline_size is refused", "[linux-boot]") {
  BzImageSpec spec;
  spec.cmdline_size = 16;
  Guest guest(128 * MiB);
  CHECK_NOTHROW(guest.boot({make_bzimage(spec), {}, std::string(16, 'x')}));
  Guest other(128 * MiB);
  CHECK(error_of(other, {make_bzimage(spec), {}, std::string(17, 'x')}) ==
        "linux boot: kernel command line is 17 bytes; this kernel takes at most 16");
}

TEST_CASE("an initrd bigger than the room left is refused", "[linux-boot]") {
  Guest guest(64 * MiB);
  // The kernel owns [16 MiB, 24 MiB); 64 - 24 = 40 MiB are left.
  std::vector<uint8_t> initrd(41 * MiB);
  CHECK(error_of(guest, {make_bzimage({}), initrd, ""}) ==
        "linux boot: initrd of 41 MiB does not fit below the kernel's limit; give the guest more "
        "memory with -m");
  BzImageSpec tiny_limit;
  tiny_limit.initrd_addr_max = 0xfffff;  // below the kernel itself
  Guest other(64 * MiB);
  CHECK_THROWS_AS(other.boot({make_bzimage(tiny_limit), std::vector<uint8_t>(4096), ""}),
                  vireo::Error);
}

TEST_CASE("too little RAM for the kernel's init_size is refused", "[linux-boot]") {
  BzImageSpec spec;
  spec.init_size = 40 * MiB;
  Guest guest(32 * MiB);
  CHECK(error_of(guest, {make_bzimage(spec), {}, ""}) ==
        "linux boot: the kernel needs 56 MiB of RAM; give it more with -m");
}
