// tests/fuzz/connection_fuzz.cc — libFuzzer target for a whole kiokud connection; built twice:
// connection_fuzz (plain text, meta and binary sessions) and, with KIOKU_FUZZ_TLS defined,
// tls_connection_fuzz (the same over -Z, daemon/tls.cc's transport in the path).
//
// Owns: a Server (cache and settings, never listening) and one Worker whose event loop this
// thread runs by hand. Each input becomes one client on a socketpair: its bytes arrive in
// pieces, the real daemon/connection.cc frames them (text, meta, or binary when the first byte
// is 0x80), the executor runs them against the slab cache, and the replies are read and
// dropped. The cache persists across inputs, so stores made by one input meet reads of the
// next. The TLS variant makes a throwaway key and self-signed certificate once, at start-up, in
// a temporary directory it deletes once they are loaded; an input either goes raw to the
// server's side of the handshake or, when its first byte has the top bit set, is sent as
// plaintext through a session the harness's own TLS client has established. Must not: start
// threads or listen on a socket.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <thread>

#if KIOKU_FUZZ_TLS
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>
#include <vector>
#endif

#include "daemon/server.h"
#include "daemon/settings.h"
#include "daemon/worker.h"

namespace {

using kioku::daemon::Server;
using kioku::daemon::Settings;
using kioku::daemon::Worker;

#if KIOKU_FUZZ_TLS
void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tls_connection_fuzz: %s failed\n", what);
    std::abort();
  }
}

// A fresh P-256 key and a self-signed certificate for it, as PEM files in a new temporary
// directory that remove() deletes (the TLS context reads them once, when it is built).
struct Certificate {
  char dir[32] = "/tmp/kioku-tls-fuzz-XXXXXX";
  std::string cert_path;
  std::string key_path;

  Certificate() {
    require(::mkdtemp(dir) != nullptr, "mkdtemp");
    cert_path = std::string(dir) + "/cert.pem";
    key_path = std::string(dir) + "/key.pem";
    EVP_PKEY* key = EVP_EC_gen("P-256");
    require(key != nullptr, "EVP_EC_gen");
    X509* cert = X509_new();
    require(cert != nullptr, "X509_new");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    require(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");
    FILE* out = std::fopen(cert_path.c_str(), "w");
    require(out != nullptr && PEM_write_X509(out, cert) == 1, "writing the certificate");
    std::fclose(out);
    out = std::fopen(key_path.c_str(), "w");
    require(out != nullptr &&
                PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
            "writing the key");
    std::fclose(out);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  // -o's ssl_chain_cert= and ssl_key= entries for these files.
  std::vector<std::string> options() const {
    return {"ssl_chain_cert=" + cert_path, "ssl_key=" + key_path};
  }
  void remove() const {
    ::unlink(cert_path.c_str());
    ::unlink(key_path.c_str());
    ::rmdir(dir);
  }
};
#endif

struct Harness {
  Settings settings;
  Server* server;
  Worker* worker;
#if KIOKU_FUZZ_TLS
  SSL_CTX* client_ctx;  // the test's client side: any server certificate will do
#endif
  Harness() {
    // As kiokud's main(): a peer that has gone is an EPIPE, not a signal (OpenSSL writes with
    // plain write(2), on both ends of the TLS variant's socketpair).
    std::signal(SIGPIPE, SIG_IGN);
    settings.memory_limit = std::size_t{8} << 20;
    settings.threads = 1;
    settings.item_size_max = std::size_t{64} << 10;
    settings.slab_chunk_max = std::size_t{32} << 10;
#if KIOKU_FUZZ_TLS
    const Certificate certificate;
    settings.ssl = true;
    settings.extended = certificate.options();
#endif
    // Leaked on purpose: libFuzzer exits without unwinding, and a static destructor order
    // between the worker and the server is not worth getting right here.
    server = new Server(settings);
#if KIOKU_FUZZ_TLS
    require(server->enable_tls(), "loading the certificate");
    certificate.remove();  // loaded; nothing is left behind however the run ends
    client_ctx = SSL_CTX_new(TLS_client_method());
    require(client_ctx != nullptr, "SSL_CTX_new (client)");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
#endif
    worker = new Worker(*server, 0);
  }
};

Harness& harness() {
  static Harness h;
  return h;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The test's end of the socketpair: raw bytes, or (TLS variant) a TLS client session over it.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() {
#if KIOKU_FUZZ_TLS
    if (ssl_ != nullptr) SSL_free(ssl_);
#endif
    ::close(fd_);
  }

  ssize_t write(const uint8_t* data, std::size_t size) {
#if KIOKU_FUZZ_TLS
    if (ssl_ != nullptr) {
      // A write that met a full socket is retried with the same arguments, as OpenSSL wants.
      const int n = SSL_write(ssl_, data, static_cast<int>(size));
      return n > 0 ? n : -1;
    }
#endif
    return ::write(fd_, data, size);
  }

  // Reads and drops whatever the server sent; false once the server closed its end.
  bool drain() {
    char sink[65536];
    for (;;) {
#if KIOKU_FUZZ_TLS
      if (ssl_ != nullptr) {
        const int n = SSL_read(ssl_, sink, sizeof sink);
        if (n > 0) continue;
        // Anything but "no data yet" ends the session: close_notify or EOF. A protocol error
        // means the server wrote bytes outside its TLS session (as `watch` once did): a finding.
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_SSL &&
            ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          std::abort();
        }
        return error == SSL_ERROR_WANT_READ;
      }
#endif
      const ssize_t n = ::read(fd_, sink, sizeof sink);
      if (n > 0) continue;
      if (n == 0) return false;
      return !(errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
  }

  // The client's input is over.
  void finish(bool close_notify) {
#if KIOKU_FUZZ_TLS
    if (ssl_ != nullptr && close_notify) SSL_shutdown(ssl_);
#endif
    (void)close_notify;
    ::shutdown(fd_, SHUT_WR);
  }

#if KIOKU_FUZZ_TLS
  // Completes a TLS handshake with the server, turning the worker's loop in between.
  void handshake(SSL_CTX* ctx, event_base* base) {
    ssl_ = SSL_new(ctx);
    require(ssl_ != nullptr && SSL_set_fd(ssl_, fd_) == 1, "SSL_new (client)");
    SSL_set_connect_state(ssl_);
    for (int turn = 0; turn < 1000; ++turn) {
      const int r = SSL_do_handshake(ssl_);
      if (r == 1) return;
      const int reason = SSL_get_error(ssl_, r);
      // With our own certificate and defaults, a handshake that fails is the server's fault.
      require(reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE, "handshake");
      event_base_loop(base, EVLOOP_NONBLOCK);
    }
    require(false, "handshake (no progress)");
  }
#endif

 private:
  int fd_;
#if KIOKU_FUZZ_TLS
  SSL* ssl_ = nullptr;
#endif
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Harness& h = harness();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
  set_nonblocking(fds[0]);
  set_nonblocking(fds[1]);
  h.worker->dispatch(fds[1], "fuzz");  // the connection owns fds[1] from here
  Client client(fds[0]);

  // The first byte picks the piece size, so inputs also explore how requests are split.
  const std::size_t piece = size > 0 ? std::size_t{data[0]} % 64 + 1 : 1;
  bool close_notify = false;
#if KIOKU_FUZZ_TLS
  // A first byte with its top bit set (never the first byte of a TLS record) asks for a real
  // handshake first; the rest of the input is then the session's plaintext, sent through TLS
  // (bit 6: end it with close_notify rather than a bare EOF). Otherwise the input is raw bytes
  // to the server's handshake.
  if (size > 0 && (data[0] & 0x80) != 0) {
    close_notify = (data[0] & 0x40) != 0;
    client.handshake(h.client_ctx, h.worker->base());
    ++data;
    --size;
  }
#endif
  std::size_t sent = 0;
  bool open = true;
  int idle_turns = 0;
  while (open && idle_turns < 64) {
    if (sent < size) {
      const std::size_t want = std::min(piece * 37, size - sent);
      const ssize_t n = client.write(data + sent, want);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (sent == size) client.finish(close_notify);
    } else if (size == 0 && idle_turns == 0) {
      client.finish(close_notify);
    }
    event_base_loop(h.worker->base(), EVLOOP_NONBLOCK);
    open = client.drain();
    if (sent == size) ++idle_turns;
  }
  if (open) {
    // Still open after its input ended and was answered: a request waiting for more bytes the
    // client will never send ... which EOF must have ended. Keep running the loop until closed.
    // Wall time, not a turn count: after "watch" the socket belongs to the watch hub's own
    // thread, which notices the EOF only once it is scheduled.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (open && std::chrono::steady_clock::now() < deadline) {
      event_base_loop(h.worker->base(), EVLOOP_NONBLOCK);
      open = client.drain();
      if (open) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (open) std::abort();  // the connection outlived its peer's EOF: a leak
  }
  return 0;
}
