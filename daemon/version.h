// daemon/version.h — the versions kiokud reports.
#pragma once

#ifndef KIOKU_VERSION
#define KIOKU_VERSION "0.0.0"
#endif

namespace kioku::daemon {

// The memcached release whose protocol kiokud speaks. The text protocol's "version" command
// answers with it, because clients parse that number to decide which commands they may use
// (libmemcached, for one, refuses "touch" below 1.4.8). Kioku's own version is in -V and in
// the "kioku_version" stat.
inline constexpr const char* kMemcachedVersion = "1.6.18";

}  // namespace kioku::daemon
