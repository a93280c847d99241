// daemon/metrics_server.cc — see metrics_server.h. A deliberately small HTTP/1.1 responder:
// Prometheus sends "GET /metrics", reads one response and closes; nothing else is needed.
#include "daemon/metrics_server.h"

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "daemon/metrics.h"
#include "daemon/server.h"

namespace kioku::daemon {
namespace {

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void respond(int fd, std::string_view status, std::string_view type, std::string_view body,
             bool head_only) {
  std::string header = "HTTP/1.1 ";
  header.append(status).append("\r\nContent-Type: ").append(type);
  header.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  header.append("\r\nConnection: close\r\n\r\n");
  send_all(fd, header);
  if (!head_only) send_all(fd, body);
}

}  // namespace

MetricsServer::~MetricsServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool MetricsServer::listen(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find("]:");
    if (close != std::string::npos) {
      host = address.substr(1, close - 1);
      port = address.substr(close + 2);
    }
  } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (port.empty()) {
    std::fprintf(stderr, "kiokud: --metrics-listen wants HOST:PORT, got \"%s\"\n", address.c_str());
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    std::fprintf(stderr, "kiokud: --metrics-listen %s: %s\n", address.c_str(), gai_strerror(rc));
    return false;
  }
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr && listen_fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      listen_fd_ = fd;
    } else {
      error = errno;
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    std::fprintf(stderr, "kiokud: failed to listen for metrics on %s: %s\n", address.c_str(),
                 std::strerror(error));
    return false;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  return stop_fd_ >= 0;
}

void MetricsServer::start() {
  if (listen_fd_ >= 0 && !thread_.joinable()) {
    thread_ = std::thread([this] { serve(); });
    pthread_setname_np(thread_.native_handle(), "kiokud-metrics");
  }
}

void MetricsServer::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
}

void MetricsServer::serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // A scraper that stalls must not hold the endpoint: bound every read and write.
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    answer(fd);
    ::close(fd);
  }
}

void MetricsServer::answer(int fd) {
  char buffer[4096];
  std::size_t used = 0;
  while (used < sizeof buffer) {
    ssize_t n = ::recv(fd, buffer + used, sizeof buffer - used, 0);
    if (n <= 0) return;
    used += static_cast<std::size_t>(n);
    if (std::string_view(buffer, used).find("\r\n\r\n") != std::string_view::npos) break;
  }
  std::string_view request(buffer, used);
  std::string_view line = request.substr(0, request.find("\r\n"));
  const bool head = line.starts_with("HEAD ");
  if (!line.starts_with("GET ") && !head) {
    respond(fd, "405 Method Not Allowed", "text/plain", "only GET /metrics\n", false);
    return;
  }
  std::string_view target = line.substr(line.find(' ') + 1);
  target = target.substr(0, target.find(' '));
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") {
    respond(fd, "404 Not Found", "text/plain", "kiokud serves metrics at /metrics\n", head);
    return;
  }
  if (!server_.serving()) {
    respond(fd, "503 Service Unavailable", "text/plain", "starting\n", head);
    return;
  }
  respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", render_metrics(server_), head);
}

}  // namespace kioku::daemon
