// tests/slab/crawler_test.cc — the LRU crawler frees expired and flushed items without any
// read touching them, and for_each_item lists live items (what metadump prints).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

CacheConfig manual_config() {
  CacheConfig c = small_config();
  c.background_threads = false;
  return c;
}

}  // namespace

TEST_CASE("crawl frees expired items and their memory returns to the class", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(set(cache, numbered("ttl", i), "value", 2) == StoreResult::kStored);
  for (int i = 0; i < 10; ++i)
    REQUIRE(set(cache, numbered("keep", i), "value") == StoreResult::kStored);
  REQUIRE(value_of(cache, numbered("ttl", 7)) == "value");  // one of them was read
  CHECK(cache.crawl() == 0);
  cache.tick(kStart + 3);
  CHECK(cache.crawl() == 1000);
  const CacheStats s = cache.stats();
  CHECK(s.curr_items == 10);
  CHECK(s.get_expired == 0);           // no read found them expired
  CHECK(s.expired_unfetched == 999);   // as memcached's crawler counts: never read, then expired
  const auto slabs = cache.slab_stats();
  REQUIRE(slabs.size() == 1);
  CHECK(slabs[0].used_chunks == 10);
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  CHECK(items[0].crawler_reclaimed == 1000);
  CHECK(items[0].crawler_items_checked >= 1010);
  CHECK(cache.engine_stats().crawler_reclaimed == 1000);
}

TEST_CASE("crawler totals stay when the crawl empties a class", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 200; ++i)
    REQUIRE(set(cache, numbered("ttl", i), "value", 2) == StoreResult::kStored);
  cache.tick(kStart + 3);
  CHECK(cache.crawl() == 200);
  CHECK(cache.item_stats().empty());  // no items, no evictions: no row, as before
  const EngineStats e = cache.engine_stats();
  CHECK(e.crawler_reclaimed == 200);
  CHECK(e.crawler_items_checked == 200);
}

TEST_CASE("a paced crawl pauses after each batch of items and still frees them all",
          "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 5000; ++i)
    REQUIRE(set(cache, numbered("ttl", i), "value", 2) == StoreResult::kStored);
  cache.tick(kStart + 3);
  // 5,000 items in batches of 1,000: at least four pauses of 20 ms between lock stripes.
  const auto start = std::chrono::steady_clock::now();
  CHECK(cache.crawl({}, 1000, std::chrono::milliseconds(20)) == 5000);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(80));
  CHECK(cache.stats().curr_items == 0);
}

TEST_CASE("the crawler is due only once some item's TTL has passed", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 100; ++i)
    REQUIRE(set(cache, numbered("forever", i), "value") == StoreResult::kStored);
  CHECK_FALSE(cache.crawl_due());  // nothing can expire: no walk of the table
  cache.tick(kStart + 1000);
  CHECK_FALSE(cache.crawl_due());

  REQUIRE(set(cache, "short", "v", 2) == StoreResult::kStored);
  REQUIRE(set(cache, "long", "v", 100) == StoreResult::kStored);
  CHECK_FALSE(cache.crawl_due());
  cache.tick(kStart + 1002);
  CHECK(cache.crawl_due());
  CHECK(cache.crawl() == 1);
  // The crawl left "long": due again when it expires, not before.
  CHECK_FALSE(cache.crawl_due());
  cache.tick(kStart + 1099);
  CHECK_FALSE(cache.crawl_due());
  cache.tick(kStart + 1100);
  CHECK(cache.crawl_due());
  CHECK(cache.crawl() == 1);
  CHECK_FALSE(cache.crawl_due());
}

TEST_CASE("TTLs written in place and flushes make the crawler due", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "a", "v") == StoreResult::kStored);
  REQUIRE(set(cache, "b", "v") == StoreResult::kStored);
  REQUIRE(set(cache, "c", "v") == StoreResult::kStored);
  CHECK(cache.crawl() == 0);
  CHECK_FALSE(cache.crawl_due());

  SECTION("touch") {
    REQUIRE(cache.touch("a", 5));
    cache.tick(kStart + 4);
    CHECK_FALSE(cache.crawl_due());
    cache.tick(kStart + 5);
    CHECK(cache.crawl_due());
    CHECK(cache.crawl() == 1);
  }
  SECTION("gat") {
    REQUIRE(cache.get_and_touch("b", 3));
    cache.tick(kStart + 3);
    CHECK(cache.crawl_due());
    CHECK(cache.crawl() == 1);
  }
  SECTION("meta get with T") {
    MetaGetOptions options;
    options.ttl.ttl = 3;
    options.ttl.add(MetaTtlStep::kSetTtl);
    ItemRef ref;
    cache.meta_get("c", options, &ref);
    REQUIRE(ref);
    ref = ItemRef{};
    cache.tick(kStart + 3);
    CHECK(cache.crawl_due());
    CHECK(cache.crawl() == 1);
  }
  SECTION("flush_all now") {
    cache.tick(kStart + 1);
    cache.flush_all(0);
    CHECK(cache.crawl_due());
    CHECK(cache.crawl() == 3);
    CHECK(cache.stats().expired_unfetched == 0);  // flushed, not expired
  }
  SECTION("flush_all later") {
    cache.flush_all(10);
    cache.tick(kStart + 9);
    CHECK_FALSE(cache.crawl_due());
    cache.tick(kStart + 10);
    CHECK(cache.crawl_due());
    CHECK(cache.crawl() == 3);
  }
  CHECK_FALSE(cache.crawl_due());
}

TEST_CASE("crawl of chosen classes leaves the others alone", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "small", "v", 1) == StoreResult::kStored);
  REQUIRE(set(cache, "large", std::string(5000, 'v'), 1) == StoreResult::kStored);
  const uint8_t small_class = cache.get("small").slab_class();
  const uint8_t large_class = cache.get("large").slab_class();
  REQUIRE(small_class != large_class);
  cache.tick(kStart + 2);
  std::vector<bool> only_large(256, false);
  only_large[large_class] = true;
  CHECK(cache.crawl(only_large) == 1);
  CHECK(cache.stats().curr_items == 1);
  CHECK(cache.crawl() == 1);
  CHECK(cache.stats().curr_items == 0);
}

TEST_CASE("crawl frees flushed items", "[slab][crawler]") {
  Cache cache(manual_config());
  cache.tick(kStart);
  for (int i = 0; i < 50; ++i) REQUIRE(set(cache, numbered("k", i), "v") == StoreResult::kStored);
  cache.flush_all(0);
  CHECK(cache.crawl() == 50);
  CHECK(cache.stats().curr_items == 0);
}

TEST_CASE("for_each_item lists live items with unix times", "[slab][crawler][metadump]") {
  Cache cache(manual_config());
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  REQUIRE(set(cache, "b", "22", 100) == StoreResult::kStored);
  REQUIRE(set(cache, "gone", "3", 1) == StoreResult::kStored);
  REQUIRE(cache.get("a"));
  cache.tick(kStart + 12);
  std::vector<ItemMetadata> seen;
  std::vector<std::string> keys;
  cache.for_each_item({}, [&](const ItemMetadata& m) {
    seen.push_back(m);
    keys.emplace_back(m.key);
  });
  REQUIRE(seen.size() == 2);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const ItemMetadata& m = seen[i];
    CHECK(m.last_access == kStart + 10);
    if (keys[i] == "a") {
      CHECK(m.exptime == -1);
      CHECK(m.fetched);
    } else {
      CHECK(keys[i] == "b");
      CHECK(m.exptime == kStart + 110);
      CHECK_FALSE(m.fetched);
      CHECK(m.size == cache.item_header_size() - 4 + 1 + 2);  // with exptime, flags 0
    }
    CHECK(m.cas > 0);
  }
}

TEST_CASE("the background crawler reclaims expired items within seconds", "[slab][crawler]") {
  CacheConfig config = small_config();  // background thread on
  Cache cache(config);
  const int64_t t0 = kStart + 100;
  cache.tick(t0);
  for (int i = 0; i < 2000; ++i)
    REQUIRE(set(cache, numbered("ttl", i), "value", 1) == StoreResult::kStored);
  cache.tick(t0 + 2);
  for (int waited = 0; waited < 100 && cache.stats().curr_items != 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(cache.stats().curr_items == 0);
}
