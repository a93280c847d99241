// daemon/meta_executor.h — turns one parsed meta request (mg ms md ma mn me) into cache calls and
// reply bytes.
//
// Owns: the meaning of each meta command and flag (which Cache call, which status code, which
// return flags, which counters), matching memcached 1.6.18 byte for byte where it has the flag.
// Must not: do I/O or parse bytes; it receives MetaRequests and appends to an OutputQueue.
#pragma once

#include "daemon/output_queue.h"
#include "daemon/settings.h"
#include "daemon/thread_stats.h"
#include "protocol/meta_parser.h"
#include "slab/cache.h"

namespace kioku::daemon {

class MetaExecutor {
 public:
  MetaExecutor(const Settings& settings, slab::Cache& cache, ThreadStats& stats)
      : settings_(settings), cache_(cache), stats_(stats) {}

  void execute(const protocol::MetaRequest& request, OutputQueue& out);
  // An ms refused before its value is read (too large for any slab class or for -I).
  void reply_too_large(const protocol::MetaRequest& request, OutputQueue& out);

 private:
  void get(const protocol::MetaRequest& request, OutputQueue& out);
  void set(const protocol::MetaRequest& request, OutputQueue& out);
  void remove(const protocol::MetaRequest& request, OutputQueue& out);
  void arithmetic(const protocol::MetaRequest& request, OutputQueue& out);
  void debug(const protocol::MetaRequest& request, OutputQueue& out);

  const Settings& settings_;
  slab::Cache& cache_;
  ThreadStats& stats_;
};

}  // namespace kioku::daemon
