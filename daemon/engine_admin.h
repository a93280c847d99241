// daemon/engine_admin.h — the memory engine's administration surface: its -o options, the
// "lru_crawler", "slabs" and "stats cachedump" commands, and its rows in "stats" and
// "stats settings".
//
// Owns: argument checking and memcached's exact reply texts for those commands. Must not:
// reach into slab/ internals (it uses Cache's public API) or do I/O (it appends to an
// OutputQueue).
#pragma once

#include <string>
#include <string_view>

#include "daemon/output_queue.h"
#include "slab/cache.h"

namespace kioku::daemon {

// One engine -o option (lru_maintainer, hot_lru_pct, ...). Returns false with *error set for
// a bad value; true (and changes nothing) for keys that are not engine options.
bool apply_engine_option(std::string_view key, std::string_view value, slab::CacheConfig* engine,
                         std::string* error);
// Copies the engine tuning fields from the parsed options into the cache's config.
void copy_engine_options(const slab::CacheConfig& from, slab::CacheConfig* to);

// "lru_crawler <args>" and "slabs <args>": args is the rest of the line.
void execute_lru_crawler(slab::Cache& cache, std::string_view args, OutputQueue& out);
void execute_slabs(slab::Cache& cache, std::string_view args, OutputQueue& out);
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
