// daemon/transport.h — how a connection's bytes cross the socket when it is not plain TCP.
//
// Owns: the interface a connection reads and writes through when a session layer (TLS) sits on
// the socket. A plain connection has no Transport and uses read(2)/sendmsg(2) directly, so the
// common path pays nothing. Must not: know requests or replies; it moves bytes only.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

namespace kioku::daemon {

class Transport {
 public:
  virtual ~Transport() = default;
  // read(2)'s contract: bytes read, 0 once the peer closed, -1 with errno set (EAGAIN when the
  // transport must wait for the socket).
  virtual ssize_t read(char* buffer, std::size_t length) = 0;
  // sendmsg(2)'s contract over `count` iovecs: bytes taken (possibly fewer than offered), or -1
  // with errno set (EAGAIN when the socket is full).
  virtual ssize_t writev(const iovec* iov, std::size_t count) = 0;
  // True when input was already taken off the socket and buffered here: the socket will not
  // report it readable, so the connection must come back for it by itself.
  virtual bool has_buffered_input() const = 0;
  // Carries the session over to another descriptor of the same socket (the watch hub streams
  // through a duplicate after the connection closes its own). False if that failed.
  virtual bool rebind(int fd) = 0;
};

}  // namespace kioku::daemon
