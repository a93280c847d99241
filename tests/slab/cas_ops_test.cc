// tests/slab/cas_ops_test.cc — the CAS-conditional operations the binary protocol needs:
// delete, incr/decr and append/prepend with a CAS in the request header (memcached 1.6.18:
// a mismatch answers KEY_EEXISTS and changes nothing; CAS 0 means "any").
#include <catch2/catch.hpp>
#include <string>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {
uint64_t cas_of(Cache& cache, std::string_view key) {
  ItemRef ref = cache.get(key);
  REQUIRE(ref);
  return ref.cas();
}
}  // namespace

TEST_CASE("delete with a stale CAS keeps the item; the current CAS deletes it", "[slab][cas]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  const uint64_t cas = cas_of(cache, "k");
  CHECK(cache.remove_if_cas("k", cas + 1) == RemoveResult::kCasMismatch);
  CHECK(value_of(cache, "k") == "v");
  CHECK(cache.remove_if_cas("k", cas) == RemoveResult::kRemoved);
  CHECK(cache.remove_if_cas("k", cas) == RemoveResult::kNotFound);
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  CHECK(cache.remove_if_cas("k", 0) == RemoveResult::kRemoved);  // 0: any
}

TEST_CASE("incr with a stale CAS changes nothing; with the current one it counts", "[slab][cas]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "n", "10") == StoreResult::kStored);
  const uint64_t cas = cas_of(cache, "n");
  bool mismatch = false;
  DeltaResult r = cache.delta_if_cas("n", true, 5, cas + 7, &mismatch);
  CHECK(mismatch);
  CHECK(value_of(cache, "n") == "10");
  uint64_t new_cas = 0;
  r = cache.delta_if_cas("n", true, 5, cas, &mismatch, &new_cas);
  CHECK_FALSE(mismatch);
  CHECK(r.status == DeltaStatus::kOk);
  CHECK(r.value == 15);
  CHECK(new_cas != cas);
  CHECK(new_cas == cas_of(cache, "n"));
  r = cache.delta_if_cas("n", false, 20, 0, &mismatch);  // 0: any; decr floors at 0
  CHECK_FALSE(mismatch);
  CHECK(r.value == 0);
  r = cache.delta_if_cas("missing", true, 1, 5, &mismatch);
  CHECK_FALSE(mismatch);
  CHECK(r.status == DeltaStatus::kNotFound);
}

TEST_CASE("append and prepend with a CAS must match the item's", "[slab][cas]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "w", "mid") == StoreResult::kStored);
  const uint64_t cas = cas_of(cache, "w");
  CHECK(cache.store(StoreMode::kAppend, "w", 0, 0, "+x", cas + 1) == StoreResult::kExists);
  CHECK(value_of(cache, "w") == "mid");
  uint64_t after = 0;
  CHECK(cache.store(StoreMode::kAppend, "w", 0, 0, ">", cas, &after) == StoreResult::kStored);
  CHECK(cache.store(StoreMode::kPrepend, "w", 0, 0, "<", cas) == StoreResult::kExists);
  CHECK(cache.store(StoreMode::kPrepend, "w", 0, 0, "<", after) == StoreResult::kStored);
  CHECK(value_of(cache, "w") == "<mid>");
  // A missing key is NOT_STORED whatever the CAS (memcached checks existence first).
  CHECK(cache.store(StoreMode::kAppend, "none", 0, 0, "x", 99) == StoreResult::kNotStored);
}
