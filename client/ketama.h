// client/ketama.h — which node owns a key: libmemcached's distributions, bit for bit.
//
// Owns: the key hashes libmemcached offers that matter here (its default one-at-a-time and
// MD5), the ketama continuum (weighted and unweighted) and modula placement. Placement follows
// libmemcached 1.x's hosts.cc/hash.cc exactly, so a Kioku client, a libmemcached client with the
// same server list and behaviours, and twemproxy's ketama all agree on every key:
//   - unweighted ketama (MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA): 100 points per server, each
//     the key hash of "host:port-i" (i = 0..99), or "host-i" when the port is 11211;
//   - weighted ketama (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, or any weight > 1): each server gets
//     floor(weight/total * 40 * servers + 1e-10) * 4 points, computed in float as libmemcached
//     does, four per MD5 digest of the same strings;
//   - the key is hashed with the chosen hash; its owner is the first point >= the hash,
//     wrapping to the first point; a single-server list always answers that server.
// Must not: do I/O or know about connections; nodes are indexes into the caller's list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kioku::client {

enum class KeyHash : uint8_t {
  kOneAtATime,  // libmemcached's MEMCACHED_HASH_DEFAULT
  kMd5,         // MEMCACHED_HASH_MD5: the first four digest bytes, little-endian
};

enum class Distribution : uint8_t {
  kModula,          // MEMCACHED_DISTRIBUTION_MODULA: hash % number of servers
  kKetama,          // MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA
  kKetamaWeighted,  // MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (sets the distribution only; pick kMd5)
};

inline constexpr uint16_t kDefaultPort = 11211;

struct RingNode {
  std::string host;  // as the user wrote it: it is part of every point's string
  uint16_t port = kDefaultPort;
  uint32_t weight = 1;
};

uint32_t hash_key(KeyHash hash, std::string_view key) noexcept;

// Text names used by options and output ("ketama", "ketama-weighted", "modula"; "md5",
// "one-at-a-time").
std::optional<Distribution> parse_distribution(std::string_view name);
std::optional<KeyHash> parse_key_hash(std::string_view name);
std::string_view distribution_name(Distribution d);
std::string_view key_hash_name(KeyHash h);

class Ring {
 public:
  // `live` (same length as `nodes`, or empty for all live) leaves ejected nodes off the
  // continuum, as libmemcached's auto-eject does; node indexes stay those of `nodes`.
  Ring(Distribution distribution, KeyHash hash, std::span<const RingNode> nodes,
       const std::vector<bool>& live = {});

  // The index of the node owning `key`, or nullopt when no node is live.
  std::optional<std::size_t> node_for(std::string_view key) const noexcept;

  std::size_t point_count() const noexcept { return points_.size(); }
  bool weighted() const noexcept { return weighted_; }

 private:
  struct Point {
    uint32_t value;
    uint32_t node;
  };
  Distribution distribution_;
  KeyHash hash_;
  std::size_t node_count_ = 0;
  std::size_t live_count_ = 0;
  bool weighted_ = false;
  std::vector<Point> points_;
};

}  // namespace kioku::client
