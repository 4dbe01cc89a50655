#include "hw/core/timer.h"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace vireo {

int64_t VirtualClock::host_monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

VirtualClock::VirtualClock() : offset_ns_(host_monotonic_ns()) {}  // virtual time starts at 0

int64_t VirtualClock::now_ns() const {
  std::lock_guard lock(mutex_);
  if (paused_at_ns_ >= 0) return paused_at_ns_;
  return host_monotonic_ns() - offset_ns_;
}

void VirtualClock::pause() {
  std::lock_guard lock(mutex_);
  if (paused_at_ns_ < 0) paused_at_ns_ = host_monotonic_ns() - offset_ns_;
}

void VirtualClock::resume() {
  std::lock_guard lock(mutex_);
  if (paused_at_ns_ < 0) return;
  offset_ns_ = host_monotonic_ns() - paused_at_ns_;
  paused_at_ns_ = -1;
}

bool VirtualClock::paused() const {
  std::lock_guard lock(mutex_);
  return paused_at_ns_ >= 0;
}

TimerService::~TimerService() { stop(); }

void TimerService::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { thread_main(); });
}

void TimerService::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  thread_ = std::thread();
}

void TimerService::thread_main() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    int64_t next = earliest_locked();
    int64_t now = clock_.now_ns();
    if (next <= now) {
      lock.unlock();
      run_due();
      lock.lock();
      continue;
    }
    // A relative wait: virtual time may stop (pause) or differ from the
    // host's clock, so the deadline is re-checked on every wakeup.
    if (next == kNever) {
      changed_.wait(lock);
    } else {
      changed_.wait_for(lock, std::chrono::nanoseconds(next - now));
    }
  }
}

int64_t TimerService::earliest_locked() const {
  int64_t earliest = kNever;
  for (const Timer* t : timers_) earliest = std::min(earliest, t->deadline_ns_);
  return earliest;
}

int64_t TimerService::next_deadline_ns() const {
  std::lock_guard lock(mutex_);
  return earliest_locked();
}

void TimerService::run_due() {
  // Only deadlines up to the time on entry: a callback that re-arms for a
  // time already past runs on the next round, never in a loop here.
  const int64_t now = clock_.now_ns();
  std::unique_lock lock(mutex_);
  for (;;) {
    Timer* due = nullptr;
    for (Timer* t : timers_) {
      if (t->deadline_ns_ <= now && (due == nullptr || t->deadline_ns_ < due->deadline_ns_)) due = t;
    }
    if (due == nullptr) return;
    due->deadline_ns_ = kNever;
    running_ = due;
    running_thread_ = std::this_thread::get_id();
    lock.unlock();
    due->callback_();
    lock.lock();
    running_ = nullptr;
    changed_.notify_all();
  }
}

void TimerService::advance(ManualClock& clock, int64_t target_ns) {
  for (;;) {
    int64_t next = next_deadline_ns();
    if (next > target_ns) break;
    if (next > clock.now_ns()) clock.set_ns(next);
    run_due();
  }
  if (target_ns > clock.now_ns()) clock.set_ns(target_ns);
  run_due();
}

void TimerService::add(Timer* timer) {
  std::lock_guard lock(mutex_);
  timers_.push_back(timer);
}

void TimerService::remove(Timer* timer) {
  std::unique_lock lock(mutex_);
  timers_.erase(std::remove(timers_.begin(), timers_.end(), timer), timers_.end());
  // The callback may be running on the service thread: the timer's owner
  // is going away, so wait until it returns (unless this is that thread).
  changed_.wait(lock, [&] {
    return running_ != timer || running_thread_ == std::this_thread::get_id();
  });
}

void TimerService::rearm(Timer* timer, int64_t deadline_ns) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    wake = deadline_ns < earliest_locked();
    timer->deadline_ns_ = deadline_ns;
  }
  if (wake) changed_.notify_all();
}

Timer::Timer(TimerService& service, std::function<void()> callback)
    : service_(service), callback_(std::move(callback)) {
  service_.add(this);
}

Timer::~Timer() { service_.remove(this); }

int64_t Timer::deadline_ns() const {
  std::lock_guard lock(service_.mutex_);
  return deadline_ns_;
}

}  // namespace vireo
