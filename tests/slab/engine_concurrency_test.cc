// tests/slab/engine_concurrency_test.cc — the background engine threads (LRU maintainer,
// crawler, slab rebalancer with automove) running against concurrent workers; meant to be
// run under -DKIOKU_SANITIZE=thread as well.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

TEST_CASE("workers, maintainer, crawler and page moves run together without corrupting values",
          "[slab][concurrency][engine]") {
  CacheConfig config = small_config();
  config.memory_limit = 8u << 20;
  config.slab_automove = 2;
  Cache cache(config);
  cache.tick(kStart);
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  // The clock moves so TTLs expire and ages differ; page moves are asked for by hand too.
  std::thread admin([&] {
    int64_t t = kStart;
    while (!stop.load()) {
      cache.tick(++t);
      cache.slabs_reassign(-1, 0);
      cache.crawl();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < kOps; ++i) {
        // Value sizes shift mid-run so automove has work: small first, large later.
        const bool late = i > kOps / 2;
        const int n = (i * 7 + w * 13) % 3000;
        const std::string key = numbered(late ? "L" : "S", static_cast<uint64_t>(n));
        const std::size_t size = late ? 2000 + static_cast<std::size_t>(n % 500)
                                      : 50 + static_cast<std::size_t>(n % 100);
        if (i % 3 == 0) {
          const char fill = static_cast<char>('a' + n % 26);
          cache.store(StoreMode::kSet, key, 0, (n % 4 == 0) ? 1 : 0, std::string(size, fill));
        } else if (i % 11 == 0) {
          cache.remove(key);
        } else {
          ItemRef ref = cache.get(key);
          if (ref) {
            const std::string v = ref.value_copy();
            const char fill = static_cast<char>('a' + n % 26);
            if (v.size() != size || v.find_first_not_of(fill) != std::string_view::npos) ++bad;
          }
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  admin.join();
  CHECK(bad.load() == 0);
  const CacheStats s = cache.stats();
  // The limit plus the capped first-page overdraft (slab_allocator.cc).
  CHECK(s.total_malloced <= config.memory_limit + config.memory_limit / 16 + (4u << 20));
  uint64_t used = 0;
  for (const SlabClassStats& c : cache.slab_stats()) used += c.used_chunks;
  CHECK(used == s.curr_items);  // every chunk in use is a linked item once the workers stop
}

TEST_CASE("more workers than free lists and LRU lists: stores, deletes and page moves keep the "
          "lists and counts exact",
          "[slab][concurrency][engine]") {
  // 12 workers share the 8 free lists and 8 LRU lists of a class; the admin thread keeps
  // moving pages of the busy class while it has free chunks, so live items are rescued into
  // chunks whose LRU list differs from their old one.
  CacheConfig config = small_config();
  config.memory_limit = 6u << 20;
  Cache cache(config);
  cache.tick(kStart);
  constexpr int kThreads = 12;
  constexpr int kOps = 8000;
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> moves{0};
  std::thread admin([&] {
    while (!stop.load()) {
      for (const SlabClassStats& c : cache.slab_stats()) {
        if (c.total_pages >= 2 && c.free_chunks > 0 &&
            cache.slabs_reassign(static_cast<int>(c.id), 0) == ReassignResult::kOk)
          moves.fetch_add(1);
      }
      cache.run_slab_rebalancer_once();  // drives the move (as the background thread would)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < kOps; ++i) {
        const int n = (i * 31 + w * 17) % 20000;
        const std::string key = numbered("k", static_cast<uint64_t>(n));
        const char fill = static_cast<char>('a' + n % 26);
        const std::size_t size = 100 + static_cast<std::size_t>(n % 4);
        if (i % 2 == 0) {
          cache.store(StoreMode::kSet, key, 0, 0, std::string(size, fill));
        } else if (i % 5 == 0) {
          cache.remove(key);
        } else if (ItemRef ref = cache.get(key)) {
          const std::string v = ref.value_copy();
          if (v.size() != size || v.find_first_not_of(fill) != std::string_view::npos) ++bad;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  // Let the mover finish what it started, then stop it.
  for (int i = 0; i < 200; ++i) {
    cache.run_slab_rebalancer_once();
  }
  stop = true;
  admin.join();
  CHECK(bad.load() == 0);
  CHECK(moves.load() > 0);
  const CacheStats s = cache.stats();
  CHECK(cache.engine_stats().slab_reassign_rescues > 0);
  uint64_t used = 0;
  for (const SlabClassStats& c : cache.slab_stats()) used += c.used_chunks;
  uint64_t on_lists = 0;
  for (const ItemClassStats& c : cache.item_stats()) on_lists += c.number;
  CHECK(used == s.curr_items);
  CHECK(on_lists == s.curr_items);  // every linked item is on exactly one LRU list
  // Every key still stored reads back whole.
  uint64_t found = 0;
  for (int n = 0; n < 20000; ++n) {
    if (ItemRef ref = cache.get(numbered("k", static_cast<uint64_t>(n)))) {
      ++found;
      const std::string v = ref.value_copy();
      CHECK(v.size() == 100 + static_cast<std::size_t>(n % 4));
    }
  }
  CHECK(found == s.curr_items);
}
