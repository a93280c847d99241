// client/bench_transport.h — one kioku-bench connection's byte pipe: plain TCP, or TLS over it.
//
// Owns: the socket fd (RAII), the client TLS context built from the --tls options (OpenSSL 3:
// CA file or the system's trust store, optional client certificate, verification of the
// server's certificate and name unless --tls-insecure), one SSL per connection, and the mapping
// of recv/send and SSL_connect/SSL_read/SSL_write results onto one vocabulary (bytes moved, wait
// for readable, wait for writable, closed, failed). Must not: block, touch epoll, or allocate
// per read or write; the runner (bench_runner.cc) owns the event loop and the buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "client/bench_options.h"

struct ssl_st;
struct ssl_ctx_st;

namespace kioku::client {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct SslFree {
  void operator()(ssl_st* ssl) const;
};
struct SslCtxFree {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslPtr = std::unique_ptr<ssl_st, SslFree>;

enum class IoStatus : uint8_t {
  kDone,       // read/write: `bytes` moved; handshake: finished
  kWantRead,   // nothing more now: wait until the socket is readable
  kWantWrite,  // nothing more now: wait until the socket is writable
  kClosed,     // the peer closed the connection
  kFailed,     // a socket or TLS error: the connection is unusable
};

struct IoResult {
  IoStatus status;
  std::size_t bytes = 0;
};

// The client TLS context every connection of a run shares (OpenSSL contexts are thread-safe
// once configured).
class TlsContext {
 public:
  // Loads the CA / client certificate files named in `options`; nullptr and a one-line `error`
  // when one cannot be used.
  static std::unique_ptr<TlsContext> create(const BenchOptions& options, std::string* error);
  // A client SSL on `fd`, with SNI and the name check set up for the server's host.
  SslPtr new_ssl(int fd) const;

 private:
  std::unique_ptr<ssl_ctx_st, SslCtxFree> ctx_;
  std::string host_;
  bool verify_ = true;
};

// A connection's transport: an fd and, with TLS, its SSL. Empty when closed.
class Transport {
 public:
  Transport() = default;
  Transport(UniqueFd fd, SslPtr ssl);

  int fd() const { return fd_.get(); }
  explicit operator bool() const { return static_cast<bool>(fd_); }
  bool tls() const { return ssl_ != nullptr; }
  // TLS: until the handshake finishes, read and write must not be called.
  bool established() const { return established_; }

  // Drives the TLS handshake one step (kDone once finished; plain connections are always done).
  IoResult handshake();
  IoResult read(char* buffer, std::size_t length);
  IoResult write(const char* buffer, std::size_t length);
  void reset();

  // Why the last kFailed happened (OpenSSL's reason or errno's text); for error messages only.
  std::string last_error() const;

 private:
  IoResult tls_result(int result);

  UniqueFd fd_;
  SslPtr ssl_;
  bool established_ = false;
  unsigned long ssl_error_ = 0;
  int errno_ = 0;
  long verify_result_ = 0;  // X509_V_OK
};

}  // namespace kioku::client
