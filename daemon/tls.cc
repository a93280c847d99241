// daemon/tls.cc — see tls.h.
#include "daemon/tls.h"

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <ctime>
#include <string_view>

#include "daemon/executor.h"

namespace kioku::daemon {
namespace {

// The first OpenSSL error queued (the root cause, e.g. "No such file or directory") as one line;
// drains the queue so the next call starts clean.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int verify_flags(int mode) {
  switch (mode) {
    case 1:
      return SSL_VERIFY_PEER;
    case 2:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    case 3:
      return SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
    default:
      return SSL_VERIFY_NONE;
  }
}

bool parse_small(std::string_view text, int* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool parse_tls_options(const Settings& settings, TlsOptions* options, std::string* error) {
  for (const std::string& item : settings.extended) {
    std::string_view entry = item;
    const auto eq = entry.find('=');
    const std::string_view key = entry.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : entry.substr(eq + 1);
    if (key == "ssl_chain_cert") {
      options->chain_cert = value;
    } else if (key == "ssl_key") {
      options->key = value;
    } else if (key == "ssl_ca_cert") {
      options->ca_cert = value;
    } else if (key == "ssl_ciphers") {
      options->ciphers = value;
    } else if (key == "ssl_verify_mode") {
      if (!parse_small(value, &options->verify_mode) || options->verify_mode < 0 ||
          options->verify_mode > 3) {
        *error = "Invalid ssl_verify_mode: \"" + std::string(value) + "\" (0, 1, 2 or 3)";
        return false;
      }
    } else if (key == "ssl_min_version") {
      int version = -1;
      if (value == "tlsv1.2") version = 2;
      if (value == "tlsv1.3") version = 3;
      if (version < 0 && !parse_small(value, &version)) version = -1;
      if (version < 2 || version > 3) {
        *error = "Invalid ssl_min_version: \"" + std::string(value) +
                 "\" (kiokud accepts 2 = tlsv1.2 or 3 = tlsv1.3)";
        return false;
      }
      options->min_version = version;
    } else if (key == "ssl_keyformat" && !value.empty() && value != "1" && value != "PEM") {
      *error = "Only PEM keys are supported (ssl_keyformat)";
      return false;
    }
  }
  if (options->chain_cert.empty()) {
    *error = "TLS (-Z) needs a certificate: -o ssl_chain_cert=<file>[,ssl_key=<file>]";
    return false;
  }
  return true;
}

TlsContext::TlsContext(TlsOptions options, SslCtxPtr ctx, int64_t now)
    : options_(std::move(options)), ctx_(std::move(ctx)) {
  last_refresh_ = now;
}

SslCtxPtr TlsContext::build(const TlsOptions& o, std::string* error) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    *error = "Failed to allocate the TLS context: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), o.min_version == 3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Partial writes and a moving buffer let a write that met a full socket resume from the
  // output queue's current position; released buffers keep idle connections small.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  // No resumption (memcached's default, ssl_session_cache off): no cache, no TLS 1.3 tickets.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  // A client that closes the socket without close_notify has simply gone away (OpenSSL 3 would
  // otherwise report it as a protocol error).
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.chain_cert.c_str()) != 1) {
    *error = "Error loading the certificate chain: " + o.chain_cert + " : " + openssl_error();
    return nullptr;
  }
  const std::string& key = o.key.empty() ? o.chain_cert : o.key;
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "Error loading the key: " + key + " : " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    *error = "Error validating the certificate: " + openssl_error();
    return nullptr;
  }
  if (!o.ca_cert.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_cert.c_str(), nullptr) != 1) {
      *error = "Error loading the CA certificate: " + o.ca_cert + " : " + openssl_error();
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx.get(), SSL_load_client_CA_file(o.ca_cert.c_str()));
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), o.ciphers.c_str()) != 1) {
    *error = "Error setting the ciphers: " + o.ciphers + " : " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), verify_flags(o.verify_mode), nullptr);
  return ctx;
}

std::unique_ptr<TlsContext> TlsContext::create(const Settings& settings, std::string* error) {
  TlsOptions options;
  if (!parse_tls_options(settings, &options, error)) return nullptr;
  SslCtxPtr ctx = build(options, error);
  if (!ctx) return nullptr;
  return std::unique_ptr<TlsContext>(
      new TlsContext(std::move(options), std::move(ctx), std::time(nullptr)));
}

bool TlsContext::refresh(std::string* error) {
  SslCtxPtr fresh = build(options_, error);
  if (!fresh) return false;
  {
    // Sessions hold their own reference to the context they were made from.
    std::lock_guard lock(ctx_mutex_);
    ctx_.swap(fresh);
  }
  last_refresh_ = std::time(nullptr);
  return true;
}

std::unique_ptr<Transport> TlsContext::new_transport(int fd) {
  SslPtr ssl;
  {
    std::lock_guard lock(ctx_mutex_);
    ssl.reset(SSL_new(ctx_.get()));
  }
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  SSL_set_accept_state(ssl.get());
  return std::make_unique<TlsTransport>(*this, std::move(ssl));
}

void TlsContext::write_stats(OutputQueue& out, int64_t now) {
  append_stat(out, "ssl_handshake_errors", handshake_errors_.load(std::memory_order_relaxed));
  append_stat(out, "time_since_server_cert_refresh",
              static_cast<uint64_t>(std::max<int64_t>(0, now - last_refresh_.load())));
}

void TlsContext::write_settings(OutputQueue& out) {
  const TlsOptions& o = options_;
  append_stat(out, "ssl_enabled", "yes");
  append_stat(out, "ssl_chain_cert", o.chain_cert);
  append_stat(out, "ssl_key", o.key.empty() ? "NULL" : o.key);
  append_stat(out, "ssl_verify_mode", static_cast<uint64_t>(verify_flags(o.verify_mode)));
  append_stat(out, "ssl_keyformat", uint64_t{1});
  append_stat(out, "ssl_ciphers", o.ciphers.empty() ? "NULL" : o.ciphers);
  append_stat(out, "ssl_ca_cert", o.ca_cert.empty() ? "NULL" : o.ca_cert);
  append_stat(out, "ssl_wbuf_size", uint64_t{16384});
  append_stat(out, "ssl_session_cache", "no");
  append_stat(out, "ssl_kernel_tls", "no");
  append_stat(out, "ssl_min_version", o.min_version == 3 ? "tlsv1.3" : "tlsv1.2");
}

ssize_t TlsTransport::fail(int result) {
  const int reason = SSL_get_error(ssl_.get(), result);
  switch (reason) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify: an orderly end
    default:
      break;
  }
  // A peer that hangs up without a word (a port probe, a health check) is no handshake error.
  if (reason == SSL_ERROR_SYSCALL && result == 0) {
    ERR_clear_error();
    return 0;
  }
  // A failure before the handshake finished (bad or missing client certificate, a plain-text
  // client, an old protocol version) is a handshake error, counted once per connection.
  if (!established_ && !SSL_is_init_finished(ssl_.get()) && !handshake_failed_) {
    handshake_failed_ = true;
    context_.note_handshake_error();
  }
  ERR_clear_error();
  if (reason != SSL_ERROR_SYSCALL || errno == 0) errno = ECONNRESET;
  return -1;
}

ssize_t TlsTransport::read(char* buffer, std::size_t length) {
  ERR_clear_error();
  const int n =
      SSL_read(ssl_.get(), buffer, static_cast<int>(std::min<std::size_t>(length, INT_MAX)));
  if (n > 0) {
    established_ = true;
    return n;
  }
  return fail(n);
}

ssize_t TlsTransport::writev(const iovec* iov, std::size_t count) {
  // SSL has no gather write: small pieces are staged into one record-sized buffer so a batch of
  // replies goes out in few records. A write that met a full socket is retried later from the
  // same queue position, so the staged bytes are the same (which OpenSSL requires).
  static thread_local char staging[16384];
  std::size_t total = 0;
  std::size_t index = 0;
  std::size_t offset = 0;
  while (index < count) {
    std::size_t used = 0;
    while (index < count && used < sizeof staging) {
      const char* base = static_cast<const char*>(iov[index].iov_base) + offset;
      const std::size_t rest = iov[index].iov_len - offset;
      const std::size_t take = std::min(rest, sizeof staging - used);
      std::memcpy(staging + used, base, take);
      used += take;
      offset += take;
      if (offset == iov[index].iov_len) {
        ++index;
        offset = 0;
      }
    }
    if (used == 0) break;
    ERR_clear_error();
    const int n = SSL_write(ssl_.get(), staging, static_cast<int>(used));
    if (n <= 0) {
      if (total > 0) return static_cast<ssize_t>(total);
      ssize_t r = fail(n);
      if (r == 0) {
        errno = EPIPE;  // never report 0 bytes written: the caller would spin
        return -1;
      }
      return r;
    }
    total += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < used) break;
  }
  return static_cast<ssize_t>(total);
}

}  // namespace kioku::daemon
