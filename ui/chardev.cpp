#include "ui/chardev.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "ui/chardev_input.h"
#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

// Saved terminal settings, restored by restore_terminal() on every exit path
// (normal return, error, signal). Plain globals because signal handlers and
// atexit need them; only the stdio backend writes them, once.
struct termios g_saved_termios;
std::atomic<bool> g_termios_saved{false};
std::atomic<bool> g_stdio_in_use{false};

void write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      return;  // the reader went away: output is lost, the guest runs on
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

class NullBackend final : public CharBackend {
 public:
  void write(std::span<const uint8_t>) override {}
};

class FileBackend final : public CharBackend {
 public:
  explicit FileBackend(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) throw Error(with_errno("could not open '" + path + "'", errno));
  }
  ~FileBackend() override { ::close(fd_); }
  void write(std::span<const uint8_t> bytes) override { write_all(fd_, bytes.data(), bytes.size()); }

 private:
  int fd_;
};

// stdin/stdout. Input goes through the -nographic escape filter; with
// mon:stdio, what follows Ctrl-A c goes to the monitor.
class StdioBackend final : public InputThreadBackend {
 public:
  explicit StdioBackend(CharBackendOptions options) : options_(std::move(options)) {
    if (g_stdio_in_use.exchange(true)) throw Error("cannot use stdio by multiple character devices");
    make_terminal_raw();
  }

  ~StdioBackend() override {
    detach();
    restore_terminal();
    g_stdio_in_use = false;
  }

  void write(std::span<const uint8_t> bytes) override {
    write_all(STDOUT_FILENO, bytes.data(), bytes.size());
  }

  // attach_monitor(nullptr) detaches, waiting for a delivery in progress.
  bool attach_monitor(CharFrontend* monitor) override {
    if (!options_.multiplexed) return false;
    std::lock_guard lock(monitor_mutex_);
    monitor_ = monitor;
    return true;
  }

 private:
  int input_fd() const override { return STDIN_FILENO; }

  bool read_input(std::string& pending) override {
    uint8_t buf[256];
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);  // EOF: the guest gets no more input
    std::string to_monitor;
    filter_escapes(buf, static_cast<size_t>(n), pending, to_monitor);
    if (!to_monitor.empty()) {
      // The monitor takes what it is given at once (it has no FIFO).
      // The lock is held so attach_monitor(nullptr) waits for it.
      std::lock_guard lock(monitor_mutex_);
      if (monitor_ != nullptr) {
        monitor_->receive({reinterpret_cast<const uint8_t*>(to_monitor.data()), to_monitor.size()});
      }
    }
    return true;
  }

  void make_terminal_raw() {
    if (!isatty(STDIN_FILENO)) return;
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) != 0) return;
    if (!g_termios_saved.exchange(true)) {
      g_saved_termios = t;
      std::atexit(restore_terminal);
    }
    // Raw input like QEMU's stdio chardev, but keep output post-processing
    // (OPOST) so our own "\n" messages still return the carriage.
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    // With -nographic Ctrl-C belongs to the guest; with -serial stdio it
    // still stops vireo, as in QEMU (signal=on).
    if (options_.escape_keys) t.c_lflag &= ~ISIG;
    t.c_cflag &= ~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }

  // Interprets the -nographic escape prefix; appends the bytes for the
  // guest to `out` and, with mon:stdio while the monitor has the input, to
  // `to_monitor`.
  void filter_escapes(const uint8_t* data, size_t size, std::string& serial_out, std::string& to_monitor) {
    for (size_t i = 0; i < size; ++i) {
      std::string& out = monitor_focus_ ? to_monitor : serial_out;
      uint8_t c = data[i];
      if (!options_.escape_keys) {
        out += static_cast<char>(c);
        continue;
      }
      if (!escape_pending_) {
        if (c == kCtrlA) {
          escape_pending_ = true;
        } else {
          out += static_cast<char>(c);
        }
        continue;
      }
      escape_pending_ = false;
      switch (c) {
        case 'x':
          log_error("terminating on signal from the console (Ctrl-A x)");
          if (options_.on_quit) options_.on_quit();
          break;
        case 'c': {
          // mon:stdio: switch between the serial port and the monitor.
          std::lock_guard lock(monitor_mutex_);
          if (monitor_ == nullptr) break;
          monitor_focus_ = !monitor_focus_;
          if (monitor_focus_) monitor_->focus_in();
          break;
        }
        case 'h':
        case '?': {
          static const char kHelp[] =
              "\r\nC-a h    print this help\r\n"
              "C-a x    exit emulator\r\n"
              "C-a c    switch between console and monitor\r\n"
              "C-a C-a  sends C-a\r\n";
          write_all(STDOUT_FILENO, reinterpret_cast<const uint8_t*>(kHelp), sizeof kHelp - 1);
          break;
        }
        case kCtrlA:
          out += static_cast<char>(kCtrlA);
          break;
        default:
          break;  // unknown escapes are swallowed, as in QEMU
      }
    }
  }

  static constexpr uint8_t kCtrlA = 0x01;
  CharBackendOptions options_;
  bool escape_pending_ = false;  // input thread only
  bool monitor_focus_ = false;   // input thread only
  std::mutex monitor_mutex_;     // guards monitor_ and is held while it is called
  CharFrontend* monitor_ = nullptr;
};

}  // namespace

void restore_terminal() {
  if (g_termios_saved.load()) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
}

std::unique_ptr<CharBackend> create_char_backend(const std::string& spec,
                                                 const CharBackendOptions& options) {
  if (spec == "null") return std::make_unique<NullBackend>();
  if (spec == "stdio") return std::make_unique<StdioBackend>(options);
  if (spec == "mon:stdio") {
    CharBackendOptions muxed = options;
    muxed.escape_keys = true;
    muxed.multiplexed = true;
    return std::make_unique<StdioBackend>(muxed);
  }
  if (spec.rfind("file:", 0) == 0) return std::make_unique<FileBackend>(spec.substr(5));
  throw Error("'" + spec.substr(0, spec.find(':')) + "' is not a valid char driver");
}

}  // namespace vireo
