// daemon/thread_stats.h — per-worker command counters.
//
// Each counter has exactly one writer (its worker thread), so increments are a relaxed load and
// store: no lock and no atomic read-modify-write on the hot path. The stats command reads every
// worker's counters with relaxed loads; "stats reset" records a baseline instead of writing
// into another thread's counters.
#pragma once

#include <atomic>
#include <cstdint>

namespace kioku::daemon {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n,
                                          std::memory_order_relaxed); }
  uint64_t load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// The X-macro lists each counter once: its memcached stat name is the field name.
#define KIOKU_THREAD_COUNTERS(X) \
  X(get_cmds)                    \
  X(get_hits)                    \
  X(get_misses)                  \
  X(set_cmds)                    \
  X(touch_cmds)                  \
  X(touch_hits)                  \
  X(touch_misses)                \
  X(delete_hits)                 \
  X(delete_misses)               \
  X(incr_hits)                   \
  X(incr_misses)                 \
  X(decr_hits)                   \
  X(decr_misses)                 \
  X(cas_hits)                    \
  X(cas_misses)                  \
  X(cas_badval)                  \
  X(flush_cmds)                  \
  X(store_too_large)             \
  X(store_no_memory)             \
  X(bytes_read)                  \
  X(bytes_written)               \
  X(conn_yields)                 \
  X(auth_cmds)                   \
  X(auth_errors)                 \
  X(meta_cmds)

struct ThreadStats {
#define KIOKU_DECLARE_COUNTER(name) Counter name;
  KIOKU_THREAD_COUNTERS(KIOKU_DECLARE_COUNTER)
#undef KIOKU_DECLARE_COUNTER
};

// A plain snapshot (sum over workers).
struct StatsSnapshot {
#define KIOKU_DECLARE_VALUE(name) uint64_t name = 0;
  KIOKU_THREAD_COUNTERS(KIOKU_DECLARE_VALUE)
#undef KIOKU_DECLARE_VALUE

  void add(const ThreadStats& t) {
#define KIOKU_ADD_COUNTER(name) name += t.name.load();
    KIOKU_THREAD_COUNTERS(KIOKU_ADD_COUNTER)
#undef KIOKU_ADD_COUNTER
  }
  void subtract(const StatsSnapshot& base) {
#define KIOKU_SUB_COUNTER(name) name -= base.name;
    KIOKU_THREAD_COUNTERS(KIOKU_SUB_COUNTER)
#undef KIOKU_SUB_COUNTER
  }
};

}  // namespace kioku::daemon
