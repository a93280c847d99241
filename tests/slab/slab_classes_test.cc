// tests/slab/slab_classes_test.cc — slab class sizing (-f, -n, -I) and the allocator on its own.
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>
#include <vector>

#include "slab/slab_allocator.h"
#include "tests/slab/test_support.h"

using namespace kioku::slab;
using namespace kioku::slab::test;

namespace {

std::vector<uint32_t> class_sizes(const SlabAllocator& a) {
  std::vector<uint32_t> out;
  for (uint32_t id = 1; id <= a.class_count(); ++id)
    out.push_back(a.chunk_size(static_cast<uint8_t>(id)));
  return out;
}

}  // namespace

TEST_CASE("first class holds the header plus chunk_size, rounded to 8", "[slab][classes]") {
  CacheConfig config = small_config();
  config.slab_steps_per_factor = 1;  // memcached's table
  config.chunk_size = 48;
  SlabAllocator a(config, 51);
  CHECK(a.chunk_size(1) == 104);  // align8(51 + 48)
  config.chunk_size = 10;
  SlabAllocator b(config, 51);  // still memcached's table
  CHECK(b.chunk_size(1) == 64);
}

TEST_CASE("classes grow by the factor and end with slab_chunk_max, half a page",
          "[slab][classes]") {
  CacheConfig config = small_config();
  config.slab_steps_per_factor = 1;  // memcached's table
  config.growth_factor = 2.0;
  SlabAllocator a(config, 51);
  const auto sizes = class_sizes(a);
  REQUIRE(sizes.size() >= 3);
  CHECK(sizes[0] == 104);
  CHECK(sizes[1] == 208);
  CHECK(sizes[2] == 416);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    CHECK(sizes[i] % 8 == 0);
    CHECK(sizes[i + 1] > sizes[i]);
  }
  CHECK(sizes.back() == 1u << 19);
  CHECK(a.page_size() == 1u << 20);
  // The class before the last is the largest size <= slab_chunk_max / factor.
  CHECK(sizes[sizes.size() - 2] <= (1u << 19) / 2);
  CHECK(sizes[sizes.size() - 2] * 2 > (1u << 19) / 2);
}

TEST_CASE("a small factor is capped at 255 classes", "[slab][classes]") {
  CacheConfig config = small_config();
  config.slab_steps_per_factor = 1;
  config.growth_factor = 1.01;
  SlabAllocator a(config, 51);
  CHECK(a.class_count() == 255);
  CHECK(a.chunk_size(255) == 1u << 19);
  CHECK(a.chunk_size(254) < (1u << 19) / 2);
}

TEST_CASE("one step per factor makes memcached's classes", "[slab][classes]") {
  CacheConfig config = small_config();
  config.slab_steps_per_factor = 1;
  SlabAllocator a(config, 51);
  CHECK(a.class_count() < 63);
  CHECK(a.chunk_size(2) == 136);  // align8(104 * 1.25 = 130)
  CHECK(a.class_for(1) == 1);
  CHECK(a.class_for(104) == 1);
  CHECK(a.class_for(105) == 2);
  CHECK(a.class_for(1u << 19) == a.class_count());
  CHECK(a.class_for((1u << 19) + 1) == 0);  // chunked (slab/item.h)
}

TEST_CASE("default classes are 4 bytes apart below 256 and a quarter -f step above",
          "[slab][classes]") {
  SlabAllocator a(small_config(), 40);
  const auto sizes = class_sizes(a);
  REQUIRE(sizes.size() > 100);
  REQUIRE(sizes.size() <= 255);
  CHECK(sizes[0] == 88);  // 40 + 48
  CHECK(sizes[1] == 92);
  CHECK(a.class_for(149) == a.class_for(152));
  CHECK(a.class_for(152) + 1 == a.class_for(153));
  for (std::size_t i = 0; i + 2 < sizes.size(); ++i) {
    CHECK(sizes[i] % 4 == 0);
    if (sizes[i] < 256) {
      CHECK(sizes[i + 1] == sizes[i] + 4);
    } else {
      CHECK(sizes[i + 1] <= sizes[i] * 1.0625 + 4);  // at most a quarter of the 25% step
    }
  }
  CHECK(sizes.back() == 1u << 19);
}

TEST_CASE("a large item_size_max keeps 1 MiB pages: larger items are chunked", "[slab][classes]") {
  CacheConfig config = small_config();
  config.item_size_max = 4u << 20;
  SlabAllocator a(config, 51);
  CHECK(a.page_size() == 1u << 20);
  CHECK(a.chunk_size(static_cast<uint8_t>(a.class_count())) == 1u << 19);
  config.slab_chunk_max = 1u << 20;  // a whole page, one chunk per page
  SlabAllocator whole(config, 51);
  CHECK(whole.chunk_size(static_cast<uint8_t>(whole.class_count())) == 1u << 20);
  config.slab_chunk_max = 100;  // below what a chunked head needs: raised
  SlabAllocator tiny(config, 51);
  CHECK(tiny.chunk_size(static_cast<uint8_t>(tiny.class_count())) == kMinSlabChunkMax);
  config.slab_chunk_max = 0;
  Cache cache(config);
  CHECK(cache.item_size_ok(10, (2u << 20)));
  CHECK(set(cache, "big", std::string(3u << 20, 'b')) == StoreResult::kStored);
  CHECK(value_of(cache, "big")->size() == 3u << 20);
}

TEST_CASE("the allocator never exceeds the memory limit", "[slab][classes]") {
  CacheConfig config = small_config();
  config.memory_limit = 3u << 20;
  SlabAllocator a(config, 51);
  std::size_t got = 0;
  std::vector<void*> chunks;
  while (void* p = a.alloc(1)) {
    chunks.push_back(p);
    ++got;
  }
  CHECK(a.total_malloced() == 3u << 20);
  CHECK(got == 3 * ((1u << 20) / a.chunk_size(1)));
  // As memcached: past the limit a class still gets its first page, never a second.
  std::vector<void*> second;
  while (void* p = a.alloc(2)) second.push_back(p);
  CHECK(second.size() == (1u << 20) / a.chunk_size(2));
  CHECK(a.total_malloced() == 4u << 20);
  a.free(1, chunks.back());
  CHECK(a.alloc(1) == chunks.back());
  a.set_memory_limit(5u << 20);
  CHECK(a.alloc(2) != nullptr);
  CHECK(a.total_malloced() == 5u << 20);
}

TEST_CASE("a memory limit under one page still allows one page", "[slab][classes]") {
  CacheConfig config = small_config();
  config.memory_limit = 1000;
  Cache cache(config);
  CHECK(set(cache, "k", "v") == StoreResult::kStored);
  CHECK(value_of(cache, "k") == "v");
  CHECK(cache.stats().total_malloced == 1u << 20);
}

TEST_CASE("slab stats report chunk usage", "[slab][classes][stats]") {
  Cache cache(small_config());
  REQUIRE(set(cache, "a", "1") == StoreResult::kStored);
  REQUIRE(set(cache, "b", "2") == StoreResult::kStored);
  const auto slabs = cache.slab_stats();
  REQUIRE(slabs.size() == 1);
  CHECK(slabs[0].id == 1);
  CHECK(slabs[0].total_pages == 1);
  CHECK(slabs[0].used_chunks == 2);
  CHECK(slabs[0].chunks_per_page == (1u << 20) / slabs[0].chunk_size);
  CHECK(slabs[0].free_chunks == slabs[0].total_chunks - 2);
}

TEST_CASE("chunks freed by other threads are reused before the limit is reached",
          "[slab][classes][concurrency]") {
  // Each thread frees into its own free list; an allocating thread must find chunks on the
  // others' lists rather than fail at the limit.
  CacheConfig config = small_config();
  config.memory_limit = 1u << 20;
  SlabAllocator a(config, 51);
  const uint32_t perslab = (1u << 20) / a.chunk_size(1);
  std::vector<void*> chunks;
  while (void* p = a.alloc(1)) chunks.push_back(p);
  REQUIRE(chunks.size() == perslab);
  std::vector<std::thread> freers;
  const std::size_t per_thread = chunks.size() / 4;
  for (std::size_t t = 0; t < 4; ++t) {
    freers.emplace_back([&a, &chunks, t, per_thread] {
      for (std::size_t i = t * per_thread; i < (t + 1) * per_thread; ++i) a.free(1, chunks[i]);
    });
  }
  for (auto& th : freers) th.join();
  const std::size_t freed = 4 * per_thread;
  CHECK(a.class_stats(1).used_chunks == perslab - freed);
  CHECK(a.class_stats(1).free_chunks == freed);
  std::size_t again = 0;
  while (a.alloc(1) != nullptr) ++again;
  CHECK(again == freed);
  CHECK(a.total_malloced() == 1u << 20);
  CHECK(a.class_stats(1).used_chunks == perslab);
}
