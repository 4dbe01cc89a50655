// The monitor's front ends: QMP and HMP clients on unix and tcp server
// sockets, stdio, or a file/null chardev, all served by one MonitorCore.
//
// One thread polls every listening socket and socket client; stdio input
// arrives on the stdio chardev's own thread. Commands from all clients run
// one at a time (MonitorCore::run_lock). No vCPU thread ever waits here:
// commands reach the machine through RunControl requests.
//
// Output: replies and events are appended to a client's queue and written
// by the poll thread without blocking (a client that stops reading has its
// queue capped, then is dropped); stdio output is written directly. Events
// come from the machine's main thread through RunControl::subscribe.
//
// Threads: clients_mutex_ guards the client list (the poll thread changes
// it, the event callback reads it); each client's out_mutex guards its
// output queue. Lock order: clients_mutex_, then a client's out_mutex;
// neither is held while a command runs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "system/vm_config.h"
#include "ui/chardev.h"
#include "ui/monitor/line_editor.h"
#include "ui/monitor/monitor_core.h"
#include "ui/monitor/qmp_session.h"

namespace vireo {

class MonitorServer {
 public:
  static constexpr size_t kMaxQueuedOutputBytes = 16 << 20;

  MonitorServer(MonitorCore& core, RunControl& control);
  ~MonitorServer();
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;

  // Opens the chardev's socket or terminal. Throws Error naming the
  // culprit (a path in use, a port taken).
  void add_monitor(const ChardevSpec& chardev, const MonitorSpec& monitor);
  // mon:stdio: a human monitor on the backend COM1 uses, reached with
  // Ctrl-A c. Throws Error if the backend cannot be shared.
  void add_multiplexed_monitor(CharBackend& backend);
  void start();
  // Delivers what is queued (SHUTDOWN, the quit reply) for up to `timeout`,
  // then closes every client and stops the thread.
  void stop(std::chrono::milliseconds timeout);

  std::vector<MonitorChardevInfo> chardevs();

  struct Client;
  struct Listener;

 private:
  void poll_loop();
  void accept_client(Listener& listener);
  void handle_input(Client& client, std::string_view bytes);
  void queue(Client& client, const std::string& text);
  void wake();
  void on_event(const MachineEvent& event);
  void focus_in(Client& client);

  MonitorCore& core_;
  RunControl& control_;
  int subscription_ = 0;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::mutex clients_mutex_;
  std::vector<std::shared_ptr<Client>> clients_;
  std::vector<std::unique_ptr<CharBackend>> backends_;  // stdio/file/null monitors
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};
};

}  // namespace vireo
