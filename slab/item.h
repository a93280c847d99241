// slab/item.h — the in-memory layout of one cached item, and nothing else.
//
// Owns: the header struct, where key and value live behind it, and the item's flag bits.
// Must not: allocate, lock, or know about hash tables or LRU policy (they only use the links).
//
// One item occupies one chunk of its slab class (offsets in bytes; the chunk is 8-aligned):
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------------
//        0     8  lru_prev    LRU list links (guarded by the class's LRU mutex)
//        8     8  lru_next    (also the free-list link while the chunk is free)
//       16     8  h_next      hash chain link (guarded by the key's stripe lock)
//       24     4  refcount    atomic: 1 for the hash link + 1 per ItemRef pin
//       28     4  time        atomic: last access (RelTime), drives LRU bumps
//       32     4  exptime     RelTime, 0 = never (guarded by the stripe lock)
//       36     4  nbytes      value length (no trailing "\r\n")
//       40     1  nkey        key length, 1..250
//       41     1  slab_class  1..63
//       42     1  iflags      atomic bits: kItemLinked, kItemFetched, kItemHasCas, kItemHasFlags
//       43     8  cas         only when the cache uses CAS (-C omits it); unaligned, memcpy'd
//       +0     4  flags       client flags, only when non-zero (as memcached does)
//       +0     …  key bytes, then value bytes (no terminators)
//
// Fixed part 43 bytes; a typical item (CAS on, flags 0) has a 51-byte header, 55 with flags,
// against memcached 1.6's 48 + 8. Nothing after byte 43 is read through the struct, so its
// sizeof (padded to 48) never matters: kItemFixedHeader is the real size.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "slab/cache.h"

namespace kioku::slab {

inline constexpr uint8_t kItemLinked = 1;    // in the hash table and the LRU
inline constexpr uint8_t kItemFetched = 2;   // read at least once since stored
inline constexpr uint8_t kItemHasCas = 4;    // header carries the 8-byte CAS field
inline constexpr uint8_t kItemHasFlags = 8;  // header carries 4 bytes of non-zero client flags
inline constexpr std::size_t kItemFixedHeader = 43;
inline constexpr std::size_t kMaxKeyLength = 250;

struct Item {
  Item* lru_prev;
  Item* lru_next;
  Item* h_next;
  std::atomic<uint32_t> refcount;
  std::atomic<RelTime> time;
  RelTime exptime;
  uint32_t nbytes;
  uint8_t nkey;
  uint8_t slab_class;
  std::atomic<uint8_t> iflags;
  // Optional cas, optional flags, key and value follow at byte kItemFixedHeader.

  uint8_t bits() const { return iflags.load(std::memory_order_relaxed); }
  bool has_cas() const { return (bits() & kItemHasCas) != 0; }
  bool is_linked() const { return (bits() & kItemLinked) != 0; }
  bool is_fetched() const { return (bits() & kItemFetched) != 0; }
  // Read first: the get path sets kItemFetched on every hit and an RMW would dirty the line.
  void set_flag(uint8_t f) {
    if ((bits() & f) != f) iflags.fetch_or(f, std::memory_order_relaxed);
  }
  void clear_flag(uint8_t f) {
    iflags.fetch_and(static_cast<uint8_t>(~f), std::memory_order_relaxed);
  }

  char* base() { return reinterpret_cast<char*>(this); }
  const char* base() const { return reinterpret_cast<const char*>(this); }
  std::size_t header() const { return header_size(has_cas(), (bits() & kItemHasFlags) != 0); }
  uint64_t cas() const {
    uint64_t v = 0;
    if (has_cas()) std::memcpy(&v, base() + kItemFixedHeader, sizeof v);
    return v;
  }
  void set_cas(uint64_t v) {
    if (has_cas()) std::memcpy(base() + kItemFixedHeader, &v, sizeof v);
  }
  uint32_t flags() const {
    uint32_t v = 0;
    if (bits() & kItemHasFlags)
      std::memcpy(&v, base() + kItemFixedHeader + (has_cas() ? 8 : 0), sizeof v);
    return v;
  }
  // Only before the item is visible to other threads: decides the header's shape.
  void init_flags_and_cas(bool with_cas, uint32_t flags) {
    uint8_t b = 0;
    if (with_cas) b |= kItemHasCas;
    if (flags != 0) b |= kItemHasFlags;
    iflags.store(b, std::memory_order_relaxed);
    set_cas(0);
    if (flags != 0)
      std::memcpy(base() + kItemFixedHeader + (with_cas ? 8 : 0), &flags, sizeof flags);
  }
  char* payload() { return base() + header(); }
  const char* payload() const { return base() + header(); }
  std::string_view key() const { return {payload(), nkey}; }
  std::string_view value() const { return {payload() + nkey, nbytes}; }
  std::span<char> mutable_value() { return {payload() + nkey, nbytes}; }
  // memcached's ITEM_ntotal: the bytes this item accounts for.
  std::size_t total_size() const { return header() + nkey + nbytes; }

  static constexpr std::size_t header_size(bool with_cas, bool with_flags) {
    return kItemFixedHeader + (with_cas ? 8 : 0) + (with_flags ? 4 : 0);
  }
};

static_assert(offsetof(Item, iflags) + 1 == kItemFixedHeader);
static_assert(alignof(Item) == 8);

}  // namespace kioku::slab
