// A hostile virtio driver, run inside the guest (as root, with no virtio
// driver bound): it maps the virtio-blk-pci function's BAR 4 through
// sysfs, builds split virtqueues in a page of its own memory (its physical
// address from /proc/self/pagemap) and feeds the device malformed rings.
// For each case it prints
//   VIREO-HOSTILE <case> needs_reset=<0|1> used=<used idx> reset_ok=<0|1>
// where needs_reset is DEVICE_NEEDS_RESET in the device status after the
// notification, and reset_ok says writing 0 brought the status back to 0.
// A well-formed flush request comes first and last, to show the device
// serves good requests before and after the bad ones.
//
// virtio 1.2 §4.1.4.3 (common configuration), §2.7 (split virtqueues).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *kDevice = "/sys/bus/pci/devices/0000:00:02.0";
static volatile uint8_t *bar;  // BAR 4: common config at 0, notify at 0x3000
static uint8_t *page;          // rings and buffers, physically at page_phys
static uint64_t page_phys;

enum {
  kDriverFeatureSelect = 0x08, kDriverFeature = 0x0c, kDeviceStatus = 0x14,
  kQueueSelect = 0x16, kQueueSize = 0x18, kQueueEnable = 0x1c,
  kQueueDesc = 0x20, kQueueDriver = 0x28, kQueueDevice = 0x30, kNotify = 0x3000,
};
enum { kNext = 1, kWrite = 2 };
enum { kQueue = 4, kDesc = 0x000, kAvail = 0x100, kUsed = 0x200, kHeader = 0x400, kStatus = 0x800 };
static const uint64_t kOutsideRam = 0xfff00000000ull;  // far above the guest's RAM

static void w8(unsigned off, uint8_t v) { bar[off] = v; __sync_synchronize(); }
static void w16(unsigned off, uint16_t v) { *(volatile uint16_t *)(bar + off) = v; __sync_synchronize(); }
static void w32(unsigned off, uint32_t v) { *(volatile uint32_t *)(bar + off) = v; __sync_synchronize(); }
static uint8_t r8(unsigned off) { __sync_synchronize(); return bar[off]; }
static void w64(unsigned off, uint64_t v) { w32(off, (uint32_t)v); w32(off + 4, (uint32_t)(v >> 32)); }

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
  uint8_t *d = page + kDesc + 16 * i;
  memcpy(d, &addr, 8);
  memcpy(d + 8, &len, 4);
  memcpy(d + 12, &flags, 2);
  memcpy(d + 14, &next, 2);
}

static uint16_t used_idx(void) {
  __sync_synchronize();
  return *(volatile uint16_t *)(page + kUsed + 2);
}

// Resets the device; 1 if the status reads 0 afterwards (§4.1.4.3.1).
static int reset_device(void) {
  w8(kDeviceStatus, 0);
  for (int i = 0; i < 100; ++i) {
    if (r8(kDeviceStatus) == 0) return 1;
    sleep_ms(1);
  }
  return 0;
}

// Brings the device up with queue 0 at `desc` (the rings' other parts in
// our page); returns the status afterwards.
static uint8_t start(uint64_t desc) {
  reset_device();
  memset(page, 0, 4096);
  w8(kDeviceStatus, 1);
  w8(kDeviceStatus, 3);
  w32(kDriverFeatureSelect, 1);
  w32(kDriverFeature, 1);  // VERSION_1 only
  w32(kDriverFeatureSelect, 0);
  w32(kDriverFeature, 0);
  w8(kDeviceStatus, 11);
  w16(kQueueSelect, 0);
  w16(kQueueSize, kQueue);
  w64(kQueueDesc, desc);
  w64(kQueueDriver, page_phys + kAvail);
  w64(kQueueDevice, page_phys + kUsed);
  w16(kQueueEnable, 1);
  w8(kDeviceStatus, 15);
  return r8(kDeviceStatus);
}

static void publish(uint16_t head, uint16_t idx) {
  *(uint16_t *)(page + kAvail + 4) = head;
  __sync_synchronize();
  *(volatile uint16_t *)(page + kAvail + 2) = idx;
  __sync_synchronize();
  w16(kNotify, 0);
}

// Waits up to 2 s for NEEDS_RESET (or for the used index to move, for
// good requests); prints the case's line.
static void finish(const char *name) {
  int needs_reset = 0;
  for (int i = 0; i < 200 && !needs_reset && used_idx() == 0; ++i) {
    needs_reset = (r8(kDeviceStatus) & 64) != 0;
    if (!needs_reset) sleep_ms(10);
  }
  needs_reset = (r8(kDeviceStatus) & 64) != 0;
  unsigned used = used_idx();
  int reset_ok = reset_device();
  printf("VIREO-HOSTILE %s needs_reset=%d used=%u reset_ok=%d\n", name, needs_reset, used, reset_ok);
  fflush(stdout);
}

static void flush_request(const char *name) {
  start(page_phys + kDesc);
  uint32_t header[4] = {4 /* VIRTIO_BLK_T_FLUSH */, 0, 0, 0};
  memcpy(page + kHeader, header, sizeof header);
  page[kStatus] = 0xee;
  set_desc(0, page_phys + kHeader, 16, kNext, 1);
  set_desc(1, page_phys + kStatus, 1, kWrite, 0);
  publish(0, 1);
  finish(name);
  printf("VIREO-HOSTILE %s-status=%u\n", name, page[kStatus]);
}

int main(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/resource4", kDevice);
  int fd = open(path, O_RDWR | O_SYNC);
  if (fd < 0) { perror(path); return 1; }
  bar = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (bar == MAP_FAILED) { perror("mmap BAR 4"); return 1; }

  // No driver has enabled the function: turn on memory decoding and bus
  // mastering (the device reads rings only as a bus master) in its
  // command register, through the sysfs config file.
  snprintf(path, sizeof path, "%s/config", kDevice);
  int config = open(path, O_RDWR);
  uint16_t command = 0;
  if (config < 0 || pread(config, &command, 2, 4) != 2) { perror(path); return 1; }
  command |= 0x6;
  if (pwrite(config, &command, 2, 4) != 2) { perror("command register"); return 1; }

  page = aligned_alloc(4096, 4096);
  memset(page, 0, 4096);
  if (mlock(page, 4096) != 0) { perror("mlock"); return 1; }
  int pagemap = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  if (pagemap < 0 || pread(pagemap, &entry, 8, ((uintptr_t)page / 4096) * 8) != 8 || !(entry >> 63)) {
    fprintf(stderr, "no physical address from /proc/self/pagemap\n");
    return 1;
  }
  page_phys = (entry & ((1ull << 55) - 1)) * 4096;

  flush_request("good-before");

  printf("VIREO-HOSTILE rings-outside-ram-status=%u\n", start(kOutsideRam));
  finish("rings-outside-ram");

  start(page_phys + kDesc);
  set_desc(0, page_phys + kHeader, 16, kNext, 1);
  set_desc(1, page_phys + kHeader, 16, kNext, 0);
  publish(0, 1);
  finish("descriptor-loop");

  start(page_phys + kDesc);
  set_desc(0, kOutsideRam, 16, kNext, 1);
  set_desc(1, page_phys + kStatus, 1, kWrite, 0);
  publish(0, 1);
  finish("buffer-outside-ram");

  start(page_phys + kDesc);
  set_desc(0, page_phys + kHeader, 16, kNext, 1);
  set_desc(1, page_phys + kStatus, 1, kWrite, 0);
  publish(200, 1);
  finish("head-out-of-range");

  start(page_phys + kDesc);
  set_desc(0, page_phys + kHeader, 16, kNext, 1);
  set_desc(1, page_phys + kStatus, 1, kWrite, 0);
  publish(0, 1000);
  finish("avail-index-jump");

  start(page_phys + kDesc);
  set_desc(0, page_phys + kHeader, 16, kNext, 7);
  publish(0, 1);
  finish("next-out-of-range");

  start(page_phys + kDesc);
  set_desc(0, page_phys + kHeader, 16, 0, 0);
  publish(0, 1);
  finish("no-status-byte");

  flush_request("good-after");
  return 0;
}
