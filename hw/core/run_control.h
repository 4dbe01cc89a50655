// What devices and the user may ask of the machine as a whole, and what the
// machine tells its observers back.
//
// Requests: devices ask for a reset or power-off, signals and the console
// ask to exit, the monitor asks to pause, resume, reset or power off.
// The machine's main thread takes them one at a time with wait() and acts
// (only it starts and stops vCPUs); complete() then wakes whoever waits for
// that request with wait_done(). Guest requests coalesce: while a reset,
// power-off or exit is pending, another reset or power-off is dropped (a
// guest hammering port 0x92 queues one reset), and an exit always goes in.
//
// Status and events: the machine publishes its run state (QEMU's RunState
// names, as query-status reports them) and emits events (STOP, RESUME,
// SHUTDOWN, RESET, POWERDOWN) to subscribers such as QMP clients.
//
// Threads: any thread may request, read the status or subscribe; mutex_
// guards the queue, the status and the subscriber list. Event callbacks run
// on the emitting thread with no RunControl lock held (events_mutex_ only
// serialises emission so every subscriber sees the same order); they must
// not block for long and must not call subscribe()/unsubscribe().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace vireo {

struct MachineRequest {
  enum class Kind {
    Reset,     // guest reset (port 0x92, i8042, triple fault) or the monitor's system_reset
    PowerOff,  // guest power-off
    Exit,      // leave now with `exit_status` (isa-debug-exit, Ctrl-A x, signals, quit)
    Pause,     // the monitor's stop: vCPUs stop, virtual time stands still
    Resume,    // the monitor's cont
    Inspect,   // run `inspect` on the main thread with every vCPU stopped
  };
  Kind kind;
  int exit_status = 0;
  // Who asked, in QEMU's ShutdownCause words ("guest-reset", "host-qmp-quit",
  // "host-signal", ...); empty means the guest, for device requests.
  std::string reason;
  std::function<void()> inspect;
  uint64_t ticket = 0;  // set by request()
};

// QEMU's RunState values that vireo reaches (qapi/run-state.json).
enum class RunState { Prelaunch, Running, Paused, Shutdown, InternalError };
const char* run_state_name(RunState state);

struct MachineEvent {
  enum class Kind { Stop, Resume, Shutdown, Reset, Powerdown };
  Kind kind;
  bool guest = false;   // SHUTDOWN and RESET: did the guest ask?
  std::string reason;   // SHUTDOWN and RESET: QEMU's ShutdownCause
  int64_t wall_time_us = 0;  // when it happened, microseconds since the epoch
};
const char* event_name(MachineEvent::Kind kind);  // "STOP", "RESUME", ...

class RunControl {
 public:
  // Queues a request (see the coalescing rule above). Returns a ticket for
  // wait_done(), or 0 if the request was dropped.
  uint64_t request(MachineRequest request);
  void request_reset() { request({MachineRequest::Kind::Reset, 0, "guest-reset"}); }
  void request_power_off() { request({MachineRequest::Kind::PowerOff, 0, "guest-shutdown"}); }
  void request_exit(int status, std::string reason = "host-signal") {
    request({MachineRequest::Kind::Exit, status, std::move(reason)});
  }

  // The main thread: blocks until a request arrives and takes it; then
  // complete() once it acted on it.
  MachineRequest wait();
  void complete(const MachineRequest& request);
  bool pending();

  // Waits until the main thread completed request `ticket`; false on timeout
  // (a monitor must not hang forever on a machine that is stuck) or once
  // the machine finished.
  bool wait_done(uint64_t ticket, std::chrono::milliseconds timeout);

  // The main thread left its loop: nobody will act on requests any more;
  // waiters return and new requests are dropped.
  void finish();

  RunState status();
  void set_status(RunState state);

  using EventCallback = std::function<void(const MachineEvent&)>;
  int subscribe(EventCallback callback);
  void unsubscribe(int id);
  // Stamps the event with the wall clock and delivers it to every subscriber.
  void emit(MachineEvent event);

  // Called (outside the lock) on every accepted request, e.g. to kick vCPUs.
  void set_on_request(std::function<void()> callback);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<MachineRequest> queue_;
  uint64_t next_ticket_ = 1;
  uint64_t last_completed_ = 0;  // tickets complete in order
  bool finished_ = false;
  RunState status_ = RunState::Running;
  std::function<void()> on_request_;
  std::mutex events_mutex_;  // taken before mutex_, never the other way
  std::map<int, EventCallback> subscribers_;
  int next_subscriber_ = 1;
};

}  // namespace vireo
