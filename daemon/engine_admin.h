// daemon/engine_admin.h — the memory engine's administration surface: its -o options, the
// "lru_crawler", "slabs" and "stats cachedump" commands, and its rows in "stats" and
// "stats settings".
//
// Owns: argument checking and memcached's exact reply texts for those commands. Must not:
// reach into slab/ internals (it uses Cache's public API) or do I/O (it appends to an
// OutputQueue).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/output_queue.h"
#include "slab/cache.h"

namespace kioku::daemon {

// One engine -o option (lru_maintainer, hot_lru_pct, ...). Returns false with *error set for
// a bad value; true (and changes nothing) for keys that are not engine options.
bool apply_engine_option(std::string_view key, std::string_view value, slab::CacheConfig* engine,
                         std::string* error);
// Copies the engine tuning fields from the parsed options into the cache's config.
void copy_engine_options(const slab::CacheConfig& from, slab::CacheConfig* to);

// "lru_crawler metadump": its rows, made a few lock stripes at a time as the client takes
// them, so a dump of millions of items never sits in memory whole (memcached streams it too).
// Items stored or removed while it runs may or may not be listed.
class MetadumpCursor {
 public:
  explicit MetadumpCursor(std::vector<bool> classes) : classes_(std::move(classes)) {}
  // Appends rows until at least `budget` bytes are pending in out or the table ends, then
  // "END\r\n". True once END is appended.
  bool produce(slab::Cache& cache, OutputQueue& out, std::size_t budget);

 private:
  std::vector<bool> classes_;  // empty: all
  uint64_t next_stripe_ = 0;
};

// "lru_crawler <args>" and "slabs <args>": args is the rest of the line. A metadump that
// passes its checks is not written to out: *dump gets its cursor.
void execute_lru_crawler(slab::Cache& cache, std::string_view args, OutputQueue& out,
                         std::optional<MetadumpCursor>* dump);
void execute_slabs(slab::Cache& cache, std::string_view args, OutputQueue& out);
// "lru tune <hot pct> <warm pct> <hot max factor> <warm max factor>", "lru mode flat|segmented"
// and "lru temp_ttl <seconds>" (below 0: TEMP off): the segmented LRU's knobs at run time.
void execute_lru(slab::Cache& cache, std::string_view args, OutputQueue& out);
// "stats cachedump <class> <limit>" (what libmemcached's memcdump sends). Writes the whole
// reply, END or error included.
void execute_cachedump(slab::Cache& cache, std::string_view args, OutputQueue& out);

// Rows of "stats": the block memcached prints after hash_is_expanding, and the one after
// "reclaimed".
void append_engine_thread_stats(const slab::Cache& cache, OutputQueue& out);
void append_engine_item_stats(const slab::Cache& cache, OutputQueue& out);
// Rows of "stats settings".
void append_engine_settings(const slab::Cache& cache, OutputQueue& out);

}  // namespace kioku::daemon
