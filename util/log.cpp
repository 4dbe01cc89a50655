#include "util/log.h"

#include <cstdio>
#include <mutex>

namespace vireo {

namespace {
std::string& name_storage() {
  static std::string name = "vireo";
  return name;
}
std::mutex& stderr_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void set_program_name(std::string name) { name_storage() = std::move(name); }
const std::string& program_name() { return name_storage(); }

void log_error(const std::string& message) {
  std::lock_guard lock(stderr_mutex());
  std::fprintf(stderr, "%s: %s\n", program_name().c_str(), message.c_str());
  std::fflush(stderr);
}

void log_warning(const std::string& message) { log_error("warning: " + message); }

void RateLimitedLog::warn(const std::string& message) {
  total_.fetch_add(1, std::memory_order_relaxed);
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  if (window_start_s_.exchange(now_s) != now_s) in_window_.store(0);
  unsigned n = in_window_.fetch_add(1);
  if (n < burst_) {
    log_warning(message);
  } else if (n == burst_) {
    log_warning("further messages like this suppressed for this second");
  }
}

}  // namespace vireo
