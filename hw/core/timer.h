// Virtual time and timers for devices.
//
// Devices read the time from a Clock and arm Timers; one TimerService per
// machine runs a thread that sleeps until the earliest deadline and runs the
// callbacks due. Virtual time is the host's CLOCK_MONOTONIC in nanoseconds,
// minus the time the machine spent paused (VirtualClock::pause/resume, the
// hook for stopping a VM: while paused no virtual time passes, so no timer
// fires and a guest's clocks do not jump when it resumes). Tests inject a
// ManualClock and run the due callbacks themselves, with no thread.
//
// A callback is a hint that a deadline passed, not a promise: it may run
// late (a busy host), and once more after the timer was re-armed or
// cancelled while it was about to run. Devices therefore recompute what is
// due from their own state and the clock, under their own lock.
//
// Threads: any thread arms and cancels; mutex_ guards the timer list and is
// never held while a callback runs, so callbacks may take device locks that
// are held around arm()/cancel() (lock order: device lock, then mutex_).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace vireo {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ns() const = 0;
};

// Virtual time of a machine: host CLOCK_MONOTONIC, minus time spent paused.
class VirtualClock final : public Clock {
 public:
  VirtualClock();
  int64_t now_ns() const override;
  // Stops virtual time where it is; resume() makes it go on from there.
  void pause();
  void resume();
  bool paused() const;

 private:
  static int64_t host_monotonic_ns();
  mutable std::mutex mutex_;
  int64_t offset_ns_ = 0;      // virtual = host - offset while running
  int64_t paused_at_ns_ = -1;  // virtual time frozen at pause(), or -1
};

// A clock that moves only when a test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ns = 0) : now_(start_ns) {}
  int64_t now_ns() const override { return now_.load(std::memory_order_acquire); }
  void set_ns(int64_t t) { now_.store(t, std::memory_order_release); }
  void advance_ns(int64_t delta) { now_.fetch_add(delta, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

class Timer;

class TimerService {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  explicit TimerService(Clock& clock) : clock_(clock) {}
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  Clock& clock() { return clock_; }
  int64_t now_ns() const { return clock_.now_ns(); }

  // Starts and stops the thread that runs callbacks (the machine's).
  void start();
  void stop();

  // Runs, on the calling thread, every callback whose deadline is not after
  // now (for tests with a ManualClock, and for the service's own thread).
  void run_due();
  // The earliest armed deadline, or kNever.
  int64_t next_deadline_ns() const;

  // Tests: moves `clock` forward to `target_ns` deadline by deadline,
  // running each callback with the clock at its deadline, as the thread
  // would on an idle host.
  void advance(ManualClock& clock, int64_t target_ns);

 private:
  friend class Timer;
  void add(Timer* timer);
  void remove(Timer* timer);  // waits if its callback runs on another thread
  void rearm(Timer* timer, int64_t deadline_ns);
  void thread_main();
  int64_t earliest_locked() const;

  Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;   // the list changed or a callback finished
  std::vector<Timer*> timers_;
  Timer* running_ = nullptr;          // whose callback runs now, on running_thread_
  std::thread::id running_thread_;
  std::thread thread_;
  bool stopping_ = false;
};

// A deadline on a TimerService with the callback to run when it passes.
class Timer {
 public:
  Timer(TimerService& service, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Replaces any earlier deadline; a deadline already past fires soon.
  void arm(int64_t deadline_ns) { service_.rearm(this, deadline_ns); }
  void cancel() { service_.rearm(this, TimerService::kNever); }
  int64_t deadline_ns() const;
  bool armed() const { return deadline_ns() != TimerService::kNever; }
  TimerService& service() { return service_; }

 private:
  friend class TimerService;
  TimerService& service_;
  std::function<void()> callback_;
  int64_t deadline_ns_ = TimerService::kNever;  // guarded by service_.mutex_
};

}  // namespace vireo
