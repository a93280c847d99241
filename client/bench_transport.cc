// client/bench_transport.cc — see bench_transport.h.
#include "client/bench_transport.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace kioku::client {
namespace {

std::string openssl_error(unsigned long code) {
  if (code == 0) return "unknown TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

bool is_ip_address(const std::string& host) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, host.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, host.c_str(), bytes) == 1;
}

int clamp_length(std::size_t length) {
  return static_cast<int>(std::min<std::size_t>(length, INT_MAX));
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void SslFree::operator()(ssl_st* ssl) const { SSL_free(ssl); }
void SslCtxFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

std::unique_ptr<TlsContext> TlsContext::create(const BenchOptions& o, std::string* error) {
  auto context = std::unique_ptr<TlsContext>(new TlsContext);
  context->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = context->ctx_.get();
  if (!ctx) {
    *error = "cannot create a TLS context: " + openssl_error(ERR_get_error());
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // The runner's output buffer moves (memmove to its front) and grows between retries of a
  // write that would block; both are allowed with these modes.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A server that closes without close_notify is a closed connection, not an error burst.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  context->verify_ = !o.tls_insecure;
  if (context->verify_) {
    const bool loaded = o.tls_ca.empty()
                            ? SSL_CTX_set_default_verify_paths(ctx) == 1
                            : SSL_CTX_load_verify_locations(ctx, o.tls_ca.c_str(), nullptr) == 1;
    if (!loaded) {
      *error = "--tls-ca: cannot load " + (o.tls_ca.empty() ? "the system's CAs" : o.tls_ca) +
               ": " + openssl_error(ERR_get_error());
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!o.tls_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert.c_str()) != 1) {
      *error = "--tls-cert: cannot load " + o.tls_cert + ": " + openssl_error(ERR_get_error());
      return nullptr;
    }
    const std::string& key = o.tls_key.empty() ? o.tls_cert : o.tls_key;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "--tls-key: cannot use " + key + ": " + openssl_error(ERR_get_error());
      return nullptr;
    }
  }
  context->host_ = o.host;
  return context;
}

SslPtr TlsContext::new_ssl(int fd) const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  const bool ip = is_ip_address(host_);
  // SNI carries names only; an IP address is checked against the certificate's IP SANs.
  if (!ip) SSL_set_tlsext_host_name(ssl.get(), host_.c_str());
  if (verify_) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
    if (ok != 1) return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

Transport::Transport(UniqueFd fd, SslPtr ssl)
    : fd_(std::move(fd)), ssl_(std::move(ssl)), established_(ssl_ == nullptr) {}

IoResult Transport::tls_result(int result) {
  const int reason = SSL_get_error(ssl_.get(), result);
  switch (reason) {
    case SSL_ERROR_WANT_READ:
      return {IoStatus::kWantRead};
    case SSL_ERROR_WANT_WRITE:
      return {IoStatus::kWantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return {IoStatus::kClosed};
    default:
      break;
  }
  errno_ = reason == SSL_ERROR_SYSCALL ? errno : 0;
  ssl_error_ = ERR_get_error();
  ERR_clear_error();  // the queue is per thread; leave it clean for the next connection
  // With SSL_OP_IGNORE_UNEXPECTED_EOF a bare EOF reads as ZERO_RETURN; a SYSCALL error without
  // errno is still the peer going away.
  if (reason == SSL_ERROR_SYSCALL && ssl_error_ == 0 && errno_ == 0) return {IoStatus::kClosed};
  return {IoStatus::kFailed};
}

IoResult Transport::handshake() {
  if (established_) return {IoStatus::kDone};
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_.get());
  if (result == 1) {
    established_ = true;
    return {IoStatus::kDone};
  }
  IoResult r = tls_result(result);
  // A peer that hangs up mid-handshake failed the handshake.
  if (r.status == IoStatus::kClosed) r.status = IoStatus::kFailed;
  if (r.status == IoStatus::kFailed) verify_result_ = SSL_get_verify_result(ssl_.get());
  return r;
}

IoResult Transport::read(char* buffer, std::size_t length) {
  if (ssl_) {
    ERR_clear_error();
    const int n = SSL_read(ssl_.get(), buffer, clamp_length(length));
    if (n > 0) return {IoStatus::kDone, static_cast<std::size_t>(n)};
    return tls_result(n);
  }
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buffer, length, MSG_DONTWAIT);
    if (n > 0) return {IoStatus::kDone, static_cast<std::size_t>(n)};
    if (n == 0) return {IoStatus::kClosed};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantRead};
    errno_ = errno;
    return {IoStatus::kFailed};
  }
}

IoResult Transport::write(const char* buffer, std::size_t length) {
  if (ssl_) {
    ERR_clear_error();
    const int n = SSL_write(ssl_.get(), buffer, clamp_length(length));
    if (n > 0) return {IoStatus::kDone, static_cast<std::size_t>(n)};
    return tls_result(n);
  }
  for (;;) {
    const ssize_t n = ::send(fd_.get(), buffer, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return {IoStatus::kDone, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantWrite};
    errno_ = errno;
    return {IoStatus::kFailed};
  }
}

void Transport::reset() {
  ssl_.reset();
  fd_.reset();
  established_ = false;
  ssl_error_ = 0;
  errno_ = 0;
  verify_result_ = 0;
}

std::string Transport::last_error() const {
  if (verify_result_ != X509_V_OK) {
    return std::string("certificate verify failed: ") +
           X509_verify_cert_error_string(verify_result_);
  }
  if (ssl_error_ != 0) return openssl_error(ssl_error_);
  if (errno_ != 0) return std::strerror(errno_);
  return "connection closed";
}

}  // namespace kioku::client
