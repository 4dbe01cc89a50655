// What devices and the user may ask of the machine as a whole: reset,
// power off, exit with a status. The first request wins until the machine
// has acted on it; the machine's main thread waits here.
//
// Threads: any thread may request; mutex_ guards the pending request.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

namespace vireo {

struct MachineRequest {
  enum class Kind {
    Reset,     // guest reset (port 0x92, i8042, triple fault)
    PowerOff,  // guest power-off
    Exit,      // leave now with `exit_status` (isa-debug-exit, Ctrl-A x, signals)
  };
  Kind kind;
  int exit_status = 0;
};

class RunControl {
 public:
  void request(MachineRequest request) {
    std::function<void()> notify;
    {
      std::lock_guard lock(mutex_);
      // An exit beats a pending reset; otherwise the first request stands.
      if (pending_ && !(request.kind == MachineRequest::Kind::Exit &&
                        pending_->kind != MachineRequest::Kind::Exit)) {
        return;
      }
      pending_ = request;
      notify = on_request_;
    }
    changed_.notify_all();
    if (notify) notify();
  }
  void request_reset() { request({MachineRequest::Kind::Reset}); }
  void request_power_off() { request({MachineRequest::Kind::PowerOff}); }
  void request_exit(int status) { request({MachineRequest::Kind::Exit, status}); }

  // Blocks until a request arrives and takes it.
  MachineRequest wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return pending_.has_value(); });
    MachineRequest r = *pending_;
    pending_.reset();
    return r;
  }

  bool pending() {
    std::lock_guard lock(mutex_);
    return pending_.has_value();
  }

  // Called (outside the lock) on every accepted request, e.g. to kick vCPUs.
  void set_on_request(std::function<void()> callback) {
    std::lock_guard lock(mutex_);
    on_request_ = std::move(callback);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<MachineRequest> pending_;
  std::function<void()> on_request_;
};

}  // namespace vireo
