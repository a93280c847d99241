// daemon/exposure_warning.cc — see exposure_warning.h.
#include "daemon/exposure_warning.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

namespace kioku::daemon {
namespace {

// Strips memcached's optional port suffix: "host:port", "[v6]" and "[v6]:port".
std::string bare_host(const std::string& spec) {
  if (!spec.empty() && spec.front() == '[') {
    auto close = spec.find(']');
    return close == std::string::npos ? spec : spec.substr(1, close - 1);
  }
  if (std::count(spec.begin(), spec.end(), ':') == 1) return spec.substr(0, spec.find(':'));
  return spec;
}

bool is_loopback_address(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

bool is_loopback_host(const std::string& spec) {
  const std::string host = bare_host(spec);
  if (host.empty()) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  bool loopback = found != nullptr;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    loopback = loopback && is_loopback_address(a->ai_addr);
  }
  freeaddrinfo(found);
  return loopback;
}

std::string exposure_warning(const Settings& settings) {
  if (!settings.unix_socket.empty()) return "";  // TCP is not served at all then
  if (settings.sasl || !settings.auth_file.empty()) return "";
  std::string exposed;
  if (settings.listen.empty()) {
    exposed = "every interface";
  } else {
    for (const std::string& host : settings.listen) {
      if (is_loopback_host(host.starts_with("notls:") ? host.substr(6) : host)) continue;
      exposed += exposed.empty() ? host : ", " + host;
    }
  }
  if (exposed.empty()) return "";
  return "kiokud: warning: listening on " + exposed +
         " without authentication: anyone who can reach this port can read, change and flush "
         "the cache; firewall it or listen on 127.0.0.1 (-l)\n";
}

}  // namespace kioku::daemon
