// slab/lru_policy.h — the segmented LRU's knobs (memcached's names): CacheConfig gives their
// starting values, and "lru tune", "lru mode" and "lru temp_ttl" change them while it runs.
#pragma once

#include <cstdint>

namespace kioku::slab {

struct LruPolicy {
  bool segmented = true;  // HOT / WARM / COLD with the maintainer; false: one classic LRU
  uint32_t hot_pct = 20;
  uint32_t warm_pct = 40;
  double hot_max_factor = 0.2;
  double warm_max_factor = 2.0;
  bool temp_lru = false;
  uint32_t temporary_ttl = 61;
};

}  // namespace kioku::slab
