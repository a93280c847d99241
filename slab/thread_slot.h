// slab/thread_slot.h — a small number per thread, for state split into per-thread shards.
//
// Threads are numbered 0, 1, 2, ... the first time they ask; callers take the number modulo
// their shard count, so with no more threads than shards no two threads write the same shard.
// One numbering serves every sharded structure (free lists, counters, hit counts), so a worker
// keeps to the same shard index in each.
#pragma once

#include <atomic>
#include <cstdint>

namespace kioku::slab {

inline uint32_t thread_slot() {
  static std::atomic<uint32_t> next{0};
  thread_local const uint32_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

}  // namespace kioku::slab
