// daemon/server.h — kiokud as a whole: listeners, the acceptor, workers, the clock, signals.
//
// Owns: the Cache, the worker threads, the listening sockets and the main event_base (accepts,
// the once-a-second clock tick, signal handling), and the server-wide counters and stats
// output. Must not: run requests itself; connections live on workers.
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/executor.h"
#include "daemon/settings.h"
#include "daemon/tls.h"
#include "daemon/udp_listener.h"
#include "daemon/thread_stats.h"
#include "daemon/worker.h"
#include "slab/cache.h"

namespace kioku::daemon {

class Server final : public ServerControl {
 public:
  explicit Server(const Settings& settings);
  ~Server() override;

  // Binds every listener. Returns false (after printing why) if one cannot be bound.
  bool listen();
  // Loads -Z's certificates so that connections are served over TLS; listen() calls it (TCP
  // only). Returns false after printing why. Public for the TLS fuzz target, which serves
  // socketpairs and never listens.
  bool enable_tls();
  // Runs until a stop signal or the shutdown command; returns the process exit status.
  int run();

  const Settings& settings() const { return settings_; }
  slab::Cache& cache() { return *cache_; }
  // The TLS context with -Z (TCP connections only), else nullptr.
  TlsContext* tls() { return tls_.get(); }
  int verbosity() const { return verbosity_.load(std::memory_order_relaxed); }
  // For readers on other threads (the metrics endpoint): workers live until run() returns.
  // Valid (and no longer resized) once serving() is true.
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }
  bool serving() const { return serving_.load(std::memory_order_acquire); }

  // Whether the accepted socket `fd` came through a "notls:" listener (-Z only): one
  // getsockname per connection, and only when such a listener exists.
  bool plain_listener(int fd) const;

  // Connection accounting, called by workers.
  void connection_closed() { curr_connections_.fetch_sub(1, std::memory_order_relaxed); }

  // ServerControl
  void write_general_stats(OutputQueue& out) override;
  void write_settings_stats(OutputQueue& out) override;
  void write_conns_stats(OutputQueue& out) override;
  void reset_stats() override;
  void request_shutdown() override;
  void set_verbosity(int level) override;
  WatchHub* watch_hub() override { return &watch_hub_; }
  PrefixStats* prefix_stats() override { return &prefix_stats_; }
  ClusterConfig& cluster_config() override { return cluster_config_; }
  void refresh_certs(OutputQueue& out) override;

 private:
  struct Listener {
    int fd = -1;
    std::string name;  // "tcp:127.0.0.1:11211" or "unix:/path"
    EventPtr event;
    bool plain = false;       // "-l notls:HOST" with -Z: this listener speaks plain text
    sockaddr_storage local{};  // what it is bound to (plain listeners only)
  };

  bool listen_tcp(const std::string& host);
  bool listen_unix();
  static void on_accept(evutil_socket_t fd, short what, void* arg);
  static void on_clock(evutil_socket_t fd, short what, void* arg);
  static void on_signal(evutil_socket_t fd, short what, void* arg);
  static void on_hangup(evutil_socket_t fd, short what, void* arg);
  void accept_from(int listen_fd);
  void begin_shutdown();
  StatsSnapshot totals();

  const Settings& settings_;
  WatchHub watch_hub_;  // before cache_: the cache reports evictions to it
  PrefixStats prefix_stats_;
  std::unique_ptr<slab::Cache> cache_;
  std::unique_ptr<TlsContext> tls_;
  EventBasePtr base_;
  std::vector<Listener> listeners_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<UdpListener> udp_;  // -U; its events live on the workers' bases
  unsigned next_worker_ = 0;
  EventPtr clock_event_;
  std::vector<EventPtr> signal_events_;
  EventPtr shutdown_event_;
  int64_t started_ = 0;
  unsigned clock_ticks_ = 0;  // for the periodic systemd STATUS= line
  ClusterConfig cluster_config_;

  std::atomic<int> verbosity_{0};
  std::atomic<uint64_t> curr_connections_{0};
  std::atomic<uint64_t> total_connections_{0};
  std::atomic<uint64_t> rejected_connections_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> serving_{false};  // workers_ built; other threads may read it

  std::mutex baseline_mutex_;
  StatsSnapshot baseline_;  // "stats reset" subtracts this
  uint64_t total_connections_baseline_ = 0;
  uint64_t rejected_connections_baseline_ = 0;
};

}  // namespace kioku::daemon
