// tests/slab/delta_test.cc — incr/decr, checked against memcached 1.6.18's answers.
#include <catch2/catch.hpp>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

TEST_CASE("incr adds and decr subtracts", "[slab][delta]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "n", "10") == StoreResult::kStored);
  DeltaResult r = cache.delta("n", true, 5, nullptr);
  CHECK(r.status == DeltaStatus::kOk);
  CHECK(r.value == 15);
  r = cache.delta("n", false, 3, nullptr);
  CHECK(r.status == DeltaStatus::kOk);
  CHECK(r.value == 12);
  CHECK(value_of(cache, "n") == "12");
}

TEST_CASE("incr on a missing key is not found", "[slab][delta]") {
  Cache cache(small_config());
  CHECK(cache.delta("n", true, 1, nullptr).status == DeltaStatus::kNotFound);
  CHECK(cache.delta("n", false, 1, nullptr).status == DeltaStatus::kNotFound);
}

TEST_CASE("incr wraps at 2^64", "[slab][delta]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "n", "18446744073709551615") == StoreResult::kStored);
  DeltaResult r = cache.delta("n", true, 2, nullptr);
  CHECK(r.status == DeltaStatus::kOk);
  CHECK(r.value == 1);
  CHECK(value_of(cache, "n") == "1" + std::string(19, ' '));
}

TEST_CASE("decr floors at zero", "[slab][delta]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "n", "5") == StoreResult::kStored);
  DeltaResult r = cache.delta("n", false, 10, nullptr);
  CHECK(r.status == DeltaStatus::kOk);
  CHECK(r.value == 0);
  CHECK(value_of(cache, "n") == "0");
}

TEST_CASE("incr on non-numeric values fails", "[slab][delta]") {
  Cache cache(small_config());
  for (const char* v : {"", "abc", "12abc", "-5", "18446744073709551616", " ", "+"}) {
    INFO("value '" << v << "'");
    REQUIRE(set(cache, "n", v) == StoreResult::kStored);
    CHECK(cache.delta("n", true, 1, nullptr).status == DeltaStatus::kNonNumeric);
    CHECK(value_of(cache, "n") == v);
  }
}

TEST_CASE("incr accepts what strtoull accepts", "[slab][delta]") {
  Cache cache(small_config());
  // memcached 1.6.18: " 12" -> 13, "12 abc" -> 13 (stops at the space), "-0" -> 0.
  REQUIRE(set(cache, "n", " 12") == StoreResult::kStored);
  CHECK(cache.delta("n", true, 1, nullptr).value == 13);
  CHECK(value_of(cache, "n") == "13 ");
  REQUIRE(set(cache, "n", "12 abc") == StoreResult::kStored);
  CHECK(cache.delta("n", true, 1, nullptr).value == 13);
  CHECK(value_of(cache, "n") == "13    ");
  REQUIRE(set(cache, "n", "-0") == StoreResult::kStored);
  CHECK(cache.delta("n", true, 5, nullptr).value == 5);
}

TEST_CASE("decr rewrites in place padded with spaces", "[slab][delta]") {
  Cache cache(small_config());
  uint64_t cas_before = 0;
  REQUIRE(cache.store(StoreMode::kSet, "n", 7, 0, "100", 0, &cas_before) == StoreResult::kStored);
  uint64_t cas_after = 0;
  DeltaResult r = cache.delta("n", false, 1, &cas_after);
  CHECK(r.value == 99);
  CHECK(cas_after != cas_before);
  ItemRef ref = cache.get("n");
  REQUIRE(ref);
  CHECK(ref.value_copy() == "99 ");
  CHECK(ref.value_copy().size() == 3);
  CHECK(ref.flags() == 7);
  CHECK(ref.cas() == cas_after);
  ref.reset();
  // Growing back within the padded length stays in place too.
  CHECK(cache.delta("n", true, 901, nullptr).value == 1000);
  CHECK(value_of(cache, "n") == "1000");
}

TEST_CASE("incr past the old length makes a new item of exact length", "[slab][delta]") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(cache.store(StoreMode::kSet, "n", 9, 50, "99") == StoreResult::kStored);
  CHECK(cache.delta("n", true, 1, nullptr).value == 100);
  ItemRef ref = cache.get("n");
  REQUIRE(ref);
  CHECK(ref.value_copy() == "100");
  CHECK(ref.flags() == 9);
  ref.reset();
  cache.tick(kStart + 51);  // the expiry carried over
  CHECK_FALSE(cache.get("n"));
}

TEST_CASE("incr while a reader pins the item leaves the reader's bytes alone", "[slab][delta]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "n", "100") == StoreResult::kStored);
  ItemRef reader = cache.get("n");
  REQUIRE(reader);
  CHECK(cache.delta("n", false, 1, nullptr).value == 99);
  CHECK(reader.value_copy() == "100");
  CHECK(value_of(cache, "n") == "99");  // a new item, exact length
}
