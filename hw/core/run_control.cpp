#include "hw/core/run_control.h"

#include <time.h>

namespace vireo {

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::Prelaunch: return "prelaunch";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Shutdown: return "shutdown";
    case RunState::InternalError: return "internal-error";
  }
  return "running";
}

const char* event_name(MachineEvent::Kind kind) {
  switch (kind) {
    case MachineEvent::Kind::Stop: return "STOP";
    case MachineEvent::Kind::Resume: return "RESUME";
    case MachineEvent::Kind::Shutdown: return "SHUTDOWN";
    case MachineEvent::Kind::Reset: return "RESET";
    case MachineEvent::Kind::Powerdown: return "POWERDOWN";
  }
  return "";
}

uint64_t RunControl::request(MachineRequest request) {
  using K = MachineRequest::Kind;
  std::function<void()> notify;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return 0;
    if (request.kind == K::Reset || request.kind == K::PowerOff) {
      for (const MachineRequest& queued : queue_) {
        if (queued.kind == K::Reset || queued.kind == K::PowerOff || queued.kind == K::Exit) return 0;
      }
    }
    ticket = next_ticket_++;
    request.ticket = ticket;
    queue_.push_back(std::move(request));
    notify = on_request_;
  }
  changed_.notify_all();
  if (notify) notify();
  return ticket;
}

MachineRequest RunControl::wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !queue_.empty(); });
  // An exit jumps the queue: nothing else matters once the process leaves.
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->kind == MachineRequest::Kind::Exit) {
      MachineRequest r = std::move(*it);
      queue_.erase(it);
      return r;
    }
  }
  MachineRequest r = std::move(queue_.front());
  queue_.pop_front();
  return r;
}

void RunControl::complete(const MachineRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (request.ticket > last_completed_) last_completed_ = request.ticket;
  }
  changed_.notify_all();
}

bool RunControl::pending() {
  std::lock_guard lock(mutex_);
  return !queue_.empty();
}

bool RunControl::wait_done(uint64_t ticket, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return last_completed_ >= ticket || finished_; });
  return last_completed_ >= ticket;
}

void RunControl::finish() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
}

RunState RunControl::status() {
  std::lock_guard lock(mutex_);
  return status_;
}

void RunControl::set_status(RunState state) {
  std::lock_guard lock(mutex_);
  status_ = state;
}

int RunControl::subscribe(EventCallback callback) {
  std::lock_guard events(events_mutex_);
  int id = next_subscriber_++;
  subscribers_[id] = std::move(callback);
  return id;
}

void RunControl::unsubscribe(int id) {
  std::lock_guard events(events_mutex_);
  subscribers_.erase(id);
}

void RunControl::emit(MachineEvent event) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  event.wall_time_us = int64_t{now.tv_sec} * 1'000'000 + now.tv_nsec / 1000;
  std::lock_guard events(events_mutex_);
  for (auto& [id, callback] : subscribers_) callback(event);
}

void RunControl::set_on_request(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_request_ = std::move(callback);
}

}  // namespace vireo
