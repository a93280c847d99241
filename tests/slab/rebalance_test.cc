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
  while (!evicting_yet(cache, static_cast<uint64_t>(n)))
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
  CHECK(cache.engine_stats().slab_reassign_evictions_nomem +
            cache.engine_stats().slab_reassign_rescues >
        0);
  // The moved page serves the new class: twice as many big items fit without eviction.
  const uint64_t before = cache.stats().evictions;
  const uint32_t per_page = class_stats(cache, dst).chunks_per_page;
  for (uint32_t i = 0; i + 1 < 2 * per_page; ++i)
    REQUIRE(set(cache, numbered("b", i), std::string(4000, 'b')) == StoreResult::kStored);
  CHECK(cache.stats().evictions == before);
  // Everything still readable is intact.
  for (int i = 0; i < n; ++i) {
    ItemRef ref = cache.get(numbered("s", i));
    if (ref) CHECK(ref.value_copy() == small);
  }
}

TEST_CASE("automove gives pages to the class that evicts", "[slab][rebalance]") {
  Cache cache(manual_config(1));
  cache.tick(kStart);
  const std::string small(100, 's');
  for (int n = 0; !evicting_yet(cache, static_cast<uint64_t>(n)); ++n)
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

TEST_CASE("slabs reassign rescues live items when their class has free chunks",
          "[slab][rebalance]") {
  Cache cache(manual_config(0));
  const std::string v(100, 'r');
  REQUIRE(set(cache, numbered("r", 100000), v) == StoreResult::kStored);
  const uint8_t src = cache.get(numbered("r", 100000)).slab_class();
  int n = 1;
  while (class_stats(cache, src).total_pages < 3)
    REQUIRE(set(cache, numbered("r", 100000 + n++), v) == StoreResult::kStored);
  REQUIRE(cache.stats().evictions == 0);
  // Two thirds of the items go: the class has far more free chunks than one page's items.
  for (int i = 0; i < n; ++i)
    if (i % 3 != 0) REQUIRE(cache.remove(numbered("r", 100000 + i)));
  const uint64_t live = cache.stats().curr_items;
  const uint64_t cas_r0 = cache.get(numbered("r", 100000)).cas();

  REQUIRE(cache.slabs_reassign(src, 0) == ReassignResult::kOk);
  for (int i = 0; i < 10 && cache.engine_stats().slabs_moved == 0; ++i)
    cache.run_slab_rebalancer_once();
  const EngineStats e = cache.engine_stats();
  CHECK(e.slabs_moved == 1);
  CHECK(e.slab_reassign_rescues > 0);
  CHECK(e.slab_reassign_evictions_nomem == 0);
  CHECK(e.slab_reassign_inline_reclaim > 0);  // the page's own free chunks left the free list
  CHECK(class_stats(cache, src).total_pages == 2);
  CHECK(cache.stats().slab_global_page_pool == 1);
  // Nothing was lost: every remaining item is readable, same value, same CAS.
  CHECK(cache.stats().curr_items == live);
  CHECK(cache.stats().evictions == 0);
  for (int i = 0; i < n; i += 3) {
    INFO("key " << i);
    ItemRef ref = cache.get(numbered("r", 100000 + i));
    REQUIRE(ref);
    CHECK(ref.value_copy() == v);
  }
  CHECK(cache.get(numbered("r", 100000)).cas() == cas_r0);
  // And the LRU is still consistent: deleting everything leaves no used chunk behind.
  for (int i = 0; i < n; i += 3) REQUIRE(cache.remove(numbered("r", 100000 + i)));
  CHECK(class_stats(cache, src).used_chunks == 0);
}

TEST_CASE("slabs reassign evicts only when the class has no free chunk", "[slab][rebalance]") {
  Cache cache(manual_config(0));
  const std::string v(100, 'e');
  REQUIRE(set(cache, numbered("e", 100000), v) == StoreResult::kStored);
  const uint8_t src = cache.get(numbered("e", 100000)).slab_class();
  int n = 1;
  while (class_stats(cache, src).total_pages < 2 || class_stats(cache, src).free_chunks > 0)
    REQUIRE(set(cache, numbered("e", 100000 + n++), v) == StoreResult::kStored);
  REQUIRE(cache.slabs_reassign(src, 0) == ReassignResult::kOk);
  for (int i = 0; i < 10 && cache.engine_stats().slabs_moved == 0; ++i)
    cache.run_slab_rebalancer_once();
  const EngineStats e = cache.engine_stats();
  CHECK(e.slabs_moved == 1);
  CHECK(e.slab_reassign_evictions_nomem > 0);
  CHECK(e.slab_reassign_rescues == 0);
}

TEST_CASE("slabs reassign rescues the chunks of chunked items", "[slab][rebalance]") {
  CacheConfig c = manual_config(0);
  c.memory_limit = std::size_t{64} << 20;
  c.item_size_max = std::size_t{8} << 20;
  Cache cache(c);
  std::vector<std::string> values;
  for (uint32_t i = 0; i < 6; ++i) {
    values.emplace_back(std::size_t{2} << 20, static_cast<char>('a' + i));
    REQUIRE(set(cache, numbered("c", i), values.back()) == StoreResult::kStored);
  }
  // The first items stored stay: the page the move picks (the class's first) holds them.
  for (uint32_t i = 1; i < 6; i += 2) REQUIRE(cache.remove(numbered("c", i)));
  const uint8_t largest = cache.get("c0").slab_class();
  REQUIRE(cache.slabs_reassign(largest, 0) == ReassignResult::kOk);
  for (int i = 0; i < 10 && cache.engine_stats().slabs_moved == 0; ++i)
    cache.run_slab_rebalancer_once();
  const EngineStats e = cache.engine_stats();
  CHECK(e.slabs_moved == 1);
  CHECK(e.slab_reassign_evictions_nomem == 0);
  CHECK(e.slab_reassign_rescues > 0);        // c0's head
  CHECK(e.slab_reassign_chunk_rescues > 0);  // and its first data chunk
  for (uint32_t i = 0; i < 6; i += 2) {
    INFO("key " << i);
    ItemRef ref = cache.get(numbered("c", i));
    REQUIRE(ref);
    CHECK(ref.value_copy() == values[i]);
  }
  for (uint32_t i = 0; i < 6; i += 2) REQUIRE(cache.remove(numbered("c", i)));
  for (const SlabClassStats& s : cache.slab_stats()) CHECK(s.used_chunks == 0);
}
