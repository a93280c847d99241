// slab/lru.h — one doubly linked recency list per slab class, with its per-class counters.
//
// Owns: list order (head = most recent), the per-class LRU mutex and the "stats items"
// counters that eviction updates while holding it.
// Must not: take stripe locks (the caller's eviction code try-locks them while holding an LRU
// mutex, never the other way round with blocking), free memory, or look at hash tables.
// A later change brings memcached's segmented HOT/WARM/COLD lists; callers only use this API.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "slab/item.h"
#include "slab/slab_allocator.h"

namespace kioku::slab {

// memcached's ITEM_UPDATE_INTERVAL: an item is moved to the head at most once a minute.
inline constexpr RelTime kItemUpdateInterval = 60;

struct LruCounters {
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;
  uint64_t evicted_time = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t outofmemory = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
};

class Lru {
 public:
  struct List {
    std::mutex mu;
    Item* head = nullptr;
    Item* tail = nullptr;
    uint64_t count = 0;
    uint64_t bytes = 0;  // sum of total_size() of the items on the list (mem_requested)
    LruCounters counters;
  };

  List& list(uint8_t id) { return lists_[id]; }

  void link(Item* item);    // takes the class's LRU mutex
  void unlink(Item* item);  // takes the class's LRU mutex
  // With the list's mutex held:
  static void link_locked(List& list, Item* item);
  static void unlink_locked(List& list, Item* item);

  // Moves a linked item to the head if it was last bumped more than kItemUpdateInterval ago.
  // try_only: give up rather than wait for the LRU mutex (the get path never waits on it).
  void bump(Item* item, RelTime now, bool try_only);

 private:
  std::array<List, kMaxSlabClasses + 1> lists_;
};

}  // namespace kioku::slab
