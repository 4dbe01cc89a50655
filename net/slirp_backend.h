// -netdev user: QEMU's user-mode network on Debian's libslirp (4.7). The
// guest talks to a virtual router (the host address, 10.0.2.2 by default)
// with DHCP and a DNS forwarder; its TCP and UDP connections become the
// host's own sockets, and hostfwd= rules forward host ports to the guest.
//
// libslirp is not thread-safe and drives itself through poll() and timer
// callbacks, so each back end has one thread that owns the Slirp instance
// and runs its loop: poll over slirp's sockets and a wake-up eventfd, then
// expired timers, then the frames the guest sent. Frames from the guest
// arrive on the NIC's thread and wait in tx_queue_ (tx_mutex_) for the
// loop; frames for the guest leave through NetBackend::deliver() on the
// loop thread. Everything else here belongs to the loop thread once it
// runs; the constructor sets slirp up (hostfwd rules included, so a port
// in use is an error before the guest starts) before starting it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/net_backend.h"
#include "net/user_net_options.h"

struct Slirp;
struct pollfd;

namespace vireo {

class SlirpBackend final : public NetBackend {
 public:
  // Frames the guest sent that may wait for the loop; more are dropped
  // (the guest's TCP resends), so a guest cannot make the queue grow.
  static constexpr size_t kMaxTxQueued = 1024;

  // Throws Error with QEMU's words (a hostfwd rule that cannot be set up).
  explicit SlirpBackend(const UserNetOptions& options);
  ~SlirpBackend() override;

  std::string type() const override { return "user"; }
  std::string info() const override;
  void send(std::span<const uint8_t> frame) override;
  void stop() override;

  const UserNetOptions& options() const { return options_; }
  uint64_t tx_dropped() const { return tx_dropped_.load(); }

  // libslirp's callbacks (SlirpCb), on the loop thread.
  struct Timer;
  void on_send_packet(const void* data, size_t length) {
    deliver(std::span(static_cast<const uint8_t*>(data), length));
  }
  Timer* new_timer(int id, void* cb_opaque);
  void free_timer(Timer* timer);
  void mod_timer(Timer* timer, int64_t expire_ms);
  void wake();
  int add_poll(int fd, int events);
  int revents(int index) const;

 private:
  void loop();
  void run_timers();
  int next_timer_ms() const;

  UserNetOptions options_;
  Slirp* slirp_ = nullptr;
  int wake_fd_ = -1;  // eventfd: send() and stop() end the loop's poll
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> tx_dropped_{0};

  std::mutex tx_mutex_;
  std::deque<std::vector<uint8_t>> tx_queue_;

  // Loop thread only.
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<pollfd> poll_fds_;
};

}  // namespace vireo
