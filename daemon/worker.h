// daemon/worker.h — one worker thread: an event_base, the connections it owns, its counters.
//
// Owns: its thread, its libevent base, a notify eventfd through which the acceptor hands over
// new sockets (and the stop request), and every Connection assigned to it. Must not: share a
// connection with another worker or take a lock on the request path.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <sys/uio.h>

#include "daemon/buffer_pool.h"
#include "daemon/command_latency.h"
#include "daemon/executor.h"
#include "daemon/meta_executor.h"
#include "daemon/thread_stats.h"

namespace kioku::daemon {

class Connection;
class Server;

struct EventBaseDeleter {
  void operator()(event_base* base) const { event_base_free(base); }
};
struct EventDeleter {
  void operator()(event* ev) const { event_free(ev); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;

class Worker {
 public:
  Worker(Server& server, unsigned id);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Called from the acceptor thread: hand a connected socket to this worker.
  void dispatch(int fd, std::string peer);
  // Called from any thread: finish in-flight replies, close every connection, end the thread.
  void request_stop();
  void join();

  Server& server() { return server_; }
  event_base* base() { return base_.get(); }
  ThreadStats& stats() { return stats_; }
  CommandLatency& latency() { return latency_; }
  unsigned id() const { return id_; }
  BufferPool& buffers() { return buffers_; }
  OutputPools& output_pools() { return output_pools_; }
  std::span<iovec> iov_scratch() { return iov_scratch_; }
  // One executor per protocol per worker, shared by its connections (they run one at a time on
  // this thread), so an idle connection does not carry five references each.
  Executor& executor() { return executor_; }
  MetaExecutor& meta_executor() { return meta_executor_; }

  // Called by a connection from its own callback once it is finished; destroys it.
  void destroy(Connection* connection);
  // Appends one "stats conns" block per connection (takes the registry lock, not hot).
  void write_conns_stats(OutputQueue& out);

 private:
  static void on_notify(evutil_socket_t fd, short what, void* arg);
  static void on_idle_check(evutil_socket_t fd, short what, void* arg);
  void close_idle_connections();
  void accept_pending();
  void begin_stop();

  Server& server_;
  unsigned id_;
  EventBasePtr base_;
  int notify_fd_ = -1;
  EventPtr notify_event_;
  EventPtr idle_event_;  // -o idle_timeout: once a second
  std::thread thread_;
  ThreadStats stats_;
  CommandLatency latency_;
  BufferPool buffers_;
  OutputPools output_pools_{buffers_};
  std::vector<iovec> iov_scratch_ = std::vector<iovec>(1024);
  Executor executor_;
  MetaExecutor meta_executor_;

  std::mutex pending_mutex_;
  std::vector<std::pair<int, std::string>> pending_;
  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;

  // Registry of live connections. Only this worker mutates it; the lock exists for "stats
  // conns" readers on other threads and is taken on connect and close only.
  std::mutex connections_mutex_;
  // A vector, not a map: each connection knows its slot (Connection::registry_slot), removal
  // swaps the last one in. Saves a hash node and a bucket per connection.
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace kioku::daemon
