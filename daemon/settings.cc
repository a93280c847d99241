// daemon/settings.cc — memcached-compatible command line parsing with CLI11.
//
// The option table below is the one place an option is declared: its short and long names
// (memcached's), its help line and where its value lands. --help is generated from it, and the
// man page lists the same options (tests/daemon/settings_test.cc checks the two agree).
#include "daemon/settings.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <thread>

#include "daemon/cluster_config.h"
#include "daemon/engine_admin.h"
#include "daemon/version.h"

namespace kioku::daemon {
namespace {

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// memcached's -o options. Kioku acts on some; the rest are accepted so that a memcached
// command line keeps working, and are shown in "stats settings".
constexpr std::string_view kKnownExtendedOptions[] = {
    "maxconns_fast", "no_maxconns_fast", "hashpower", "tail_repair_time", "no_lru_crawler",
    "lru_crawler", "lru_crawler_sleep", "lru_crawler_tocrawl", "no_lru_maintainer",
    "lru_maintainer", "hot_lru_pct", "warm_lru_pct", "hot_max_factor", "warm_max_factor",
    "temp_lru", "temporary_ttl", "idle_timeout", "watcher_logbuf_size", "worker_logbuf_size",
    "track_sizes", "no_inline_ascii_resp", "modern", "no_modern", "no_chunked_items",
    "slab_reassign", "no_slab_reassign", "slab_automove", "slab_automove_ratio",
    "slab_automove_window", "slab_chunk_max", "slab_sizes", "no_hashexpand", "hash_algorithm",
    "lru_segmented", "no_lru_segmented", "read_buf_mem_limit", "drop_privileges",
    "no_drop_privileges", "ssl_chain_cert", "ssl_key", "ssl_verify_mode", "ssl_keyformat",
    "ssl_ciphers", "ssl_ca_cert", "ssl_wbuf_size", "ssl_session_cache", "ssl_kernel_tls",
    "ssl_min_version", "resp_obj_mem_limit", "bind_to_numa", "ext_path"};

bool apply_extended(std::string_view item, Settings* s, std::string* error) {
  std::string_view key = item;
  std::string_view value;
  if (auto eq = item.find('='); eq != std::string_view::npos) {
    key = item.substr(0, eq);
    value = item.substr(eq + 1);
  }
  bool known = false;
  for (auto name : kKnownExtendedOptions) known = known || name == key;
  if (!known) {
    *error = "Illegal suboption \"" + std::string(item) + "\"";
    return false;
  }
  uint64_t number = 0;
  auto need_number = [&]() {
    if (!parse_u64(value, &number)) {
      *error = "Invalid value for -o " + std::string(key) + ": \"" + std::string(value) + "\"";
      return false;
    }
    return true;
  };
  if (key == "hashpower") {
    if (!need_number()) return false;
    if (number < 12 || number > 32) {
      *error = "Initial hashtable multiplier of " + std::to_string(number) +
               " is too low or too high (12..32)";
      return false;
    }
    s->hashpower_init = static_cast<uint32_t>(number);
  } else if (key == "idle_timeout") {
    if (!need_number()) return false;
    s->idle_timeout = static_cast<uint32_t>(number);
  } else if (key == "slab_chunk_max") {
    // Bytes, as memcached 1.6.18 reads it (its --help says kilobytes; its code does not).
    std::size_t bytes = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), bytes);
    if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
      *error = "could not parse argument to slab_chunk_max";
      return false;
    }
    if (bytes == 0) {  // memcached divides by it and dies of SIGFPE
      *error = "slab_chunk_max (bytes: 0) must be greater than 0";
      return false;
    }
    s->slab_chunk_max = bytes;
  } else if (key == "track_sizes") {
    s->track_sizes = true;
  } else if (key == "maxconns_fast") {
    s->maxconns_fast = true;
  } else if (key == "no_maxconns_fast") {
    s->maxconns_fast = false;
  } else if (!apply_engine_option(key, value, &s->engine, error)) {
    return false;
  }
  s->extended.emplace_back(item);
  return true;
}

}  // namespace

bool parse_size(const std::string& text, std::size_t* bytes) {
  if (text.empty()) return false;
  std::string_view digits = text;
  uint64_t multiplier = 1;
  switch (digits.back()) {
    case 'k': case 'K': multiplier = uint64_t{1} << 10; break;
    case 'm': case 'M': multiplier = uint64_t{1} << 20; break;
    case 'g': case 'G': multiplier = uint64_t{1} << 30; break;
    default: break;
  }
  if (multiplier != 1) digits.remove_suffix(1);
  uint64_t value = 0;
  if (!parse_u64(digits, &value) || value > (uint64_t{1} << 44) / multiplier) return false;
  *bytes = static_cast<std::size_t>(value * multiplier);
  return true;
}

const char* binding_protocol_name(BindingProtocol protocol) {
  switch (protocol) {
    case BindingProtocol::kAscii: return "ascii";
    case BindingProtocol::kBinary: return "binary";
    case BindingProtocol::kAuto: break;
  }
  return "auto-negotiate";
}

ParseOutcome parse_settings(int argc, char** argv, Settings* s) {
  CLI::App app{"kiokud " KIOKU_VERSION
               " - a memcached-compatible, multithreaded cache daemon\n"
               "(accepts memcached 1.6 flags, short and long forms)",
               "kiokud"};
  app.option_defaults()->always_capture_default();
  std::string memory_limit = "64";
  std::string item_size_max = "1m";
  std::string protocol = "auto";
  std::string unix_mask = "700";
  std::string listen;
  std::vector<std::string> extended;
  bool version = false;
  bool disable_evictions = false;
  bool disable_cas = false;
  bool disable_flush = false;
  int verbose = 0;

  // The option table: memcached's names, Kioku's defaults (memcached's, except -t).
  app.add_option("-p,--port", s->port, "TCP port to listen on")->capture_default_str();
  app.add_option("-U,--udp-port", s->udp_port, "UDP port (0 = off, the default)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // as memcached: the last -U wins
  app.add_option("-s,--unix-socket", s->unix_socket, "UNIX socket to listen on (disables TCP)");
  app.add_option("-a,--unix-mask", unix_mask, "access mask for the UNIX socket, in octal");
  app.add_option("-l,--listen", listen,
                 "interfaces to listen on, comma separated or repeated; notls:ADDR stays "
                 "plain with -Z (default: all; use 127.0.0.1 unless the network is trusted)")
      ->multi_option_policy(CLI::MultiOptionPolicy::Join)  // as memcached: -l adds up
      ->delimiter(',');
  app.add_flag("-d,--daemon", s->daemonize, "run as a daemon");
  app.add_flag("-r,--enable-coredumps", s->enable_coredumps, "maximize core file limit");
  app.add_option("-u,--user", s->user, "assume the identity of this user (when run as root)");
  app.add_option("-m,--memory-limit", memory_limit,
                 "item memory in megabytes (or with a k/m/g suffix)");
  app.add_flag("-M,--disable-evictions", disable_evictions,
               "return an error when memory is exhausted instead of evicting");
  app.add_option("-c,--conn-limit", s->max_connections, "max simultaneous connections");
  app.add_flag("-k,--lock-memory", s->lock_memory, "lock down all paged memory");
  app.add_flag("-v,--verbose", verbose, "verbose (-vv: very verbose, -vvv: extremely)");
  app.add_flag("-V,--version", version, "print version and exit");
  app.add_option("-P,--pidfile", s->pid_file, "save the PID in this file (removed at exit)");
  app.add_option("-f,--slab-growth-factor", s->growth_factor, "chunk size growth factor");
  app.add_option("-n,--slab-min-size", s->chunk_size,
                 "minimum space allocated for key + value + flags");
  app.add_flag("-L,--enable-largepages", s->large_pages,
               "back item memory with huge pages where the kernel allows");
  app.add_option("-D", s->stat_prefix, "delimiter between key prefixes and IDs in stats");
  app.add_option("-t,--threads", s->threads, "worker threads (default: number of cores)");
  app.add_option("-R,--max-reqs-per-event", s->reqs_per_event,
                 "max requests processed per connection event, for fairness");
  app.add_flag("-C,--disable-cas", disable_cas, "disable use of CAS");
  app.add_option("-b,--listen-backlog", s->backlog, "TCP listen backlog");
  app.add_option("-B,--protocol", protocol,
                 "protocol: auto (each connection by its first byte), ascii or binary");
  app.add_option("-I,--max-item-size", item_size_max,
                 "max item size, k/m suffixes allowed (1k..1024m)");
  app.add_flag("-S,--enable-sasl", s->sasl,
               "turn on SASL authentication (binary protocol; Cyrus SASL app \"memcached\", "
               "config directory from $SASL_CONF_PATH)");
  app.add_flag("-A,--enable-shutdown", s->shutdown_command, "enable the ascii shutdown command");
  app.add_flag("-F,--disable-flush-all", disable_flush, "disable flush_all");
  app.add_option("-Y,--auth-file", s->auth_file,
                 "ascii authentication: a file of user:password lines; a connection "
                 "authenticates with \"set <any> 0 0 <n>\\r\\nuser password\\r\\n\"");
  app.add_flag("-Z,--enable-ssl", s->ssl,
               "enable TLS on TCP (TLS 1.2+; -o ssl_chain_cert=,ssl_key=,ssl_ca_cert=,"
               "ssl_verify_mode=,ssl_min_version=,ssl_ciphers=)");
  app.add_option("-o,--extended", extended, "comma separated memcached extended options");
  // Operations. The config file takes the long option names ("memory-limit = 1024"); an
  // option given on the command line wins over the file.
  app.set_config("--config", "", "read options from this file (long names, name = value)")
      ->check(CLI::ExistingFile);
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt name fails the start
  app.add_option("--log-file", s->log_file,
                 "append log lines to this file instead of stderr (SIGHUP reopens it)");
  app.add_option("--metrics-listen", s->metrics_listen,
                 "serve Prometheus metrics at http://HOST:PORT/metrics (default: off)");
  std::string cluster_nodes;
  app.add_option("--cluster-nodes", cluster_nodes,
                 "node list served to auto-discovery clients by \"config get cluster\": "
                 "host:port or host|ip|port, comma separated");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = app.exit(e);
    return status == 0 ? ParseOutcome::kExitSuccess : ParseOutcome::kExitFailure;
  }
  if (auto* config = app.get_config_ptr(); config != nullptr && config->count() > 0) {
    s->config_file = config->as<std::string>();
  }
  if (version) {
    std::printf("kiokud %s (memcached %s compatible)\n", KIOKU_VERSION, kMemcachedVersion);
    return ParseOutcome::kExitSuccess;
  }

  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "kiokud: %s\n", message.c_str());
    return ParseOutcome::kExitFailure;
  };

  // -m is megabytes unless it carries a suffix.
  std::size_t bytes = 0;
  bool has_suffix = !memory_limit.empty() && !std::isdigit(static_cast<unsigned char>(
                                                 memory_limit.back()));
  if (!parse_size(memory_limit, &bytes)) return fail("invalid -m value: " + memory_limit);
  s->memory_limit = has_suffix ? bytes : bytes << 20;
  if (s->memory_limit == 0) return fail("-m must be at least 1 megabyte");

  if (!parse_size(item_size_max, &s->item_size_max)) {
    return fail("invalid -I value: " + item_size_max);
  }
  if (s->growth_factor <= 1.0) return fail("Factor must be greater than 1");
  if (s->chunk_size == 0) return fail("Chunk size must be greater than 0");
  if (s->max_connections == 0) return fail("Number of connections must be greater than 0");
  if (s->reqs_per_event == 0) return fail("Number of requests per event must be greater than 0");

  if (protocol == "auto") {
    s->protocol = BindingProtocol::kAuto;
  } else if (protocol == "ascii") {
    s->protocol = BindingProtocol::kAscii;
  } else if (protocol == "binary") {
    s->protocol = BindingProtocol::kBinary;
  } else {
    return fail("Invalid value for binding protocol: " + protocol +
                " -- should be one of auto, binary, or ascii");
  }

  uint64_t mask = 0;
  auto [ptr, ec] = std::from_chars(unix_mask.data(), unix_mask.data() + unix_mask.size(), mask, 8);
  if (ec != std::errc() || ptr != unix_mask.data() + unix_mask.size() || mask > 0777) {
    return fail("invalid -a mask: " + unix_mask);
  }
  s->unix_mask = static_cast<uint32_t>(mask);

  if (!listen.empty()) {
    std::string_view rest = listen;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view one = rest.substr(0, comma);
      if (!one.empty()) s->listen.emplace_back(one);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  for (const auto& group : extended) {
    std::string_view rest = group;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view one = rest.substr(0, comma);
      std::string error;
      if (!one.empty() && !apply_extended(one, s, &error)) return fail(error);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  // memcached 1.6.18's sizing rules, in its order, with its words and its exit status
  // (EX_USAGE): items larger than slab_chunk_max are chunked, so -I must be a whole number of
  // chunks and a chunk a whole fraction of the 1 MiB slab page.
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return ParseOutcome::kExitUsage;
  };
  const std::size_t item_max = s->item_size_max;
  if (item_max < 1024) return usage("Item max size cannot be less than 1024 bytes.");
  if (item_max > s->memory_limit / 2) {
    return usage("Cannot set item size limit higher than 1/2 of memory max.");
  }
  if (item_max > (std::size_t{1} << 30)) {
    return usage("Cannot set item size limit higher than a gigabyte.");
  }
  const std::size_t chunk_max = s->slab_chunk_max != 0 ? s->slab_chunk_max : kSlabPageSize / 2;
  if (chunk_max > item_max) {
    return usage("slab_chunk_max (bytes: " + std::to_string(chunk_max) +
                 ") cannot be larger than -I (item_size_max " + std::to_string(item_max) + ")");
  }
  if (item_max % chunk_max != 0) {
    return usage(
        "-I (item_size_max: " + std::to_string(item_max) +
        ") must be evenly divisible by slab_chunk_max (bytes: " + std::to_string(chunk_max) + ")");
  }
  if (kSlabPageSize % chunk_max != 0) {
    return usage("slab_chunk_max (bytes: " + std::to_string(chunk_max) +
                 ") must divide evenly into " + std::to_string(kSlabPageSize) +
                 " (slab_page_size)");
  }
  std::string error_message;
  if (!parse_cluster_nodes(cluster_nodes, &s->cluster_nodes, &error_message)) {
    return fail("--cluster-nodes: " + error_message);
  }
  // As memcached: SASL means the binary protocol, ascii auth the text protocol.
  const bool protocol_given = app.count("-B") > 0;
  if (s->sasl) {
    if (protocol_given && s->protocol != BindingProtocol::kBinary) {
      return fail("ERROR: You cannot allow the ASCII protocol while using SASL.");
    }
    s->protocol = BindingProtocol::kBinary;
  }
  if (!s->auth_file.empty()) {
    if (protocol_given && s->protocol == BindingProtocol::kBinary) {
      return fail("ERROR: You cannot allow the BINARY protocol while using ascii "
                  "authentication tokens.");
    }
    s->protocol = BindingProtocol::kAscii;
    std::string error;
    if (!load_auth_file(s->auth_file, &s->auth_users, &error)) return fail(error);
  }

  s->evict_to_free = !disable_evictions;
  s->use_cas = !disable_cas;
  s->flush_enabled = !disable_flush;
  s->verbose = verbose;
  if (s->threads == 0) {
    s->threads = std::max(1u, std::thread::hardware_concurrency());
  }
  if (s->threads > 256) return fail("Number of threads must be at most 256");
  return ParseOutcome::kRun;
}

}  // namespace kioku::daemon
