// daemon/tls.h — TLS for kiokud (-Z): the server's OpenSSL context and one session per client.
//
// Owns: memcached's ssl_* options (-o ssl_chain_cert=,ssl_key=,ssl_ca_cert=,ssl_verify_mode=,
// ssl_min_version=,ssl_ciphers=), the SSL_CTX built from them and its replacement on
// "refresh_certs", the TLS counters of "stats" and the ssl_* lines of "stats settings".
// TlsTransport moves one connection's bytes through its SSL session. Must not: parse requests;
// block (sockets are non-blocking, OpenSSL's WANT_READ/WANT_WRITE become EAGAIN).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "daemon/output_queue.h"
#include "daemon/settings.h"
#include "daemon/transport.h"

namespace kioku::daemon {

// The -o ssl_* values as given (memcached's names and meanings).
struct TlsOptions {
  std::string chain_cert;  // ssl_chain_cert: PEM certificate chain
  std::string key;         // ssl_key: PEM private key (default: inside chain_cert)
  std::string ca_cert;     // ssl_ca_cert: PEM CAs that client certificates must chain to
  std::string ciphers;     // ssl_ciphers: OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's)
  int verify_mode = 0;     // ssl_verify_mode: 0 none, 1 request, 2 require, 3 once
  int min_version = 2;     // ssl_min_version: 2 = TLS 1.2, 3 = TLS 1.3 (0 and 1 are refused)
};

// Reads the ssl_* entries of settings.extended; false with *error set on a bad value.
bool parse_tls_options(const Settings& settings, TlsOptions* options, std::string* error);

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class TlsContext {
 public:
  // Loads the certificates; nullptr with *error set (one line, memcached's wording where it has
  // one) when they cannot be used.
  static std::unique_ptr<TlsContext> create(const Settings& settings, std::string* error);

  // "refresh_certs": loads the configured files again. New connections use the new
  // certificates; open ones keep theirs. On failure the old context stays and *error says why.
  bool refresh(std::string* error);

  // A session for a freshly accepted socket, in server (accept) state; nullptr if OpenSSL
  // cannot make one (the connection is then refused, never served in plain text).
  std::unique_ptr<Transport> new_transport(int fd);

  void note_handshake_error() { handshake_errors_.fetch_add(1, std::memory_order_relaxed); }
  void write_stats(OutputQueue& out, int64_t now);
  void write_settings(OutputQueue& out);
  void reset_stats() { handshake_errors_.store(0, std::memory_order_relaxed); }

 private:
  TlsContext(TlsOptions options, SslCtxPtr ctx, int64_t now);
  static SslCtxPtr build(const TlsOptions& options, std::string* error);

  const TlsOptions options_;
  std::mutex ctx_mutex_;  // taken per accepted connection and per refresh, never per request
  SslCtxPtr ctx_;
  std::atomic<uint64_t> handshake_errors_{0};
  std::atomic<int64_t> last_refresh_{0};
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(TlsContext& context, SslPtr ssl) : context_(context), ssl_(std::move(ssl)) {}
  ssize_t read(char* buffer, std::size_t length) override;
  ssize_t writev(const iovec* iov, std::size_t count) override;
  bool has_buffered_input() const override { return SSL_pending(ssl_.get()) > 0; }
  bool rebind(int fd) override { return SSL_set_fd(ssl_.get(), fd) == 1; }

 private:
  // Maps an SSL_read/SSL_write failure to read(2)'s -1 and errno.
  ssize_t fail(int result);

  TlsContext& context_;
  SslPtr ssl_;
  bool handshake_failed_ = false;
  bool established_ = false;  // application data has arrived: later failures are not handshakes
};

}  // namespace kioku::daemon
