// -daemonize and -pidfile, as QEMU: the process forks before the machine
// exists (KVM file descriptors belong to the process that made them), the
// parent waits until the child reports that start-up succeeded and exits
// 0 (or 1 if the child failed, after the child printed why), and the child
// then leaves the terminal: a new session, stdio on /dev/null.
#pragma once

#include <string>

namespace vireo {

class Daemon {
 public:
  // Forks if `daemonize`; only the child returns. Throws Error.
  void start(bool daemonize);
  // Writes the pid file (if any), then lets a waiting parent exit 0 and
  // detaches from the terminal. Throws Error naming the pid file.
  void ready(const std::string& pidfile);
  // Removes the pid file on the way out.
  void finish();

 private:
  int report_fd_ = -1;  // the child's end of the pipe to the parent
  std::string pidfile_;
};

}  // namespace vireo
