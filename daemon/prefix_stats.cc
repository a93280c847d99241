// daemon/prefix_stats.cc — see prefix_stats.h.
#include "daemon/prefix_stats.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kioku::daemon {
namespace {

constexpr uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// memcached hashes prefixes into this many buckets and lists them bucket by bucket.
constexpr uint32_t kBuckets = 256;

}  // namespace

uint32_t murmur3_32(std::string_view data) {
  constexpr uint32_t c1 = 0xcc9e2d51;
  constexpr uint32_t c2 = 0x1b873593;
  uint32_t h = 0;
  const std::size_t blocks = data.size() / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    uint32_t k = 0;
    std::memcpy(&k, data.data() + 4 * i, 4);  // little-endian hosts (x86-64, arm64)
    k *= c1;
    k = rotl32(k, 15);
    k *= c2;
    h ^= k;
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + 4 * blocks);
  uint32_t k = 0;
  switch (data.size() & 3) {
    case 3:
      k ^= uint32_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      k ^= uint32_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl32(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(data.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

void PrefixStats::record(std::string_view key, Kind kind, bool hit) {
  const std::size_t end = key.find(delimiter_);
  if (end == std::string_view::npos) return;
  const std::string_view prefix = key.substr(0, end);
  std::lock_guard lock(mu_);
  auto it = prefixes_.find(prefix);
  if (it == prefixes_.end()) {
    if (prefixes_.size() >= kMaxPrefixes) return;
    it = prefixes_.emplace(std::string(prefix), Counts{}).first;
    it->second.created = next_created_++;
  }
  Counts& c = it->second;
  switch (kind) {
    case Kind::kGet:
      ++c.gets;
      if (hit) ++c.hits;
      break;
    case Kind::kSet:
      ++c.sets;
      break;
    case Kind::kDelete:
      ++c.deletes;
      break;
  }
}

std::string PrefixStats::dump() const {
  struct Row {
    uint32_t bucket;
    uint64_t created;
    const std::string* prefix;
    Counts counts;
  };
  std::string out;
  std::lock_guard lock(mu_);
  std::vector<Row> rows;
  rows.reserve(prefixes_.size());
  for (const auto& [prefix, counts] : prefixes_)
    rows.push_back(Row{murmur3_32(prefix) % kBuckets, counts.created, &prefix, counts});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.bucket != b.bucket ? a.bucket < b.bucket : a.created > b.created;
  });
  for (const Row& r : rows) {
    out.append("PREFIX ").append(*r.prefix);
    out.append(" get ").append(std::to_string(r.counts.gets));
    out.append(" hit ").append(std::to_string(r.counts.hits));
    out.append(" set ").append(std::to_string(r.counts.sets));
    out.append(" del ").append(std::to_string(r.counts.deletes));
    out.append("\r\n");
  }
  out.append("END\r\n");
  return out;
}

void PrefixStats::clear() {
  std::lock_guard lock(mu_);
  prefixes_.clear();
  next_created_ = 0;
}

}  // namespace kioku::daemon
