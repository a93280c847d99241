// tests/client/ketama_oracle_test.cc — client/ketama places every key where libmemcached does.
//
// libmemcached (Debian's libmemcached-dev) is the oracle: for the same server list and
// behaviours, memcached_generate_hash must name the same server index as Ring::node_for for
// 100,000 keys, including keys with bytes >= 0x80 (libhashkit hashes through a signed char).
#include <libmemcached/memcached.h>

#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/ketama.h"

namespace {

using kioku::client::Distribution;
using kioku::client::KeyHash;
using kioku::client::Ring;
using kioku::client::RingNode;

constexpr int kKeys = 100000;

std::vector<std::string> test_keys() {
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  std::mt19937 rng(1234);
  for (int i = 0; i < kKeys; ++i) {
    if (i % 10 == 9) {
      // Arbitrary bytes (no spaces or control characters: still valid memcached keys).
      std::string key(1 + rng() % 60, 'x');
      for (char& c : key) c = static_cast<char>(33 + rng() % 223);
      keys.push_back(std::move(key));
    } else {
      keys.push_back("user:" + std::to_string(i) + ":profile");
    }
  }
  return keys;
}

std::vector<RingNode> servers(int count, bool varied_weights) {
  std::vector<RingNode> nodes;
  for (int i = 0; i < count; ++i) {
    RingNode n;
    // Default-port servers print without ":11211" in their point names; mix both kinds.
    n.host = i % 3 == 2 ? "cache-" + std::to_string(i) + ".example.com"
                        : "10.0.0." + std::to_string(i + 1);
    n.port = i % 2 == 0 ? 11211 : static_cast<uint16_t>(11211 + i);
    n.weight = varied_weights ? static_cast<uint32_t>(1 + i % 4) : 1;
    nodes.push_back(n);
  }
  return nodes;
}

struct MemcFree {
  void operator()(memcached_st* m) const { memcached_free(m); }
};

// Behaviours first, servers second: adding a server with weight > 1 turns weighted ketama on
// inside libmemcached, and setting the distribution afterwards would turn it off again.
std::unique_ptr<memcached_st, MemcFree> oracle(Distribution d, KeyHash h,
                                               const std::vector<RingNode>& nodes) {
  std::unique_ptr<memcached_st, MemcFree> memc(memcached_create(nullptr));
  switch (d) {
    case Distribution::kModula:
      memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_DISTRIBUTION,
                             MEMCACHED_DISTRIBUTION_MODULA);
      break;
    case Distribution::kKetama:
      memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_DISTRIBUTION,
                             MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
      break;
    case Distribution::kKetamaWeighted:
      memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
      break;
  }
  memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_HASH,
                         h == KeyHash::kMd5 ? MEMCACHED_HASH_MD5 : MEMCACHED_HASH_DEFAULT);
  for (const RingNode& n : nodes) {
    REQUIRE(memcached_server_add_with_weight(memc.get(), n.host.c_str(), n.port, n.weight) ==
            MEMCACHED_SUCCESS);
  }
  return memc;
}

void check_same_placement(Distribution d, KeyHash h, const std::vector<RingNode>& nodes) {
  static const std::vector<std::string> keys = test_keys();
  auto memc = oracle(d, h, nodes);
  Ring ring(d, h, nodes);
  int mismatches = 0;
  for (const std::string& key : keys) {
    const uint32_t expected = memcached_generate_hash(memc.get(), key.data(), key.size());
    const auto got = ring.node_for(key);
    if (!got || *got != expected) ++mismatches;
  }
  INFO("distribution " << kioku::client::distribution_name(d) << ", hash "
                       << kioku::client::key_hash_name(h) << ", " << nodes.size() << " servers");
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("ketama places 100,000 keys exactly as libmemcached does") {
  for (int count : {1, 3, 10}) {
    for (KeyHash h : {KeyHash::kOneAtATime, KeyHash::kMd5}) {
      check_same_placement(Distribution::kKetama, h, servers(count, false));
    }
  }
}

TEST_CASE("weighted ketama places 100,000 keys exactly as libmemcached does") {
  for (int count : {1, 3, 10}) {
    for (bool varied : {false, true}) {
      check_same_placement(Distribution::kKetamaWeighted, KeyHash::kMd5, servers(count, varied));
    }
  }
}

TEST_CASE("ketama with a weight above 1 turns weighted, as libmemcached does") {
  for (int count : {3, 10}) {
    for (KeyHash h : {KeyHash::kOneAtATime, KeyHash::kMd5}) {
      check_same_placement(Distribution::kKetama, h, servers(count, true));
    }
  }
}

TEST_CASE("modula places 100,000 keys exactly as libmemcached does") {
  for (int count : {1, 3, 10}) {
    for (KeyHash h : {KeyHash::kOneAtATime, KeyHash::kMd5}) {
      check_same_placement(Distribution::kModula, h, servers(count, false));
    }
  }
}
