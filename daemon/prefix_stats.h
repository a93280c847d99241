// daemon/prefix_stats.h — "stats detail": per key prefix, how many gets, hits, sets and
// deletes (memcached's stats_prefix), counted only while "stats detail on".
//
// Owns: the prefix table, its bound, and the "stats detail dump" rows in memcached's order.
// Must not: touch the cache or do I/O. Off (the default) it costs one relaxed load per key;
// on, one mutex per counted key, as memcached's global stats lock (a debugging aid).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kioku::daemon {

class PrefixStats {
 public:
  // At most this many prefixes are tracked (memcached keeps every one it meets, so a stream
  // of distinct prefixes would grow it without end); keys under further prefixes are not
  // counted.
  static constexpr std::size_t kMaxPrefixes = 16384;

  explicit PrefixStats(char delimiter) : delimiter_(delimiter) {}

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  // A key without the delimiter is not counted; the prefix ends at its first delimiter. Text
  // get/gets/gat/gats and binary get/gat/touch count as gets; every storage command, even one
  // refused or with a bad data chunk, as a set; every delete, found or not. The meta commands
  // count nothing (all as memcached 1.6.18).
  void record_get(std::string_view key, bool hit) {
    if (enabled()) record(key, Kind::kGet, hit);
  }
  void record_set(std::string_view key) {
    if (enabled()) record(key, Kind::kSet, false);
  }
  void record_delete(std::string_view key) {
    if (enabled()) record(key, Kind::kDelete, false);
  }

  // "PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n" rows, then "END\r\n", in
  // memcached's order: by murmur3 of the prefix modulo 256, newest first within one value.
  std::string dump() const;
  // "stats reset" forgets every prefix (flush_all does not).
  void clear();

 private:
  enum class Kind : uint8_t { kGet, kSet, kDelete };
  struct Counts {
    uint64_t gets = 0;
    uint64_t hits = 0;
    uint64_t sets = 0;
    uint64_t deletes = 0;
    uint64_t created = 0;  // order of creation, for the dump
  };
  void record(std::string_view key, Kind kind, bool hit);
  // Lets find() take the key's prefix as a string_view: no string is built per counted key.
  struct PrefixHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const char delimiter_;
  std::atomic<bool> enabled_{false};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Counts, PrefixHash, std::equal_to<>> prefixes_;
  uint64_t next_created_ = 0;
};

// MurmurHash3's x86 32-bit variant, seed 0 (memcached's default hash_algorithm): the order of
// the dump follows it.
uint32_t murmur3_32(std::string_view data);

}  // namespace kioku::daemon
