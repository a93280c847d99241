// slab/lru.h — memcached's segmented LRU: per slab class, HOT / WARM / COLD lists (plus TEMP
// for short TTLs), with the per-class counters that "stats items" reports.
//
// Owns: list order (head = most recent), the per-class LRU mutex, segment placement of newly
// linked items, the maintainer's moves between segments (lru_maintainer.cc drives them) and
// the counters. Must not: take stripe locks (the caller's eviction and reclaim code try-locks
// them while holding an LRU mutex, never the other way round with blocking), free memory, or
// look at hash tables.
//
// Why segments: with the maintainer on, a get only sets the item's "active" bit and never
// takes the LRU mutex. New items enter HOT; the maintainer moves HOT's tail to COLD (or to
// WARM if it was read while in HOT), keeps WARM within its share by demoting its tail to COLD
// (re-queueing active ones), and promotes active items found at COLD's tail to WARM.
// Eviction takes COLD's tail. One-hit wonders therefore never push re-read items out.
// With the maintainer off, every item lives in COLD and gets bump it (the classic LRU).
//
// Why shards: each class has kLruShards independent lists, and an item's list is picked by a
// hash of its chunk reference. Every store links its new item and unlinks the one it replaces,
// and each of those touches neighbours that are cache misses while the list's mutex is held;
// with one list per class (as memcached has) that mutex caps set throughput at about one
// core's worth however many workers run. Eviction takes the tail of one shard at a time, which
// with items spread at random over shards is as old, within noise, as a single list's tail.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "slab/item.h"
#include "slab/lru_policy.h"
#include "slab/slab_allocator.h"

namespace kioku::slab {

// memcached's ITEM_UPDATE_INTERVAL: an item is moved to the head at most once a minute.
inline constexpr RelTime kItemUpdateInterval = 60;

inline constexpr uint32_t kLruShardBits = 3;
inline constexpr uint32_t kLruShards = 1u << kLruShardBits;

enum LruSegment : uint8_t { kHot = 0, kWarm = 1, kCold = 2, kTemp = 3 };
inline constexpr int kLruSegments = 4;

struct LruCounters {
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;
  uint64_t evicted_time = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t outofmemory = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t direct_reclaims = 0;

  // Adds another list's counters: counts add up, evicted_time (the age of the last item
  // evicted) keeps the larger.
  LruCounters& operator+=(const LruCounters& o) {
    evicted += o.evicted;
    evicted_nonzero += o.evicted_nonzero;
    evicted_time = evicted_time > o.evicted_time ? evicted_time : o.evicted_time;
    evicted_unfetched += o.evicted_unfetched;
    evicted_active += o.evicted_active;
    outofmemory += o.outofmemory;
    reclaimed += o.reclaimed;
    expired_unfetched += o.expired_unfetched;
    moves_to_cold += o.moves_to_cold;
    moves_to_warm += o.moves_to_warm;
    moves_within_lru += o.moves_within_lru;
    direct_reclaims += o.direct_reclaims;
    return *this;
  }
};

class Lru {
 public:
  struct Segment {
    ItemRefId head = 0;
    ItemRefId tail = 0;
    uint64_t count = 0;
    uint64_t bytes = 0;  // sum of total_size() (mem_requested)
  };
  struct alignas(64) List {
    std::mutex mu;
    std::array<Segment, kLruSegments> seg;
    LruCounters counters;
    uint64_t count() const { return seg[0].count + seg[1].count + seg[2].count + seg[3].count; }
    uint64_t bytes() const { return seg[0].bytes + seg[1].bytes + seg[2].bytes + seg[3].bytes; }
  };

  Lru(const SlabAllocator& slabs, const LruPolicy& policy) : slabs_(slabs) { set_policy(policy); }

  // An item's list: fixed while it is linked (the slab mover, which gives an item a new chunk,
  // relinks it by its new reference).
  uint32_t shard_of(const Item* item) const {
    return (slabs_.ref_of(item) * 2654435761u) >> (32 - kLruShardBits);
  }
  List& list(uint8_t id, uint32_t shard) { return lists_[id][shard]; }
  List& list_of(const Item* item) { return lists_[slabs_.class_of(item)][shard_of(item)]; }
  // The policy can change while the cache runs ("lru tune", "lru mode", "lru temp_ttl"): its
  // fields are atomics, read where used; policy() is a snapshot of them all.
  LruPolicy policy() const;
  void set_policy(const LruPolicy& policy);
  bool segmented() const { return segmented_.load(std::memory_order_relaxed); }
  const SlabAllocator& slabs() const { return slabs_; }
  Item* item_at(ItemRefId ref) const { return slabs_.item_at(ref); }

  // Links into the segment a new item belongs in (HOT, TEMP or, unsegmented, COLD).
  void link(Item* item, RelTime now);  // takes the class's LRU mutex
  void unlink(Item* item);             // takes the class's LRU mutex
  // With the list's mutex held:
  void link_locked(List& list, Item* item, LruSegment seg);
  void unlink_locked(List& list, Item* item);
  void move_locked(List& list, Item* item, LruSegment to) {
    unlink_locked(list, item);
    link_locked(list, item, to);
  }

  // A hit. Segmented: marks the item fetched, then active, and refreshes its time; never
  // locks. Unsegmented: moves it to the head if last bumped more than kItemUpdateInterval ago;
  // try_only gives up rather than wait for the mutex.
  void touch(Item* item, RelTime now, bool try_only);

  // Hits on class id's items while they were in segment s ("stats items" hits_to_*).
  uint64_t hits(uint8_t id, LruSegment s) const;

  // The maintainer's pass over one class: demotes HOT / WARM tails, re-queues active items
  // and promotes active COLD tails, looking at most budget items per shard. Unsegmented
  // ("lru mode flat" at run time) it moves what HOT and WARM still hold to COLD instead, so
  // that one LRU order governs every item again. Returns moves made.
  int juggle(uint8_t id, RelTime now, int budget);

 private:
  int juggle_list(List& l, RelTime now, int budget);
  int drain_to_cold(List& l, int budget);

  const SlabAllocator& slabs_;
  std::atomic<bool> segmented_{true};
  std::atomic<uint32_t> hot_pct_{20};
  std::atomic<uint32_t> warm_pct_{40};
  std::atomic<double> hot_max_factor_{0.2};
  std::atomic<double> warm_max_factor_{2.0};
  std::atomic<bool> temp_lru_{false};
  std::atomic<uint32_t> temporary_ttl_{61};
  std::array<std::array<List, kLruShards>, kMaxSlabClasses + 1> lists_;
  // Hits by class and segment, bumped by every get without a lock: one cache line per class
  // and thread slot (slab/thread_slot.h), so gets on different workers never
  // write the same line.
  static constexpr uint32_t kHitSlots = 16;
  struct alignas(64) HitCounts {
    std::array<std::atomic<uint64_t>, kLruSegments> seg{};
  };
  std::unique_ptr<std::array<HitCounts, kHitSlots>[]> hits_ =
      std::make_unique<std::array<HitCounts, kHitSlots>[]>(kMaxSlabClasses + 1);
};

}  // namespace kioku::slab
