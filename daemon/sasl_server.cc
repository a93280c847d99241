// daemon/sasl_server.cc — see sasl_server.h.
#include "daemon/sasl_server.h"

#include <sasl/sasl.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace kioku::daemon {

namespace {

// Cyrus SASL's auxprop plugins (sasldb) share state between connections; authentication is
// rare and off the request path, so one lock around the library keeps workers from meeting
// inside it.
std::mutex& sasl_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Where memcached.conf lives: $SASL_CONF_PATH, else the first of memcached's two default
// directories that holds one. None: SASL_FAIL, so start-up fails as memcached's does rather than
// running with a SASL that can authenticate nobody.
int get_config_path(void*, char** path) {
  static char sasl_dir[] = "/etc/sasl";
  static char sasl2_dir[] = "/etc/sasl2";
  if (char* dir = std::getenv("SASL_CONF_PATH")) {
    *path = dir;
    return SASL_OK;
  }
  for (char* dir : {sasl_dir, sasl2_dir}) {
    if (::access((std::string(dir) + "/memcached.conf").c_str(), F_OK) == 0) {
      *path = dir;
      return SASL_OK;
    }
  }
  return SASL_FAIL;
}

// Cyrus keeps the callback table for the life of the process.
sasl_callback_t kCallbacks[] = {
    // Cyrus stores every callback as int (*)(); the library casts it back by id.
    {SASL_CB_GETCONFPATH, reinterpret_cast<int (*)()>(reinterpret_cast<void*>(&get_config_path)),
     nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

}  // namespace

bool start_sasl_server() { return sasl_server_init(kCallbacks, "memcached") == SASL_OK; }

SaslSession::~SaslSession() {
  if (conn_ != nullptr) {
    std::lock_guard lock(sasl_mutex());
    sasl_dispose(&conn_);
  }
}

bool SaslSession::ensure_connection() {
  if (conn_ != nullptr) return true;
  return sasl_server_new("memcached", nullptr, nullptr, nullptr, nullptr, nullptr, 0, &conn_) ==
         SASL_OK;
}

bool SaslSession::list_mechanisms(std::string_view* names) {
  std::lock_guard lock(sasl_mutex());
  if (!ensure_connection()) return false;
  const char* result = nullptr;
  unsigned length = 0;
  if (sasl_listmech(conn_, nullptr, "", " ", "", &result, &length, nullptr) != SASL_OK) {
    return false;
  }
  *names = std::string_view(result, length);
  return true;
}

namespace {
SaslOutcome outcome_of(int result) {
  if (result == SASL_OK) return SaslOutcome::kAuthenticated;
  if (result == SASL_CONTINUE) return SaslOutcome::kContinue;
  return SaslOutcome::kFailed;
}
}  // namespace

SaslOutcome SaslSession::start(std::string_view mechanism, std::string_view data,
                               std::string_view* challenge) {
  std::lock_guard lock(sasl_mutex());
  *challenge = {};
  if (!ensure_connection()) return SaslOutcome::kFailed;
  const std::string mech(mechanism);  // Cyrus wants it NUL-terminated
  const char* out = nullptr;
  unsigned out_length = 0;
  const int result = sasl_server_start(conn_, mech.c_str(), data.empty() ? nullptr : data.data(),
                                       static_cast<unsigned>(data.size()), &out, &out_length);
  started_ = result == SASL_OK || result == SASL_CONTINUE;
  if (out != nullptr) *challenge = std::string_view(out, out_length);
  return outcome_of(result);
}

SaslOutcome SaslSession::step(std::string_view data, std::string_view* challenge) {
  std::lock_guard lock(sasl_mutex());
  *challenge = {};
  if (!started_ || conn_ == nullptr) return SaslOutcome::kFailed;
  const char* out = nullptr;
  unsigned out_length = 0;
  const int result = sasl_server_step(conn_, data.empty() ? nullptr : data.data(),
                                      static_cast<unsigned>(data.size()), &out, &out_length);
  if (out != nullptr) *challenge = std::string_view(out, out_length);
  return outcome_of(result);
}

}  // namespace kioku::daemon
