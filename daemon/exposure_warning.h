// daemon/exposure_warning.h — the start-up warning for a cache reachable beyond this host.
//
// Owns: deciding whether the configured listeners reach past loopback while no authentication
// is configured, and the one warning line printed then. Must not: bind, or refuse to start
// (memcached starts on any address; the warning only makes the exposure visible).
#pragma once

#include <string>

#include "daemon/settings.h"

namespace kioku::daemon {

// True when `host` (a -l value: "127.0.0.1", "localhost", "[::1]:11311", ...) resolves only to
// loopback addresses. An empty host means every interface and is not loopback.
bool is_loopback_host(const std::string& host);

// The warning to print on stderr, or "" when every TCP listener is loopback-only, the server
// listens on a unix socket only, or clients must authenticate (-S, -Y).
std::string exposure_warning(const Settings& settings);

}  // namespace kioku::daemon
