// vireo: the system emulator's entry point. Parses QEMU's command line,
// builds the machine and runs it; every failure becomes one line on stderr
// and exit status 1.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>
#include <type_traits>

#include "accel/cpu_model.h"
#include "machine/none.h"
#include "machine/pc.h"
#include "system/cmdline.h"
#include "system/cmdline_libvirt.h"
#include "system/daemon.h"
#include "ui/chardev.h"
#include "ui/monitor/monitor_server.h"
#include "ui/monitor/none_target.h"
#include "ui/monitor/pc_target.h"
#include "util/error.h"
#include "util/log.h"

namespace {

// SIGINT, SIGTERM and SIGHUP end the emulator in an orderly way (the
// terminal restored, status 0 as QEMU's "terminating on signal").
// They are blocked in every thread and taken by one sigwait thread.
sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void print_list(const std::string& title,
                const std::vector<std::pair<std::string, std::string>>& items) {
  std::printf("%s\n", title.c_str());
  for (const auto& [name, description] : items) {
    std::printf("%-20s %s\n", name.c_str(), description.c_str());
  }
}

// Builds the machine and its monitors, tells a waiting -daemonize parent
// that start-up is done, and runs the machine until it ends. Throws Error.
template <typename Machine, typename Target>
int run_machine(const vireo::VmConfig& config, const sigset_t& signals, vireo::Daemon& daemon) {
  using namespace vireo;
  Machine machine(config);
  std::thread([&machine, signals] {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) == 0) {
      log_error("terminating on signal " + std::to_string(signal_number));
      machine.control().request_exit(0, "host-signal");
    }
  }).detach();
  // The monitors: built once the machine exists, serving until it ends,
  // then given a moment to deliver the last replies and SHUTDOWN.
  Target target(machine);
  MonitorCore core(target);
  MonitorServer server(core, machine.control());
  target.set_server(&server);
  for (const MonitorSpec& monitor : config.monitors) {
    for (const ChardevSpec& chardev : config.chardevs) {
      if (chardev.id == monitor.chardev_id) server.add_monitor(chardev, monitor);
    }
  }
  if constexpr (std::is_same_v<Machine, PcMachine>) {
    if (CharBackend* shared = machine.multiplexed_stdio()) server.add_multiplexed_monitor(*shared);
  } else if (config.nographic && !config.no_defaults && config.monitors.empty()) {
    // QEMU: a machine without serial ports gets -nographic's default
    // monitor on stdio by itself.
    ChardevSpec stdio;
    stdio.id = "compat_monitor0";
    stdio.backend = "stdio";
    stdio.filename = "stdio";
    server.add_monitor(stdio, MonitorSpec{stdio.id, false, false});
  }
  // The monitor sockets listen and the pid file is written before a
  // -daemonize parent exits: whoever started us may connect at once.
  daemon.ready(config.pidfile);
  server.start();
  int status = machine.run();
  machine.control().finish();
  server.stop(std::chrono::seconds(1));
  return status;
}

// Waits (at most 1 s) until whoever reads our stderr pipe (libvirt's
// virtlogd) has taken what we wrote to it.
void wait_for_stderr_drained() {
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  for (int i = 0; i < 100; ++i) {
    int unread = 0;
    if (ioctl(STDERR_FILENO, FIONREAD, &unread) != 0 || unread == 0) break;
    usleep(10'000);
  }
  usleep(50'000);  // and has written it to the log file
}

// libvirt hands vireo its monitor as an inherited listening socket and,
// when a start fails, quotes the emulator's message from the domain log
// once the monitor closes on it. A vireo that exits before libvirt
// connects leaves it "Connection refused" instead, and one that closes the
// monitor before the log has the message leaves the quote empty. So after
// an error at start-up such a socket stays open until a client connects
// (at most 3 s), and closes once the error line has left the stderr pipe.
void wait_for_monitor_client(const std::vector<std::string>& args) {
  std::vector<pollfd> fds;
  for (int fd : vireo::inherited_listeners_in(args)) fds.push_back({fd, POLLIN, 0});
  if (fds.empty() || poll(fds.data(), fds.size(), 3000) <= 0) return;
  wait_for_stderr_drained();
  for (const pollfd& p : fds) {
    if (!(p.revents & POLLIN)) continue;
    int client = accept(p.fd, nullptr, nullptr);
    if (client >= 0) close(client);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vireo;
  std::string program = argv[0];
  set_program_name(program.substr(program.rfind('/') + 1));

  std::vector<std::string> args(argv + 1, argv + argc);
  CommandLine command_line;
  try {
    command_line = parse_command_line(args);
  } catch (const Error& e) {
    log_error(e.what());
    wait_for_monitor_client(args);
    return 1;
  }

  for (const std::string& warning : command_line.warnings) log_warning(warning);

  switch (command_line.action) {
    case CommandLine::Action::PrintHelp:
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    case CommandLine::Action::PrintVersion:
      std::fputs(version_text().c_str(), stdout);
      return 0;
    case CommandLine::Action::ListMachines:
      print_list("Supported machines are:", machine_types());
      return 0;
    case CommandLine::Action::ListCpus: {
      std::vector<std::pair<std::string, std::string>> items;
      for (const CpuModel& m : cpu_models()) items.push_back({m.name, m.description});
      print_list("Available CPUs:", items);
      return 0;
    }
    case CommandLine::Action::ListDevices:
      print_list("Devices:", device_types());
      return 0;
    case CommandLine::Action::ListAccelerators:
      // QEMU's wording and order.
      std::printf("Accelerators supported in vireo binary:\ntcg\nkvm\n");
      return 0;
    case CommandLine::Action::ListDisplays:
      std::printf("Available display backend types:\nnone\n");
      return 0;
    case CommandLine::Action::Run:
      break;
  }

  sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  int status = 1;
  Daemon daemon;
  try {
    const VmConfig& config = command_line.config;
    daemon.start(config.daemonize);
    if (config.machine_type == "none") {
      status = run_machine<NoneMachine, NoneMonitorTarget>(config, signals, daemon);
    } else {
      status = run_machine<PcMachine, PcMonitorTarget>(config, signals, daemon);
    }
  } catch (const Error& e) {
    restore_terminal();
    log_error(e.what());
    wait_for_monitor_client(args);
    return 1;
  }
  restore_terminal();
  daemon.finish();
  // The sigwait thread may still be blocked; leave without unwinding it.
  std::fflush(stdout);
  _exit(status);
}
