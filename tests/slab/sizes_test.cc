// tests/slab/sizes_test.cc — the "stats sizes" histogram (memcached's -o track_sizes and
// "stats sizes_enable" / "stats sizes_disable").
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

std::vector<SizeBucket> histogram(Cache& cache) {
  std::vector<SizeBucket> out;
  REQUIRE(cache.size_histogram(&out));
  return out;
}

}  // namespace

TEST_CASE("the size histogram is off unless asked for", "[slab][sizes]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "a", "hello") == StoreResult::kStored);
  std::vector<SizeBucket> out;
  CHECK_FALSE(cache.size_histogram(&out));
  CHECK(out.empty());
  CHECK(cache.get("a").cas() == 1);
}

TEST_CASE("track_sizes counts items in memcached's 32-byte buckets", "[slab][sizes]") {
  CacheConfig c = small_config();
  c.track_sizes = true;
  Cache cache(c);
  // memcached's size: 48 header + key + NUL + value + CRLF + 8 CAS (+ 4 with flags).
  REQUIRE(set(cache, "a", "hello") == StoreResult::kStored);                // 65 -> 96
  REQUIRE(set(cache, "b", std::string(100, 'x')) == StoreResult::kStored);  // 160 -> 160
  REQUIRE(set(cache, "c", std::string(33, 'x')) == StoreResult::kStored);   // 93 -> 96
  REQUIRE(cache.store(StoreMode::kSet, "dd", 5, 0, std::string(2000, 'x')) ==
          StoreResult::kStored);  // 2065 -> 2080
  // As memcached, starting the histogram took a CAS id.
  CHECK(cache.get("a").cas() == 2);
  std::vector<SizeBucket> h = histogram(cache);
  REQUIRE(h.size() == 3);
  CHECK((h[0].size == 96 && h[0].count == 2));
  CHECK((h[1].size == 160 && h[1].count == 1));
  CHECK((h[2].size == 2080 && h[2].count == 1));
  REQUIRE(cache.remove("a"));
  REQUIRE(set(cache, "b", "x") == StoreResult::kStored);  // replaced: 160 -> 64
  h = histogram(cache);
  REQUIRE(h.size() == 3);
  CHECK((h[0].size == 64 && h[0].count == 1));
  CHECK((h[1].size == 96 && h[1].count == 1));
  CHECK((h[2].size == 2080 && h[2].count == 1));
}

TEST_CASE("sizes_enable counts only items stored afterwards", "[slab][sizes]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "a", "hello") == StoreResult::kStored);
  CHECK(cache.enable_size_histogram() == SizesEnable::kEnabled);
  CHECK(histogram(cache).empty());
  REQUIRE(set(cache, "b", "x") == StoreResult::kStored);
  CHECK(cache.get("b").cas() == 3);  // enabling took CAS 2, as memcached
  REQUIRE(cache.remove("a"));        // older than the histogram: not subtracted
  std::vector<SizeBucket> h = histogram(cache);
  REQUIRE(h.size() == 1);
  CHECK((h[0].size == 64 && h[0].count == 1));
  CHECK(cache.enable_size_histogram() == SizesEnable::kEnabled);  // already on: kept
  CHECK(histogram(cache).size() == 1);
  cache.disable_size_histogram();
  std::vector<SizeBucket> out;
  CHECK_FALSE(cache.size_histogram(&out));

  CacheConfig no_cas = small_config();
  no_cas.use_cas = false;
  Cache without(no_cas);
  CHECK(without.enable_size_histogram() == SizesEnable::kCasDisabled);
  CHECK_FALSE(without.size_histogram(&out));
}

TEST_CASE("a touch that rebuilds an item older than the histogram leaves it uncounted",
          "[slab][sizes][touch]") {
  // The rebuilt copy keeps the old CAS, so it stays "older" and its delete subtracts nothing;
  // it used to be counted when linked (with a fresh CAS) and then never taken off.
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "a", "hello") == StoreResult::kStored);  // no TTL: touch rebuilds it
  REQUIRE(cache.enable_size_histogram() == SizesEnable::kEnabled);
  REQUIRE(cache.touch("a", 100));
  CHECK(cache.get("a").cas() == 1);
  CHECK(histogram(cache).empty());
  REQUIRE(cache.remove("a"));
  CHECK(histogram(cache).empty());
  REQUIRE(set(cache, "b", "x") == StoreResult::kStored);
  CHECK(cache.get("b").cas() == 3);  // the touch took no CAS (enabling took 2)
}
