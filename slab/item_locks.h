// slab/item_locks.h — striped mutexes that guard hash chains and item state.
//
// Owns: 2^N mutexes, chosen by the low bits of a key's hash. N never exceeds the hash table's
// initial power, so one stripe covers whole buckets, in the old table and in the doubled one.
// Must not: be held while blocking on another stripe; nothing ever holds two stripes (the
// eviction path try-locks one while holding an LRU mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

namespace kioku::slab {

class ItemLocks {
 public:
  explicit ItemLocks(uint32_t power)
      : mask_((uint64_t{1} << power) - 1), locks_(new Stripe[mask_ + 1]) {}

  std::mutex& for_hash(uint64_t hv) { return locks_[hv & mask_].mu; }
  uint64_t mask() const { return mask_; }
  uint64_t count() const { return mask_ + 1; }
  std::mutex& at(uint64_t i) { return locks_[i].mu; }

 private:
  // One cache line per stripe: neighbouring stripes are hit by unrelated keys on other cores.
  struct alignas(64) Stripe {
    std::mutex mu;
  };
  uint64_t mask_;
  std::unique_ptr<Stripe[]> locks_;
};

}  // namespace kioku::slab
