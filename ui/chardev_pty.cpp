// -chardev pty: the frontend's bytes go to a pseudo-terminal master; its
// slave is the serial console libvirt (virsh console) or a user opens.
//
// Whether someone holds the slave open is seen on the master: poll reports
// POLLHUP while no one does. Output is then dropped (a pty's buffer would
// otherwise fill and stall the guest's UART), and the input thread checks
// again every 100 ms, as QEMU's pty chardev polls for a reader once a
// second.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "ui/chardev.h"
#include "ui/chardev_input.h"
#include "util/error.h"

namespace vireo {

namespace {

class PtyBackend final : public InputThreadBackend {
 public:
  explicit PtyBackend(std::string* slave_path) {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0) throw Error(with_errno("Failed to create PTY", errno));
    if (grantpt(master_) != 0 || unlockpt(master_) != 0) {
      int e = errno;
      ::close(master_);
      throw Error(with_errno("Failed to create PTY", e));
    }
    char name[128];
    if (ptsname_r(master_, name, sizeof name) != 0) {
      int e = errno;
      ::close(master_);
      throw Error(with_errno("Failed to create PTY", e));
    }
    path_ = name;
    // Raw mode on the line, so the guest's bytes pass unchanged: the
    // setting stays with the pty after the slave is closed again.
    int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0) {
      termios t{};
      if (tcgetattr(slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave, TCSANOW, &t);
      }
      ::close(slave);
    }
    fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
    *slave_path = path_;
  }

  ~PtyBackend() override {
    detach();
    ::close(master_);
  }

  void write(std::span<const uint8_t> bytes) override {
    const uint8_t* data = bytes.data();
    size_t size = bytes.size();
    while (size > 0 && connected()) {
      ssize_t n = ::write(master_, data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          // The reader is slow: wait a little, then drop what does not fit
          // rather than stall the vCPU that writes the UART.
          pollfd p = {master_, POLLOUT, 0};
          if (poll(&p, 1, 50) <= 0 || (p.revents & POLLHUP)) return;
          continue;
        }
        return;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
  }

 private:
  bool connected() const {
    pollfd p = {master_, 0, 0};
    return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
  }

  int input_fd() const override { return master_; }

  bool read_input(std::string& pending) override {
    uint8_t buf[256];
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) pending.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
    return true;
  }

  // No one has the slave open: look again later (it may be opened and
  // closed any number of times).
  bool input_hung_up() override {
    wait_for_wake(100);
    return true;
  }
  int idle_poll_ms() const override { return 100; }

  int master_ = -1;
  std::string path_;
};

}  // namespace

std::unique_ptr<CharBackend> create_pty_backend(std::string* slave_path) {
  return std::make_unique<PtyBackend>(slave_path);
}

}  // namespace vireo
