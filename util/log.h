// Diagnostics on stderr, prefixed with the program name as QEMU does
// ("vireo: ..."). Guest-triggered messages go through RateLimitedLog so a
// hostile guest cannot flood the host's terminal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vireo {

void set_program_name(std::string name);
const std::string& program_name();

// -msg timestamp=on: every line starts with the UTC time, as QEMU's
// "2026-11-25T20:38:37.053123Z vireo: ...".
void set_log_timestamps(bool on);

// One line on stderr: "<program>: <message>".
void log_error(const std::string& message);
void log_warning(const std::string& message);

// Prints at most `burst` messages per second and counts the rest, so that a
// guest hammering a bad register is visible but cannot stall the emulator.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(unsigned burst = 10) : burst_(burst) {}
  void warn(const std::string& message);
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  unsigned burst_;
  std::atomic<uint64_t> total_{0};
  std::atomic<int64_t> window_start_s_{0};
  std::atomic<unsigned> in_window_{0};
};

}  // namespace vireo
