// daemon/settings.h — kiokud's configuration: memcached's flags, parsed once at start.
//
// Owns: the option table (names, defaults, help), parsing argv (CLI11) into an immutable
// Settings, and rendering "stats settings". Must not: be a global; everything that needs a
// setting gets the Settings by reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "slab/cache.h"

namespace kioku::daemon {

enum class BindingProtocol : uint8_t { kAuto, kAscii, kBinary };

// One "user:password" line of the -Y file.
struct AuthUser {
  std::string user;
  std::string password;
};

struct Settings {
  uint16_t port = 11211;                 // -p
  uint16_t udp_port = 0;                 // -U (UDP is off by default)
  std::vector<std::string> listen;       // -l (empty: all interfaces)
  std::string unix_socket;               // -s
  uint32_t unix_mask = 0700;             // -a
  std::size_t memory_limit = std::size_t{64} << 20;  // -m
  bool evict_to_free = true;             // -M turns off
  uint32_t max_connections = 1024;       // -c
  uint32_t threads = 0;                  // -t (resolved to the core count)
  std::size_t item_size_max = std::size_t{1} << 20;  // -I
  double growth_factor = 1.25;           // -f
  uint32_t chunk_size = 48;              // -n
  bool use_cas = true;                   // -C turns off
  uint32_t reqs_per_event = 20;          // -R
  uint32_t backlog = 1024;               // -b
  BindingProtocol protocol = BindingProtocol::kAuto;  // -B
  int verbose = 0;                       // -v, -vv, -vvv
  bool daemonize = false;                // -d
  std::string user;                      // -u
  std::string pid_file;                  // -P
  bool enable_coredumps = false;         // -r
  bool lock_memory = false;              // -k
  bool large_pages = false;              // -L
  bool track_sizes = false;              // -o track_sizes ("stats sizes" histogram)
  bool shutdown_command = false;         // -A
  bool flush_enabled = true;             // -F turns off
  bool sasl = false;                     // -S
  std::string auth_file;                 // -Y
  std::vector<AuthUser> auth_users;      // -Y file's entries, loaded once at start
  bool ssl = false;                      // -Z
  char stat_prefix = ':';                // -D
  // -o extended options that Kioku acts on.
  uint32_t hashpower_init = 0;           // hashpower
  uint32_t idle_timeout = 0;             // idle_timeout (seconds, 0 = never)
  std::size_t slab_chunk_max = 0;        // slab_chunk_max (0 = page size / 2, as memcached)
  bool maxconns_fast = true;
  slab::CacheConfig engine;              // memory engine -o options (daemon/engine_admin.h)
  std::vector<std::string> extended;     // every -o key[=value] as given, for "stats settings"
  // Operations (Kioku's own long options).
  std::string config_file;               // --config (CLI11 "name = value" file)
  std::string log_file;                  // --log-file (stderr when empty; SIGHUP reopens it)
  std::string metrics_listen;            // --metrics-listen HOST:PORT (empty: off)
  // --cluster-nodes, normalised to "host|ip|port host|ip|port" (empty: config get answers END).
  std::string cluster_nodes;
};

// kExitUsage: memcached's EX_USAGE (64), for the sizing errors whose text and status match it.
enum class ParseOutcome : uint8_t { kRun, kExitSuccess, kExitFailure, kExitUsage };

// The slab page: 1 MiB, as memcached (slab_page_size is not an option there either).
inline constexpr std::size_t kSlabPageSize = std::size_t{1} << 20;

// Parses argv. On kExitSuccess (--help, -V) or kExitFailure (bad option), the message has
// already been printed and main should exit with that status.
ParseOutcome parse_settings(int argc, char** argv, Settings* settings);

// Parses a size with an optional k/m/g suffix ("1m", "512k", "1048576").
bool parse_size(const std::string& text, std::size_t* bytes);

const char* binding_protocol_name(BindingProtocol protocol);

// Reads a -Y file (one "user:password" per line; lines without a colon are skipped). False,
// with *error set, when the file cannot be read or holds no user.
bool load_auth_file(const std::string& path, std::vector<AuthUser>* users, std::string* error);

}  // namespace kioku::daemon
