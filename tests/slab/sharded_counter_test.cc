// tests/slab/sharded_counter_test.cc — per-shard counts sum to the exact total.
#include "slab/sharded_counter.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using kioku::slab::ShardedCounter;

TEST_CASE("a sharded counter sums adds and subs across shards, even when a shard goes below 0",
          "[slab][counter]") {
  ShardedCounter c;
  c.add(1, 10);
  c.add(65, 5);  // same shard as 1
  c.sub(2, 3);   // shard 2 wraps below zero
  c.add(3, 4);
  CHECK(c.sum() == 16);
  CHECK(c.shard(1) == 15);
}

TEST_CASE("concurrent adds on a sharded counter are all counted", "[slab][counter][concurrency]") {
  ShardedCounter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c, t] {
      for (uint64_t i = 0; i < 100000; ++i) {
        c.add(i * 7 + static_cast<uint64_t>(t), 2);
        c.sub(i + static_cast<uint64_t>(t), 1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(c.sum() == 400000);
}
