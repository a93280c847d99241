// tests/slab/chunked_test.cc — items larger than the largest slab class (slab_chunk_max) are
// stored as a chain of chunks taken from the slab classes, as memcached 1.6 does.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

constexpr std::size_t kChunkMax = std::size_t{512} << 10;  // memcached's default (page / 2)
constexpr std::size_t kPage = std::size_t{1} << 20;

CacheConfig big_config(std::size_t memory_mb = 64, std::size_t item_max_mb = 32) {
  CacheConfig c = small_config();
  c.memory_limit = memory_mb << 20;
  c.item_size_max = item_max_mb << 20;
  c.background_threads = false;
  return c;
}

// A value whose bytes depend on their position, so a chunk out of order or repeated shows.
std::string patterned(std::size_t n, uint32_t seed = 0) {
  std::string out(n, '\0');
  uint32_t x = 2463534242u ^ seed;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>('a' + x % 26);
  }
  return out;
}

std::size_t segment_count(const ItemRef& ref) {
  std::size_t n = 0;
  for (std::string_view s : ref.value_segments()) {
    (void)s;
    ++n;
  }
  return n;
}

uint64_t pages_in_classes(Cache& cache) {
  uint64_t pages = 0;
  for (const SlabClassStats& s : cache.slab_stats()) pages += s.total_pages;
  return pages;
}

}  // namespace

TEST_CASE("the largest slab class is slab_chunk_max, half a page by default", "[slab][chunked]") {
  Cache cache(big_config());
  REQUIRE(set(cache, "k", patterned(kChunkMax + 10)) == StoreResult::kStored);
  const std::vector<SlabClassStats> slabs = cache.slab_stats();
  REQUIRE(!slabs.empty());
  CHECK(slabs.back().chunk_size == kChunkMax);
  CHECK(slabs.back().chunks_per_page == 2);

  CacheConfig c = big_config();
  c.slab_chunk_max = 64u << 10;
  Cache smaller(c);
  REQUIRE(set(smaller, "k", patterned(100u << 10)) == StoreResult::kStored);
  CHECK(smaller.slab_stats().back().chunk_size == 64u << 10);
  CHECK(smaller.slab_stats().back().chunks_per_page == 16);
}

TEST_CASE("values of many sizes around chunk boundaries read back intact", "[slab][chunked]") {
  Cache cache(big_config(256));
  std::vector<std::size_t> sizes = {0,
                                    1,
                                    100,
                                    kChunkMax - 200,
                                    kChunkMax - 41,
                                    kChunkMax - 40,
                                    kChunkMax - 39,
                                    kChunkMax,
                                    kChunkMax + 1,
                                    kPage,
                                    kPage - 1,
                                    kPage + 1,
                                    3 * kPage + kPage / 2};
  for (std::size_t k = 1; k <= 6; ++k) {
    sizes.push_back(k * kChunkMax - 1);
    sizes.push_back(k * kChunkMax);
    sizes.push_back(k * kChunkMax + 1);
    sizes.push_back(k * (kChunkMax - 24));  // whole data chunks
    sizes.push_back(k * (kChunkMax - 24) + 1);
  }
  uint32_t seed = 0;
  for (const std::size_t n : sizes) {
    INFO("value length " << n);
    const std::string key = numbered("key", seed);
    const std::string value = patterned(n, seed++);
    REQUIRE(cache.store(StoreMode::kSet, key, 7, 0, value) == StoreResult::kStored);
    ItemRef ref = cache.get(key);
    REQUIRE(ref);
    CHECK(ref.value_size() == n);
    CHECK(ref.value_segments().size() == n);
    CHECK(ref.flags() == 7);
    CHECK(ref.value_copy() == value);
    // Below the largest class the value is one span (the zero-copy fast path); above it, one
    // span per chunk, each within a chunk.
    if (n + 64 < kChunkMax) CHECK(ref.value_segments().contiguous());
    if (n > kChunkMax) {
      CHECK_FALSE(ref.value_segments().contiguous());
      CHECK(segment_count(ref) >= (n + kChunkMax - 1) / kChunkMax);
      for (std::string_view s : ref.value_segments()) CHECK(s.size() <= kChunkMax);
    }
  }
  CHECK(cache.stats().curr_items == sizes.size());
}

TEST_CASE("chunked items live in slab pages and are counted there", "[slab][chunked]") {
  Cache cache(big_config());
  const std::string v1 = patterned(std::size_t{2} << 20, 1);   // 2 MB
  const std::string v2 = patterned(std::size_t{20} << 20, 2);  // 20 MB
  REQUIRE(set(cache, "two", v1) == StoreResult::kStored);
  REQUIRE(set(cache, "twenty", v2) == StoreResult::kStored);
  CHECK(cache.get("two").value_copy() == v1);
  CHECK(cache.get("twenty").value_copy() == v2);
  const CacheStats st = cache.stats();
  CHECK(st.bytes >= v1.size() + v2.size());
  // Every byte is in slab pages: the pages cover the values, and nothing else was allocated.
  CHECK(pages_in_classes(cache) * kPage >= v1.size() + v2.size());
  CHECK(st.total_malloced == (pages_in_classes(cache) + st.slab_global_page_pool) * kPage);
  uint64_t used_in_largest = 0;
  for (const SlabClassStats& s : cache.slab_stats())
    if (s.chunk_size == kChunkMax) used_in_largest = s.used_chunks;
  CHECK(used_in_largest >= (v1.size() + v2.size()) / kChunkMax);
  // Deleting frees every chunk.
  REQUIRE(cache.remove("twenty"));
  REQUIRE(cache.remove("two"));
  for (const SlabClassStats& s : cache.slab_stats()) CHECK(s.used_chunks == 0);
}

TEST_CASE("a too large value is refused and -I bounds chunked items", "[slab][chunked]") {
  Cache cache(big_config(64, 4));
  CHECK(set(cache, "k", std::string((std::size_t{4} << 20) + 1, 'x')) == StoreResult::kTooLarge);
  CHECK(cache.item_size_ok(1, (std::size_t{4} << 20) - 100));
  CHECK_FALSE(cache.item_size_ok(1, std::size_t{4} << 20));
  REQUIRE(set(cache, "k", std::string((std::size_t{4} << 20) - 100, 'x')) == StoreResult::kStored);
}

TEST_CASE("filling the cache with chunked items evicts and stays within -m", "[slab][chunked]") {
  const std::size_t limit_mb = 16;
  Cache cache(big_config(limit_mb, 4));
  const std::size_t n = std::size_t{3} << 20;  // 3 MB values: about 5 fit
  for (uint32_t i = 0; i < 40; ++i) {
    REQUIRE(set(cache, numbered("k", i), patterned(n, i)) == StoreResult::kStored);
    // The allocator's first-page overdraft (limit / 16 + 4 pages) is the only slack.
    const uint64_t malloced = cache.stats().total_malloced;
    REQUIRE(malloced <= (limit_mb << 20) + (limit_mb << 20) / 16 + 4 * kPage);
  }
  CHECK(cache.stats().evictions > 0);
  CHECK(cache.stats().curr_items >= 3);
  // Recent ones are intact; evicted ones miss cleanly.
  CHECK(cache.get("k39").value_copy() == patterned(n, 39));
  CHECK(cache.get("k38").value_copy() == patterned(n, 38));
  CHECK_FALSE(cache.get("k0"));
  // An evicted chunked item gave back all its chunks: used chunks match the live items.
  uint64_t used = 0;
  for (const SlabClassStats& s : cache.slab_stats()) used += s.used_chunks;
  const uint64_t live = cache.stats().curr_items;
  CHECK(used <= live * (n / (kChunkMax - 24) + 2));
}

TEST_CASE("a chunked item's tail falls back to a full-size chunk when its class has none",
          "[slab][chunked]") {
  // The largest class full of 500 KB items (not chunked), then 600 KB items (a full chunk plus
  // a ~76 KB tail): their heads evict 500 KB items, which free no tail, and the tail class's
  // pages hold only tails, which no LRU lists. Once its first page is used up, the tail must
  // come from the largest class (evicting there), as memcached does, instead of failing.
  Cache cache(big_config(8, 1));
  const std::size_t half = 500000;
  const std::size_t over = 600000;
  for (uint32_t i = 0; cache.stats().evictions == 0; ++i) {
    REQUIRE(i < 100);
    REQUIRE(set(cache, numbered("half", i), patterned(half, i)) == StoreResult::kStored);
  }
  for (uint32_t i = 0; i < 40; ++i) {
    INFO("600 KB item " << i);
    REQUIRE(set(cache, numbered("over", i), patterned(over, i)) == StoreResult::kStored);
    CHECK(cache.get(numbered("over", i)).value_copy() == patterned(over, i));
  }
  for (const ItemClassStats& c : cache.item_stats()) CHECK(c.outofmemory == 0);
  // Every chunk in use belongs to a live item: one per 500 KB item, two per 600 KB item.
  uint64_t expected = 0;
  for (uint32_t i = 0; i < 100; ++i) {
    if (cache.get(numbered("half", i))) expected += 1;
    if (i < 40 && cache.get(numbered("over", i))) expected += 2;
  }
  uint64_t used = 0;
  for (const SlabClassStats& c : cache.slab_stats()) used += c.used_chunks;
  CHECK(used == expected);
}

TEST_CASE("small items and chunked items evict each other under one limit", "[slab][chunked]") {
  Cache cache(big_config(16, 4));
  const std::string small(1000, 's');
  for (uint32_t round = 0; round < 4; ++round) {
    for (uint32_t i = 0; i < 8000; ++i)
      REQUIRE(set(cache, numbered("s", round * 8000 + i), small) == StoreResult::kStored);
    for (uint32_t i = 0; i < 8; ++i) {
      // The largest class must win pages back from small items (automove is off here), or
      // fail cleanly: never crash or overshoot.
      const StoreResult r = set(cache, numbered("big", round * 8 + i), patterned(3u << 20, i));
      CHECK((r == StoreResult::kStored || r == StoreResult::kNoMemory));
    }
  }
  CHECK(cache.stats().total_malloced <= (std::size_t{17} << 20) + 4 * kPage);
}

TEST_CASE("append and prepend work on chunked items", "[slab][chunked]") {
  Cache cache(big_config());
  const std::string base = patterned(kChunkMax * 3 + 5, 1);
  REQUIRE(set(cache, "k", base) == StoreResult::kStored);
  REQUIRE(cache.store(StoreMode::kAppend, "k", 0, 0, "tail") == StoreResult::kStored);
  CHECK(cache.get("k").value_copy() == base + "tail");
  REQUIRE(cache.store(StoreMode::kPrepend, "k", 0, 0, "head") == StoreResult::kStored);
  CHECK(cache.get("k").value_copy() == "head" + base + "tail");
  // A small item grown past the largest class by appends becomes chunked.
  const std::string piece = patterned(200u << 10, 2);
  REQUIRE(set(cache, "g", "start") == StoreResult::kStored);
  std::string expect = "start";
  for (int i = 0; i < 4; ++i) {
    REQUIRE(cache.store(StoreMode::kAppend, "g", 0, 0, piece) == StoreResult::kStored);
    expect += piece;
  }
  ItemRef g = cache.get("g");
  CHECK_FALSE(g.value_segments().contiguous());
  CHECK(g.value_copy() == expect);
  // Appending a chunked piece to a chunked item.
  REQUIRE(cache.store(StoreMode::kAppend, "k", 0, 0, expect) == StoreResult::kStored);
  CHECK(cache.get("k").value_copy() == "head" + base + "tail" + expect);
}

TEST_CASE("CAS, touch, incr and pins behave on chunked items", "[slab][chunked]") {
  Cache cache(big_config());
  const std::string v = patterned(kPage * 2, 3);
  uint64_t cas = 0;
  REQUIRE(cache.store(StoreMode::kSet, "k", 0, 0, v, 0, &cas) == StoreResult::kStored);
  CHECK(cache.get("k").cas() == cas);
  CHECK(cache.store(StoreMode::kCas, "k", 0, 0, "x", cas + 100) == StoreResult::kExists);
  // gat gives a TTL to an item stored without one: the item is rebuilt, value and CAS kept.
  ItemRef touched = cache.get_and_touch("k", 100);
  REQUIRE(touched);
  CHECK(touched.value_copy() == v);
  CHECK(touched.cas() == cas);
  // Non-numeric for incr, as memcached says of chunked items.
  CHECK(cache.delta("k", true, 1).status == DeltaStatus::kNonNumeric);
  // A pinned reader keeps its bytes while the key is replaced and the chunks reused.
  ItemRef pinned = cache.get("k");
  REQUIRE(cache.remove("k"));
  for (uint32_t i = 0; i < 4; ++i)
    REQUIRE(set(cache, numbered("o", i), patterned(kPage * 2, 9)) == StoreResult::kStored);
  CHECK(pinned.value_copy() == v);
  CHECK(cache.store(StoreMode::kCas, "o1", 0, 0, v, cache.get("o1").cas()) == StoreResult::kStored);
  CHECK(cache.get("o1").value_copy() == v);
}

TEST_CASE("the crawler and metadump see chunked items with their full size", "[slab][chunked]") {
  Cache cache(big_config());
  REQUIRE(set(cache, "k", patterned(kPage * 2, 4), 10) == StoreResult::kStored);
  uint64_t seen = 0;
  cache.for_each_item({}, [&](const ItemMetadata& m) {
    CHECK(m.key == "k");
    CHECK(m.value_length == kPage * 2);
    ++seen;
  });
  CHECK(seen == 1);
  cache.tick(kStart + 20);
  CHECK(cache.crawl() == 1);
  for (const SlabClassStats& s : cache.slab_stats()) CHECK(s.used_chunks == 0);
}

TEST_CASE("readers, writers, evictions and page moves agree on chunked values",
          "[slab][chunked][concurrency]") {
  CacheConfig c = big_config(24, 4);
  c.slab_automove = 2;
  Cache cache(c);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread admin([&] {
    while (!stop.load()) {
      cache.slabs_reassign(-1, 0);
      cache.run_slab_rebalancer_once();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 300; ++i) {
        const int n = (i * 7 + w * 5) % 12;
        const std::string key = numbered("k", static_cast<uint64_t>(n));
        // Sizes on both sides of slab_chunk_max, and small ones that share the tail classes.
        const std::size_t size =
            n < 4 ? 1000u + n * 300u : (n < 8 ? 300u << 10 : (1u << 20) + n * 4099u);
        const char fill = static_cast<char>('a' + n);
        if (i % 3 == 0) {
          cache.store(StoreMode::kSet, key, 0, 0, std::string(size, fill));
        } else if (i % 17 == 0) {
          cache.store(StoreMode::kAppend, key, 0, 0, std::string(10, fill));
        } else {
          ItemRef ref = cache.get(key);
          if (!ref) continue;
          const std::size_t len = ref.value_size();
          std::size_t seen = 0;
          for (std::string_view s : ref.value_segments()) {
            seen += s.size();
            if (s.find_first_not_of(fill) != std::string_view::npos) ++bad;
          }
          if (seen != len || (len != size && (len - size) % 10 != 0)) ++bad;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  admin.join();
  CHECK(bad.load() == 0);
  CHECK(cache.stats().total_malloced <=
        (std::size_t{24} << 20) + (std::size_t{24} << 20) / 16 + 4 * kPage);
  // Every chunk in use belongs to a live item: deleting them all leaves nothing used.
  for (int n = 0; n < 12; ++n) cache.remove(numbered("k", static_cast<uint64_t>(n)));
  cache.run_slab_rebalancer_once();
  for (const SlabClassStats& s : cache.slab_stats()) CHECK(s.used_chunks == 0);
}
