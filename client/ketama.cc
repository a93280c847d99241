// client/ketama.cc — see ketama.h. Every constant and rounding step here is libmemcached's.
#include "client/ketama.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "client/md5.h"

namespace kioku::client {

namespace {

constexpr uint32_t kPointsPerServer = 100;        // MEMCACHED_POINTS_PER_SERVER
constexpr uint32_t kPointsPerServerKetama = 160;  // MEMCACHED_POINTS_PER_SERVER_KETAMA

uint32_t digest_word(const Md5Digest& d, uint32_t alignment) {
  const uint32_t at = alignment * 4;
  return uint32_t{d[at + 3]} << 24 | uint32_t{d[at + 2]} << 16 | uint32_t{d[at + 1]} << 8 |
         uint32_t{d[at]};
}

uint32_t one_at_a_time(std::string_view key) {
  uint32_t value = 0;
  for (char c : key) {
    // libhashkit reads through a plain (signed) char: bytes >= 0x80 are sign-extended.
    value += static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
    value += value << 10;
    value ^= value >> 6;
  }
  value += value << 3;
  value ^= value >> 11;
  value += value << 15;
  return value;
}

// "host-i" for the default port, "host:port-i" otherwise.
std::size_t point_name(char* out, std::size_t size, const RingNode& node, uint32_t index) {
  int n = node.port == kDefaultPort
              ? std::snprintf(out, size, "%s-%u", node.host.c_str(), index)
              : std::snprintf(out, size, "%s:%u-%u", node.host.c_str(), unsigned{node.port}, index);
  return n < 0 ? 0 : std::min(static_cast<std::size_t>(n), size - 1);
}

}  // namespace

uint32_t hash_key(KeyHash hash, std::string_view key) noexcept {
  if (hash == KeyHash::kMd5) return digest_word(md5(key), 0);
  return one_at_a_time(key);
}

std::optional<Distribution> parse_distribution(std::string_view name) {
  if (name == "ketama") return Distribution::kKetama;
  if (name == "ketama-weighted") return Distribution::kKetamaWeighted;
  if (name == "modula") return Distribution::kModula;
  return std::nullopt;
}

std::optional<KeyHash> parse_key_hash(std::string_view name) {
  if (name == "md5") return KeyHash::kMd5;
  if (name == "one-at-a-time" || name == "default") return KeyHash::kOneAtATime;
  return std::nullopt;
}

std::string_view distribution_name(Distribution d) {
  switch (d) {
    case Distribution::kKetama:
      return "ketama";
    case Distribution::kKetamaWeighted:
      return "ketama-weighted";
    case Distribution::kModula:
      break;
  }
  return "modula";
}

std::string_view key_hash_name(KeyHash h) { return h == KeyHash::kMd5 ? "md5" : "one-at-a-time"; }

Ring::Ring(Distribution distribution, KeyHash hash, std::span<const RingNode> nodes,
           const std::vector<bool>& live)
    : distribution_(distribution), hash_(hash), node_count_(nodes.size()) {
  auto is_live = [&](std::size_t i) { return live.empty() || live[i]; };
  for (std::size_t i = 0; i < nodes.size(); ++i) live_count_ += is_live(i) ? 1 : 0;
  if (distribution == Distribution::kModula || live_count_ == 0) return;

  // libmemcached turns weighted ketama on by itself when a server with weight > 1 is added.
  weighted_ =
      distribution == Distribution::kKetamaWeighted ||
      std::any_of(nodes.begin(), nodes.end(), [](const RingNode& n) { return n.weight > 1; });
  uint64_t total_weight = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (is_live(i)) total_weight += nodes[i].weight;
  }
  points_.reserve(live_count_ * (weighted_ ? kPointsPerServerKetama : kPointsPerServer));
  char name[512];
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!is_live(i)) continue;
    const auto node_index = static_cast<uint32_t>(i);
    if (weighted_) {
      // Float, not double, as in libmemcached: the rounding decides the point count.
      const float pct = static_cast<float>(nodes[i].weight) / static_cast<float>(total_weight);
      const float scaled = pct * static_cast<float>(kPointsPerServerKetama) / 4.0F *
                               static_cast<float>(live_count_) +
                           0.0000000001F;
      const auto per_server = static_cast<uint32_t>(std::floor(scaled) * 4);
      for (uint32_t p = 0; p < per_server / 4; ++p) {
        const Md5Digest d = md5(std::string_view(name, point_name(name, sizeof name, nodes[i], p)));
        for (uint32_t x = 0; x < 4; ++x) points_.push_back({digest_word(d, x), node_index});
      }
    } else {
      for (uint32_t p = 0; p < kPointsPerServer; ++p) {
        const std::string_view s(name, point_name(name, sizeof name, nodes[i], p));
        points_.push_back({hash_key(hash, s), node_index});
      }
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.value != b.value ? a.value < b.value : a.node < b.node;
  });
}

std::optional<std::size_t> Ring::node_for(std::string_view key) const noexcept {
  if (node_count_ == 0) return std::nullopt;
  // libmemcached skips hashing entirely for one server.
  if (node_count_ == 1) return 0;
  const uint32_t h = hash_key(hash_, key);
  if (distribution_ == Distribution::kModula) return h % node_count_;
  if (points_.empty()) return std::nullopt;
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const Point& p, uint32_t v) { return p.value < v; });
  if (it == points_.end()) it = points_.begin();
  return it->node;
}

}  // namespace kioku::client
