// daemon/connection.h — one client connection's state machine, owned by one worker for life.
//
// Owns: the socket, its read buffer, its pending output and its libevent event. Reads bytes,
// frames them into requests with protocol/, hands each to the Executor, and writes the gathered
// replies with one sendmsg per batch. Must not: know command semantics (that is the executor's)
// or be touched by any thread but its worker's.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/binary_executor.h"
#include "daemon/executor.h"
#include "daemon/meta_executor.h"
#include "daemon/output_queue.h"
#include "daemon/transport.h"

namespace kioku::daemon {

class Worker;

class Connection {
 public:
  Connection(Worker& worker, int fd, std::string peer);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers the read event; false if libevent refused.
  bool start();
  // Graceful stop: read no more, flush what is queued, then close.
  void drain();

  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }
  // Where the worker's registry keeps this connection (only the worker reads or sets it).
  uint32_t registry_slot() const { return registry_slot_; }
  void set_registry_slot(uint32_t slot) { registry_slot_ = slot; }
  const char* state_name() const;
  // Seconds since the last command, or 0 while a reply is still being written (memcached's
  // idle_timeout never cuts a connection that is receiving data).
  int64_t idle_for(int64_t now) const {
    return state_.load(std::memory_order_relaxed) == State::kReading ? now - last_command_time()
                                                                      : 0;
  }
  int64_t last_command_time() const { return last_command_time_.load(std::memory_order_relaxed); }

 private:
  enum class State : uint8_t { kReading, kWriting, kClosing };

  static void on_event(evutil_socket_t fd, short what, void* arg);
  // Each returns false once the connection must be destroyed.
  bool on_readable();
  bool on_writable();
  bool read_from_socket();
  void process_input();
  bool flush_output();
  void set_interest(short events);
  void compact_input();
  void ensure_input_capacity(std::size_t bytes);
  // Meta commands (connection_meta.cc): consumes one meta request from `pending` if it is one.
  enum class MetaStep : uint8_t { kNotMeta, kNeedMore, kDone, kClose };
  MetaStep process_meta_input(std::string_view pending);
  // The worker's text executor, told which client it serves (for logs and "watch").
  Executor& executor();

  // --- Protocol choice (-B, -S, -Y): daemon/connection_binary.cc, connection_ascii_auth.cc.
  // kUndecided until the first byte arrives; then fixed for the connection's life, except that
  // kAsciiAuth becomes kText once a -Y "set" authenticates.
  enum class Framing : uint8_t { kUndecided, kText, kBinary, kAsciiAuth };
  void choose_framing();
  void process_binary_input();
  // False while the connection is still unauthenticated (nothing more to parse now).
  bool process_ascii_auth_input();

  // Small fields first and together: an idle connection costs this object plus its libevent
  // event, so padding is paid once per connection, thousands of times. The executors are the
  // worker's (one per thread), not per connection, for the same reason.
  Worker& worker_;
  int fd_;
  short interest_ = 0;
  // Atomic only because "stats conns" on another worker reads them.
  std::atomic<State> state_{State::kReading};
  bool close_after_write_ = false;
  // lru_crawler metadump in progress: its rows go out before any later request is read.
  std::optional<MetadumpCursor> dump_;
  bool draining_ = false;
  bool yielded_ = false;  // -R cut the last batch short; input is still buffered
  bool plain_ = false;    // accepted through a "notls:" listener while -Z is on
  Framing framing_ = Framing::kUndecided;
  uint32_t registry_slot_ = 0;
  std::atomic<int64_t> last_command_time_{0};
  std::string peer_;
  event* event_ = nullptr;

  std::vector<char> input_;
  std::size_t input_start_ = 0;  // first unprocessed byte
  std::size_t input_end_ = 0;    // one past the last byte read
  std::size_t need_bytes_ = 0;   // don't parse again until this many unprocessed bytes
  uint64_t swallow_bytes_ = 0;   // value bytes of a refused store still to discard

  OutputQueue output_;
  std::unique_ptr<BinaryExecutor> binary_executor_;  // created when binary is chosen
  std::unique_ptr<Transport> transport_;  // TLS (-Z); null for plain TCP and unix sockets
};

}  // namespace kioku::daemon
