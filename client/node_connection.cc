// client/node_connection.cc — see node_connection.h.
#include "client/node_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace kioku::client {

namespace {

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

NodeConnection::NodeConnection(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

NodeConnection::~NodeConnection() { close(); }

void NodeConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  input_.clear();
}

bool NodeConnection::fail(std::string message) {
  last_error_ = host_ + ":" + std::to_string(port_) + ": " + std::move(message);
  close();
  return false;
}

bool NodeConnection::connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(port_);
  if (int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return fail(std::string("cannot resolve: ") + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  std::string error = "no address";
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout_.count()));
      if (rc == 1) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        rc = so_error == 0 ? 0 : -1;
        errno = so_error;
      } else {
        if (rc == 0) errno = ETIMEDOUT;
        rc = -1;
      }
    }
    if (rc != 0) {
      error = std::string("connect: ") + std::strerror(errno);
      ::close(fd);
      continue;
    }
    // Blocking from here on, with the timeout on every send and receive.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const timeval tv = to_timeval(timeout_);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    input_.clear();
    return true;
  }
  return fail(error);
}

bool NodeConnection::send(std::string_view bytes) {
  if (fd_ < 0 && !connect()) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno == EAGAIN || errno == EWOULDBLOCK
                      ? "send timed out"
                      : std::string("send: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool NodeConnection::receive(const std::function<ReadResult(std::string_view)>& parse) {
  if (fd_ < 0) return fail("not connected");
  for (;;) {
    if (!input_.empty()) {
      ReadResult r = parse(input_);
      if (r.status == ReadStatus::kDone) {
        input_.erase(0, r.consumed);
        return true;
      }
      if (r.status == ReadStatus::kMalformed) return fail("malformed reply");
    }
    char buffer[16384];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) return fail("connection closed by server");
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno == EAGAIN || errno == EWOULDBLOCK
                      ? "receive timed out"
                      : std::string("recv: ") + std::strerror(errno));
    }
    input_.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace kioku::client
