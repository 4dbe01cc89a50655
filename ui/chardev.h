// Character devices: where a serial port's bytes go and come from.
//
// A backend (stdio, file, null) is attached to one frontend (a UART). Input
// is pushed to the frontend from the backend's own thread, respecting the
// frontend's free space so no byte is dropped; output is written
// synchronously from the caller's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace vireo {

class CharFrontend {
 public:
  virtual ~CharFrontend() = default;
  // How many bytes receive() can take now.
  virtual size_t can_receive() = 0;
  virtual void receive(std::span<const uint8_t> bytes) = 0;
  // A multiplexed backend (mon:stdio) switched its input to this frontend.
  virtual void focus_in() {}
};

class CharBackend {
 public:
  virtual ~CharBackend() = default;
  virtual void write(std::span<const uint8_t> bytes) = 0;
  // Starts delivering input to `frontend` (which outlives the backend's
  // input thread: detach() or destruction stops it).
  virtual void attach(CharFrontend* frontend) { (void)frontend; }
  virtual void detach() {}
  // The frontend calls this when it has room again after can_receive() == 0.
  virtual void frontend_ready() {}
  // mon:stdio: a monitor shares the backend with the serial port attached
  // first; Ctrl-A c moves the input between them. False if this backend
  // cannot be shared.
  virtual bool attach_monitor(CharFrontend* monitor) {
    (void)monitor;
    return false;
  }
};

struct CharBackendOptions {
  // -nographic: Ctrl-A is an escape prefix (Ctrl-A x quits, Ctrl-A h helps)
  // and Ctrl-C goes to the guest. Plain "-serial stdio" leaves both alone.
  bool escape_keys = false;
  // mon:stdio: a monitor may share the backend (attach_monitor); Ctrl-A c
  // switches. Implies escape_keys.
  bool multiplexed = false;
  // Called from the input thread when the user asks to quit (Ctrl-A x).
  std::function<void()> on_quit;
};

// "stdio", "file:PATH", "null" ("mon:stdio" is "stdio" with
// options.multiplexed). Throws Error naming the culprit (an
// unwritable file, a second stdio user).
std::unique_ptr<CharBackend> create_char_backend(const std::string& spec,
                                                 const CharBackendOptions& options);

// -chardev pty: a new pseudo-terminal whose slave (`*slave_path`, e.g.
// /dev/pts/3) a user or libvirt opens to talk to the frontend. While no one
// has the slave open, output is discarded, as QEMU does. Throws Error.
std::unique_ptr<CharBackend> create_pty_backend(std::string* slave_path);

// Puts the terminal back as it was before stdio went raw. Safe to call more
// than once and from a signal handler.
void restore_terminal();

}  // namespace vireo
