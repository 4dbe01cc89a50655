#include "net/slirp_backend.h"

#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "util/error.h"
#include "util/log.h"

namespace vireo {

struct SlirpBackend::Timer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // -1: not armed
};

namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

SlirpBackend& backend(void* opaque) { return *static_cast<SlirpBackend*>(opaque); }

// libslirp's callbacks; every one runs on the loop thread (or in the
// constructor, before it starts).
ssize_t cb_send_packet(const void* buf, size_t len, void* opaque) {
  backend(opaque).on_send_packet(buf, len);
  return static_cast<ssize_t>(len);
}

void cb_guest_error(const char* msg, void* opaque) {
  static RateLimitedLog log;  // a guest can trigger these at will
  log.warn("netdev " + backend(opaque).id() + ": guest error: " + msg);
}

// Slirp's timers run on the host's monotonic clock, not the guest's
// virtual time: TCP retransmission and DHCP lease timing toward host
// sockets follow host time (QEMU's slirp uses its host-side clock too).
int64_t cb_clock_get_ns(void*) { return monotonic_ns(); }

void* cb_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
  return backend(opaque).new_timer(static_cast<int>(id), cb_opaque);
}

void cb_timer_free(void* timer, void* opaque) {
  backend(opaque).free_timer(static_cast<SlirpBackend::Timer*>(timer));
}

void cb_timer_mod(void* timer, int64_t expire_ms, void* opaque) {
  backend(opaque).mod_timer(static_cast<SlirpBackend::Timer*>(timer), expire_ms);
}

// Every fd is polled afresh from slirp_pollfds_fill on each pass, so
// there is nothing to register.
void cb_register_poll_fd(int, void*) {}
void cb_unregister_poll_fd(int, void*) {}

void cb_notify(void* opaque) { backend(opaque).wake(); }

int cb_add_poll(int fd, int events, void* opaque) { return backend(opaque).add_poll(fd, events); }
int cb_get_revents(int index, void* opaque) { return backend(opaque).revents(index); }

in_addr to_in_addr(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  return a;
}

in6_addr ipv6(const char* text) {
  in6_addr a{};
  inet_pton(AF_INET6, text, &a);
  return a;
}

}  // namespace

SlirpBackend::SlirpBackend(const UserNetOptions& options) : NetBackend(options.id), options_(options) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw Error(std::string("-netdev user: eventfd: ") + strerror(errno));

  static const SlirpCb callbacks = {
      .send_packet = cb_send_packet,
      .guest_error = cb_guest_error,
      .clock_get_ns = cb_clock_get_ns,
      .timer_new = nullptr,  // timer_new_opaque (SlirpConfig version 4) replaces it
      .timer_free = cb_timer_free,
      .timer_mod = cb_timer_mod,
      .register_poll_fd = cb_register_poll_fd,
      .unregister_poll_fd = cb_unregister_poll_fd,
      .notify = cb_notify,
      .init_completed = nullptr,
      .timer_new_opaque = cb_timer_new_opaque,
  };
  SlirpConfig config{};
  config.version = 4;
  config.restricted = options_.restricted ? 1 : 0;
  config.in_enabled = options_.ipv4;
  config.vnetwork = to_in_addr(options_.network);
  config.vnetmask = to_in_addr(options_.netmask);
  config.vhost = to_in_addr(options_.host);
  // QEMU's IPv6 defaults: fec0::/64, the host at ::2 and DNS at ::3.
  config.in6_enabled = options_.ipv6;
  config.vprefix_addr6 = ipv6("fec0::");
  config.vprefix_len = 64;
  config.vhost6 = ipv6("fec0::2");
  config.vnameserver6 = ipv6("fec0::3");
  config.vhostname = options_.hostname.empty() ? nullptr : options_.hostname.c_str();
  config.vdhcp_start = to_in_addr(options_.dhcp_start);
  config.vnameserver = to_in_addr(options_.dns);
  config.vdomainname = options_.domainname.empty() ? nullptr : options_.domainname.c_str();
  config.enable_emu = false;  // libslirp: "not safe"
  slirp_ = slirp_new(&config, &callbacks, this);
  if (slirp_ == nullptr) {
    close(wake_fd_);
    throw Error("-netdev user: libslirp could not be initialised");
  }
  for (const HostForward& fwd : options_.forwards) {
    if (slirp_add_hostfwd(slirp_, fwd.udp ? 1 : 0, to_in_addr(fwd.host_addr), fwd.host_port,
                          to_in_addr(fwd.guest_addr), fwd.guest_port) < 0) {
      // The host port is in use, or the host address is not ours.
      slirp_cleanup(slirp_);
      close(wake_fd_);
      throw Error("Could not set up host forwarding rule '" + fwd.rule + "'");
    }
  }
  thread_ = std::thread([this] { loop(); });
}

SlirpBackend::~SlirpBackend() {
  stop();
  slirp_cleanup(slirp_);  // frees its timers through cb_timer_free
  close(wake_fd_);
}

void SlirpBackend::stop() {
  if (stopping_.exchange(true)) return;
  wake();
  if (thread_.joinable()) thread_.join();
}

std::string SlirpBackend::info() const {
  return "net=" + ipv4_text(options_.network) + ",restrict=" + (options_.restricted ? "on" : "off");
}

void SlirpBackend::send(std::span<const uint8_t> frame) {
  if (stopping_.load()) return;
  {
    std::lock_guard lock(tx_mutex_);
    if (tx_queue_.size() >= kMaxTxQueued) {
      ++tx_dropped_;
      return;
    }
    tx_queue_.emplace_back(frame.begin(), frame.end());
  }
  wake();
}

void SlirpBackend::wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop wakes anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

SlirpBackend::Timer* SlirpBackend::new_timer(int id, void* cb_opaque) {
  timers_.push_back(std::make_unique<Timer>(Timer{static_cast<SlirpTimerId>(id), cb_opaque}));
  return timers_.back().get();
}

void SlirpBackend::free_timer(Timer* timer) {
  std::erase_if(timers_, [timer](const std::unique_ptr<Timer>& t) { return t.get() == timer; });
}

void SlirpBackend::mod_timer(Timer* timer, int64_t expire_ms) { timer->expire_ms = expire_ms; }

int SlirpBackend::add_poll(int fd, int events) {
  short wanted = 0;
  if (events & SLIRP_POLL_IN) wanted |= POLLIN;
  if (events & SLIRP_POLL_OUT) wanted |= POLLOUT;
  if (events & SLIRP_POLL_PRI) wanted |= POLLPRI;
  poll_fds_.push_back(pollfd{fd, wanted, 0});
  return static_cast<int>(poll_fds_.size() - 1);
}

int SlirpBackend::revents(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= poll_fds_.size()) return 0;
  const short r = poll_fds_[static_cast<size_t>(index)].revents;
  int events = 0;
  if (r & POLLIN) events |= SLIRP_POLL_IN;
  if (r & POLLOUT) events |= SLIRP_POLL_OUT;
  if (r & POLLPRI) events |= SLIRP_POLL_PRI;
  if (r & POLLERR) events |= SLIRP_POLL_ERR;
  if (r & POLLHUP) events |= SLIRP_POLL_HUP;
  return events;
}

int SlirpBackend::next_timer_ms() const {
  int64_t earliest = -1;
  for (const auto& t : timers_) {
    if (t->expire_ms >= 0 && (earliest < 0 || t->expire_ms < earliest)) earliest = t->expire_ms;
  }
  if (earliest < 0) return -1;
  const int64_t wait = earliest - monotonic_ns() / 1'000'000;
  return static_cast<int>(std::clamp<int64_t>(wait, 0, INT_MAX));
}

void SlirpBackend::run_timers() {
  const int64_t now_ms = monotonic_ns() / 1'000'000;
  // A timer callback may re-arm or free timers: collect first.
  std::vector<std::pair<SlirpTimerId, void*>> due;
  for (const auto& t : timers_) {
    if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
      t->expire_ms = -1;
      due.emplace_back(t->id, t->cb_opaque);
    }
  }
  for (const auto& [id, opaque] : due) slirp_handle_timer(slirp_, id, opaque);
}

void SlirpBackend::loop() {
  std::vector<std::vector<uint8_t>> frames;
  while (!stopping_.load()) {
    {
      std::lock_guard lock(tx_mutex_);
      frames.assign(std::make_move_iterator(tx_queue_.begin()), std::make_move_iterator(tx_queue_.end()));
      tx_queue_.clear();
    }
    for (const std::vector<uint8_t>& frame : frames) {
      slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
    }
    frames.clear();
    run_timers();

    poll_fds_.clear();
    poll_fds_.push_back(pollfd{wake_fd_, POLLIN, 0});
    uint32_t timeout_ms = UINT32_MAX;
    slirp_pollfds_fill(slirp_, &timeout_ms, cb_add_poll, this);
    int wait_ms = timeout_ms > INT_MAX ? -1 : static_cast<int>(timeout_ms);
    const int timer_ms = next_timer_ms();
    if (timer_ms >= 0 && (wait_ms < 0 || timer_ms < wait_ms)) wait_ms = timer_ms;
    const int ready = poll(poll_fds_.data(), poll_fds_.size(), wait_ms);
    if (ready < 0 && errno != EINTR) {
      log_error("netdev " + id() + ": poll: " + strerror(errno));
    }
    if (poll_fds_[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof count);
    }
    slirp_pollfds_poll(slirp_, ready < 0 ? 1 : 0, cb_get_revents, this);
  }
}

}  // namespace vireo
