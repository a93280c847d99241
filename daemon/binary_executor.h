// daemon/binary_executor.h — turns one framed binary-protocol request into cache calls and
// binary reply packets, with memcached 1.6.18's statuses, quiet rules and counters.
//
// Owns: the meaning of each binary opcode, and one connection's SASL state (-S). Must not: do
// I/O or frame bytes (daemon/connection_binary.cc does); it receives BinaryRequests and appends
// to an OutputQueue. One per binary connection, on that connection's worker.
#pragma once

#include <memory>
#include <string_view>

#include "daemon/buffer_pool.h"
#include "daemon/executor.h"
#include "daemon/output_queue.h"
#include "daemon/sasl_server.h"
#include "daemon/settings.h"
#include "daemon/thread_stats.h"
#include "protocol/binary_parser.h"
#include "slab/cache.h"

namespace kioku::daemon {

class BinaryExecutor {
 public:
  BinaryExecutor(const Settings& settings, slab::Cache& cache, ThreadStats& stats,
                 ServerControl& control, OutputPools& buffers);

  // `value`: the request's value bytes when check_binary_request said it reads one.
  ExecuteOutcome execute(const protocol::BinaryRequest& request, std::string_view value,
                         OutputQueue& out);

  // An error packet for `request` (any status memcached sends before executing).
  // `text`: empty for the status's usual text.
  void reply_error(const protocol::BinaryHeader& header, protocol::BinaryStatus status,
                   OutputQueue& out, std::string_view text = {});
  // A storage command whose value is too large to store: E2BIG (and a SET drops the old value,
  // as memcached does).
  void reply_too_large(const protocol::BinaryRequest& request, OutputQueue& out);

  // -S: whether this connection may run `opcode` (SASL, VERSION always; others once
  // authenticated).
  bool may_run(protocol::BinaryOpcode opcode) const;

 private:
  void retrieve(const protocol::BinaryRequest& request, protocol::BinaryOpcode op,
                OutputQueue& out);
  void store(const protocol::BinaryRequest& request, protocol::BinaryOpcode op,
             std::string_view value, OutputQueue& out);
  void arithmetic(const protocol::BinaryRequest& request, protocol::BinaryOpcode op,
                  OutputQueue& out);
  void remove(const protocol::BinaryRequest& request, OutputQueue& out);
  void flush(const protocol::BinaryRequest& request, OutputQueue& out);
  void stats(const protocol::BinaryRequest& request, OutputQueue& out);
  void sasl(const protocol::BinaryRequest& request, protocol::BinaryOpcode op,
            std::string_view value, OutputQueue& out);
  // A success packet: header (+ extras, key, body copied).
  void reply(const protocol::BinaryHeader& request, OutputQueue& out, uint64_t cas,
             std::string_view extras = {}, std::string_view key = {}, std::string_view body = {},
             protocol::BinaryStatus status = protocol::BinaryStatus::kSuccess);

  const Settings& settings_;
  slab::Cache& cache_;
  ThreadStats& stats_;
  ServerControl& control_;
  PrefixStats* prefixes_;  // "stats detail" (nullptr in unit tests)
  OutputPools& buffers_;
  bool authenticated_ = false;
  std::unique_ptr<SaslSession> sasl_;  // created on the first SASL command
};

}  // namespace kioku::daemon
