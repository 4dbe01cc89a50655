#include "system/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/error.h"

namespace vireo {

void Daemon::start(bool daemonize) {
  if (!daemonize) return;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(with_errno("-daemonize: pipe", errno));
  pid_t child = fork();
  if (child < 0) throw Error(with_errno("-daemonize: fork", errno));
  if (child > 0) {
    // The parent: exit 0 once the child says it started, 1 if it dies first.
    ::close(pipe_fds[1]);
    char status = 1;
    ssize_t n;
    do {
      n = ::read(pipe_fds[0], &status, 1);
    } while (n < 0 && errno == EINTR);
    _exit(n == 1 && status == 0 ? 0 : 1);
  }
  ::close(pipe_fds[0]);
  report_fd_ = pipe_fds[1];
  setsid();
}

void Daemon::ready(const std::string& pidfile) {
  if (!pidfile.empty()) {
    int fd = ::open(pidfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(with_errno("cannot create PID file '" + pidfile + "'", errno));
    std::string text = std::to_string(getpid()) + "\n";
    bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) throw Error("cannot write PID file '" + pidfile + "'");
    pidfile_ = pidfile;
    // finish() removes it after the daemon changed to "/".
    if (pidfile_[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof cwd) != nullptr) pidfile_ = std::string(cwd) + "/" + pidfile_;
    }
  }
  if (report_fd_ < 0) return;
  // As QEMU's daemon: no working directory kept busy, no terminal, and no
  // inherited output pipe held open (a parent such as libvirt waits for
  // its end).
  [[maybe_unused]] int chdir_status = ::chdir("/");
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) ::close(null_fd);
  }
  char ok = 0;
  [[maybe_unused]] ssize_t n = ::write(report_fd_, &ok, 1);
  ::close(report_fd_);
  report_fd_ = -1;
}

void Daemon::finish() {
  if (!pidfile_.empty()) ::unlink(pidfile_.c_str());
}

}  // namespace vireo
