// tests/slab/concurrency_test.cc — many threads at once: hash table growth under load, exact
// incr totals, and readers racing with overwrites and eviction.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

TEST_CASE("hash table grows while other threads get, set and delete", "[slab][concurrency][hash]") {
  CacheConfig config = small_config();
  config.hashpower_init = 10;
  config.memory_limit = std::size_t{256} << 20;
  Cache cache(config);
  constexpr int kKeys = 200000;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad_reads{0};
  std::vector<std::thread> churn;
  for (int t = 0; t < 4; ++t) {
    churn.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!done.load(std::memory_order_relaxed)) {
        const std::string k = numbered("r", rng() % 5000);
        switch (rng() % 3) {
          case 0:
            cache.store(StoreMode::kSet, k, 0, 0, k);
            break;
          case 1:
            if (ItemRef ref = cache.get(k); ref && ref.value_copy() != k) bad_reads.fetch_add(1);
            break;
          default:
            cache.remove(k);
        }
      }
    });
  }
  // Keys below `published` must be found at every moment, also while buckets migrate.
  std::atomic<int> published{0};
  std::atomic<uint64_t> lost{0};
  churn.emplace_back([&] {
    std::mt19937 rng(42);
    while (!done.load(std::memory_order_relaxed)) {
      const int n = published.load(std::memory_order_acquire);
      if (n == 0) continue;
      for (int j = 0; j < 64; ++j) {
        const std::string k = numbered("key:", rng() % static_cast<unsigned>(n));
        if (ItemRef ref = cache.get(k); !ref || ref.value_copy() != k) lost.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = numbered("key:", i);
    REQUIRE(cache.store(StoreMode::kSet, k, 0, 0, k) == StoreResult::kStored);
    published.store(i + 1, std::memory_order_release);
  }
  done = true;
  for (auto& t : churn) t.join();
  CHECK(bad_reads == 0);
  CHECK(lost == 0);
  int missing = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = numbered("key:", i);
    ItemRef ref = cache.get(k);
    if (!ref || ref.value_copy() != k) ++missing;
  }
  CHECK(missing == 0);
  const CacheStats s = cache.stats();
  CHECK(s.evictions == 0);
  CHECK(s.hash_power_level >= 17);  // 200k items > 1.5 * 2^16
  CHECK(s.hash_bytes == (uint64_t{1} << s.hash_power_level) * sizeof(uint32_t));  // 32-bit chunk refs
}

TEST_CASE("concurrent incr on shared keys gives exact totals", "[slab][concurrency][delta]") {
  Cache cache(small_config());
  constexpr int kThreads = 8;
  constexpr int kIncrs = 10000;
  const char* keys[] = {"c0", "c1", "c2", "c3"};
  for (const char* k : keys) REQUIRE(set(cache, k, "0") == StoreResult::kStored);
  std::atomic<bool> done{false};
  // A reader pinning the counters forces some increments down the new-item path.
  std::thread reader([&] {
    while (!done.load(std::memory_order_relaxed)) {
      for (const char* k : keys) {
        ItemRef ref = cache.get(k);
        if (ref) (void)ref.value_copy().size();
      }
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrs; ++i) {
        if (cache.delta(keys[(i + t) % 4], true, 1, nullptr).status != DeltaStatus::kOk)
          failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  CHECK(failures == 0);
  for (const char* k : keys) {
    ItemRef ref = cache.get(k);
    REQUIRE(ref);
    CHECK(std::stoull(std::string(ref.value_copy())) == kThreads * kIncrs / 4);
  }
}

TEST_CASE("readers see whole values while writers overwrite and evict",
          "[slab][concurrency][pin]") {
  CacheConfig config = small_config();
  config.memory_limit = 2u << 20;
  Cache cache(config);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> torn{0};
  std::atomic<uint64_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t + 100));
      for (int i = 0; i < 30000; ++i) {
        const char c = static_cast<char>('a' + rng() % 26);
        cache.store(StoreMode::kSet, numbered("w", rng() % 3000), 0, 0, std::string(900, c));
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t + 200));
      while (!done.load(std::memory_order_relaxed)) {
        ItemRef ref = cache.get(numbered("w", rng() % 3000));
        if (!ref) continue;
        hits.fetch_add(1, std::memory_order_relaxed);
        const std::string v = ref.value_copy();
        std::this_thread::yield();  // give writers time to replace or evict it
        if (v.size() != 900 || v.find_first_not_of(v[0]) != std::string_view::npos)
          torn.fetch_add(1);
      }
    });
  }
  threads[0].join();
  threads[1].join();
  done = true;
  threads[2].join();
  threads[3].join();
  CHECK(torn == 0);
  CHECK(hits > 0);
  CHECK(cache.stats().evictions > 0);
  CHECK(cache.stats().total_malloced <= 2u << 20);
}

TEST_CASE("append, incr and touch race on the same keys without losing updates",
          "[slab][concurrency]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "log", "") == StoreResult::kStored);
  REQUIRE(set(cache, "n", "0") == StoreResult::kStored);
  constexpr int kThreads = 4;
  constexpr int kOps = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        if (t % 2 == 0) {
          cache.store(StoreMode::kAppend, "log", 0, 0, "x");
        } else {
          cache.delta("n", true, 1, nullptr);
        }
        cache.touch(t % 2 == 0 ? "n" : "log", 1000 + i);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(value_of(cache, "log")->size() == kThreads / 2 * kOps);
  CHECK(std::stoull(*value_of(cache, "n")) == kThreads / 2 * kOps);
}

TEST_CASE("eviction picks among LRU lists while incr rewrites values and CAS in place",
          "[slab][concurrency][delta][eviction]") {
  // One page: the churn evicts all the time, and the eviction path compares the tails of the
  // class's LRU lists (time, then CAS) while incr rewrites a counter's CAS in place.
  CacheConfig config = small_config();
  config.memory_limit = 1u << 20;
  Cache cache(config);
  cache.tick(kStart);
  // Full before the race starts, so that every churn store below evicts.
  for (uint64_t i = 0; !evicting_yet(cache, i); ++i) {
    REQUIRE(i < 1000000);
    cache.store(StoreMode::kSet, numbered("fill", i), 0, 0, "1234");
  }
  const uint64_t evictions_before = cache.stats().evictions;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string key = numbered("n", static_cast<uint64_t>((i + t) % 16));
        const DeltaResult r = cache.delta(key, true, 1, nullptr);
        if (r.status == DeltaStatus::kNotFound) {
          cache.store(StoreMode::kAdd, key, 0, 0, "1000");
        } else if (r.status != DeltaStatus::kOk) {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 2000 || !done.load(std::memory_order_relaxed); ++i) {
        cache.store(StoreMode::kSet, numbered("churn", i * 3 + static_cast<uint64_t>(t)), 0, 0,
                    "1234");
      }
    });
  }
  for (int t = 0; t < 3; ++t) threads[static_cast<std::size_t>(t)].join();
  done = true;
  for (std::size_t t = 3; t < threads.size(); ++t) threads[t].join();
  CHECK(bad.load() == 0);
  CHECK(cache.stats().evictions > evictions_before);  // the race evicted too
}
