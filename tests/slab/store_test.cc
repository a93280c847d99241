// tests/slab/store_test.cc — store modes, CAS and item size limits.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

TEST_CASE("get after set returns value and flags", "[slab][store]") {
  Cache cache(small_config());
  REQUIRE(cache.store(StoreMode::kSet, "k", 42, 0, "hello") == StoreResult::kStored);
  ItemRef ref = cache.get("k");
  REQUIRE(ref);
  CHECK(ref.key() == "k");
  CHECK(ref.value_copy() == "hello");
  CHECK(ref.flags() == 42);
  CHECK(ref.cas() != 0);
}

TEST_CASE("get of a missing key misses", "[slab][store]") {
  Cache cache(small_config());
  CHECK_FALSE(cache.get("nope"));
}

TEST_CASE("get after delete misses", "[slab][store]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  CHECK(cache.remove("k"));
  CHECK_FALSE(cache.get("k"));
  CHECK_FALSE(cache.remove("k"));
  CHECK(cache.stats().curr_items == 0);
}

TEST_CASE("set overwrites and empty values are stored", "[slab][store]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "one") == StoreResult::kStored);
  REQUIRE(set(cache, "k", "") == StoreResult::kStored);
  CHECK(value_of(cache, "k") == "");
  CHECK(cache.stats().curr_items == 1);
  CHECK(cache.stats().total_items == 2);
}

TEST_CASE("add stores only when the key is missing", "[slab][store]") {
  Cache cache(small_config());
  CHECK(cache.store(StoreMode::kAdd, "k", 0, 0, "first") == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kAdd, "k", 0, 0, "second") == StoreResult::kNotStored);
  CHECK(value_of(cache, "k") == "first");
}

TEST_CASE("replace stores only when the key exists", "[slab][store]") {
  Cache cache(small_config());
  CHECK(cache.store(StoreMode::kReplace, "k", 0, 0, "x") == StoreResult::kNotStored);
  CHECK_FALSE(cache.get("k"));
  REQUIRE(set(cache, "k", "a") == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kReplace, "k", 7, 0, "b") == StoreResult::kStored);
  ItemRef ref = cache.get("k");
  REQUIRE(ref);
  CHECK(ref.value_copy() == "b");
  CHECK(ref.flags() == 7);
}

TEST_CASE("append and prepend keep the old flags and expiry", "[slab][store]") {
  Cache cache(small_config());
  CHECK(cache.store(StoreMode::kAppend, "k", 0, 0, "x") == StoreResult::kNotStored);
  CHECK(cache.store(StoreMode::kPrepend, "k", 0, 0, "x") == StoreResult::kNotStored);
  cache.tick(kStart);
  REQUIRE(cache.store(StoreMode::kSet, "k", 5, 100, "mid") == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kAppend, "k", 9, 0, "-end") == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kPrepend, "k", 9, 0, "start-") == StoreResult::kStored);
  ItemRef ref = cache.get("k");
  REQUIRE(ref);
  CHECK(ref.value_copy() == "start-mid-end");
  CHECK(ref.flags() == 5);
  ref.reset();
  cache.tick(kStart + 101);  // the original exptime of 100 s still applies
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("append beyond the item size limit is not stored and keeps the old value",
          "[slab][store]") {
  CacheConfig config = small_config();
  config.item_size_max = 2048;
  Cache cache(config);
  REQUIRE(set(cache, "k", std::string(1500, 'x')) == StoreResult::kStored);
  // memcached 1.6.18 answers NOT_STORED here (checked against the real server).
  CHECK(cache.store(StoreMode::kAppend, "k", 0, 0, std::string(1000, 'y')) ==
        StoreResult::kNotStored);
  CHECK(value_of(cache, "k") == std::string(1500, 'x'));
}

TEST_CASE("cas stores only on a matching cas", "[slab][store][cas]") {
  Cache cache(small_config());
  CHECK(cache.store(StoreMode::kCas, "k", 0, 0, "v", 1) == StoreResult::kNotFound);
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "k", 0, 0, "v1", 0, &cas) == StoreResult::kStored);
  REQUIRE(cas != 0);
  CHECK(cache.store(StoreMode::kCas, "k", 0, 0, "v2", cas + 1) == StoreResult::kExists);
  CHECK(value_of(cache, "k") == "v1");
  uint64_t cas2 = 0;
  CHECK(cache.store(StoreMode::kCas, "k", 0, 0, "v2", cas, &cas2) == StoreResult::kStored);
  CHECK(cas2 != cas);
  CHECK(value_of(cache, "k") == "v2");
  CHECK(cache.store(StoreMode::kCas, "k", 0, 0, "v3", cas) == StoreResult::kExists);
}

TEST_CASE("every successful store gets a new unique cas", "[slab][store][cas]") {
  Cache cache(small_config());
  std::set<uint64_t> seen;
  for (int i = 0; i < 100; ++i) {
    uint64_t cas = 0;
    REQUIRE(set(cache, numbered("k", i % 10), "v") == StoreResult::kStored);
    REQUIRE(cache.store(StoreMode::kSet, "same", 0, 0, "v", 0, &cas) == StoreResult::kStored);
    CHECK(cache.get("same").cas() == cas);
    seen.insert(cas);
    seen.insert(cache.get(numbered("k", i % 10)).cas());
  }
  CHECK(seen.size() == 200);
  uint64_t append_cas = 0;
  REQUIRE(cache.store(StoreMode::kAppend, "same", 0, 0, "x", 0, &append_cas) ==
          StoreResult::kStored);
  CHECK(seen.count(append_cas) == 0);
}

TEST_CASE("without cas items report cas 0", "[slab][store][cas]") {
  CacheConfig config = small_config();
  config.use_cas = false;
  Cache cache(config);
  uint64_t cas = 99;
  REQUIRE(cache.store(StoreMode::kSet, "k", 3, 0, "v", 0, &cas) == StoreResult::kStored);
  CHECK(cas == 0);
  ItemRef ref = cache.get("k");
  REQUIRE(ref);
  CHECK(ref.cas() == 0);
  CHECK(ref.flags() == 3);
  CHECK(ref.value_copy() == "v");
}

TEST_CASE("item_size_ok follows item_size_max including the header", "[slab][store][size]") {
  CacheConfig config = small_config();
  config.item_size_max = 4096;
  Cache cache(config);
  const std::size_t header = cache.item_header_size();
  CHECK(header == 40);  // fixed 28 + CAS 8 + flags 4; memcached 1.6: 48 + 8 (+ 4 for flags)
  CHECK(cache.item_size_ok(10, 4096 - header - 10));
  CHECK_FALSE(cache.item_size_ok(10, 4096 - header - 9));
  CHECK(cache.store(StoreMode::kSet, "0123456789", 0, 0, std::string(4096 - header - 10, 'v')) ==
        StoreResult::kStored);
  CHECK(cache.store(StoreMode::kSet, "0123456789", 0, 0, std::string(4096 - header - 9, 'v')) ==
        StoreResult::kTooLarge);
  // Flags do not change what fits: the limit already counts them.
  CHECK(cache.store(StoreMode::kSet, "0123456789", 77, 0, std::string(4096 - header - 10, 'v')) ==
        StoreResult::kStored);
}

TEST_CASE("a too large set removes the old value", "[slab][store][size]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "old") == StoreResult::kStored);
  CHECK(set(cache, "k", std::string(2 << 20, 'v')) == StoreResult::kTooLarge);
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("a too large add or replace leaves the old value", "[slab][store][size]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "old") == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kReplace, "k", 0, 0, std::string(2 << 20, 'v')) ==
        StoreResult::kTooLarge);
  CHECK(value_of(cache, "k") == "old");
}

TEST_CASE("two phase store writes straight into item memory", "[slab][store]") {
  Cache cache(small_config());
  ItemRef ref;
  REQUIRE(cache.allocate(StoreMode::kSet, "k", 1, 0, 4, &ref) == StoreResult::kStored);
  REQUIRE(ref.value_size() == 4);
  ref.write_value(0, "abcd");
  CHECK_FALSE(cache.get("k"));  // not visible before commit
  uint64_t cas = 0;
  CHECK(cache.commit(StoreMode::kSet, ref, 0, &cas) == StoreResult::kStored);
  CHECK_FALSE(ref);
  ItemRef got = cache.get("k");
  REQUIRE(got);
  CHECK(got.value_copy() == "abcd");
  CHECK(got.cas() == cas);
}

TEST_CASE("an abandoned allocation returns its memory", "[slab][store]") {
  Cache cache(small_config());
  {
    ItemRef ref;
    REQUIRE(cache.allocate(StoreMode::kSet, "k", 0, 0, 100, &ref) == StoreResult::kStored);
  }
  const auto slabs = cache.slab_stats();
  REQUIRE(slabs.size() == 1);
  CHECK(slabs[0].used_chunks == 0);
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("bytes and item counts follow stores and deletes", "[slab][store][stats]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "a", "12345") == StoreResult::kStored);
  REQUIRE(set(cache, "bb", "1") == StoreResult::kStored);
  // Neither flags 0 nor exptime 0 are stored (4 bytes each).
  const std::size_t header = cache.item_header_size() - 8;
  CacheStats s = cache.stats();
  CHECK(s.curr_items == 2);
  CHECK(s.bytes == 2 * header + 1 + 5 + 2 + 1);
  cache.remove("a");
  s = cache.stats();
  CHECK(s.curr_items == 1);
  CHECK(s.bytes == header + 2 + 1);
  const auto items = cache.item_stats();
  REQUIRE(items.size() == 1);
  CHECK(items[0].number == 1);
  CHECK(items[0].mem_requested == header + 3);
}

TEST_CASE("commit of an empty ref is refused", "[slab][store]") {
  Cache cache(small_config());
  ItemRef empty;
  CHECK(cache.commit(StoreMode::kSet, empty) == StoreResult::kNotStored);
}

TEST_CASE("non-zero flags cost four bytes", "[slab][store][stats]") {
  Cache cache(small_config());
  REQUIRE(cache.store(StoreMode::kSet, "a", 0, 0, "v") == StoreResult::kStored);
  const uint64_t without = cache.stats().bytes;
  REQUIRE(cache.store(StoreMode::kSet, "a", 1, 0, "v") == StoreResult::kStored);
  CHECK(cache.stats().bytes == without + 4);
  CHECK(cache.get("a").flags() == 1);
}
