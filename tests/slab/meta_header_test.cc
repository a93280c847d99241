// tests/slab/meta_header_test.cc — the meta operations on the compact item header: an item
// stored without a TTL has no exptime field, so a meta command that gives it one (mg T, md I T,
// ma T) must rebuild it, keeping value, flags, CAS and the meta bits; and the key-binary bit
// lives in the header's shape bits.
#include <catch2/catch.hpp>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

MetaTtlSteps set_ttl(int64_t ttl) {
  MetaTtlSteps steps;
  steps.ttl = ttl;
  steps.add(MetaTtlStep::kSetTtl);
  return steps;
}

MetaTtl ttl_of(Cache& cache, std::string_view key) {
  MetaGetOptions look;
  look.no_bump = true;
  ItemRef ref;
  return cache.meta_get(key, look, &ref).ttl_after[0];
}

}  // namespace

TEST_CASE("mg T gives a TTL to an item stored without one, keeping value, flags and CAS") {
  Cache cache(small_config());
  cache.tick(kStart);
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "k", 77, 0, "value", 0, &cas) == StoreResult::kStored);
  MetaGetOptions o;
  o.ttl = set_ttl(100);
  ItemRef ref;
  const MetaItemInfo info = cache.meta_get("k", o, &ref);
  REQUIRE(ref);
  CHECK(info.ttl_after[0] == -1);
  CHECK(info.ttl_after[1] == 100);
  CHECK(ref.value_copy() == "value");
  CHECK(ref.flags() == 77);
  CHECK(ref.cas() == cas);
  ref.reset();
  CHECK(ttl_of(cache, "k") == 100);
  cache.tick(kStart + 101);
  CHECK_FALSE(value_of(cache, "k"));
}

TEST_CASE("md I T on an item stored without a TTL marks it stale and sets the TTL") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  MetaDeleteOptions d;
  d.invalidate = true;
  d.has_ttl = true;
  d.ttl = 30;
  REQUIRE(cache.meta_delete("k", d) == MetaDeleteResult::kInvalidated);
  MetaGetOptions o;
  ItemRef ref;
  const MetaItemInfo info = cache.meta_get("k", o, &ref);
  REQUIRE(ref);
  CHECK(info.stale);
  CHECK(info.won);  // the first reader after an invalidation recaches
  CHECK(info.ttl_after[0] == 30);
  CHECK(ref.value_copy() == "v");
}

TEST_CASE("ma T on a counter stored without a TTL sets the TTL") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "n", "41") == StoreResult::kStored);
  MetaDeltaOptions a;
  a.ttl = set_ttl(50);
  const MetaDeltaResult r = cache.meta_delta("n", a, false);
  CHECK(r.status == MetaDeltaStatus::kOk);
  CHECK(r.value == 42);
  CHECK(r.ttl_after[0] == -1);
  CHECK(r.ttl_after[1] == 50);
  CHECK(ttl_of(cache, "n") == 50);
  CHECK(value_of(cache, "n") == "42");
}

TEST_CASE("a binary key stays binary when a TTL rebuild copies the item") {
  Cache cache(small_config());
  cache.tick(kStart);
  ItemRef piece;
  REQUIRE(cache.allocate(StoreMode::kSet, "bk", 0, 0, 1, &piece) == StoreResult::kStored);
  piece.write_value(0, "x");
  MetaStoreOptions s;
  s.key_binary = true;
  uint64_t cas = 0;
  REQUIRE(cache.meta_commit(piece, s, &cas) == StoreResult::kStored);
  CHECK(cache.meta_debug("bk").key_binary);
  CHECK(cache.meta_debug("bk").value_length == 1);
  MetaGetOptions o;
  o.ttl = set_ttl(10);
  ItemRef ref;
  cache.meta_get("bk", o, &ref);
  REQUIRE(ref);
  CHECK(ref.key_is_binary());
  CHECK(ref.value_copy() == "x");
  CHECK(ref.cas() == cas);
}

TEST_CASE("touch keeps the stale mark and the token when it rebuilds an item") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(set(cache, "k", "v") == StoreResult::kStored);
  MetaDeleteOptions d;
  d.invalidate = true;
  REQUIRE(cache.meta_delete("k", d) == MetaDeleteResult::kInvalidated);
  {
    ItemRef first;
    REQUIRE(cache.meta_get("k", MetaGetOptions{}, &first).won);
  }
  REQUIRE(cache.touch("k", 60));
  ItemRef ref;
  const MetaItemInfo info = cache.meta_get("k", MetaGetOptions{}, &ref);
  CHECK(info.stale);
  CHECK(info.token_was_sent);
  CHECK_FALSE(info.won);
  CHECK(info.ttl_after[0] == 60);
}

TEST_CASE("values past the header's 29-bit length field are chunked, up to -I") {
  CacheConfig c = small_config();
  c.item_size_max = std::size_t{1} << 30;
  c.memory_limit = std::size_t{2} << 30;
  Cache cache(c);
  CHECK(cache.item_size_ok(1, std::size_t{1} << 29));
  CHECK(cache.item_size_ok(1, (std::size_t{1} << 30) - 100));
  CHECK_FALSE(cache.item_size_ok(1, std::size_t{1} << 30));
  ItemRef ref;
  CHECK(cache.allocate(StoreMode::kSet, "k", 0, 0, uint32_t{1} << 30, &ref) ==
        StoreResult::kTooLarge);
}
