// The timer service devices build on: deadlines in virtual time, callbacks
// on the service thread (or the test's, with a ManualClock), cancel and
// re-arm, and virtual time that stops while the machine is paused.
#include "hw/core/timer.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using vireo::ManualClock;
using vireo::Timer;
using vireo::TimerService;
using vireo::VirtualClock;

TEST_CASE("a timer fires when the clock reaches its deadline, not before", "[timer]") {
  ManualClock clock(1000);
  TimerService service(clock);
  int fired = 0;
  Timer timer(service, [&] { ++fired; });
  timer.arm(5000);
  CHECK(timer.armed());
  CHECK(service.next_deadline_ns() == 5000);
  service.advance(clock, 4999);
  CHECK(fired == 0);
  service.advance(clock, 5000);
  CHECK(fired == 1);
  CHECK_FALSE(timer.armed());
  service.advance(clock, 100000);
  CHECK(fired == 1);  // one-shot
}

TEST_CASE("cancel stops a timer; arming again replaces the deadline", "[timer]") {
  ManualClock clock;
  TimerService service(clock);
  std::vector<int64_t> fired_at;
  Timer timer(service, [&] { fired_at.push_back(clock.now_ns()); });
  timer.arm(100);
  timer.cancel();
  service.advance(clock, 200);
  CHECK(fired_at.empty());
  timer.arm(300);
  timer.arm(250);
  service.advance(clock, 1000);
  REQUIRE(fired_at.size() == 1);
  CHECK(fired_at[0] == 250);
}

TEST_CASE("advance runs callbacks in deadline order with the clock at each deadline", "[timer]") {
  ManualClock clock;
  TimerService service(clock);
  std::vector<std::pair<char, int64_t>> order;
  Timer a(service, [&] { order.push_back({'a', clock.now_ns()}); });
  Timer b(service, [&] { order.push_back({'b', clock.now_ns()}); });
  // A periodic timer re-arms itself from its callback.
  int64_t period = 300;
  Timer p(service, [&] {
    order.push_back({'p', clock.now_ns()});
    p.arm(clock.now_ns() + period);
  });
  a.arm(700);
  b.arm(200);
  p.arm(300);
  service.advance(clock, 1000);
  std::vector<std::pair<char, int64_t>> expected = {{'b', 200}, {'p', 300}, {'p', 600}, {'a', 700}, {'p', 900}};
  CHECK(order == expected);
  CHECK(clock.now_ns() == 1000);
}

TEST_CASE("a deadline already past fires on the next run", "[timer]") {
  ManualClock clock(10'000);
  TimerService service(clock);
  int fired = 0;
  Timer timer(service, [&] { ++fired; });
  timer.arm(5);
  service.run_due();
  CHECK(fired == 1);
}

TEST_CASE("the service thread sleeps until the deadline on the host clock", "[timer]") {
  VirtualClock clock;
  TimerService service(clock);
  service.start();
  std::atomic<int64_t> fired_at{-1};
  std::atomic<bool> on_service_thread{false};
  auto test_thread = std::this_thread::get_id();
  Timer timer(service, [&] {
    on_service_thread = std::this_thread::get_id() != test_thread;
    fired_at = clock.now_ns();
  });
  int64_t deadline = clock.now_ns() + 20'000'000;  // 20 ms
  timer.arm(deadline);
  for (int i = 0; i < 200 && fired_at < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(fired_at >= 0);
  CHECK(fired_at >= deadline);
  CHECK(on_service_thread);
  service.stop();
}

TEST_CASE("a timer armed earlier than the one the thread sleeps for wakes it", "[timer]") {
  VirtualClock clock;
  TimerService service(clock);
  service.start();
  std::atomic<int> fired{0};
  Timer far(service, [] {});
  Timer near(service, [&] { ++fired; });
  far.arm(clock.now_ns() + 60'000'000'000);  // a minute away
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  near.arm(clock.now_ns() + 5'000'000);
  for (int i = 0; i < 200 && fired == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(fired == 1);
}

TEST_CASE("virtual time stands still while paused and goes on from there", "[timer]") {
  VirtualClock clock;
  clock.pause();
  CHECK(clock.paused());
  int64_t at_pause = clock.now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(clock.now_ns() == at_pause);
  clock.resume();
  CHECK_FALSE(clock.paused());
  int64_t after = clock.now_ns();
  CHECK(after >= at_pause);
  CHECK(after - at_pause < 10'000'000);  // the 20 ms paused did not count
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(clock.now_ns() - after >= 5'000'000);
}

TEST_CASE("a timer does not fire while virtual time is paused", "[timer]") {
  VirtualClock clock;
  TimerService service(clock);
  service.start();
  std::atomic<int> fired{0};
  Timer timer(service, [&] { ++fired; });
  clock.pause();
  timer.arm(clock.now_ns() + 5'000'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(fired == 0);
  clock.resume();
  for (int i = 0; i < 200 && fired == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(fired == 1);
}

TEST_CASE("destroying a timer waits for its running callback", "[timer]") {
  VirtualClock clock;
  TimerService service(clock);
  service.start();
  std::atomic<bool> started{false}, finished{false};
  auto timer = std::make_unique<Timer>(service, [&] {
    started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finished = true;
  });
  timer->arm(clock.now_ns());
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  timer.reset();
  CHECK(finished);
}
