// daemon/executor.h — turns one parsed text request into cache calls and reply bytes.
//
// Owns: the meaning of each text command (which Cache call, which reply, which counters).
// Must not: do I/O or parse bytes; it receives TextRequests and appends to an OutputQueue.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "daemon/cluster_config.h"
#include "daemon/engine_admin.h"
#include "daemon/output_queue.h"
#include "daemon/prefix_stats.h"
#include "daemon/settings.h"
#include "daemon/thread_stats.h"
#include "daemon/watch_hub.h"
#include "protocol/text_parser.h"
#include "slab/cache.h"

namespace kioku::daemon {

// What the executor needs from the server as a whole (stats of every worker, shutdown).
class ServerControl {
 public:
  virtual ~ServerControl() = default;
  virtual void write_general_stats(OutputQueue& out) = 0;
  virtual void write_settings_stats(OutputQueue& out) = 0;
  virtual void write_conns_stats(OutputQueue& out) = 0;
  virtual void reset_stats() = 0;
  virtual void request_shutdown() = 0;
  virtual void set_verbosity(int level) = 0;
  // The `watch` streams; nullptr where there are none (unit tests).
  virtual WatchHub* watch_hub() { return nullptr; }
  // "stats detail"; nullptr where there is none (unit tests).
  virtual PrefixStats* prefix_stats() { return nullptr; }
  virtual ClusterConfig& cluster_config() = 0;
  // "refresh_certs": reloads the TLS certificates and appends the reply. Not pure, so that
  // test doubles need not care.
  virtual void refresh_certs(OutputQueue& out) { out.append("ERROR\r\n"); }
};

enum class ExecuteOutcome : uint8_t {
  kContinue,
  kCloseAfterWrite,  // quit, shutdown: flush what is queued, then close
  kStreamDump,       // lru_crawler metadump: take_dump() has the rows, to send as they go
};

class Executor {
 public:
  Executor(const Settings& settings, slab::Cache& cache, ThreadStats& stats,
           ServerControl& control)
      : settings_(settings), cache_(cache), stats_(stats), control_(control),
        watch_(control.watch_hub()), prefixes_(control.prefix_stats()) {}

  ExecuteOutcome execute(const protocol::TextRequest& request, OutputQueue& out);

  // The client socket, for `watch` (its fd becomes a watcher) and the events' cfd= field.
  void set_client_fd(int fd) { client_fd_ = fd; }
  // The client's TLS session, if any: `watch` hands it to the watch hub with the socket.
  void set_client_transport(std::unique_ptr<Transport>* transport) { client_transport_ = transport; }
  // Whether anybody watches `flag`: one relaxed load (nothing else when nobody does).
  bool watched(WatchFlag flag) const {
    return watch_ != nullptr && (watch_->mask() & flag) != 0;
  }

  // After kStreamDump: the dump the command started (the caller sends it before any later
  // reply).
  std::optional<MetadumpCursor> take_dump() { return std::exchange(dump_, std::nullopt); }

  // Replies for a storage command refused before its value is read (too large).
  void reply_too_large(const protocol::TextRequest& request, OutputQueue& out);
  // "stats detail" counts a storage command as a set as soon as its line is read, also when
  // its value then turns out bad (as memcached): the connection calls this on those paths.
  void count_prefix_set(std::string_view key) {
    if (prefixes_ != nullptr) prefixes_->record_set(key);
  }

 private:
  // False when the reply outgrew kMaxReplyOwnedBytes and was cut short with a SERVER_ERROR.
  bool retrieve(const protocol::TextRequest& request, OutputQueue& out);
  void store(const protocol::TextRequest& request, OutputQueue& out);
  void arithmetic(const protocol::TextRequest& request, OutputQueue& out);
  void stats(const protocol::TextRequest& request, OutputQueue& out);
  void stats_detail(std::string_view args, OutputQueue& out);  // "detail on|off|dump"
  void cache_memlimit(const protocol::TextRequest& request, OutputQueue& out);
  void log_mutation(const protocol::TextRequest& request, slab::StoreResult result);

  const Settings& settings_;
  slab::Cache& cache_;
  ThreadStats& stats_;
  ServerControl& control_;
  WatchHub* watch_;
  PrefixStats* prefixes_;
  int client_fd_ = -1;
  std::unique_ptr<Transport>* client_transport_ = nullptr;
  std::optional<MetadumpCursor> dump_;
};

// Writes "STAT name value\r\n" lines.
void append_stat(OutputQueue& out, std::string_view name, uint64_t value);
void append_stat(OutputQueue& out, std::string_view name, std::string_view value);

}  // namespace kioku::daemon
