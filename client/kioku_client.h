// client/kioku_client.h — a memcached client for a cluster of Kioku (or memcached) nodes.
//
// Owns: one NodeConnection per node, the ring that maps keys to nodes (client/ketama), the
// auto-eject state (client/failure_tracker) and, when built from a configuration endpoint, the
// auto-discovery poll that rebuilds the node list when `config get cluster` reports a new
// version. Keyed operations speak text or meta (ClientOptions::protocol; meta requests and
// replies live in client/meta_codec). Operations are blocking and run in the caller's thread;
// a multi-key get sends one request to every node involved before reading any reply, then
// merges. Must not: throw on
// network errors (they come back as Result codes) or be shared between threads unlocked.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/failure_tracker.h"
#include "client/ketama.h"
#include "client/node_connection.h"
#include "client/reply_reader.h"
#include "client/server_list.h"

namespace kioku::client {

struct MetaReply;  // client/meta_codec.h

enum class Result : uint8_t {
  kOk,           // STORED, DELETED, TOUCHED, OK, a hit, a number
  kNotStored,    // NOT_STORED
  kExists,       // EXISTS (cas)
  kNotFound,     // NOT_FOUND, or a get miss
  kServerError,  // ERROR / CLIENT_ERROR / SERVER_ERROR: see last_error()
  kNoServer,     // every node is ejected (or the list is empty)
  kIoError,      // the node failed: connect, send, receive, timeout, malformed reply
  kInvalidKey,   // empty, longer than 250 bytes, or holding a space or control character
};

// What memcached's text protocol accepts as a key (checked before anything is sent).
bool valid_key(std::string_view key);

std::string_view result_name(Result r);

// Which protocol keyed operations speak. Meta maps each onto mg/ms/md/ma (multi-get: quiet mg
// per key, ended by mn); flush_all, stats and version stay text, which meta servers also speak.
enum class WireProtocol : uint8_t { kText, kMeta };
std::string_view wire_protocol_name(WireProtocol protocol);

struct ClientOptions {
  WireProtocol protocol = WireProtocol::kText;
  Distribution distribution = Distribution::kKetamaWeighted;
  KeyHash hash = KeyHash::kMd5;
  std::chrono::milliseconds timeout{1000};
  FailurePolicy failure;
  std::chrono::milliseconds poll_interval{60000};  // auto-discovery
  std::function<TimePoint()> clock;                // default: steady_clock::now
};

enum class NodeState : uint8_t { kLive, kEjected };

struct NodeStatus {
  ServerSpec spec;
  NodeState state = NodeState::kLive;
  uint32_t consecutive_failures = 0;
};

// A per-node answer for the commands that go to every node (stats, version, flush_all).
struct NodeReply {
  ServerSpec node;
  Result result = Result::kOk;
  std::string text;  // version: the version string; errors: the message
  std::vector<std::pair<std::string, std::string>> stats;
};

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };
std::string_view store_mode_command(StoreMode mode);

class KiokuClient {
 public:
  // A fixed node list.
  KiokuClient(std::vector<ServerSpec> servers, ClientOptions options);
  // Auto-discovery: reads the node list from `endpoint` with `config get cluster` now, and
  // again every poll interval (checked before each operation). Fails if the first read fails.
  static std::unique_ptr<KiokuClient> discover(const ServerSpec& endpoint, ClientOptions options,
                                               std::string* error);
  ~KiokuClient();

  Result store(StoreMode mode, std::string_view key, std::string_view value, uint32_t flags = 0,
               int64_t exptime = 0, uint64_t cas = 0);
  Result set(std::string_view key, std::string_view value, uint32_t flags = 0,
             int64_t exptime = 0) {
    return store(StoreMode::kSet, key, value, flags, exptime);
  }
  Result get(std::string_view key, Item* item) { return retrieve("get", key, item); }
  Result gets(std::string_view key, Item* item) { return retrieve("gets", key, item); }
  // Fans out per node (one pipelined request each), then merges; misses are simply absent.
  // Returns kOk unless a node failed (its keys are then missing too) or none is live.
  Result get_multi(const std::vector<std::string>& keys, std::vector<Item>* items,
                   bool with_cas = false);
  Result incr(std::string_view key, uint64_t delta, uint64_t* value);
  Result decr(std::string_view key, uint64_t delta, uint64_t* value);
  Result touch(std::string_view key, int64_t exptime);
  Result remove(std::string_view key);

  std::vector<NodeReply> flush_all(int64_t delay = 0);
  std::vector<NodeReply> stats(std::string_view arguments = {});
  std::vector<NodeReply> version();

  // Which node owns `key` now (ejected nodes excluded), as an index into nodes().
  std::optional<std::size_t> node_for(std::string_view key);
  std::vector<NodeStatus> nodes();
  const std::string& last_error() const { return last_error_; }

  // Auto-discovery: polls now. Returns true when the node list changed.
  bool refresh(std::string* error);
  uint64_t config_version() const { return config_version_; }
  bool discovering() const { return endpoint_ != nullptr; }

 private:
  struct Node {
    ServerSpec spec;
    std::unique_ptr<NodeConnection> connection;
  };

  TimePoint now() const;
  void set_nodes(std::vector<ServerSpec> servers);
  void before_operation();
  void rebuild_ring_if_needed(TimePoint now);
  // The node for a key, or nullopt (last_error_ set).
  std::optional<std::size_t> route(std::string_view key);
  void node_failed(std::size_t node);
  void node_answered(std::size_t node);
  // Sends `request` to `node` and reads one line; kIoError on failure.
  Result exchange_line(std::size_t node, std::string_view request, std::string* line);
  Result retrieve(std::string_view command, std::string_view key, Item* item);
  Result arithmetic(std::string_view command, std::string_view key, uint64_t delta,
                    uint64_t* value);
  Result simple(std::string_view key, const std::string& request, std::string_view success);
  // Meta: one request whose success is HD (md, mg with T).
  Result simple_meta(std::string_view key, const std::string& request);
  // Meta: sends each node's pipeline in `requests` (mn appended), then reads and merges.
  Result get_multi_meta(std::vector<std::string>& requests, std::vector<Item>* items,
                        Result result);
  Result error_result(std::string_view line);
  // Meta: sends `request` to `node` and reads one meta reply; kIoError on failure.
  Result exchange_meta(std::size_t node, std::string_view request, MetaReply* reply);
  // Meta: the Result for a reply that is not the operation's success code.
  Result meta_result(const MetaReply& reply);
  bool meta() const { return options_.protocol == WireProtocol::kMeta; }
  Result invalid_key(std::string_view key);

  ClientOptions options_;
  std::vector<Node> nodes_;
  std::vector<RingNode> ring_nodes_;
  FailureTracker failures_;
  std::unique_ptr<Ring> ring_;
  std::vector<bool> ring_live_;
  std::string last_error_;

  std::unique_ptr<NodeConnection> endpoint_;
  uint64_t config_version_ = 0;
  TimePoint next_poll_{};
};

}  // namespace kioku::client
