// tests/slab/sharded_counter_test.cc — per-thread shards sum to the exact total.
#include "slab/sharded_counter.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using kioku::slab::ShardedCounter;

TEST_CASE("a sharded counter sums adds and subs across shards, even when a shard goes below 0",
          "[slab][counter]") {
  ShardedCounter c;
  c.add(10);
  c.add(5);
  std::thread([&c] { c.sub(3); }).join();  // another thread's shard wraps below zero
  std::thread([&c] { c.add(4); }).join();
  CHECK(c.sum() == 16);
}

TEST_CASE("concurrent adds on a sharded counter are all counted", "[slab][counter][concurrency]") {
  ShardedCounter c;
  std::vector<std::thread> threads;
  // More threads than shards: some share a shard, and still no update is lost.
  for (std::size_t t = 0; t < ShardedCounter::kShards + 4; ++t)
    threads.emplace_back([&c] {
      for (uint64_t i = 0; i < 20000; ++i) {
        c.add(2);
        c.sub(1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(c.sum() == 20000 * (ShardedCounter::kShards + 4));
}
