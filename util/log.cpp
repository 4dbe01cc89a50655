#include "util/log.h"

#include <sys/time.h>

#include <atomic>
#include <cstdio>
#include <ctime>
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
std::atomic<bool> g_timestamps{false};

std::string timestamp_prefix() {
  if (!g_timestamps.load()) return "";
  timeval now{};
  gettimeofday(&now, nullptr);
  tm fields{};
  gmtime_r(&now.tv_sec, &fields);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ ", fields.tm_year + 1900,
                fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min, fields.tm_sec,
                static_cast<long>(now.tv_usec));
  return text;
}
}  // namespace

void set_log_timestamps(bool on) { g_timestamps = on; }

void set_program_name(std::string name) { name_storage() = std::move(name); }
const std::string& program_name() { return name_storage(); }

void log_error(const std::string& message) {
  std::lock_guard lock(stderr_mutex());
  std::fprintf(stderr, "%s%s: %s\n", timestamp_prefix().c_str(), program_name().c_str(), message.c_str());
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
