// daemon/watch_hub.h — the `watch` command: live event streams in memcached's logger formats.
//
// Owns: the watcher sockets (handed over by the connection that sent `watch`), one bounded
// buffer of pending lines per watcher, the thread that writes them out, and the event mask.
// Must not: cost the request path more than one relaxed atomic load while nobody watches
// (callers test mask() first) or block an emitting worker (a slow watcher loses lines and is
// told how many, instead).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/transport.h"

namespace kioku::daemon {

enum WatchFlag : uint32_t {
  kWatchFetchers = 1u << 0,
  kWatchMutations = 1u << 1,
  kWatchEvictions = 1u << 2,
  kWatchConnEvents = 1u << 3,
};

class WatchHub {
 public:
  // Pending bytes a watcher may have before new lines are dropped (counted, then reported).
  static constexpr std::size_t kMaxPending = std::size_t{4} << 20;

  WatchHub();
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // The hot-path check: which event kinds anybody watches.
  uint32_t mask() const { return mask_.load(std::memory_order_relaxed); }

  // "fetchers mutations" -> flags; no words means fetchers (as memcached). False on an unknown
  // word (memcached answers ERROR).
  static bool parse_flags(std::string_view arguments, uint32_t* flags);

  // Streams events to a duplicate of `client_fd`: `earlier` (replies the connection had not
  // sent yet), "OK\r\n", then its events, through `transport` when the client speaks TLS (the
  // hub then owns the session). False if the descriptor could not be duplicated; the transport
  // is then lost and the caller must close the connection.
  bool add_watcher_of(int client_fd, uint32_t flags, std::unique_ptr<Transport> transport = {},
                      std::string_view earlier = {});

  // One event: `body` is the part after "ts=... gid=... " (without the newline).
  void emit(WatchFlag kind, std::string_view body);

  // Formatters for the memcached 1.6 logger lines.
  void item_get(std::string_view key, const char* status, unsigned clsid, int cfd, uint64_t size);
  void item_store(std::string_view key, const char* status, const char* command, int64_t ttl,
                  unsigned clsid, int cfd, uint64_t size);
  void eviction(std::string_view key, bool fetched, int64_t ttl, int64_t last_access,
                unsigned clsid, uint64_t size);
  // peer: "tcp:1.2.3.4:5678", "tcp6:[::1]:5678" or "unix:..."; reason empty for conn_new.
  void conn_event(const char* type, std::string_view peer, const char* reason, int cfd);

 private:
  struct Watcher {
    int fd = -1;
    std::unique_ptr<Transport> transport;  // TLS session taken over from the connection
    uint32_t flags = 0;
    std::string pending;
    uint64_t skipped = 0;
  };

  void run();
  void wake();
  void recompute_mask_locked();

  std::atomic<uint32_t> mask_{0};
  std::atomic<uint64_t> next_gid_{1};
  int wake_fd_ = -1;  // eventfd
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // watchers_ and their buffers; never held across a syscall that blocks
  std::vector<Watcher> watchers_;
  std::once_flag started_;
  std::thread thread_;  // started with the first watcher
};

}  // namespace kioku::daemon
