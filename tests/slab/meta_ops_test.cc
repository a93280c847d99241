// tests/slab/meta_ops_test.cc — the Cache's meta operations: vivify and its single win, recache,
// invalidate-to-stale, stale CAS stores, explicit CAS, vivifying incr/decr, the debug view.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {
MetaGetOptions vivify_options(int64_t ttl) {
  MetaGetOptions o;
  o.vivify = true;
  o.ttl.vivify = ttl;
  o.ttl.add(MetaTtlStep::kVivify);
  return o;
}
}  // namespace

TEST_CASE("meta_get vivifies a miss once: first caller wins, the next sees the token taken") {
  Cache cache(small_config());
  cache.tick(kStart);
  ItemRef a;
  MetaItemInfo first = cache.meta_get("k", vivify_options(30), &a);
  REQUIRE(a);
  CHECK(first.created);
  CHECK(first.won);
  CHECK(first.ttl_after[0] == -1);  // before N applied
  CHECK(first.ttl_after[1] == 30);
  ItemRef b;
  MetaItemInfo second = cache.meta_get("k", vivify_options(30), &b);
  REQUIRE(b);
  CHECK_FALSE(second.created);
  CHECK_FALSE(second.won);
  CHECK(second.token_was_sent);
  CHECK(b.value_copy().empty());
}

TEST_CASE("meta_get without vivify misses and counts like get") {
  Cache cache(small_config());
  ItemRef r;
  cache.meta_get("nope", MetaGetOptions{}, &r);
  CHECK_FALSE(r);
}

TEST_CASE("concurrent vivify hands out exactly one win") {
  Cache cache(small_config());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      ItemRef r;
      if (cache.meta_get("hot", vivify_options(30), &r).won) wins.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wins.load() == 1);
}

TEST_CASE("recache wins only when the item expires sooner than R, once") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(cache.store(StoreMode::kSet, "r", 0, 60, "v") == StoreResult::kStored);
  MetaGetOptions o;
  o.ttl.recache = 30;
  o.ttl.add(MetaTtlStep::kRecache);
  ItemRef r1;
  CHECK_FALSE(cache.meta_get("r", o, &r1).won);
  o.ttl.recache = 100;
  ItemRef r2;
  CHECK(cache.meta_get("r", o, &r2).won);
  ItemRef r3;
  MetaItemInfo third = cache.meta_get("r", o, &r3);
  CHECK_FALSE(third.won);
  CHECK(third.token_was_sent);
}

TEST_CASE("invalidate marks stale, bumps CAS, and lets one reader win") {
  Cache cache(small_config());
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "s", 0, 0, "v", 0, &cas) == StoreResult::kStored);
  MetaDeleteOptions d;
  d.invalidate = true;
  CHECK(cache.meta_delete("s", d) == MetaDeleteResult::kInvalidated);
  ItemRef r;
  MetaItemInfo info = cache.meta_get("s", MetaGetOptions{}, &r);
  REQUIRE(r);
  CHECK(info.stale);
  CHECK(info.won);
  CHECK(r.cas() != cas);
  CHECK(r.is_stale());
  ItemRef r2;
  CHECK_FALSE(cache.meta_get("s", MetaGetOptions{}, &r2).won);
}

TEST_CASE("a stale CAS store with I succeeds only with an older CAS, and stays stale") {
  Cache cache(small_config());
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "s", 0, 0, "v", 0, &cas) == StoreResult::kStored);
  auto store = [&](uint64_t with_cas, bool invalidate) {
    ItemRef item;
    REQUIRE(cache.allocate(StoreMode::kSet, "s", 0, 0, 1, &item) == StoreResult::kStored);
    item.write_value(0, "n");
    MetaStoreOptions o;
    o.mode = StoreMode::kCas;
    o.cas = with_cas;
    o.invalidate = invalidate;
    return cache.meta_commit(item, o, nullptr);
  };
  CHECK(store(cas + 100, true) == StoreResult::kExists);
  CHECK(store(cas - 1, false) == StoreResult::kExists);
  CHECK(store(cas - 1, true) == StoreResult::kStored);
  ItemRef r;
  cache.meta_get("s", MetaGetOptions{}, &r);
  CHECK(r.value_copy() == "n");
  CHECK(r.is_stale());
}

TEST_CASE("explicit CAS (E) sets the stored item's CAS") {
  Cache cache(small_config());
  ItemRef item;
  REQUIRE(cache.allocate(StoreMode::kSet, "e", 0, 0, 0, &item) == StoreResult::kStored);
  MetaStoreOptions o;
  o.new_cas = 4242;
  uint64_t cas = 0;
  CHECK(cache.meta_commit(item, o, &cas) == StoreResult::kStored);
  CHECK(cas == 4242);
  CHECK(cache.get("e").cas() == 4242);
}

TEST_CASE("meta_delta vivifies with the initial value, compares CAS, and counts") {
  Cache cache(small_config());
  MetaDeltaOptions o;
  CHECK(cache.meta_delta("c", o, false).status == MetaDeltaStatus::kNotFound);
  o.vivify = true;
  o.initial = 10;
  MetaDeltaResult created = cache.meta_delta("c", o, false);
  CHECK(created.status == MetaDeltaStatus::kCreated);
  CHECK(created.value == 10);
  MetaDeltaResult next = cache.meta_delta("c", o, false);
  CHECK(next.status == MetaDeltaStatus::kOk);
  CHECK(next.value == 11);
  o.has_cas = true;
  o.cas = next.cas + 1000;
  CHECK(cache.meta_delta("c", o, false).status == MetaDeltaStatus::kExists);
  o.cas = next.cas;
  o.increment = false;
  o.delta = 100;
  CHECK(cache.meta_delta("c", o, false).value == 0);
}

TEST_CASE("meta_debug reports fetch state and last access") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(cache.store(StoreMode::kSet, "d", 0, 0, "v") == StoreResult::kStored);
  MetaDebugInfo before = cache.meta_debug("d");
  CHECK(before.found);
  CHECK_FALSE(before.fetched);
  CHECK(before.exp == -1);
  cache.get("d");
  cache.tick(kStart + 5);
  MetaDebugInfo after = cache.meta_debug("d");
  CHECK(after.fetched);
  CHECK(after.last_access == 5);
  CHECK_FALSE(cache.meta_debug("nope").found);
}

TEST_CASE("md x leaves an empty tombstone with the request's flags and the old CAS") {
  Cache cache(small_config());
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "t", 9, 0, "hello", 0, &cas) == StoreResult::kStored);
  MetaDeleteOptions d;
  d.remove_value = true;
  d.tombstone_flags = 3;
  CHECK(cache.meta_delete("t", d) == MetaDeleteResult::kDeleted);
  ItemRef r = cache.get("t");
  REQUIRE(r);
  CHECK(r.value_copy().empty());
  CHECK(r.flags() == 3);
  CHECK(r.cas() == cas);
  CHECK(cache.meta_delete("missing", d) == MetaDeleteResult::kNotFound);
}

TEST_CASE("append with vivify creates the item on a miss; without it, not stored") {
  Cache cache(small_config());
  auto append = [&](std::string_view piece, bool vivify) {
    ItemRef item;
    REQUIRE(cache.allocate(StoreMode::kSet, "log", 0, 0, static_cast<uint32_t>(piece.size()),
                           &item) == StoreResult::kStored);
    item.write_value(0, piece);
    MetaStoreOptions o;
    o.mode = StoreMode::kAppend;
    o.vivify = vivify;
    uint32_t length = 0;
    const StoreResult r = cache.meta_commit(item, o, nullptr, &length);
    return std::make_pair(r, length);
  };
  CHECK(append("a", false).first == StoreResult::kNotStored);
  CHECK(append("a", true) == std::make_pair(StoreResult::kStored, uint32_t{1}));
  CHECK(append("bc", false) == std::make_pair(StoreResult::kStored, uint32_t{3}));
  CHECK(value_of(cache, "log") == "abc");
}

TEST_CASE("meta_delta applies T after the arithmetic and reports each step's TTL") {
  Cache cache(small_config());
  cache.tick(kStart);
  REQUIRE(cache.store(StoreMode::kSet, "n", 0, 0, "5") == StoreResult::kStored);
  MetaDeltaOptions o;
  o.ttl.ttl = 200;
  o.ttl.add(MetaTtlStep::kSetTtl);
  o.new_cas = 777;
  MetaDeltaResult r = cache.meta_delta("n", o, false);
  CHECK(r.status == MetaDeltaStatus::kOk);
  CHECK(r.value == 6);
  CHECK(r.ttl_after[0] == -1);
  CHECK(r.ttl_after[1] == 200);
  CHECK(r.cas == 777);
}

TEST_CASE("meta operations from many threads on a few keys stay consistent") {
  // Exercises every allocate-outside-the-lock path against concurrent replacement.
  Cache cache(small_config());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const std::string keys[] = {"a", "b", "c"};
      for (int i = 0; i < 3000; ++i) {
        const std::string& key = keys[static_cast<std::size_t>(i + t) % 3];
        switch ((i * 7 + t) % 6) {
          case 0: {
            ItemRef r;
            cache.meta_get(key, vivify_options(30), &r);
            if (!r) bad.fetch_add(1);
            break;
          }
          case 1: {
            MetaDeltaOptions o;
            o.vivify = true;
            o.delta = static_cast<uint64_t>(i);
            cache.meta_delta(key, o, false);  // may be non-numeric: fine
            break;
          }
          case 2: {
            MetaDeleteOptions d;
            d.invalidate = (i % 2) == 0;
            d.remove_value = (i % 3) == 0;
            cache.meta_delete(key, d);
            break;
          }
          case 3: {
            ItemRef item;
            if (cache.allocate(StoreMode::kSet, key, 0, 0, 2, &item) != StoreResult::kStored) break;
            item.write_value(0, "12");
            MetaStoreOptions o;
            o.mode = (i % 2) == 0 ? StoreMode::kAppend : StoreMode::kSet;
            o.vivify = true;
            cache.meta_commit(item, o, nullptr);
            break;
          }
          case 4: cache.meta_debug(key); break;
          default: cache.store(StoreMode::kSet, key, 0, 0, "7"); break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad.load() == 0);  // a vivifying get always returns an item
  CHECK(cache.stats().curr_items <= 3);
}
