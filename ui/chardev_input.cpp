#include "ui/chardev_input.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"

namespace vireo {

namespace {
// Input beyond this waits in the descriptor until the frontend takes some.
constexpr size_t kMaxPending = 4096;
}  // namespace

InputThreadBackend::InputThreadBackend() {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(with_errno("pipe", errno));
}

InputThreadBackend::~InputThreadBackend() {
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void InputThreadBackend::attach(CharFrontend* frontend) {
  detach();
  frontend_ = frontend;
  stopping_ = false;
  thread_ = std::thread([this] { input_loop(); });
}

void InputThreadBackend::detach() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  wake();
  thread_.join();
}

void InputThreadBackend::wake() {
  uint8_t b = 0;
  [[maybe_unused]] ssize_t n = ::write(wake_pipe_[1], &b, 1);
}

void InputThreadBackend::wait_for_wake(int ms) {
  pollfd wake_only = {wake_pipe_[0], POLLIN, 0};
  poll(&wake_only, 1, ms);
}

void InputThreadBackend::input_loop() {
  std::string pending;
  bool input_open = true;
  while (!stopping_) {
    // Deliver what the frontend has room for before reading more.
    if (!pending.empty()) {
      size_t n = std::min(frontend_->can_receive(), pending.size());
      if (n > 0) {
        frontend_->receive({reinterpret_cast<const uint8_t*>(pending.data()), n});
        pending.erase(0, n);
      }
    }
    bool want_input = input_open && pending.size() < kMaxPending;
    pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0}, {input_fd(), POLLIN, 0}};
    // With bytes pending, poll with a timeout in case frontend_ready() was missed.
    int r = poll(fds, want_input ? 2 : 1, pending.empty() ? idle_poll_ms() : 10);
    if (r < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      uint8_t drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
    if (!want_input) continue;
    if (fds[1].revents & POLLIN) {
      input_open = read_input(pending);
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      input_open = input_hung_up();
    }
  }
}

}  // namespace vireo
