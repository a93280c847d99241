// tests/slab/rebalance_test.cc — slab page moves: "slabs reassign" and automove, driven by
// run_slab_rebalancer_once() with the background thread off.
#include <catch2/catch.hpp>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

CacheConfig manual_config(uint32_t automove) {
  CacheConfig c = small_config();
  c.memory_limit = 4u << 20;
  c.background_threads = false;
  c.slab_automove = automove;
  return c;
}

SlabClassStats class_stats(Cache& cache, uint8_t id) {
  for (const SlabClassStats& s : cache.slab_stats())
    if (s.id == id) return s;
  return {};
}

}  // namespace

TEST_CASE("slabs reassign validates its arguments like memcached", "[slab][rebalance]") {
  Cache cache(manual_config(0));
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  const int cls = cache.get("k").slab_class();
  CHECK(cache.slabs_reassign(cls, cls) == ReassignResult::kSame);
  CHECK(cache.slabs_reassign(0, 2) == ReassignResult::kBadClass);
  CHECK(cache.slabs_reassign(cls, 1000) == ReassignResult::kBadClass);
  CHECK(cache.slabs_reassign(cls, cls + 1) == ReassignResult::kNoSpare);  // only one page
}

TEST_CASE("slabs reassign empties a page and hands it to another class", "[slab][rebalance]") {
  Cache cache(manual_config(0));
  const std::string small(100, 's');
  int n = 0;
  while (cache.stats().evictions == 0)
    REQUIRE(set(cache, numbered("s", n++), small) == StoreResult::kStored);
  const uint8_t src =
      cache.get("s1").slab_class() != 0 ? cache.get(numbered("s", n - 1)).slab_class() : 0;
  REQUIRE(set(cache, "big", std::string(4000, 'b')) == StoreResult::kStored);
  const uint8_t dst = cache.get("big").slab_class();
  const uint64_t src_pages = class_stats(cache, src).total_pages;
  REQUIRE(src_pages >= 3);
  REQUIRE(class_stats(cache, dst).total_pages == 1);

  REQUIRE(cache.slabs_reassign(src, dst) == ReassignResult::kOk);
  CHECK(cache.slabs_reassign(src, dst) == ReassignResult::kBusy);
  cache.run_slab_rebalancer_once();
  CHECK(class_stats(cache, src).total_pages == src_pages - 1);
  CHECK(class_stats(cache, dst).total_pages == 2);
  CHECK(cache.engine_stats().slabs_moved == 1);
  CHECK(cache.engine_stats().slab_reassign_evictions > 0);
  // The moved page serves the new class: twice as many big items fit without eviction.
  const uint64_t before = cache.stats().evictions;
  const uint32_t per_page = class_stats(cache, dst).chunks_per_page;
  for (uint32_t i = 0; i + 1 < 2 * per_page; ++i)
    REQUIRE(set(cache, numbered("b", i), std::string(4000, 'b')) == StoreResult::kStored);
  CHECK(cache.stats().evictions == before);
  // Everything still readable is intact.
  for (int i = 0; i < n; ++i) {
    ItemRef ref = cache.get(numbered("s", i));
    if (ref) CHECK(ref.value() == small);
  }
}

TEST_CASE("automove gives pages to the class that evicts", "[slab][rebalance]") {
  Cache cache(manual_config(1));
  cache.tick(kStart);
  const std::string small(100, 's');
  for (int n = 0; cache.stats().evictions == 0; ++n)
    REQUIRE(set(cache, numbered("s", n), small) == StoreResult::kStored);
  cache.run_slab_rebalancer_once();  // baseline of eviction counters
  cache.tick(kStart + 100);          // the small items grow old
  const std::string big(4000, 'b');
  uint8_t dst = 0;
  uint64_t hits = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) {
      const std::string k = numbered("big", i);
      if (cache.get(k)) {
        ++hits;
      } else {
        REQUIRE(set(cache, k, big) == StoreResult::kStored);
      }
    }
    if (dst == 0) dst = cache.get("big0") ? cache.get("big0").slab_class() : 0;
    cache.run_slab_rebalancer_once();  // decide
    cache.run_slab_rebalancer_once();  // move
  }
  REQUIRE(dst != 0);
  CHECK(class_stats(cache, dst).total_pages >= 2);
  CHECK(cache.engine_stats().slabs_moved >= 1);
  // In the last round all 500 big items fit.
  uint64_t last = 0;
  for (int i = 0; i < 500; ++i) last += cache.get(numbered("big", i)) ? 1 : 0;
  CHECK(last == 500);
}
