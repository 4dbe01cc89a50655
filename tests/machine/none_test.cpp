// The none machine (machine/none.cpp): RAM only when asked for, an
// accelerator chosen as pc chooses it, and QEMU's run states with nothing
// behind them.
#include "machine/none.h"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "util/error.h"

using namespace vireo;

namespace {

VmConfig none_config() {
  VmConfig config;
  config.machine_type = "none";
  config.accelerators = {"tcg"};
  return config;
}

// Sends `request` and waits for the machine's main thread to act on it.
void ask(NoneMachine& machine, MachineRequest request) {
  uint64_t ticket = machine.control().request(std::move(request));
  REQUIRE(ticket != 0);
  REQUIRE(machine.control().wait_done(ticket, std::chrono::seconds(5)));
}

}  // namespace

TEST_CASE("none machine: no memory unless -m, then RAM \"ram\" at 0", "[machine][none]") {
  NoneMachine empty(none_config());
  CHECK(empty.memory().regions().empty());
  CHECK(empty.accelerator_name() == "tcg");

  VmConfig config = none_config();
  config.ram_bytes = 4 << 20;
  config.ram_size_given = true;
  NoneMachine with_ram(config);
  REQUIRE(with_ram.memory().regions().size() == 1);
  CHECK(with_ram.memory().regions()[0].name == "ram");
  CHECK(with_ram.memory().regions()[0].guest_base == 0);
  CHECK(with_ram.memory().regions()[0].size == (4u << 20));
}

TEST_CASE("none machine: the accelerator list falls back; an unusable one is named", "[machine][none]") {
  VmConfig config = none_config();
  config.accelerators = {"nope", "tcg"};  // the first cannot be created, quietly skipped
  CHECK(NoneMachine(config).accelerator_name() == "tcg");
  config.accelerators = {"nope"};
  CHECK_THROWS_AS(NoneMachine(config), Error);
}

TEST_CASE("none machine: -S, cont, stop, system_reset, quit and their events", "[machine][none]") {
  VmConfig config = none_config();
  config.start_paused = true;
  NoneMachine machine(config);
  std::vector<std::string> events;
  std::mutex events_mutex;
  machine.control().subscribe([&](const MachineEvent& e) {
    std::lock_guard lock(events_mutex);
    events.push_back(event_name(e.kind) + (e.reason.empty() ? "" : ":" + e.reason));
  });
  CHECK(machine.control().status() == RunState::Prelaunch);
  int status = -1;
  std::thread main([&] { status = machine.run(); });
  ask(machine, {MachineRequest::Kind::Resume});
  CHECK(machine.control().status() == RunState::Running);
  ask(machine, {MachineRequest::Kind::Pause});
  CHECK(machine.control().status() == RunState::Paused);
  ask(machine, {MachineRequest::Kind::Pause});  // already paused: no second STOP
  ask(machine, {MachineRequest::Kind::Reset, 0, "host-qmp-system-reset"});
  bool ran = false;
  ask(machine, {MachineRequest::Kind::Inspect, 0, "", [&] { ran = true; }});
  CHECK(ran);
  machine.control().request_exit(0, "host-qmp-quit");
  main.join();
  CHECK(status == 0);
  CHECK(machine.control().status() == RunState::Shutdown);
  std::lock_guard lock(events_mutex);
  CHECK(events == std::vector<std::string>{"RESUME", "STOP", "RESET:host-qmp-system-reset", "SHUTDOWN:host-qmp-quit"});
}
