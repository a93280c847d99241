// tests/slab/expiry_test.cc — exptime conversion, touch, get_and_touch and flush_all.
#include <catch2/catch.hpp>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

TEST_CASE("tick sets now relative to process start", "[slab][expiry]") {
  Cache cache(small_config());
  cache.tick(kStart + 1234);
  CHECK(cache.now() == 1234);
}

TEST_CASE("relative exptime expires after that many seconds", "[slab][expiry]") {
  Cache cache(small_config());
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "k", "v", 5) == StoreResult::kStored);
  cache.tick(kStart + 14);
  CHECK(cache.get("k"));
  cache.tick(kStart + 15);
  CHECK_FALSE(cache.get("k"));
  CHECK(cache.stats().get_expired == 1);
  CHECK(cache.stats().curr_items == 0);
}

TEST_CASE("exptime zero never expires", "[slab][expiry]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "v", 0) == StoreResult::kStored);
  cache.tick(kStart + 100 * kMaxRelativeExptime);
  CHECK(cache.get("k"));
}

TEST_CASE("negative exptime stores an already expired item", "[slab][expiry]") {
  Cache cache(small_config());
  CHECK(set(cache, "k", "v", -1) == StoreResult::kStored);
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("exptime of exactly 30 days is relative, one more is absolute", "[slab][expiry]") {
  Cache cache(small_config());
  cache.tick(kStart + 100);
  REQUIRE(set(cache, "rel", "v", kMaxRelativeExptime) == StoreResult::kStored);
  // kMaxRelativeExptime + 1 as a unix time is long before process start: expired at once.
  REQUIRE(set(cache, "abs", "v", kMaxRelativeExptime + 1) == StoreResult::kStored);
  CHECK_FALSE(cache.get("abs"));
  cache.tick(kStart + 100 + kMaxRelativeExptime - 1);
  CHECK(cache.get("rel"));
  cache.tick(kStart + 100 + kMaxRelativeExptime);
  CHECK_FALSE(cache.get("rel"));
}

TEST_CASE("absolute exptime expires at that unix time", "[slab][expiry]") {
  Cache cache(small_config());
  cache.tick(kStart + 5);
  REQUIRE(set(cache, "k", "v", kStart + 20) == StoreResult::kStored);
  REQUIRE(set(cache, "past", "v", kStart - 20) == StoreResult::kStored);
  CHECK_FALSE(cache.get("past"));
  cache.tick(kStart + 19);
  CHECK(cache.get("k"));
  cache.tick(kStart + 20);
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("an expired item cannot be replaced or appended but can be added", "[slab][expiry]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "v", 1) == StoreResult::kStored);
  cache.tick(kStart + 2);
  CHECK(cache.store(StoreMode::kReplace, "k", 0, 0, "x") == StoreResult::kNotStored);
  CHECK(cache.store(StoreMode::kAppend, "k", 0, 0, "x") == StoreResult::kNotStored);
  CHECK(cache.delta("k", true, 1, nullptr).status == DeltaStatus::kNotFound);
  CHECK(cache.store(StoreMode::kAdd, "k", 0, 0, "new") == StoreResult::kStored);
  CHECK(value_of(cache, "k") == "new");
}

TEST_CASE("touch sets a new expiry on a live item", "[slab][expiry]") {
  Cache cache(small_config());
  CHECK_FALSE(cache.touch("k", 10));
  REQUIRE(set(cache, "k", "v", 10) == StoreResult::kStored);
  cache.tick(kStart + 5);
  CHECK(cache.touch("k", 100));
  cache.tick(kStart + 50);
  CHECK(cache.get("k"));
  cache.tick(kStart + 105);
  CHECK_FALSE(cache.get("k"));
  CHECK_FALSE(cache.touch("k", 100));
}

TEST_CASE("touch with zero makes an item permanent", "[slab][expiry]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "v", 10) == StoreResult::kStored);
  CHECK(cache.touch("k", 0));
  cache.tick(kStart + 1000);
  CHECK(cache.get("k"));
}

TEST_CASE("get_and_touch returns the item and moves its expiry", "[slab][expiry]") {
  Cache cache(small_config());
  CHECK_FALSE(cache.get_and_touch("k", 10));
  REQUIRE(set(cache, "k", "v", 10) == StoreResult::kStored);
  ItemRef ref = cache.get_and_touch("k", 1000);
  REQUIRE(ref);
  CHECK(ref.value_copy() == "v");
  ref.reset();
  cache.tick(kStart + 500);
  CHECK(cache.get("k"));
  CHECK(cache.get_and_touch("k", -1));  // returned, then expired
  CHECK_FALSE(cache.get("k"));
}

TEST_CASE("flush_all hides every item stored before it", "[slab][flush]") {
  Cache cache(small_config());
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  REQUIRE(set(cache, "b", "2") == StoreResult::kStored);
  cache.flush_all(0);
  CHECK_FALSE(cache.get("a"));
  CHECK_FALSE(cache.get("b"));
  CHECK(cache.stats().get_flushed == 2);
}

TEST_CASE("set right after flush_all in the same second is visible", "[slab][flush]") {
  Cache cache(small_config());
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "old", "1") == StoreResult::kStored);
  cache.flush_all(0);
  REQUIRE(set(cache, "new", "2") == StoreResult::kStored);
  CHECK(value_of(cache, "new") == "2");
  CHECK_FALSE(cache.get("old"));
  cache.tick(kStart + 11);
  CHECK(value_of(cache, "new") == "2");
  CHECK(cache.store(StoreMode::kAdd, "old", 0, 0, "3") == StoreResult::kStored);
}

TEST_CASE("flush_all at process start still flushes", "[slab][flush]") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  cache.flush_all(0);
  CHECK_FALSE(cache.get("a"));
}

TEST_CASE("delayed flush_all takes effect at its time", "[slab][flush]") {
  Cache cache(small_config());
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  cache.flush_all(5);
  cache.tick(kStart + 13);
  CHECK(cache.get("a"));
  REQUIRE(set(cache, "b", "2") == StoreResult::kStored);
  cache.tick(kStart + 15);
  CHECK_FALSE(cache.get("a"));
  CHECK_FALSE(cache.get("b"));
  REQUIRE(set(cache, "c", "3") == StoreResult::kStored);
  cache.tick(kStart + 16);
  CHECK(value_of(cache, "c") == "3");
}

TEST_CASE("flush_all without cas hides items stored in the same second", "[slab][flush]") {
  CacheConfig config = small_config();
  config.use_cas = false;
  Cache cache(config);
  cache.tick(kStart + 10);
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  cache.flush_all(0);
  CHECK_FALSE(cache.get("a"));
  cache.tick(kStart + 11);
  REQUIRE(set(cache, "b", "2") == StoreResult::kStored);
  CHECK(cache.get("b"));
}

TEST_CASE("touch gives a TTL to an item stored without one, keeping value, flags and CAS",
          "[slab][expiry][touch]") {
  Cache cache(small_config());
  cache.tick(kStart);
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "k", 42, 0, "value", 0, &cas) == StoreResult::kStored);
  const uint64_t bytes_before = cache.stats().bytes;
  CHECK(cache.touch("k", 10));
  CHECK(cache.stats().bytes == bytes_before + 4);  // the header grew by the exptime field
  {
    ItemRef ref = cache.get("k");
    REQUIRE(ref);
    CHECK(ref.value_copy() == "value");
    CHECK(ref.flags() == 42);
    CHECK(ref.cas() == cas);
  }
  CHECK(cache.stats().curr_items == 1);
  cache.tick(kStart + 11);
  CHECK_FALSE(cache.get("k"));
  // gat on a TTL-less item returns the rebuilt item.
  REQUIRE(set(cache, "g", "v") == StoreResult::kStored);
  ItemRef g = cache.get_and_touch("g", 100);
  REQUIRE(g);
  CHECK(g.value_copy() == "v");
  g.reset();
  cache.tick(kStart + 110);
  CHECK(value_of(cache, "g") == "v");
  cache.tick(kStart + 112);
  CHECK_FALSE(value_of(cache, "g"));
  // And back to "never": the field stays, holding 0.
  REQUIRE(set(cache, "n", "v", 5) == StoreResult::kStored);
  CHECK(cache.touch("n", 0));
  cache.tick(kStart + 200);
  CHECK(value_of(cache, "n") == "v");
}
