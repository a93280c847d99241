// tests/slab/lru_segments_test.cc — the segmented LRU (HOT / WARM / COLD / TEMP) driven by
// run_lru_maintainer_once(), with the background thread off and the clock moved by hand.
#include <catch2/catch.hpp>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

CacheConfig manual_config() {
  CacheConfig c = small_config();
  c.background_threads = false;
  return c;
}

ItemClassStats only_class(Cache& cache) {
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  return items[0];
}

}  // namespace

TEST_CASE("new items enter HOT and the maintainer moves the excess to COLD", "[slab][lru]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, numbered("k", i), "value") == StoreResult::kStored);
  ItemClassStats s = only_class(cache);
  CHECK(s.number_hot == 100);
  CHECK(s.number_cold == 0);
  cache.run_lru_maintainer_once();
  s = only_class(cache);
  // HOT keeps at most hot_lru_pct (20%) of the class's bytes.
  CHECK(s.number_hot <= 20);
  CHECK(s.number_cold >= 80);
  CHECK(s.number_hot + s.number_warm + s.number_cold == 100);
  CHECK(s.moves_to_cold >= 80);
}

TEST_CASE("a get sets only a bit; the maintainer promotes active COLD items to WARM",
          "[slab][lru]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, numbered("k", i), "value") == StoreResult::kStored);
  cache.run_lru_maintainer_once();
  REQUIRE(only_class(cache).number_warm == 0);
  // The first read marks the item fetched, the second active (memcached's do_item_bump).
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 10; ++i) REQUIRE(cache.get(numbered("k", i)));
  CHECK(only_class(cache).number_warm == 0);  // nothing moved on the get path
  CHECK(only_class(cache).hits_to_cold == 20);
  cache.run_lru_maintainer_once();
  const ItemClassStats s = only_class(cache);
  CHECK(s.number_warm == 10);
  CHECK(s.moves_to_warm == 10);
}

TEST_CASE("items read twice survive a scan of one-hit items", "[slab][lru][eviction]") {
  CacheConfig config = manual_config();
  config.memory_limit = 2u << 20;
  Cache cache(config);
  cache.tick(kStart);
  const std::string value(1000, 'v');
  for (int i = 0; i < 2000; ++i)
    REQUIRE(set(cache, numbered("fill", i), value) == StoreResult::kStored);
  cache.run_lru_maintainer_once();
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, numbered("keep", i), value) == StoreResult::kStored);
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 100; ++i) REQUIRE(cache.get(numbered("keep", i)));
  cache.run_lru_maintainer_once();
  // A scan three times the cache's size, with the maintainer running now and then.
  for (int i = 0; i < 6000; ++i) {
    REQUIRE(set(cache, numbered("scan", i), value) == StoreResult::kStored);
    if (i % 100 == 0) cache.run_lru_maintainer_once();
  }
  CHECK(cache.stats().evictions > 3000);
  int kept = 0;
  for (int i = 0; i < 100; ++i) kept += cache.get(numbered("keep", i)) ? 1 : 0;
  CHECK(kept == 100);
}

TEST_CASE("WARM is kept within warm_lru_pct by demoting its tail to COLD", "[slab][lru]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, numbered("k", i), "value") == StoreResult::kStored);
  cache.run_lru_maintainer_once();
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 100; ++i) cache.get(numbered("k", i));
  cache.run_lru_maintainer_once();
  cache.run_lru_maintainer_once();
  const ItemClassStats s = only_class(cache);
  CHECK(s.number_warm <= 41);
  CHECK(s.number_hot + s.number_warm + s.number_cold == 100);
}

TEST_CASE("short TTLs go to TEMP when temp_lru is on", "[slab][lru]") {
  CacheConfig config = manual_config();
  config.temp_lru = true;
  Cache cache(config);
  cache.tick(kStart);
  REQUIRE(set(cache, "short", "v", 30) == StoreResult::kStored);
  REQUIRE(set(cache, "long", "v", 3600) == StoreResult::kStored);
  REQUIRE(set(cache, "never", "v") == StoreResult::kStored);
  const ItemClassStats s = only_class(cache);
  CHECK(s.number_temp == 1);
  CHECK(s.number_hot == 2);
}

TEST_CASE("with the maintainer off every item lives in COLD", "[slab][lru]") {
  CacheConfig config = manual_config();
  config.lru_maintainer = false;
  Cache cache(config);
  for (int i = 0; i < 10; ++i)
    REQUIRE(set(cache, numbered("k", i), "value") == StoreResult::kStored);
  CHECK(cache.run_lru_maintainer_once() == 0);
  const ItemClassStats s = only_class(cache);
  CHECK(s.number_cold == 10);
  CHECK(s.number_hot == 0);
}

TEST_CASE(
    "switched to flat at run time, new items go to COLD and the maintainer empties HOT "
    "and WARM into it; switched back, HOT fills again",
    "[slab][lru]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 50; ++i)
    REQUIRE(set(cache, numbered("k", i), "value") == StoreResult::kStored);
  LruPolicy policy = cache.lru_policy();
  REQUIRE(policy.segmented);
  policy.segmented = false;
  cache.set_lru_policy(policy);
  CHECK_FALSE(cache.lru_policy().segmented);
  REQUIRE(set(cache, "flat", "value") == StoreResult::kStored);
  CHECK(only_class(cache).number_hot == 50);
  CHECK(only_class(cache).number_cold == 1);
  CHECK(cache.run_lru_maintainer_once() == 50);  // one move per item HOT held
  CHECK(cache.run_lru_maintainer_once() == 0);
  ItemClassStats s = only_class(cache);
  CHECK(s.number_hot + s.number_warm == 0);
  CHECK(s.number_cold == 51);
  policy.segmented = true;
  cache.set_lru_policy(policy);
  REQUIRE(set(cache, "segmented", "value") == StoreResult::kStored);
  CHECK(only_class(cache).number_hot == 1);
  for (int i = 0; i < 50; ++i) CHECK(cache.get(numbered("k", i)));
}
