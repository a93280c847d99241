// daemon/sasl_server.h — Cyrus SASL for -S, configured the way memcached configures it.
//
// Owns: the process-wide sasl_server_init (application name "memcached", so the config file is
// memcached.conf, looked for in $SASL_CONF_PATH, else /etc/sasl or /etc/sasl2, as memcached
// does) and one connection's SASL exchange.
// Must not: know the binary protocol; the binary executor turns results into replies.
#pragma once

#include <string_view>

struct sasl_conn;

namespace kioku::daemon {

// Once, before workers start. False if Cyrus SASL refuses to initialise.
bool start_sasl_server();

enum class SaslOutcome : uint8_t { kAuthenticated, kContinue, kFailed };

class SaslSession {
 public:
  SaslSession() = default;
  ~SaslSession();
  SaslSession(const SaslSession&) = delete;
  SaslSession& operator=(const SaslSession&) = delete;

  // Space-separated mechanism names ("PLAIN"); false on failure.
  bool list_mechanisms(std::string_view* names);
  // SASL_AUTH: starts `mechanism` with the client's first data. *challenge: what to send back
  // (valid until the next call).
  SaslOutcome start(std::string_view mechanism, std::string_view data, std::string_view* challenge);
  // SASL_STEP: continues a started exchange (kFailed if none was started).
  SaslOutcome step(std::string_view data, std::string_view* challenge);

 private:
  bool ensure_connection();
  sasl_conn* conn_ = nullptr;
  bool started_ = false;
};

}  // namespace kioku::daemon
