// The input side shared by backends that read a file descriptor (stdio,
// pty): one thread polls the descriptor and a wake-up pipe, keeps what it
// read in a pending buffer, and hands the frontend only as much as it has
// room for, so no byte is dropped. The backend says how to read and what
// a hang-up means.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "ui/chardev.h"

namespace vireo {

class InputThreadBackend : public CharBackend {
 public:
  void attach(CharFrontend* frontend) override;
  void detach() override;
  void frontend_ready() override { wake(); }

 protected:
  // Throws Error if the wake-up pipe cannot be made. A subclass calls
  // detach() in its own destructor, before its members go.
  InputThreadBackend();
  ~InputThreadBackend() override;

  // The descriptor to read, polled for POLLIN.
  virtual int input_fd() const = 0;
  // Called when input_fd() is readable: appends what is for the frontend
  // to `pending`. False when the input has ended for good (EOF).
  virtual bool read_input(std::string& pending) = 0;
  // Called when input_fd() hangs up with nothing to read. False when the
  // input has ended for good; true to poll again (a pty whose slave may be
  // opened later), after waiting a little.
  virtual bool input_hung_up() { return false; }
  // How long the thread sleeps with nothing pending (ms; -1: until woken or
  // input arrives).
  virtual int idle_poll_ms() const { return -1; }
  // Waits up to `ms` for a wake-up (detach, frontend_ready) only.
  void wait_for_wake(int ms);

 private:
  void wake();
  void input_loop();

  CharFrontend* frontend_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};
};

}  // namespace vireo
