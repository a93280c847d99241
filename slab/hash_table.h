// slab/hash_table.h — the key -> item index: chained buckets that grow without stopping the world.
//
// Owns: the bucket arrays, the item count, and the background thread that migrates buckets
// from the old table into one twice as large (memcached's assoc.c design).
// Must not: allocate or free items, touch the LRU, or decide liveness; every find/insert/remove
// is made by a caller that already holds the key's stripe lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "slab/item.h"
#include "slab/item_locks.h"
#include "slab/sharded_counter.h"
#include "slab/slab_allocator.h"

namespace kioku::slab {

// 64-bit hash for short keys: murmur3's 64-bit mixing on 8-byte words and its fmix64 finaliser.
// std::hash is unspecified (libstdc++'s is fine, others are identity-like for integers) and
// the stripe and bucket choice both use the low bits, so they must be well mixed.
uint64_t hash_key(std::string_view key);

class HashTable {
 public:
  HashTable(uint32_t hashpower, ItemLocks& locks, const SlabAllocator& slabs);
  ~HashTable();  // stops the expansion thread
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;

  // All three: caller holds locks.for_hash(hv).
  Item* find(std::string_view key, uint64_t hv) const;
  void insert(Item* item, uint64_t hv);
  void remove(Item* item, uint64_t hv);

  uint32_t hashpower() const { return hashpower_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return (uint64_t{1} << hashpower()) * sizeof(ItemRefId); }
  bool expanding() const { return next_.load(std::memory_order_relaxed) != nullptr; }
  uint64_t items() const { return items_.sum(); }

  // Calls fn(Item*) for every item whose key hashes to stripe `stripe`; the caller holds that
  // stripe's lock. fn may remove the item it is given (the crawler and metadump use this).
  template <typename Fn>
  void for_each_in_stripe(uint64_t stripe, Fn&& fn) {
    const Table* next = next_.load(std::memory_order_acquire);
    const Table* cur = cur_.load(std::memory_order_acquire);
    for (const Table* t : {cur, next}) {
      if (t == nullptr) continue;
      for (uint64_t b = stripe; b <= t->mask(); b += locks_.count()) {
        for (ItemRefId ref = t->buckets[b]; ref != 0;) {
          Item* it = slabs_.item_at(ref);
          ref = it->h_next;
          fn(it);
        }
      }
    }
  }

 private:
  struct Table {
    explicit Table(uint32_t p) : power(p), buckets(new ItemRefId[std::size_t{1} << p]()) {}
    uint64_t mask() const { return (uint64_t{1} << power) - 1; }
    uint32_t power;
    std::unique_ptr<ItemRefId[]> buckets;  // 32-bit chunk references: half a pointer table
  };

  ItemRefId* bucket(uint64_t hv) const;
  void expansion_loop();
  bool migrate(Table& from, Table& to);  // false if asked to stop part way

  ItemLocks& locks_;
  const SlabAllocator& slabs_;
  // No moment ever needs every stripe (memcached pauses all workers instead). Readers, each
  // holding its key's stripe, load next_ then cur_; the expander publishes next_ before moving
  // any bucket, moves bucket b under b's stripe and then advances cursor_, and at the end
  // stores cur_ = next before clearing next_. Whatever a reader sees, it picks the table that
  // holds its bucket (see bucket()).
  std::unique_ptr<Table> owned_cur_;
  std::unique_ptr<Table> owned_next_;
  std::atomic<Table*> cur_;
  std::atomic<Table*> next_{nullptr};
  // Buckets of cur_ below this index have moved to next_. Advanced under the bucket's stripe
  // lock, so a reader holding that stripe sees an exact answer for its own bucket.
  std::atomic<uint64_t> cursor_{0};
  std::atomic<uint32_t> hashpower_;
  ShardedCounter items_;  // only decides when to grow: see insert()

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool want_expand_ = false;
  std::thread thread_;
};

}  // namespace kioku::slab
