// slab/sharded_counter.h — a counter split over cache-line-sized shards, summed on read.
//
// Owns: nothing but the shards. Why: item and byte counts change on every store and delete;
// one atomic shared by all worker threads would bounce its cache line between cores. Each
// thread adds to its own shard (slab/thread_slot.h), so with up to kShards threads no two
// write the same line. Must not: be used where an exact read-modify-write is needed (reads are
// a sum of relaxed loads, exact only when writers are quiet).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "slab/thread_slot.h"

namespace kioku::slab {

class ShardedCounter {
 public:
  static constexpr std::size_t kShards = 64;

  void add(uint64_t delta) {
    shards_[thread_slot() % kShards].value.fetch_add(delta, std::memory_order_relaxed);
  }
  void sub(uint64_t delta) {
    shards_[thread_slot() % kShards].value.fetch_sub(delta, std::memory_order_relaxed);
  }
  uint64_t sum() const {
    uint64_t total = 0;  // modular: per-shard wraps cancel out
    for (const Slot& s : shards_) total += s.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> value{0};
  };
  std::array<Slot, kShards> shards_{};
};

}  // namespace kioku::slab
