#include "ui/monitor/monitor_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

constexpr const char* kHmpBanner = "vireo monitor (QEMU 7.2 compatible) - type 'help' for more information\r\n";
constexpr const char* kHmpPrompt = "(vireo) ";

std::string to_crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

int listen_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw Error("UNIX socket path '" + path + "' is too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw Error(with_errno("Failed to create socket", errno));
  // As QEMU: a stale socket file from an earlier run is replaced.
  ::unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 8) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(with_errno("Failed to bind socket to " + path, e));
  }
  return fd;
}

int listen_tcp(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* results = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &results);
  if (rc != 0) throw Error("address resolution failed for " + host + ":" + std::to_string(port) + ": " + gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* a = results; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 8) == 0) {
      freeaddrinfo(results);
      return fd;
    }
    last_errno = errno;
    ::close(fd);
  }
  freeaddrinfo(results);
  throw Error(with_errno("Failed to bind socket to " + host + ":" + std::to_string(port), last_errno));
}

}  // namespace

struct MonitorServer::Listener {
  int fd = -1;
  bool control = false;
  bool pretty = false;
  std::string label;
  std::string filename;
  std::atomic<int> clients{0};
};

struct MonitorServer::Client : public CharFrontend {
  MonitorServer* server = nullptr;
  int fd = -1;                     // a socket client, or -1
  CharBackend* backend = nullptr;  // a chardev (stdio/file/null) client
  Listener* listener = nullptr;
  bool control = false;
  std::unique_ptr<QmpSession> qmp;
  LineEditor editor;
  CommandContext hmp_context;
  std::atomic<bool> events{false};
  std::mutex input_mutex;  // one input at a time per client
  std::mutex out_mutex;
  std::string out;         // socket clients: bytes not yet written
  bool dead = false;       // guarded by out_mutex

  bool banner_shown = false;  // mon:stdio shows it on the first Ctrl-A c

  size_t can_receive() override { return 4096; }
  void focus_in() override { server->focus_in(*this); }
  void receive(std::span<const uint8_t> bytes) override {
    server->handle_input(*this, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  }
};

MonitorServer::MonitorServer(MonitorCore& core, RunControl& control) : core_(core), control_(control) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(with_errno("pipe", errno));
  subscription_ = control_.subscribe([this](const MachineEvent& event) { on_event(event); });
}

MonitorServer::~MonitorServer() {
  stop(std::chrono::milliseconds(0));
  control_.unsubscribe(subscription_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void MonitorServer::add_monitor(const ChardevSpec& chardev, const MonitorSpec& monitor) {
  if (chardev.backend == "socket") {
    auto listener = std::make_unique<Listener>();
    // fd=N: a socket the parent (libvirt) created and listens on.
    listener->fd = chardev.fd >= 0        ? chardev.fd
                   : chardev.host.empty() ? listen_unix(chardev.path)
                                          : listen_tcp(chardev.host, chardev.port);
    listener->control = monitor.control;
    listener->pretty = monitor.pretty;
    listener->label = chardev.id;
    listener->filename = chardev.filename;
    listeners_.push_back(std::move(listener));
    return;
  }
  std::string spec = chardev.backend == "file" ? "file:" + chardev.path : chardev.backend;
  backends_.push_back(create_char_backend(spec, {}));
  auto client = std::make_shared<Client>();
  client->server = this;
  client->backend = backends_.back().get();
  client->control = monitor.control;
  if (monitor.control) {
    client->qmp = std::make_unique<QmpSession>(core_.table(), monitor_version());
    client->qmp->pretty = monitor.pretty;
  }
  auto listener = std::make_unique<Listener>();
  listener->label = chardev.id;
  listener->filename = chardev.filename;
  listener->clients = 1;
  client->listener = listener.get();
  listeners_.push_back(std::move(listener));
  {
    std::lock_guard lock(clients_mutex_);
    clients_.push_back(client);
  }
  queue(*client, monitor.control ? client->qmp->greeting() : std::string(kHmpBanner) + kHmpPrompt);
  client->backend->attach(client.get());
}

void MonitorServer::add_multiplexed_monitor(CharBackend& backend) {
  auto client = std::make_shared<Client>();
  client->server = this;
  client->backend = &backend;
  auto listener = std::make_unique<Listener>();
  listener->label = "compat_monitor" + std::to_string(listeners_.size());
  listener->filename = "stdio";
  listener->clients = 1;
  client->listener = listener.get();
  if (!backend.attach_monitor(client.get())) throw Error("the serial port's stdio cannot be shared with a monitor");
  listeners_.push_back(std::move(listener));
  std::lock_guard lock(clients_mutex_);
  clients_.push_back(client);
}

void MonitorServer::focus_in(Client& client) {
  std::string text = "\r\n";
  if (!client.banner_shown) text += kHmpBanner;
  client.banner_shown = true;
  queue(client, text + kHmpPrompt);
}

void MonitorServer::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { poll_loop(); });
}

void MonitorServer::stop(std::chrono::milliseconds timeout) {
  if (thread_.joinable()) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // Let the poll thread write what is queued.
    for (;;) {
      bool pending = false;
      {
        std::lock_guard lock(clients_mutex_);
        for (auto& c : clients_) {
          std::lock_guard out(c->out_mutex);
          pending = pending || (c->fd >= 0 && !c->dead && !c->out.empty());
        }
      }
      if (!pending || std::chrono::steady_clock::now() >= deadline) break;
      wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stopping_ = true;
    wake();
    thread_.join();
  }
  for (auto& backend : backends_) backend->detach();
  std::vector<CharBackend*> shared;
  {
    std::lock_guard lock(clients_mutex_);
    for (auto& c : clients_) {
      if (c->backend != nullptr && c->listener->filename == "stdio" && c->listener->fd < 0) shared.push_back(c->backend);
    }
  }
  // mon:stdio's backend belongs to the machine and outlives this server.
  for (CharBackend* backend : shared) backend->attach_monitor(nullptr);
  std::lock_guard lock(clients_mutex_);
  for (auto& c : clients_) {
    if (c->fd >= 0) ::close(c->fd);
    c->fd = -1;
  }
  clients_.clear();
  for (auto& l : listeners_) {
    if (l->fd >= 0) ::close(l->fd);
    l->fd = -1;
  }
}

std::vector<MonitorChardevInfo> MonitorServer::chardevs() {
  std::vector<MonitorChardevInfo> list;
  for (auto& l : listeners_) list.push_back({l->label, l->filename, l->clients.load() > 0});
  return list;
}

void MonitorServer::wake() {
  uint8_t b = 0;
  [[maybe_unused]] ssize_t n = ::write(wake_pipe_[1], &b, 1);
}

void MonitorServer::queue(Client& client, const std::string& text) {
  if (text.empty()) return;
  std::lock_guard lock(client.out_mutex);
  if (client.dead) return;
  if (client.backend != nullptr) {
    client.backend->write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return;
  }
  if (client.out.size() + text.size() > kMaxQueuedOutputBytes) {
    // A client that stopped reading: drop it rather than hold its output.
    client.dead = true;
    client.out.clear();
  } else {
    client.out += text;
  }
  wake();
}

void MonitorServer::on_event(const MachineEvent& event) {
  std::string text = QmpSession::format_event(event);
  std::lock_guard lock(clients_mutex_);
  for (auto& c : clients_) {
    if (c->control && c->events.load()) queue(*c, text);
  }
}

void MonitorServer::handle_input(Client& client, std::string_view bytes) {
  std::lock_guard input(client.input_mutex);
  std::vector<std::function<void()>> after_reply;
  if (client.control) {
    std::string reply;
    {
      std::lock_guard run(core_.run_lock());
      reply = client.qmp->receive(bytes, after_reply);
    }
    client.events = client.qmp->wants_events();
    queue(client, reply);
  } else {
    for (char c : bytes) {
      std::optional<std::string> line;
      std::string echo = client.editor.feed(c, line);
      queue(client, echo);
      if (!line) continue;
      std::string output;
      {
        std::lock_guard run(core_.run_lock());
        output = core_.hmp().execute(*line, client.hmp_context);
      }
      if (client.hmp_context.after_reply) {
        after_reply.push_back(std::move(client.hmp_context.after_reply));
        client.hmp_context.after_reply = nullptr;
      }
      queue(client, to_crlf(output) + kHmpPrompt);
    }
  }
  for (auto& action : after_reply) action();
}

void MonitorServer::accept_client(Listener& listener) {
  int fd = accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  auto client = std::make_shared<Client>();
  client->server = this;
  client->fd = fd;
  client->listener = &listener;
  client->control = listener.control;
  if (listener.control) {
    client->qmp = std::make_unique<QmpSession>(core_.table(), monitor_version());
    client->qmp->pretty = listener.pretty;
  }
  ++listener.clients;
  {
    std::lock_guard lock(clients_mutex_);
    clients_.push_back(client);
  }
  queue(*client, listener.control ? client->qmp->greeting() : std::string(kHmpBanner) + kHmpPrompt);
}

void MonitorServer::poll_loop() {
  std::vector<pollfd> fds;
  std::vector<std::shared_ptr<Client>> polled;
  while (!stopping_) {
    fds.clear();
    polled.clear();
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    for (auto& l : listeners_) {
      if (l->fd >= 0) fds.push_back({l->fd, POLLIN, 0});
    }
    size_t first_client = fds.size();
    {
      std::lock_guard lock(clients_mutex_);
      // Forget clients that went away.
      std::erase_if(clients_, [](const std::shared_ptr<Client>& c) {
        std::lock_guard out(c->out_mutex);
        if (c->fd >= 0 && c->dead) {
          ::close(c->fd);
          c->fd = -1;
          --c->listener->clients;
          return true;
        }
        return false;
      });
      for (auto& c : clients_) {
        if (c->fd < 0) continue;
        std::lock_guard out(c->out_mutex);
        fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
        polled.push_back(c);
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log_error(with_errno("monitor: poll", errno));
      return;
    }
    if (fds[0].revents & POLLIN) {
      uint8_t drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
    size_t li = 1;
    for (auto& l : listeners_) {
      if (l->fd < 0) continue;
      if (fds[li].revents & POLLIN) accept_client(*l);
      ++li;
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      Client& c = *polled[i];
      short revents = fds[first_client + i].revents;
      if (revents & POLLOUT) {
        std::lock_guard out(c.out_mutex);
        ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
          c.out.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          c.dead = true;  // vanished mid-reply: the VM and the others go on
        }
      }
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buffer[4096];
        ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          handle_input(c, {buffer, static_cast<size_t>(n)});
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          std::lock_guard out(c.out_mutex);
          c.dead = true;
        }
      }
    }
  }
  // Last writes for clients whose output is still queued, without waiting.
  std::lock_guard lock(clients_mutex_);
  for (auto& c : clients_) {
    std::lock_guard out(c->out_mutex);
    if (c->fd >= 0 && !c->dead && !c->out.empty()) {
      [[maybe_unused]] ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
    }
  }
}

}  // namespace vireo
