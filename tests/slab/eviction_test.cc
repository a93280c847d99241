// tests/slab/eviction_test.cc — the memory bound, LRU eviction order, -M, and pinned items.
#include <catch2/catch.hpp>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

constexpr std::size_t kValueSize = 1000;

CacheConfig two_page_config() {
  CacheConfig c = small_config();
  c.memory_limit = 2u << 20;
  // These tests pin down the classic LRU (gets bump, -o no_lru_maintainer); the segmented
  // LRU has its own tests in lru_segments_test.cc.
  c.lru_maintainer = false;
  c.background_threads = false;
  return c;
}

std::string key(const char* prefix, int i) { return numbered(prefix, static_cast<uint64_t>(i)); }

// Items that fit in the cache's only slab class: 2 pages of chunks for ~1 KB items.
uint64_t capacity(Cache& cache) {
  const std::string probe(kValueSize, 'p');
  REQUIRE(set(cache, "probe", probe) == StoreResult::kStored);
  const auto slabs = cache.slab_stats();
  REQUIRE(slabs.size() == 1);
  REQUIRE(cache.remove("probe"));
  return 2 * slabs[0].chunks_per_page;
}

}  // namespace

TEST_CASE("storing far more than the limit never exceeds it and evicts", "[slab][eviction]") {
  Cache cache(two_page_config());
  const std::string value(kValueSize, 'v');
  for (int i = 0; i < 20000; ++i) {  // ~20 MB into 2 MB
    REQUIRE(set(cache, key("k", i), value) == StoreResult::kStored);
    // Pages are never given back here (no rebalancer), so a look every 64 stores and at the
    // end sees any excess: Cache::stats() per store was most of this test's sanitizer time.
    if (i % 64 == 63) REQUIRE(cache.stats().total_malloced <= (2u << 20));
  }
  const CacheStats s = cache.stats();
  CHECK(s.total_malloced == 2u << 20);
  CHECK(s.evictions > 15000);
  CHECK(s.evicted_unfetched == s.evictions);
  CHECK(s.curr_items + s.evictions == 20000);
  CHECK(value_of(cache, key("k", 19999)) == value);
  CHECK_FALSE(cache.get(key("k", 0)));
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  CHECK(items[0].evicted == s.evictions);
  CHECK(items[0].evicted_nonzero == 0);
}

TEST_CASE("eviction takes the least recently used items first", "[slab][eviction]") {
  Cache cache(two_page_config());
  const uint64_t cap = capacity(cache);
  const std::string value(kValueSize, 'v');
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i) REQUIRE(set(cache, key("old", i), value) == StoreResult::kStored);
  cache.tick(kStart + 61);
  REQUIRE(cache.get("old0"));  // more than 60 s since stored: moves to the head
  // 50 evictions: "old1".."old50" go, "old0" was bumped past the others.
  for (uint64_t i = 0; i < cap - 50; ++i)
    REQUIRE(set(cache, key("new", static_cast<int>(i)), value) == StoreResult::kStored);
  CHECK(cache.stats().evictions == 50);
  CHECK(cache.get("old0"));
  CHECK_FALSE(cache.get("old1"));
  CHECK_FALSE(cache.get("old50"));
  CHECK(cache.get("old51"));
  CHECK(cache.get("old99"));
  CHECK(cache.get("new0"));
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  CHECK(items[0].evicted_time == 61);
}

TEST_CASE("a read within 60 s does not protect an item from eviction", "[slab][eviction]") {
  Cache cache(two_page_config());
  const uint64_t cap = capacity(cache);
  const std::string value(kValueSize, 'v');
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i) REQUIRE(set(cache, key("old", i), value) == StoreResult::kStored);
  cache.tick(kStart + 30);
  REQUIRE(cache.get("old0"));  // too soon to bump
  for (uint64_t i = 0; i < cap - 50; ++i)
    REQUIRE(set(cache, key("new", static_cast<int>(i)), value) == StoreResult::kStored);
  CHECK_FALSE(cache.get("old0"));
  CHECK(cache.get("old51"));
  // "old0" had been fetched, the other 49 had not.
  CHECK(cache.stats().evicted_unfetched == 49);
}

TEST_CASE("expired items are reclaimed before live ones are evicted", "[slab][eviction]") {
  Cache cache(two_page_config());
  const uint64_t cap = capacity(cache);
  const std::string value(kValueSize, 'v');
  cache.tick(kStart);
  for (int i = 0; i < 10; ++i)
    REQUIRE(set(cache, key("short", i), value, 5) == StoreResult::kStored);
  for (uint64_t i = 0; i < cap - 10; ++i)
    REQUIRE(set(cache, key("live", static_cast<int>(i)), value) == StoreResult::kStored);
  cache.tick(kStart + 10);
  for (int i = 0; i < 10; ++i) REQUIRE(set(cache, key("more", i), value) == StoreResult::kStored);
  const CacheStats s = cache.stats();
  CHECK(s.reclaimed == 10);
  CHECK(s.expired_unfetched == 10);
  CHECK(s.evictions == 0);
  CHECK(cache.get("live0"));
}

TEST_CASE("with evict_to_free off a full class answers no memory", "[slab][eviction]") {
  CacheConfig config = two_page_config();
  config.evict_to_free = false;
  Cache cache(config);
  const std::string value(kValueSize, 'v');
  int stored = 0;
  StoreResult r = StoreResult::kStored;
  while ((r = set(cache, key("k", stored), value)) == StoreResult::kStored) ++stored;
  CHECK(r == StoreResult::kNoMemory);
  CHECK(stored > 1000);
  CHECK(cache.get("k0"));
  CHECK(cache.stats().evictions == 0);
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  CHECK(items[0].outofmemory >= 1);
  // Allocation comes first (as in memcached), so add fails for memory too, leaving the old
  // value; a failed set removes it.
  CHECK(cache.store(StoreMode::kAdd, "k0", 0, 0, value) == StoreResult::kNoMemory);
  CHECK(cache.get("k0"));
  CHECK(set(cache, "k0", value + "x") == StoreResult::kNoMemory);
  CHECK_FALSE(cache.get("k0"));
}

TEST_CASE("with evict_to_free off expired items are still reclaimed", "[slab][eviction]") {
  CacheConfig config = two_page_config();
  config.evict_to_free = false;
  Cache cache(config);
  const std::string value(kValueSize, 'v');
  cache.tick(kStart);
  int stored = 0;
  while (set(cache, key("k", stored), value, 10) == StoreResult::kStored) ++stored;
  CHECK(set(cache, "late", value) == StoreResult::kNoMemory);
  cache.tick(kStart + 11);
  CHECK(set(cache, "late", value) == StoreResult::kStored);
  CHECK(cache.stats().reclaimed >= 1);
}

TEST_CASE("a pinned item keeps its value after overwrite, delete and heavy eviction",
          "[slab][eviction][pin]") {
  Cache cache(two_page_config());
  const std::string old_value(kValueSize, 'o');
  REQUIRE(set(cache, "k", old_value) == StoreResult::kStored);
  ItemRef pinned = cache.get("k");
  REQUIRE(pinned);
  REQUIRE(set(cache, "k", std::string(kValueSize, 'n')) == StoreResult::kStored);
  CHECK(pinned.value_copy() == old_value);
  REQUIRE(cache.remove("k"));
  CHECK(pinned.value_copy() == old_value);
  for (int i = 0; i < 10000; ++i)
    REQUIRE(set(cache, key("fill", i), std::string(kValueSize, 'f')) == StoreResult::kStored);
  CHECK(cache.stats().evictions > 5000);
  CHECK(pinned.value_copy() == old_value);
  CHECK(pinned.key() == "k");
}

TEST_CASE("a pinned linked item is skipped by eviction", "[slab][eviction][pin]") {
  Cache cache(two_page_config());
  const std::string value(kValueSize, 'v');
  REQUIRE(set(cache, "pinned", value) == StoreResult::kStored);
  ItemRef ref = cache.get("pinned");
  REQUIRE(ref);
  for (int i = 0; i < 10000; ++i)
    REQUIRE(set(cache, key("fill", i), std::string(kValueSize, 'f')) == StoreResult::kStored);
  CHECK(ref.value_copy() == value);
  CHECK(cache.get("pinned"));  // still at the tail, never evicted while pinned
  ref.reset();
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, key("more", i), std::string(kValueSize, 'm')) == StoreResult::kStored);
  CHECK_FALSE(cache.get("pinned"));
}

TEST_CASE("raising the memory limit lets the cache grow", "[slab][eviction]") {
  Cache cache(two_page_config());
  const std::string value(kValueSize, 'v');
  for (int i = 0; i < 5000; ++i) REQUIRE(set(cache, key("k", i), value) == StoreResult::kStored);
  CHECK(cache.stats().total_malloced == 2u << 20);
  cache.set_memory_limit(8u << 20);
  CHECK(cache.stats().limit_maxbytes == 8u << 20);
  const uint64_t evictions = cache.stats().evictions;
  for (int i = 5000; i < 8000; ++i) REQUIRE(set(cache, key("k", i), value) == StoreResult::kStored);
  CHECK(cache.stats().evictions == evictions);
  CHECK(cache.stats().total_malloced > 2u << 20);
  CHECK(cache.stats().total_malloced <= 8u << 20);
}

TEST_CASE("a failed add bumps the existing item like a read", "[slab][eviction]") {
  Cache cache(two_page_config());
  const uint64_t cap = capacity(cache);
  const std::string value(kValueSize, 'v');
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i) REQUIRE(set(cache, key("old", i), value) == StoreResult::kStored);
  cache.tick(kStart + 61);
  REQUIRE(cache.store(StoreMode::kAdd, "old0", 0, 0, value) == StoreResult::kNotStored);
  for (uint64_t i = 0; i < cap - 50; ++i)
    REQUIRE(set(cache, key("new", static_cast<int>(i)), value) == StoreResult::kStored);
  CHECK(cache.get("old0"));
  CHECK_FALSE(cache.get("old1"));
}
