// slab/item.h — the in-memory layout of one cached item, and nothing else.
//
// Owns: the header struct, where key and value live behind it, and the item's flag bits.
// Must not: allocate, lock, or know about hash tables or LRU policy (they only use the links).
//
// One item occupies one chunk of its slab class. Links are 32-bit chunk references, not
// pointers: every page lives in one reserved address range (the arena, see slab_allocator.h),
// so a chunk is named by (offset / unit) + 1 and 0 means "none". The slab class is not stored:
// it is the class of the page the chunk lies in.
//
//    0        4        8        12       16       20   22 23 24               32       36
//    +--------+--------+--------+--------+--------+----+--+--+----------------+--------+-------
//    |lru_prev|lru_next| h_next |  time  |nbytes +|ref-|nk|if| cas (optional) |exptime?|flags?
//    |  ref   |  ref   |  ref   | atomic | shape  |cnt |ey|la|   8 bytes      |4 bytes |4 bytes
//    +--------+--------+--------+--------+--------+----+--+--+----------------+--------+-------
//    then key bytes, then value bytes (no "\r\n", no NUL)
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------------
//        0     4  lru_prev    LRU links (guarded by its LRU list's mutex); lru_prev+lru_next
//        4     4  lru_next    also hold the free-list link while the chunk is free
//        8     4  h_next      hash chain link (guarded by the key's stripe lock)
//       12     4  time        atomic: last access (RelTime)
//       16     4  size_bits   value length (low 29 bits) + "has cas" / "has flags" /
//                             "key binary" bits;
//                             written once before the item is published, then read-only
//       20     2  refcount    atomic: 1 for the hash link + 1 per ItemRef pin
//       22     1  nkey        key length, 1..250
//       23     1  iflags      atomic bits: linked, fetched, stale, token sent, active, LRU
//                             segment, has exptime
//       24     8  cas         only when the cache uses CAS (-C omits it); memcpy'd
//       +0     4  exptime     RelTime, only when the item expires (guarded by the stripe lock;
//                             touch giving a TTL to an item stored without one rebuilds it)
//       +0     4  flags       client flags, only when non-zero (as memcached does)
//
// Header: 32 bytes with CAS, no TTL and flags 0 (memcached 1.6: 48 + 8); +4 with a TTL, +4
// with non-zero client flags; 8 less with -C.
//
// Chunked items. An item whose header + key + value exceed the largest class (slab_chunk_max,
// half a page by default) is split, as memcached 1.6 does, so every byte stays in slab pages
// under -m and -I can reach 1 GiB:
//   - the head is a chunk of the largest class holding the usual header and key, then (4-byte
//     aligned) a ChunkHead {value length, ref of the next chunk, bytes of value in this chunk},
//     then the first bytes of the value. Its length field in size_bits is kSizeChunked. It is
//     the item the hash table, the LRU (of the largest class, so evicting there frees chunks)
//     and every pin see;
//   - each further piece is a data chunk: a bare 24-byte header (nkey 0, which no item has;
//     refcount 1 while in use, 0 once free; h_next = the head's ref; lru_next = the next
//     chunk's ref; size_bits = its bytes of value), then the bytes. Full pieces come from the
//     largest class and the tail from the smallest class that fits it.
// The chain is written before the item is published and never changes while anyone can read
// it, except that the slab mover may swap a data chunk for a copy when no pin exists.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "slab/cache.h"

namespace kioku::slab {

using ItemRefId = uint32_t;  // (chunk offset in the arena / 8) + 1; 0 = none

// iflags bits (mutable, atomic).
inline constexpr uint8_t kItemLinked = 0x01;   // in the hash table and the LRU
inline constexpr uint8_t kItemFetched = 0x02;  // read at least once since stored
// Meta protocol state (memcached's ITEM_STALE, ITEM_TOKEN_SENT); changed only under the key's
// stripe lock.
inline constexpr uint8_t kItemStale = 0x04;        // invalidated (md I / ms I): serve but recache
inline constexpr uint8_t kItemTokenSent = 0x08;    // one client already got the recache win (W)
inline constexpr uint8_t kItemActive = 0x10;       // read since the LRU maintainer last looked
inline constexpr uint8_t kItemSegmentMask = 0x60;  // which LRU segment list holds it (lru.h)
inline constexpr int kItemSegmentShift = 5;
inline constexpr uint8_t kItemHasExptime = 0x80;  // header carries 4 bytes of exptime (fixed)

// size_bits' shape bits (immutable once published).
inline constexpr uint32_t kSizeHasCas = 1u << 31;
inline constexpr uint32_t kSizeHasFlags = 1u << 30;
// memcached's ITEM_KEY_BINARY: the key was sent base64-encoded (meta b flag), so responses
// encode it again. Decided when the item is built, like the key itself; iflags has no bit left.
inline constexpr uint32_t kSizeKeyBinary = 1u << 29;
// Values of unchunked items (at most a page) fit in 29 bits; the all-ones length marks a
// chunked item, whose real length is in its ChunkHead.
inline constexpr uint32_t kSizeMask = (1u << 29) - 1;
inline constexpr uint32_t kSizeChunked = kSizeMask;

// Bookkeeping of a chunked item, after its key (see above).
struct ChunkHead {
  uint32_t length;  // whole value
  ItemRefId next;   // first data chunk (0: none)
  uint32_t first;   // value bytes stored in the head chunk
};
inline constexpr std::size_t kChunkHeadExtra = sizeof(ChunkHead) + 3;  // + alignment, at most

inline constexpr std::size_t kItemFixedHeader = 24;
inline constexpr std::size_t kMaxKeyLength = 250;

struct Item {
  ItemRefId lru_prev;
  ItemRefId lru_next;
  ItemRefId h_next;
  std::atomic<RelTime> time;
  uint32_t size_bits;
  std::atomic<uint16_t> refcount;
  uint8_t nkey;
  std::atomic<uint8_t> iflags;
  // Optional cas, optional flags, key and value follow at byte kItemFixedHeader.

  uint8_t bits() const { return iflags.load(std::memory_order_relaxed); }
  bool has_cas() const { return (size_bits & kSizeHasCas) != 0; }
  bool has_flags() const { return (size_bits & kSizeHasFlags) != 0; }
  bool key_is_binary() const { return (size_bits & kSizeKeyBinary) != 0; }
  // Only before the item is visible to other threads (after init_shape).
  void set_key_binary() { size_bits |= kSizeKeyBinary; }
  bool has_exptime() const { return (bits() & kItemHasExptime) != 0; }
  bool is_chunked() const { return (size_bits & kSizeMask) == kSizeChunked; }
  // A data chunk of a chunked item (see above), never an item.
  bool is_data_chunk() const { return nkey == 0; }
  uint32_t nbytes() const {
    const uint32_t n = size_bits & kSizeMask;
    return n != kSizeChunked ? n : chunk_head()->length;
  }
  bool is_linked() const { return (bits() & kItemLinked) != 0; }
  bool is_fetched() const { return (bits() & kItemFetched) != 0; }
  bool is_active() const { return (bits() & kItemActive) != 0; }
  // Read first: the get path sets kItemFetched/kItemActive on every hit and an RMW would
  // dirty the line.
  void set_flag(uint8_t f) {
    if ((bits() & f) != f) iflags.fetch_or(f, std::memory_order_relaxed);
  }
  void clear_flag(uint8_t f) {
    if ((bits() & f) != 0) iflags.fetch_and(static_cast<uint8_t>(~f), std::memory_order_relaxed);
  }
  uint8_t segment() const { return (bits() & kItemSegmentMask) >> kItemSegmentShift; }
  void set_segment(uint8_t seg) {
    uint8_t old = bits();
    while (!iflags.compare_exchange_weak(
        old, static_cast<uint8_t>((old & ~kItemSegmentMask) | (seg << kItemSegmentShift)),
        std::memory_order_relaxed)) {
    }
  }

  char* base() { return reinterpret_cast<char*>(this); }
  const char* base() const { return reinterpret_cast<const char*>(this); }
  std::size_t header() const { return header_size(has_cas(), has_exptime(), has_flags()); }
  uint64_t cas() const {
    uint64_t v = 0;
    if (has_cas()) std::memcpy(&v, base() + kItemFixedHeader, sizeof v);
    return v;
  }
  void set_cas(uint64_t v) {
    if (has_cas()) std::memcpy(base() + kItemFixedHeader, &v, sizeof v);
  }
  RelTime exptime() const {
    RelTime v = 0;
    if (has_exptime()) std::memcpy(&v, base() + exptime_offset(), sizeof v);
    return v;
  }
  // False (and nothing changes) when the item has no exptime field and t is not 0: the
  // caller then rebuilds the item with one.
  bool set_exptime(RelTime t) {
    if (!has_exptime()) return t == 0;
    std::memcpy(base() + exptime_offset(), &t, sizeof t);
    return true;
  }
  uint32_t flags() const {
    uint32_t v = 0;
    if (has_flags()) std::memcpy(&v, base() + exptime_offset() + (has_exptime() ? 4 : 0), sizeof v);
    return v;
  }
  // Only before the item is visible to other threads: decides the header's shape.
  // iflags must already hold 0.
  // with_exptime_field: give the header an exptime field even when exptime is 0 (an item
  // whose TTL a later meta command may set under the stripe lock, where it cannot rebuild).
  void init_shape(bool with_cas, RelTime exptime, uint32_t flags, uint32_t value_length,
                  bool with_exptime_field = false) {
    const bool field = exptime != 0 || with_exptime_field;
    size_bits = value_length | (with_cas ? kSizeHasCas : 0) | (flags != 0 ? kSizeHasFlags : 0);
    if (field) iflags.store(kItemHasExptime, std::memory_order_relaxed);
    set_cas(0);
    set_exptime(exptime);
    if (flags != 0) std::memcpy(base() + exptime_offset() + (field ? 4 : 0), &flags, sizeof flags);
  }
  char* payload() { return base() + header(); }
  const char* payload() const { return base() + header(); }
  std::string_view key() const { return {payload(), nkey}; }
  // The value of an unchunked item (empty for a chunked one: walk its chunks instead).
  std::string_view value() const {
    return is_chunked() ? std::string_view{} : std::string_view{payload() + nkey, nbytes()};
  }
  std::span<char> mutable_value() {
    return is_chunked() ? std::span<char>{} : std::span<char>{payload() + nkey, nbytes()};
  }
  // Chunked items only.
  std::size_t chunk_head_offset() const { return (header() + nkey + 3) & ~std::size_t{3}; }
  ChunkHead* chunk_head() { return reinterpret_cast<ChunkHead*>(base() + chunk_head_offset()); }
  const ChunkHead* chunk_head() const {
    return reinterpret_cast<const ChunkHead*>(base() + chunk_head_offset());
  }
  char* head_data() { return base() + chunk_head_offset() + sizeof(ChunkHead); }
  const char* head_data() const { return base() + chunk_head_offset() + sizeof(ChunkHead); }
  // Data chunks only.
  char* chunk_data() { return base() + kItemFixedHeader; }
  const char* chunk_data() const { return base() + kItemFixedHeader; }
  uint32_t chunk_length() const { return size_bits; }
  // memcached's ITEM_ntotal: the bytes this item accounts for.
  std::size_t total_size() const { return header() + nkey + nbytes(); }

  std::size_t exptime_offset() const { return kItemFixedHeader + (has_cas() ? 8 : 0); }
  static constexpr std::size_t header_size(bool with_cas, bool with_exptime, bool with_flags) {
    return kItemFixedHeader + (with_cas ? 8 : 0) + (with_exptime ? 4 : 0) + (with_flags ? 4 : 0);
  }
};

static_assert(offsetof(Item, iflags) + 1 == kItemFixedHeader);
static_assert(sizeof(Item) == kItemFixedHeader);
static_assert(alignof(Item) == 4);

}  // namespace kioku::slab
