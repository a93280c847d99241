// daemon/server.cc — see server.h.
#include "daemon/server.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "daemon/engine_admin.h"
#include "daemon/log.h"
#include "daemon/systemd_notify.h"
#include "daemon/version.h"
#include "protocol/text_composer.h"

namespace kioku::daemon {
namespace {

// As memcached: RelTime 0 lies a little in the past so that fresh items never look "just
// flushed" or un-bumpable in the first seconds.
constexpr int64_t kProcessStartSlack = 62;

slab::CacheConfig cache_config(const Settings& s, int64_t started) {
  slab::CacheConfig config;
  config.memory_limit = s.memory_limit;
  config.item_size_max = s.item_size_max;
  config.slab_chunk_max = s.slab_chunk_max;
  config.growth_factor = s.growth_factor;
  config.chunk_size = s.chunk_size;
  config.use_cas = s.use_cas;
  config.evict_to_free = s.evict_to_free;
  if (s.hashpower_init != 0) config.hashpower_init = s.hashpower_init;
  config.process_started = started;
  copy_engine_options(s.engine, &config);
  config.large_pages = s.large_pages;
  config.track_sizes = s.track_sizes;
  return config;
}

std::string describe_peer(const sockaddr_storage& addr, socklen_t length) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return "tcp:" + std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "tcp6:[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  (void)length;
  return "unix:";
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

}  // namespace

Server::Server(const Settings& settings)
    : settings_(settings), prefix_stats_(settings.stat_prefix),
      cluster_config_(settings.cluster_nodes) {
  started_ = std::time(nullptr);
  slab::CacheConfig config = cache_config(settings, started_ - kProcessStartSlack);
  config.on_evict = [](void* hub_ptr, const slab::CacheConfig::EvictedItem& item) {
    auto* hub = static_cast<WatchHub*>(hub_ptr);
    if ((hub->mask() & kWatchEvictions) == 0) return;
    hub->eviction(item.key, item.fetched, item.ttl, item.last_access, item.slab_class, item.size);
  };
  config.on_evict_context = &watch_hub_;
  cache_ = std::make_unique<slab::Cache>(config);
  cache_->tick(started_);
  verbosity_.store(settings.verbose);
  base_.reset(event_base_new());
}

Server::~Server() {
  for (auto& worker : workers_) {
    worker->request_stop();
    worker->join();
  }
  udp_.reset();  // its events are on the workers' bases
  workers_.clear();
  for (auto& listener : listeners_) {
    listener.event.reset();
    if (listener.fd >= 0) ::close(listener.fd);
  }
  if (!settings_.unix_socket.empty()) ::unlink(settings_.unix_socket.c_str());
}

bool Server::enable_tls() {
  std::string error;
  tls_ = TlsContext::create(settings_, &error);
  if (!tls_) {
    std::fprintf(stderr, "kiokud: %s\n", error.c_str());
    return false;
  }
  return true;
}

bool Server::listen() {
  if (!settings_.unix_socket.empty()) return listen_unix();
  if (settings_.ssl && !enable_tls()) return false;
  // UDP first: a client that sees the TCP port accept (a readiness check) may send a datagram
  // at once, and one that arrives before the UDP bind is simply lost.
  if (settings_.udp_port != 0) {
    udp_ = std::make_unique<UdpListener>(*this);
    if (!udp_->bind(settings_.listen, settings_.udp_port)) return false;
  }
  if (settings_.listen.empty()) {
    if (!listen_tcp("")) return false;
  }
  for (const std::string& host : settings_.listen) {
    if (!listen_tcp(host)) return false;
  }
  return true;
}

bool Server::listen_tcp(const std::string& listen_spec) {
  // "-l notls:host[:port]": with -Z, memcached serves this one listener without TLS.
  constexpr std::string_view kNoTls = "notls:";
  const bool plain = std::string_view(listen_spec).starts_with(kNoTls);
  if (plain && !settings_.ssl) {
    std::fprintf(stderr, "kiokud: 'notls' option is valid only when SSL is enabled\n");
    return false;
  }
  const std::string host_spec = plain ? listen_spec.substr(kNoTls.size()) : listen_spec;
  // "-l host" or "-l host:port" (memcached allows a port suffix per address).
  std::string host = host_spec;
  std::string port = std::to_string(settings_.port);
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string::npos) {
      if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
      host = host.substr(1, close - 1);
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    port = host.substr(host.find(':') + 1);
    host = host.substr(0, host.find(':'));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    std::fprintf(stderr, "kiokud: getaddrinfo(%s): %s\n", host_spec.c_str(), gai_strerror(rc));
    return false;
  }
  bool bound_any = false;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      int error = errno;
      ::close(fd);
      if (error == EADDRNOTAVAIL || error == EAFNOSUPPORT) continue;
      std::fprintf(stderr, "kiokud: failed to listen on TCP port %s: %s\n", port.c_str(),
                   std::strerror(error));
      freeaddrinfo(found);
      return false;
    }
    if (::listen(fd, static_cast<int>(settings_.backlog)) != 0) {
      std::fprintf(stderr, "kiokud: listen(): %s\n", std::strerror(errno));
      ::close(fd);
      freeaddrinfo(found);
      return false;
    }
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    Listener listener;
    listener.fd = fd;
    listener.name = describe_peer(local, length);
    listener.plain = plain;
    listener.local = local;
    if (plain) listener.name = "notls:" + listener.name;
    listeners_.push_back(std::move(listener));
    bound_any = true;
  }
  freeaddrinfo(found);
  if (!bound_any) {
    std::fprintf(stderr, "kiokud: could not bind any address for \"%s\"\n", host_spec.c_str());
  }
  return bound_any;
}

bool Server::plain_listener(int fd) const {
  if (!tls_) return false;
  bool any_plain = false;
  for (const Listener& listener : listeners_) any_plain = any_plain || listener.plain;
  if (!any_plain) return false;
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return false;
  for (const Listener& listener : listeners_) {
    if (!listener.plain || listener.local.ss_family != local.ss_family) continue;
    // A wildcard listener matches any local address on its port.
    if (local.ss_family == AF_INET) {
      const auto& want = reinterpret_cast<const sockaddr_in&>(listener.local);
      const auto& got = reinterpret_cast<const sockaddr_in&>(local);
      const bool any = want.sin_addr.s_addr == htonl(INADDR_ANY);
      if (want.sin_port == got.sin_port && (any || want.sin_addr.s_addr == got.sin_addr.s_addr)) {
        return true;
      }
    } else if (local.ss_family == AF_INET6) {
      const auto& want = reinterpret_cast<const sockaddr_in6&>(listener.local);
      const auto& got = reinterpret_cast<const sockaddr_in6&>(local);
      if (want.sin6_port == got.sin6_port &&
          (IN6_IS_ADDR_UNSPECIFIED(&want.sin6_addr) ||
           std::memcmp(&want.sin6_addr, &got.sin6_addr, sizeof got.sin6_addr) == 0)) {
        return true;
      }
    }
  }
  return false;
}

bool Server::listen_unix() {
  const std::string& path = settings_.unix_socket;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "kiokud: unix socket path too long: %s\n", path.c_str());
    return false;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::unlink(path.c_str());  // a stale socket from an earlier run, as memcached does
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  mode_t old_umask = ::umask(~settings_.unix_mask & 0777);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (rc != 0 || ::listen(fd, static_cast<int>(settings_.backlog)) != 0) {
    std::fprintf(stderr, "kiokud: failed to listen on unix socket %s: %s\n", path.c_str(),
                 std::strerror(errno));
    ::close(fd);
    return false;
  }
  Listener listener;
  listener.fd = fd;
  listener.name = "unix:" + path;
  listeners_.push_back(std::move(listener));
  return true;
}

int Server::run() {
  for (unsigned i = 0; i < settings_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
  }
  if (udp_) {
    for (auto& worker : workers_) udp_->attach(*worker);
  }
  for (auto& worker : workers_) worker->start();
  for (auto& listener : listeners_) {
    listener.event.reset(
        event_new(base_.get(), listener.fd, EV_READ | EV_PERSIST, &Server::on_accept, this));
    event_add(listener.event.get(), nullptr);
  }
  clock_event_.reset(event_new(base_.get(), -1, EV_PERSIST, &Server::on_clock, this));
  timeval second{1, 0};
  event_add(clock_event_.get(), &second);
  for (int signo : {SIGTERM, SIGINT, SIGUSR1}) {
    EventPtr ev(evsignal_new(base_.get(), signo, &Server::on_signal, this));
    event_add(ev.get(), nullptr);
    signal_events_.push_back(std::move(ev));
  }
  EventPtr hangup(evsignal_new(base_.get(), SIGHUP, &Server::on_hangup, this));
  event_add(hangup.get(), nullptr);
  signal_events_.push_back(std::move(hangup));
  // main() blocked these during start-up; from now on the loop handles them (a pending one
  // is delivered at once).
  sigset_t handled;
  sigemptyset(&handled);
  for (int signo : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&handled, signo);
  pthread_sigmask(SIG_UNBLOCK, &handled, nullptr);
  // The shutdown command arrives on a worker thread; it wakes the main loop through this.
  shutdown_event_.reset(event_new(base_.get(), -1, 0, &Server::on_signal, this));
  serving_.store(true, std::memory_order_release);
  if (verbosity() > 0) {
    for (const auto& listener : listeners_) {
      log_line(LogLevel::kInfo, "listening on %s", listener.name.c_str());
    }
    if (udp_) {
      for (const auto& name : udp_->names()) {
        log_line(LogLevel::kInfo, "listening on %s", name.c_str());
      }
    }
    log_line(LogLevel::kInfo, "kiokud %s ready: %u worker threads, %zu MB of item memory",
             KIOKU_VERSION, settings_.threads, settings_.memory_limit >> 20);
  }
  // Every listener is bound (listen()) and accepting, and the workers run: tell systemd.
  notify_ready(curr_connections_.load(), cache_->stats().curr_items);

  event_base_dispatch(base_.get());

  for (auto& worker : workers_) worker->request_stop();
  for (auto& worker : workers_) worker->join();
  udp_.reset();
  return 0;
}

void Server::on_accept(evutil_socket_t fd, short, void* arg) {
  static_cast<Server*>(arg)->accept_from(fd);
}

void Server::accept_from(int listen_fd) {
  for (int accepted = 0; accepted < 64; ++accepted) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        log_line(LogLevel::kWarning, "too many open files, accepting later");
      }
      return;
    }
    if (curr_connections_.load(std::memory_order_relaxed) >= settings_.max_connections) {
      // memcached's maxconns_fast behaviour: tell the client and hang up at once. Counted
      // first: a client that saw the reply may ask another connection for the stats at once.
      rejected_connections_.fetch_add(1, std::memory_order_relaxed);
      static constexpr std::string_view kBusy = protocol::kTooManyConnections;
      [[maybe_unused]] ssize_t n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    if (peer.ss_family != AF_UNIX) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    curr_connections_.fetch_add(1, std::memory_order_relaxed);
    total_connections_.fetch_add(1, std::memory_order_relaxed);
    Worker& worker = *workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    worker.dispatch(fd, describe_peer(peer, length));
  }
}

void Server::on_clock(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Server*>(arg);
  self->cache_->tick(std::time(nullptr));
  constexpr unsigned kStatusEverySeconds = 5;
  if (notify_enabled() && ++self->clock_ticks_ % kStatusEverySeconds == 0) {
    notify_status(self->curr_connections_.load(), self->cache_->stats().curr_items);
  }
}

void Server::on_hangup(evutil_socket_t, short, void*) {
  // logrotate moved the file: write to a fresh one under the configured name.
  if (!reopen_log_file()) log_line(LogLevel::kError, "could not reopen the log file");
}

void Server::on_signal(evutil_socket_t, short, void* arg) {
  static_cast<Server*>(arg)->begin_shutdown();
}

void Server::begin_shutdown() {
  if (verbosity() > 0) log_line(LogLevel::kNotice, "shutting down: draining connections");
  notify_stopping();
  // Stop accepting first, then let workers finish what they have queued.
  for (auto& listener : listeners_) listener.event.reset();
  event_base_loopbreak(base_.get());
}

void Server::request_shutdown() {
  if (shutting_down_.exchange(true)) return;
  event_active(shutdown_event_.get(), EV_TIMEOUT, 0);
}

void Server::set_verbosity(int level) { verbosity_.store(level, std::memory_order_relaxed); }

StatsSnapshot Server::totals() {
  StatsSnapshot sum;
  for (auto& worker : workers_) sum.add(worker->stats());
  std::lock_guard lock(baseline_mutex_);
  sum.subtract(baseline_);
  return sum;
}

void Server::reset_stats() {
  StatsSnapshot now;
  for (auto& worker : workers_) now.add(worker->stats());
  std::lock_guard lock(baseline_mutex_);
  baseline_ = now;
  total_connections_baseline_ = total_connections_.load();
  rejected_connections_baseline_ = rejected_connections_.load();
  if (tls_) tls_->reset_stats();
  prefix_stats_.clear();
}

void Server::refresh_certs(OutputQueue& out) {
  // memcached answers "OK", or its error message as the whole line.
  std::string error;
  if (tls_ == nullptr) {
    out.append("Error TLS not enabled\r\n");
  } else if (tls_->refresh(&error)) {
    out.append("OK\r\n");
  } else {
    out.append(error + "\r\n");
  }
}

void Server::write_general_stats(OutputQueue& out) {
  const int64_t now = std::time(nullptr);
  StatsSnapshot t = totals();
  slab::CacheStats c = cache_->stats();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  char text[64];
  auto text_stat = [&](std::string_view name, const char* format, auto value) {
    int n = std::snprintf(text, sizeof text, format, value);
    append_stat(out, name, std::string_view(text, static_cast<std::size_t>(n)));
  };
  uint64_t total_connections, rejected_connections;
  {
    std::lock_guard lock(baseline_mutex_);
    total_connections = total_connections_.load() - total_connections_baseline_;
    rejected_connections = rejected_connections_.load() - rejected_connections_baseline_;
  }
  append_stat(out, "pid", static_cast<uint64_t>(::getpid()));
  append_stat(out, "uptime", static_cast<uint64_t>(now - started_));
  append_stat(out, "time", static_cast<uint64_t>(now));
  append_stat(out, "version", kMemcachedVersion);
  append_stat(out, "kioku_version", KIOKU_VERSION);
  append_stat(out, "libevent", event_get_version());
  append_stat(out, "pointer_size", static_cast<uint64_t>(8 * sizeof(void*)));
  text_stat("rusage_user", "%.6f", seconds(usage.ru_utime));
  text_stat("rusage_system", "%.6f", seconds(usage.ru_stime));
  append_stat(out, "max_connections", settings_.max_connections);
  append_stat(out, "curr_connections", curr_connections_.load());
  append_stat(out, "total_connections", total_connections);
  append_stat(out, "rejected_connections", rejected_connections);
  append_stat(out, "connection_structures", curr_connections_.load() + listeners_.size());
  append_stat(out, "cmd_get", t.get_cmds);
  append_stat(out, "cmd_set", t.set_cmds);
  append_stat(out, "cmd_flush", t.flush_cmds);
  append_stat(out, "cmd_touch", t.touch_cmds);
  append_stat(out, "cmd_meta", t.meta_cmds);
  append_stat(out, "get_hits", t.get_hits);
  append_stat(out, "get_misses", t.get_misses);
  append_stat(out, "get_expired", c.get_expired);
  append_stat(out, "get_flushed", c.get_flushed);
  append_stat(out, "delete_misses", t.delete_misses);
  append_stat(out, "delete_hits", t.delete_hits);
  append_stat(out, "incr_misses", t.incr_misses);
  append_stat(out, "incr_hits", t.incr_hits);
  append_stat(out, "decr_misses", t.decr_misses);
  append_stat(out, "decr_hits", t.decr_hits);
  append_stat(out, "cas_misses", t.cas_misses);
  append_stat(out, "cas_hits", t.cas_hits);
  append_stat(out, "cas_badval", t.cas_badval);
  append_stat(out, "touch_hits", t.touch_hits);
  append_stat(out, "touch_misses", t.touch_misses);
  append_stat(out, "store_too_large", t.store_too_large);
  append_stat(out, "store_no_memory", t.store_no_memory);
  append_stat(out, "auth_cmds", t.auth_cmds);
  append_stat(out, "auth_errors", t.auth_errors);
  append_stat(out, "bytes_read", t.bytes_read);
  append_stat(out, "bytes_written", t.bytes_written);
  append_stat(out, "limit_maxbytes", c.limit_maxbytes);
  append_stat(out, "accepting_conns", shutting_down_.load() ? 0 : 1);
  append_stat(out, "listen_disabled_num", 0);
  append_stat(out, "time_in_listen_disabled_us", 0);
  append_stat(out, "threads", settings_.threads);
  append_stat(out, "conn_yields", t.conn_yields);
  append_stat(out, "hash_power_level", c.hash_power_level);
  append_stat(out, "hash_bytes", c.hash_bytes);
  append_stat(out, "hash_is_expanding", c.hash_is_expanding ? 1 : 0);
  append_engine_thread_stats(*cache_, out);
  append_stat(out, "malloc_fails", c.malloc_fails);
  append_stat(out, "bytes", c.bytes);
  append_stat(out, "curr_items", c.curr_items);
  append_stat(out, "total_items", c.total_items);
  append_stat(out, "slab_global_page_pool", c.slab_global_page_pool);
  append_stat(out, "expired_unfetched", c.expired_unfetched);
  append_stat(out, "evicted_unfetched", c.evicted_unfetched);
  append_stat(out, "evicted_active", c.evicted_active);
  append_stat(out, "evictions", c.evictions);
  append_stat(out, "reclaimed", c.reclaimed);
  append_engine_item_stats(*cache_, out);
  append_stat(out, "total_malloced", c.total_malloced);
  if (tls_) tls_->write_stats(out, now);

}

void Server::write_settings_stats(OutputQueue& out) {
  const Settings& s = settings_;
  char text[64];
  auto text_stat = [&](std::string_view name, const char* format, auto value) {
    int n = std::snprintf(text, sizeof text, format, value);
    append_stat(out, name, std::string_view(text, static_cast<std::size_t>(n)));
  };
  std::string inter;
  for (const auto& host : s.listen) inter += (inter.empty() ? "" : ",") + host;
  append_stat(out, "maxbytes", static_cast<uint64_t>(cache_->config().memory_limit));
  append_stat(out, "maxconns", s.max_connections);
  append_stat(out, "tcpport", s.unix_socket.empty() ? s.port : 0);
  append_stat(out, "udpport", s.udp_port);
  append_stat(out, "inter", inter.empty() ? std::string_view("NULL") : std::string_view(inter));
  append_stat(out, "verbosity", static_cast<uint64_t>(verbosity()));
  append_stat(out, "oldest", 0);
  append_stat(out, "evictions", s.evict_to_free ? "on" : "off");
  append_stat(out, "domain_socket",
              s.unix_socket.empty() ? std::string_view("NULL") : std::string_view(s.unix_socket));
  text_stat("umask", "%o", s.unix_mask);
  append_stat(out, "shutdown_command", s.shutdown_command ? "yes" : "no");
  text_stat("growth_factor", "%.2f", s.growth_factor);
  append_stat(out, "chunk_size", s.chunk_size);
  append_stat(out, "num_threads", s.threads);
  append_stat(out, "stat_key_prefix", std::string_view(&s.stat_prefix, 1));
  append_stat(out, "detail_enabled", prefix_stats_.enabled() ? "yes" : "no");
  append_stat(out, "reqs_per_event", s.reqs_per_event);
  append_stat(out, "cas_enabled", s.use_cas ? "yes" : "no");
  append_stat(out, "tcp_backlog", s.backlog);
  append_stat(out, "binding_protocol", binding_protocol_name(s.protocol));
  append_stat(out, "auth_enabled_sasl", s.sasl ? "yes" : "no");
  // memcached shows the -Y file's path here when ascii auth is on.
  append_stat(out, "auth_enabled_ascii",
              s.auth_file.empty() ? std::string_view("no") : std::string_view(s.auth_file));
  append_stat(out, "item_size_max", static_cast<uint64_t>(s.item_size_max));
  append_stat(out, "maxconns_fast", s.maxconns_fast ? "yes" : "no");
  append_stat(out, "hashpower_init", s.hashpower_init);
  append_engine_settings(*cache_, out);
  append_stat(out, "flush_enabled", s.flush_enabled ? "yes" : "no");
  append_stat(out, "idle_timeout", s.idle_timeout);
  if (tls_) {
    tls_->write_settings(out);
  } else {
    append_stat(out, "ssl_enabled", "no");
  }
  for (const std::string& option : s.extended) append_stat(out, "extended_option", option);

}

void Server::write_conns_stats(OutputQueue& out) {
  for (auto& listener : listeners_) {
    char name[64];
    int n = std::snprintf(name, sizeof name, "%d:addr", listener.fd);
    append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), listener.name);
    n = std::snprintf(name, sizeof name, "%d:state", listener.fd);
    append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), "conn_listening");
  }
  for (auto& worker : workers_) worker->write_conns_stats(out);

}

}  // namespace kioku::daemon
