// RunControl: the request queue between devices/monitor and the machine's
// main thread, its completion tickets, and event delivery.
#include <catch2/catch.hpp>

#include <thread>

#include "hw/core/run_control.h"

using namespace vireo;
using Kind = MachineRequest::Kind;

TEST_CASE("run control: a second guest reset while one is pending is dropped", "[run_control]") {
  RunControl control;
  CHECK(control.request({Kind::Reset}) != 0);
  CHECK(control.request({Kind::Reset}) == 0);
  CHECK(control.request({Kind::PowerOff}) == 0);
  CHECK(control.wait().kind == Kind::Reset);
  CHECK_FALSE(control.pending());
}

TEST_CASE("run control: pause and resume queue in order; exit jumps the queue", "[run_control]") {
  RunControl control;
  control.request({Kind::Pause});
  control.request({Kind::Resume});
  control.request_exit(3, "host-qmp-quit");
  MachineRequest first = control.wait();
  CHECK(first.kind == Kind::Exit);
  CHECK(first.exit_status == 3);
  CHECK(first.reason == "host-qmp-quit");
  CHECK(control.wait().kind == Kind::Pause);
  CHECK(control.wait().kind == Kind::Resume);
}

TEST_CASE("run control: wait_done returns once the main thread completed the request", "[run_control]") {
  RunControl control;
  uint64_t ticket = control.request({Kind::Pause});
  CHECK_FALSE(control.wait_done(ticket, std::chrono::milliseconds(1)));
  std::thread main_thread([&] {
    MachineRequest r = control.wait();
    control.set_status(RunState::Paused);
    control.complete(r);
  });
  CHECK(control.wait_done(ticket, std::chrono::seconds(5)));
  CHECK(control.status() == RunState::Paused);
  main_thread.join();
}

TEST_CASE("run control: events reach every subscriber with a timestamp until unsubscribed", "[run_control]") {
  RunControl control;
  std::vector<MachineEvent> a, b;
  int id_a = control.subscribe([&](const MachineEvent& e) { a.push_back(e); });
  control.subscribe([&](const MachineEvent& e) { b.push_back(e); });
  control.emit({MachineEvent::Kind::Shutdown, false, "host-qmp-quit"});
  control.unsubscribe(id_a);
  control.emit({MachineEvent::Kind::Stop});
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 2);
  CHECK(std::string(event_name(a[0].kind)) == "SHUTDOWN");
  CHECK(a[0].reason == "host-qmp-quit");
  CHECK(a[0].wall_time_us > 1'600'000'000'000'000);  // after 2020
  CHECK(std::string(event_name(b[1].kind)) == "STOP");
}

TEST_CASE("run control: run state names are QEMU's", "[run_control]") {
  CHECK(std::string(run_state_name(RunState::Prelaunch)) == "prelaunch");
  CHECK(std::string(run_state_name(RunState::Paused)) == "paused");
  CHECK(std::string(run_state_name(RunState::Running)) == "running");
  CHECK(std::string(run_state_name(RunState::Shutdown)) == "shutdown");
}

TEST_CASE("run control: after finish() waiters return at once and requests are dropped", "[run_control]") {
  RunControl control;
  uint64_t ticket = control.request({Kind::Pause});
  std::thread main_thread([&] { control.finish(); });
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(control.wait_done(ticket, std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  main_thread.join();
  CHECK(control.request({Kind::Resume}) == 0);
}
