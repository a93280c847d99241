// tests/slab/test_support.h — shared helpers for the slab tests: a config with a fixed clock
// origin and short ways to read values back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "slab/cache.h"

namespace kioku::slab::test {

inline constexpr int64_t kStart = 1'700'000'000;  // process_started in every test

inline CacheConfig small_config() {
  CacheConfig c;
  c.memory_limit = std::size_t{64} << 20;
  c.hashpower_init = 12;
  c.process_started = kStart;
  return c;
}

// The value under key, or nullopt on a miss.
inline std::optional<std::string> value_of(Cache& cache, std::string_view key) {
  ItemRef ref = cache.get(key);
  if (!ref) return std::nullopt;
  return std::string(ref.value_copy());
}

// prefix + n. (GCC 12 at -O3 warns falsely on `"lit" + std::to_string(n)`: -Wrestrict.)
inline std::string numbered(std::string_view prefix, uint64_t n) {
  std::string out(prefix);
  out.append(std::to_string(n));
  return out;
}

inline StoreResult set(Cache& cache, std::string_view key, std::string_view value,
                       int64_t exptime = 0) {
  return cache.store(StoreMode::kSet, key, 0, exptime, value);
}

// Whether the cache has evicted yet, looked at on every 64th call only (`i` counts the calls
// from 0): Cache::stats() adds up every class's LRU lists, and asking it once per store made
// fill loops most of the sanitizer builds' test time. A fill overshoots by under 64 stores.
inline bool evicting_yet(Cache& cache, uint64_t i) {
  return i % 64 == 63 && cache.stats().evictions != 0;
}

}  // namespace kioku::slab::test
