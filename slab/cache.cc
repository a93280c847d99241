// slab/cache.cc — the Cache façade: memcached's item semantics on top of the allocator, hash
// table and LRU.
//
// Owns: store modes, CAS, expiry and flush checks, incr/decr, eviction policy and stats.
// Must not: read the clock, know about protocols, or block on a stripe lock while holding an
// LRU or slab mutex.
//
// Lock order: stripe lock -> LRU mutex -> slab mutex (blocking is allowed along that order).
// Eviction runs the other way (LRU mutex, then a stripe) and so only try-locks the stripe.
// Allocation may evict, so it never runs while the caller holds a stripe lock: stores that
// need a new item built from an old one (append, prepend, incr growth) pin the old item,
// drop the lock, allocate, and re-check under the lock that the old item is still current.
#include "slab/counter_text.h"
#include "slab/cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include "slab/background_work.h"
#include "slab/clock.h"
#include "slab/hash_table.h"
#include "slab/item.h"
#include "slab/item_locks.h"
#include "slab/lru.h"
#include "slab/sharded_counter.h"
#include "slab/slab_allocator.h"

namespace kioku::slab {
namespace {

constexpr uint32_t kMaxStripePower = 13;
constexpr int kAllocTries = 10;  // evict-and-retry rounds before giving up
constexpr int kEvictSearch = 5;  // items looked at from the LRU tail per round (memcached)

LruPolicy policy_from(const CacheConfig& c) {
  LruPolicy p;
  p.segmented = c.lru_maintainer;
  p.hot_pct = c.hot_lru_pct;
  p.warm_pct = c.warm_lru_pct;
  p.hot_max_factor = c.hot_max_factor;
  p.warm_max_factor = c.warm_max_factor;
  p.temp_lru = c.temp_lru;
  p.temporary_ttl = c.temporary_ttl;
  return p;
}

// A get pins with a 16-bit refcount (item.h); past this many pins it reports a miss instead.
constexpr uint16_t kMaxPins = 60000;

// Counters and state of the background work (maintainer, crawler, rebalancer).
struct EngineCounters {
  std::atomic<uint64_t> juggles{0};
  std::atomic<uint64_t> crawler_starts{0};
  std::atomic<bool> crawler_running{false};
  std::array<std::atomic<uint64_t>, kMaxSlabClasses + 1> crawler_reclaimed{};
  std::array<std::atomic<uint64_t>, kMaxSlabClasses + 1> crawler_checked{};
  // Expired (not flushed) items the crawler freed that nobody had read: memcached adds them to
  // the class's expired_unfetched.
  std::array<std::atomic<uint64_t>, kMaxSlabClasses + 1> crawler_unfetched{};
  std::atomic<uint64_t> slabs_moved{0};
  std::atomic<uint64_t> reassign_evictions{0};  // evicted: no free chunk (evictions_nomem)
  std::atomic<uint64_t> reassign_rescues{0};
  std::atomic<uint64_t> reassign_chunk_rescues{0};
  std::atomic<uint64_t> reassign_busy{0};
  std::mutex rebalance_mu;  // one rebalancer step at a time; guards the fields below
  uint8_t move_dst = 0;
  std::array<uint64_t, kMaxSlabClasses + 1> last_evicted{};
};

}  // namespace

struct Cache::Impl {
  explicit Impl(const CacheConfig& c)
      : config(c),
        header(Item::header_size(c.use_cas, true, true)),
        clock(c.process_started),
        slabs(c, header),
        locks(std::min(kMaxStripePower, c.hashpower_init)),
        table(c.hashpower_init, locks, slabs),
        lru(slabs, policy_from(c)),
        crawler_enabled(c.lru_crawler),
        automove(c.slab_reassign ? c.slab_automove : 0) {}

  CacheConfig config;
  // Worst-case header (with client flags): what chunk sizing and size limits use, so that
  // item_size_ok(), which is not told the flags, agrees with what allocation accepts.
  std::size_t header;
  Clock clock;
  SlabAllocator slabs;
  ItemLocks locks;
  HashTable table;
  Lru lru;
  std::atomic<bool> crawler_enabled;
  std::atomic<uint32_t> automove;
  EngineCounters engine;
  std::unique_ptr<BackgroundWork> background;  // started last, stopped first (see ~Cache)

  // Every store writes the CAS counter; every read checks flush_active (is_flushed). A line of
  // their own each, so readers on other cores do not miss on the writers' line.
  alignas(64) std::atomic<uint64_t> cas_counter{0};
  alignas(64) std::atomic<bool> flush_active{false};
  std::atomic<RelTime> oldest_live{0};
  // No time before this can any item die (expire, or fall to a delayed flush_all): a lower
  // bound that every TTL write and flush lowers and each crawl recomputes from what it walked.
  // The background crawler waits for it, so items without a TTL are not walked every second.
  std::atomic<RelTime> next_death{kNoDeath};
  std::atomic<uint64_t> oldest_cas{0};

  // Sharded by thread: every store and delete changes them (see sharded_counter.h).
  ShardedCounter curr_items;
  ShardedCounter total_items;
  ShardedCounter bytes;
  std::atomic<uint64_t> get_expired{0};
  std::atomic<uint64_t> get_flushed{0};

  // "stats sizes" (memcached's item_stats_sizes_*): a count per 32-byte bucket of memcached's
  // item size, for items linked while it is on whose CAS is at least sizes_cas_min.
  std::atomic<bool> sizes_on{false};
  mutable std::mutex sizes_mu;
  std::vector<uint64_t> sizes_hist;  // empty: off
  uint64_t sizes_cas_min = 0;

  // With sizes_mu held. memcached takes a CAS id for the lower bound (so the first item of a
  // server started with -o track_sizes has CAS 2, as there).
  void sizes_start() {
    sizes_hist.assign(config.item_size_max / 32 + 1, 0);
    sizes_cas_min = next_cas();
    sizes_on.store(true, std::memory_order_relaxed);
  }
  std::size_t size_bucket(const Item* it) const {
    const std::size_t ntotal = 48 + it->nkey + 1 + std::size_t{it->nbytes()} + 2 +
                               (it->flags() != 0 ? 4 : 0) + (config.use_cas ? 8 : 0);
    return (ntotal + 31) / 32;
  }
  void sizes_count(const Item* it, bool add) {
    if (!sizes_on.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(sizes_mu);
    if (sizes_hist.empty() || it->cas() < sizes_cas_min) return;
    const std::size_t b = size_bucket(it);
    if (b >= sizes_hist.size()) return;
    if (add) {
      ++sizes_hist[b];
    } else if (sizes_hist[b] > 0) {
      --sizes_hist[b];
    }
  }

  uint64_t next_cas() {
    return config.use_cas ? cas_counter.fetch_add(1, std::memory_order_relaxed) + 1 : 0;
  }

  bool is_expired(const Item* it, RelTime now) const {
    const RelTime exptime = it->exptime();
    return exptime != 0 && exptime <= now;
  }
  // memcached's item_is_flushed(), with the CAS refinement that makes a set in the same
  // second as flush_all survive.
  bool is_flushed(const Item* it, RelTime now) const {
    if (!flush_active.load(std::memory_order_acquire)) return false;
    const RelTime live = oldest_live.load(std::memory_order_relaxed);
    if (live > now) return false;
    const uint64_t ocas = oldest_cas.load(std::memory_order_relaxed);
    const uint64_t cas = it->cas();
    return it->time.load(std::memory_order_relaxed) <= live ||
           (ocas != 0 && cas != 0 && cas < ocas);
  }

  // --- with the key's stripe lock held -------------------------------------------------------

  // cas: 0 gives the item the next CAS (a store); a rebuilt item keeps its old one and takes
  // none from the counter, so the sequence clients see matches memcached's.
  void link(Item* it, uint64_t hv, uint64_t cas = 0) {
    it->set_cas(cas != 0 ? cas : next_cas());
    it->time.store(clock.now(), std::memory_order_relaxed);
    it->refcount.fetch_add(1, std::memory_order_relaxed);  // the hash table's reference
    // Release: the slab rebalancer reads the key of a linked item before taking its stripe.
    it->iflags.fetch_or(kItemLinked, std::memory_order_release);
    table.insert(it, hv);
    if (const RelTime exptime = it->exptime(); exptime != 0) note_death(exptime);
    lru.link(it, clock.now());
    curr_items.add(1);
    total_items.add(1);
    bytes.add(it->total_size());
    sizes_count(it, true);
  }

  // lru_list: non-null when the caller already holds that list's mutex (eviction).
  void unlink(Item* it, uint64_t hv, Lru::List* lru_list = nullptr) {
    it->clear_flag(kItemLinked);
    table.remove(it, hv);
    if (lru_list != nullptr) {
      lru.unlink_locked(*lru_list, it);
    } else {
      lru.unlink(it);
    }
    curr_items.sub(1);
    bytes.sub(it->total_size());
    sizes_count(it, false);
    release(it);
  }

  void replace(Item* old_it, Item* new_it, uint64_t hv, uint64_t cas = 0) {
    unlink(old_it, hv);
    link(new_it, hv, cas);
  }

  // The last step of the rebuild-outside-the-lock paths (append/prepend, an incr that outgrows
  // its value): swap in `fresh` if `old_it` is still the key's live item (and its CAS still
  // matches cas_in, when given). Consumes the caller's references to both items.
  bool replace_if_current(std::string_view key, uint64_t hv, Item* old_it, Item* fresh,
                          uint64_t cas_in, uint64_t* cas_out) {
    bool done = false;
    {
      std::lock_guard lock(locks.for_hash(hv));
      if (find_live(key, hv) == old_it && (cas_in == 0 || old_it->cas() == cas_in)) {
        replace(old_it, fresh, hv);
        if (cas_out != nullptr) *cas_out = fresh->cas();
        done = true;
      }
    }
    release(old_it);
    release(fresh);
    return done;
  }

  enum class Miss : uint8_t { kNone, kExpired, kFlushed };
  // The live item for key, unlinking it on the spot if it is flushed or expired.
  Item* find_live(std::string_view key, uint64_t hv, Miss* why = nullptr) {
    Item* it = table.find(key, hv);
    if (it == nullptr) return nullptr;
    const RelTime now = clock.now();
    Miss miss = Miss::kNone;
    if (is_flushed(it, now)) {
      miss = Miss::kFlushed;
    } else if (is_expired(it, now)) {
      miss = Miss::kExpired;
    } else {
      return it;
    }
    unlink(it, hv);
    if (why != nullptr) *why = miss;
    return nullptr;
  }

  // --- no stripe lock held --------------------------------------------------------------------

  void release(Item* it) {
    if (it->refcount.fetch_sub(1, std::memory_order_acq_rel) == 1) free_item(it);
  }

  // The last reference went: the item's chunks (if any) and then the item go back to their
  // classes. A freed chunk's refcount is 0, which is how the slab mover tells it is free.
  void free_item(Item* it) {
    if (it->is_chunked()) {
      for (ItemRefId ref = it->chunk_head()->next; ref != 0;) {
        Item* chunk = slabs.item_at(ref);
        ref = chunk->lru_next;  // before free() reuses those bytes as the free-list link
        chunk->refcount.store(0, std::memory_order_release);
        slabs.free(slabs.class_of(chunk), chunk);
      }
    }
    slabs.free(slabs.class_of(it), it);
  }

  // A cursor over an item's value segments, for writing a value piecewise (allocation fills a
  // chunked item's value through it).
  struct ValueCursor {
    char* at = nullptr;
    std::size_t left = 0;  // bytes of the current segment from `at`
    ItemRefId next = 0;
  };
  ValueCursor cursor_at(Item* it, std::size_t offset) {
    ValueCursor c;
    if (!it->is_chunked()) {
      std::span<char> v = it->mutable_value();
      offset = std::min(offset, v.size());
      return ValueCursor{v.data() + offset, v.size() - offset, 0};
    }
    ChunkHead* head = it->chunk_head();
    c = ValueCursor{it->head_data(), head->first, head->next};
    while (offset >= c.left && c.next != 0) {
      offset -= c.left;
      Item* chunk = slabs.item_at(c.next);
      c = ValueCursor{chunk->chunk_data(), chunk->chunk_length(), chunk->lru_next};
    }
    offset = std::min(offset, c.left);
    c.at += offset;
    c.left -= offset;
    return c;
  }
  void write(ValueCursor& c, std::string_view bytes) {
    while (!bytes.empty()) {
      if (c.left == 0) {
        if (c.next == 0) return;  // past the value: the caller's length was wrong
        Item* chunk = slabs.item_at(c.next);
        c = ValueCursor{chunk->chunk_data(), chunk->chunk_length(), chunk->lru_next};
        continue;
      }
      const std::size_t n = std::min(c.left, bytes.size());
      std::memcpy(c.at, bytes.data(), n);
      c.at += n;
      c.left -= n;
      bytes.remove_prefix(n);
    }
  }
  template <typename Fn>
  void for_each_segment(const Item* it, Fn&& fn) const {
    if (!it->is_chunked()) {
      fn(it->value());
      return;
    }
    const ChunkHead* head = it->chunk_head();
    fn(std::string_view(it->head_data(), head->first));
    for (ItemRefId ref = head->next; ref != 0;) {
      const Item* chunk = slabs.item_at(ref);
      fn(std::string_view(chunk->chunk_data(), chunk->chunk_length()));
      ref = chunk->lru_next;
    }
  }
  // dst's value from offset on gets src's whole value.
  void copy_value(Item* dst, std::size_t offset, const Item* src) {
    ValueCursor c = cursor_at(dst, offset);
    for_each_segment(src, [&](std::string_view bytes) { write(c, bytes); });
  }

  void note_death(RelTime t) {
    RelTime cur = next_death.load(std::memory_order_relaxed);
    while (t < cur && !next_death.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }
  // Every exptime write goes through here (or through link, for a new item).
  bool set_ttl(Item* it, RelTime t) {
    if (t != 0) note_death(t);
    return it->set_exptime(t);
  }

  bool is_dead(const Item* it, RelTime now) const {
    return is_flushed(it, now) || is_expired(it, now);
  }

  // Frees one chunk of class id from its LRU tails (COLD first, then HOT, WARM, TEMP); false
  // if none could be freed. Active items met at COLD's tail move to WARM instead. Within a
  // segment the shard whose tail is oldest (last access, then CAS: link order) goes first, so
  // the class still evicts in LRU order as one list would; the others follow from a rotating
  // start when that one has nothing to give (pinned tails, busy stripes).
  bool evict_one(uint8_t id) {
    static thread_local uint32_t next_shard = 0;
    const uint32_t first = next_shard++;
    for (const LruSegment seg : {kCold, kHot, kWarm, kTemp}) {
      const uint32_t oldest = oldest_tail_shard(id, seg);  // kLruShards: none seen
      if (oldest != kLruShards && evict_from(lru.list(id, oldest), seg)) return true;
      for (uint32_t i = 0; i < kLruShards; ++i) {
        const uint32_t shard = (first + i) & (kLruShards - 1);
        if (shard != oldest && evict_from(lru.list(id, shard), seg)) return true;
      }
    }
    return false;
  }

  // The shard of class id whose segment seg has the oldest tail, or kLruShards if none has
  // one. Busy shards are skipped rather than waited for (the rotation above still tries them).
  uint32_t oldest_tail_shard(uint8_t id, LruSegment seg) {
    uint32_t best = kLruShards;
    RelTime best_time = 0;
    uint64_t best_cas = 0;
    for (uint32_t shard = 0; shard < kLruShards; ++shard) {
      Lru::List& list = lru.list(id, shard);
      std::unique_lock lock(list.mu, std::try_to_lock);
      if (!lock.owns_lock()) continue;
      const Item* tail = lru.item_at(list.seg[seg].tail);
      if (tail == nullptr) continue;
      const RelTime time = tail->time.load(std::memory_order_relaxed);
      if (best != kLruShards && time > best_time) continue;
      // The CAS of a linked item may be rewritten in place under its stripe lock (incr, meta
      // invalidation): read it under that lock, or let the item lose a tie.
      uint64_t cas = UINT64_MAX;
      std::mutex& stripe = locks.for_hash(hash_key(tail->key()));
      if (stripe.try_lock()) {
        cas = tail->cas();
        stripe.unlock();
      }
      if (best == kLruShards || time < best_time || (time == best_time && cas < best_cas)) {
        best = shard;
        best_time = time;
        best_cas = cas;
      }
    }
    return best;
  }

  bool evict_from(Lru::List& list, LruSegment seg) {
    std::lock_guard lru_lock(list.mu);
    const RelTime now = clock.now();
    int search = kEvictSearch;
    for (Item* it = lru.item_at(list.seg[seg].tail); it != nullptr && search-- > 0;) {
      Item* prev = lru.item_at(it->lru_prev);
      const uint64_t hv = hash_key(it->key());
      std::mutex& stripe = locks.for_hash(hv);
      if (!stripe.try_lock()) {
        it = prev;
        continue;
      }
      std::lock_guard stripe_lock(stripe, std::adopt_lock);
      // Only the hash link holds it; pins are only added under the stripe lock we hold.
      if (it->refcount.load(std::memory_order_acquire) != 1) {
        it = prev;
        continue;
      }
      LruCounters& c = list.counters;
      if (is_dead(it, now)) {
        ++c.reclaimed;
        if (!it->is_fetched()) ++c.expired_unfetched;
      } else if (!config.evict_to_free) {
        it = prev;
        continue;
      } else if (seg != kTemp && it->is_active() && lru.segmented()) {
        // Read since the maintainer last looked: spare it, as the maintainer would have
        // (it falls behind under a burst of sets, and then eviction reaches HOT or WARM).
        it->clear_flag(kItemActive);
        if (seg == kWarm) {
          ++c.moves_within_lru;
        } else {
          ++c.moves_to_warm;
        }
        lru.move_locked(list, it, kWarm);
        it = prev;
        continue;
      } else {
        ++c.evicted;
        if (it->exptime() != 0) ++c.evicted_nonzero;
        if (!it->is_fetched()) ++c.evicted_unfetched;
        if (it->is_active()) ++c.evicted_active;
        c.evicted_time = now - std::min(now, it->time.load(std::memory_order_relaxed));
        if (config.on_evict != nullptr) {
          const RelTime exptime = it->exptime();
          config.on_evict(
              config.on_evict_context,
              CacheConfig::EvictedItem{it->key(), it->is_fetched(),
                                       exptime == 0 ? -1 : static_cast<int64_t>(exptime) - now,
                                       static_cast<int64_t>(c.evicted_time), slabs.class_of(it),
                                       it->nbytes()});
        }
      }
      ++c.direct_reclaims;
      unlink(it, hv, &list);
      return true;
    }
    return false;
  }

  // A chunk of class id, evicting from its LRU as needed; nullptr (counted as outofmemory)
  // when nothing could be freed.
  // count_oom false: the caller has a fallback, so a failure here is not (yet) outofmemory.
  void* alloc_chunk(uint8_t id, bool count_oom = true) {
    void* chunk = nullptr;
    // Another worker may take the chunk an eviction freed before this one gets it, and
    // evict_one() fails when every tail it looks at is pinned or its stripe is busy: both pass,
    // so it keeps trying (as memcached does) rather than giving up on the first miss.
    for (int tries = 0; tries < kAllocTries && chunk == nullptr; ++tries) {
      chunk = slabs.alloc(id);
      if (chunk == nullptr) evict_one(id);
    }
    if (chunk == nullptr) chunk = slabs.alloc(id);  // an eviction may have freed one last round
    if (chunk == nullptr && count_oom) {
      Lru::List& list = lru.list(id, 0);  // stats add up the shards
      std::lock_guard lock(list.mu);
      ++list.counters.outofmemory;
    }
    return chunk;
  }

  // Starts a chunk's header. The slab mover scans a moving page without locks and may look at
  // a chunk while another thread allocates it: the fields it peeks at (nkey; for data chunks
  // also size_bits and h_next) are written before the refcount, which is stored last with
  // release (the mover loads it with acquire), and the atomics are written as atomics.
  static Item* init_chunk(void* chunk, uint8_t nkey, uint32_t size_bits = 0,
                          ItemRefId h_next = 0) {
    Item* it = static_cast<Item*>(chunk);
    it->lru_prev = it->lru_next = 0;
    it->h_next = h_next;
    it->size_bits = size_bits;
    it->nkey = nkey;
    it->time.store(0, std::memory_order_relaxed);
    it->iflags.store(0, std::memory_order_relaxed);
    it->refcount.store(1, std::memory_order_release);
    return it;
  }

  // An unlinked item with refcount 1 (the caller's), or nullptr with *err set.
  Item* alloc_item(std::string_view key, uint32_t flags, RelTime exptime, std::size_t nbytes,
                   StoreResult* err, bool with_exptime_field = false) {
    if (key.empty() || key.size() > kMaxKeyLength) {
      *err = StoreResult::kTooLarge;
      return nullptr;
    }
    const std::size_t header_now =
        Item::header_size(config.use_cas, exptime != 0 || with_exptime_field, flags != 0);
    const std::size_t ntotal = header_now + key.size() + nbytes;
    if (header + key.size() + nbytes > config.item_size_max || nbytes > UINT32_MAX) {
      *err = StoreResult::kTooLarge;
      return nullptr;
    }
    const bool chunked = ntotal > slabs.largest_chunk();
    const uint8_t id =
        chunked ? static_cast<uint8_t>(slabs.class_count()) : slabs.class_for(ntotal);
    void* chunk = alloc_chunk(id);
    if (chunk == nullptr) {
      *err = StoreResult::kNoMemory;
      return nullptr;
    }
    Item* it = init_chunk(chunk, static_cast<uint8_t>(key.size()));
    it->time.store(clock.now(), std::memory_order_relaxed);
    it->init_shape(config.use_cas, exptime, flags,
                   chunked ? kSizeChunked : static_cast<uint32_t>(nbytes), with_exptime_field);
    std::memcpy(it->payload(), key.data(), key.size());
    if (chunked && !alloc_chain(it, nbytes)) {
      release(it);  // frees the chunks taken so far
      *err = StoreResult::kNoMemory;
      return nullptr;
    }
    return it;
  }

  // Gives a chunked head (already shaped) its value length and chain of data chunks: full
  // chunks of the largest class, then the tail in the smallest class that holds it. On
  // failure the chain built so far stays linked from the head, so releasing the head frees it.
  bool alloc_chain(Item* it, std::size_t nbytes) {
    ChunkHead* head = it->chunk_head();
    const std::size_t first_room =
        slabs.largest_chunk() - it->chunk_head_offset() - sizeof(ChunkHead);
    head->length = static_cast<uint32_t>(nbytes);
    head->next = 0;
    head->first = static_cast<uint32_t>(std::min(nbytes, first_room));
    const ItemRefId owner = slabs.ref_of(it);
    ItemRefId* link = &head->next;
    for (std::size_t left = nbytes - head->first; left > 0;) {
      const std::size_t want =
          std::min<std::size_t>(left + kItemFixedHeader, slabs.largest_chunk());
      // The tail goes in the smallest class that holds it. That class's pages may hold only
      // tails of chunked items, which are in no LRU, so evicting there can free nothing; as
      // memcached does, fall back to a full-size chunk, whose class evicts whole chunked items
      // (and so frees their tails for later stores).
      const uint8_t fit = slabs.class_for(want);
      const auto largest = static_cast<uint8_t>(slabs.class_count());
      void* raw = alloc_chunk(fit, /*count_oom=*/fit == largest);
      if (raw == nullptr && fit != largest) raw = alloc_chunk(largest);
      if (raw == nullptr) return false;
      Item* chunk = init_chunk(raw, 0, static_cast<uint32_t>(want - kItemFixedHeader), owner);
      *link = slabs.ref_of(chunk);
      link = &chunk->lru_next;
      left -= chunk->size_bits;
    }
    return true;
  }

  bool remove_key(std::string_view key) {
    const uint64_t hv = hash_key(key);
    std::lock_guard lock(locks.for_hash(hv));
    Item* it = find_live(key, hv);
    if (it == nullptr) return false;
    unlink(it, hv);
    return true;
  }

  StoreResult commit_concat(bool append, Item* piece, uint64_t cas_in, uint64_t* cas_out) {
    const std::string_view key = piece->key();
    const uint64_t hv = hash_key(key);
    for (;;) {
      Item* old_it;
      RelTime exptime;  // touch may change it under the lock; flags and bytes are immutable
      {
        std::lock_guard lock(locks.for_hash(hv));
        old_it = find_live(key, hv);
        if (old_it == nullptr) return StoreResult::kNotStored;
        if (cas_in != 0 && old_it->cas() != cas_in) return StoreResult::kExists;
        old_it->refcount.fetch_add(1, std::memory_order_relaxed);  // pin: bytes stay put
        exptime = old_it->exptime();
      }
      StoreResult err = StoreResult::kStored;  // detail unused: see below
      Item* combined = alloc_item(key, old_it->flags(), exptime,
                                  std::size_t{old_it->nbytes()} + piece->nbytes(), &err);
      if (combined == nullptr) {
        // memcached 1.6.18 answers NOT_STORED when the combined item cannot be allocated,
        // whether too large or out of memory (checked against the real server).
        release(old_it);
        return StoreResult::kNotStored;
      }
      const Item* first = append ? old_it : piece;
      copy_value(combined, 0, first);
      copy_value(combined, first->nbytes(), append ? piece : old_it);
      if (replace_if_current(key, hv, old_it, combined, cas_in, cas_out)) {
        return StoreResult::kStored;
      }
    }
  }

  StoreResult commit(StoreMode mode, Item* it, uint64_t cas_in, uint64_t* cas_out) {
    if (mode == StoreMode::kAppend || mode == StoreMode::kPrepend) {
      return commit_concat(mode == StoreMode::kAppend, it, cas_in, cas_out);
    }
    const uint64_t hv = hash_key(it->key());
    std::lock_guard lock(locks.for_hash(hv));
    Item* old_it = find_live(it->key(), hv);
    StoreResult result = StoreResult::kStored;
    switch (mode) {
      case StoreMode::kSet:
        break;
      case StoreMode::kAdd:
        if (old_it != nullptr) {
          lru.touch(old_it, clock.now(), /*try_only=*/false);  // memcached bumps on a failed add
          result = StoreResult::kNotStored;
        }
        break;
      case StoreMode::kReplace:
        if (old_it == nullptr) result = StoreResult::kNotStored;
        break;
      case StoreMode::kCas:
        if (old_it == nullptr) {
          result = StoreResult::kNotFound;
        } else if (old_it->cas() != cas_in) {
          result = StoreResult::kExists;
        }
        break;
      default:
        break;
    }
    if (result != StoreResult::kStored) return result;
    if (old_it != nullptr) {
      replace(old_it, it, hv);
    } else {
      link(it, hv);
    }
    if (cas_out != nullptr) *cas_out = it->cas();
    return StoreResult::kStored;
  }

  // cas_in: 0, or the CAS the item must have (else *cas_mismatch and nothing changes).
  DeltaResult delta(std::string_view key, bool increment, uint64_t amount, uint64_t* cas_out,
                    uint64_t cas_in = 0, bool* cas_mismatch = nullptr) {
    const uint64_t hv = hash_key(key);
    for (;;) {
      Item* old_it;
      RelTime exptime = 0;
      uint64_t value = 0;
      char buf[24];
      std::size_t len = 0;
      {
        std::lock_guard lock(locks.for_hash(hv));
        old_it = find_live(key, hv);
        if (old_it == nullptr) return {DeltaStatus::kNotFound, 0};
        if (cas_in != 0 && old_it->cas() != cas_in) {
          *cas_mismatch = true;
          return {DeltaStatus::kNotFound, 0};
        }
        if (old_it->nbytes() == 0 || !parse_counter(old_it->value(), &value))
          return {DeltaStatus::kNonNumeric, 0};
        if (increment) {
          value += amount;  // wraps at 2^64, as memcached
        } else {
          value = amount > value ? 0 : value - amount;
        }
        len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, value).ptr - buf);
        old_it->set_flag(kItemFetched);
        if (len <= old_it->nbytes() && old_it->refcount.load(std::memory_order_acquire) == 1) {
          // Nobody reads it: rewrite in place, space-padded, as memcached does.
          std::span<char> v = old_it->mutable_value();
          std::memcpy(v.data(), buf, len);
          std::memset(v.data() + len, ' ', v.size() - len);
          old_it->set_cas(next_cas());
          lru.touch(old_it, clock.now(), /*try_only=*/false);
          if (cas_out != nullptr) *cas_out = old_it->cas();
          return {DeltaStatus::kOk, value};
        }
        old_it->refcount.fetch_add(1, std::memory_order_relaxed);
        exptime = old_it->exptime();
      }
      StoreResult err = StoreResult::kStored;
      Item* fresh = alloc_item(key, old_it->flags(), exptime, len, &err);
      if (fresh == nullptr) {
        release(old_it);
        return {DeltaStatus::kNoMemory, 0};
      }
      std::memcpy(fresh->mutable_value().data(), buf, len);
      if (replace_if_current(key, hv, old_it, fresh, cas_in, cas_out)) {
        return {DeltaStatus::kOk, value};
      }
    }
  }

  // touch/gat giving a TTL to an item stored without one: the header has no room, so the item
  // is copied into one that has (same key, flags, value and CAS) and replaces it. Called and
  // returns without the stripe lock; the result is pinned (or nullptr if the key went away or
  // no memory was free).
  // only_add_field: just give the item an exptime field (still 0), for meta commands that set
  // a TTL under the stripe lock; no LRU bump.
  Item* rebuild_with_exptime(std::string_view key, uint64_t hv, RelTime exptime,
                             bool only_add_field = false) {
    for (;;) {
      Item* old_it;
      {
        std::lock_guard lock(locks.for_hash(hv));
        old_it = find_live(key, hv);
        if (old_it == nullptr) return nullptr;
        // Someone else rebuilt it meanwhile?
        if (only_add_field ? old_it->has_exptime() : set_ttl(old_it, exptime)) {
          old_it->refcount.fetch_add(1, std::memory_order_relaxed);
          if (!only_add_field) lru.touch(old_it, clock.now(), /*try_only=*/true);
          return old_it;
        }
        old_it->refcount.fetch_add(1, std::memory_order_relaxed);
      }
      StoreResult err = StoreResult::kStored;
      Item* fresh = alloc_item(key, old_it->flags(), exptime, old_it->nbytes(), &err,
                               /*with_exptime_field=*/true);
      if (fresh == nullptr) {
        release(old_it);
        return nullptr;
      }
      copy_value(fresh, 0, old_it);
      if (old_it->key_is_binary()) fresh->set_key_binary();
      bool done = false;
      {
        std::lock_guard lock(locks.for_hash(hv));
        if (find_live(key, hv) == old_it) {
          const uint8_t kept = old_it->bits() & (kItemFetched | kItemStale | kItemTokenSent);
          replace(old_it, fresh, hv, old_it->cas());  // a touch does not change the CAS
          fresh->set_flag(kept);
          if (!only_add_field) lru.touch(fresh, clock.now(), /*try_only=*/true);
          done = true;
        }
      }
      release(old_it);
      if (done) return fresh;  // keeps the allocation's reference as the caller's pin
      release(fresh);
    }
  }

  // --- the slab mover (run_slab_rebalancer_once), with the engine's rebalance mutex ---

  // With it's stripe lock held and it the key's live item: copies it into a free chunk of
  // class src outside the moving page and swaps the copy in at the same hash and LRU place,
  // with the same CAS. False when the class has no free chunk (or a chunked head is pinned:
  // its chain cannot change hands under a reader). Readers pinning the old copy keep it.
  bool rescue_locked(Item* it, uint64_t hv, uint8_t src) {
    if (it->is_chunked() && it->refcount.load(std::memory_order_acquire) != 1) return false;
    void* raw = slabs.alloc_no_new_page(src);
    if (raw == nullptr) return false;
    const std::size_t bytes =
        it->is_chunked() ? it->chunk_head_offset() + sizeof(ChunkHead) + it->chunk_head()->first
                         : it->total_size();
    const RelTime time = it->time.load(std::memory_order_relaxed);
    // The header field by field, the rest as bytes: the LRU links change under the LRU lock,
    // time, refcount and flags under none, while only the stripe lock is held here, so those
    // are not copied but set from fresh reads (the links below, under the LRU lock).
    Item* fresh = static_cast<Item*>(raw);
    fresh->lru_prev = 0;
    fresh->lru_next = 0;
    fresh->h_next = it->h_next;
    new (&fresh->time) std::atomic<RelTime>(time);
    fresh->size_bits = it->size_bits;
    new (&fresh->refcount) std::atomic<uint16_t>(1);  // the hash table's
    fresh->nkey = it->nkey;
    new (&fresh->iflags) std::atomic<uint8_t>(0);
    std::memcpy(static_cast<char*>(raw) + kItemFixedHeader,
                reinterpret_cast<const char*>(it) + kItemFixedHeader, bytes - kItemFixedHeader);
    const ItemRefId fresh_ref = slabs.ref_of(fresh);
    if (it->is_chunked()) {
      for (ItemRefId ref = fresh->chunk_head()->next; ref != 0;) {
        Item* chunk = slabs.item_at(ref);
        chunk->h_next = fresh_ref;
        ref = chunk->lru_next;
      }
      it->chunk_head()->next = 0;  // the chain is fresh's now: freeing `it` must not free it
    }
    if (lru.shard_of(fresh) == lru.shard_of(it)) {
      Lru::List& list = lru.list_of(it);
      std::lock_guard lock(list.mu);
      // Links and segment as they are now: neighbours may have moved since the copy.
      fresh->lru_prev = it->lru_prev;
      fresh->lru_next = it->lru_next;
      fresh->iflags.store(it->bits(), std::memory_order_relaxed);
      Lru::Segment& seg = list.seg[it->segment()];
      if (fresh->lru_prev != 0) {
        lru.item_at(fresh->lru_prev)->lru_next = fresh_ref;
      } else {
        seg.head = fresh_ref;
      }
      if (fresh->lru_next != 0) {
        lru.item_at(fresh->lru_next)->lru_prev = fresh_ref;
      } else {
        seg.tail = fresh_ref;
      }
    } else {
      // The copy belongs to another shard's list: it goes to the head of the same segment
      // there (one list's mutex at a time; with the stripe lock held nobody else unlinks it).
      LruSegment segment;
      {
        Lru::List& from = lru.list_of(it);
        std::lock_guard lock(from.mu);
        segment = static_cast<LruSegment>(it->segment());
        fresh->iflags.store(it->bits(), std::memory_order_relaxed);
        lru.unlink_locked(from, it);
      }
      Lru::List& to = lru.list_of(fresh);
      std::lock_guard lock(to.mu);
      lru.link_locked(to, fresh, segment);
    }
    table.remove(it, hv);
    table.insert(fresh, hv);
    it->clear_flag(kItemLinked);
    release(it);  // the hash table's reference: freed (parked) now or when its last pin goes
    engine.reassign_rescues.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // A data chunk found in the moving page: copied into a free chunk of its class while its
  // item is live and unpinned, else the item is evicted when no chunk is free; busy while a
  // reader pins it.
  void move_data_chunk(Item* chunk, uint8_t src) {
    Item* owner = slabs.item_at(chunk->h_next);
    // Unlocked peek (the arena stays mapped, so a stale owner reads harmless bytes); the
    // stripe lock and the hash lookup below decide.
    if (owner == nullptr || (owner->iflags.load(std::memory_order_acquire) & kItemLinked) == 0 ||
        owner->is_data_chunk()) {
      engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::string_view key = owner->key();
    const uint64_t hv = hash_key(key);
    std::lock_guard stripe(locks.for_hash(hv));
    if (table.find(key, hv) != owner || !owner->is_chunked() ||
        chunk->refcount.load(std::memory_order_acquire) == 0 ||
        chunk->h_next != slabs.ref_of(owner)) {
      engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (owner->refcount.load(std::memory_order_acquire) != 1) {
      engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);  // a reader walks the chain
      return;
    }
    // The link that names this chunk. A chunk read mid-allocation may carry a stale owner
    // that happens to be live: then it is not on that owner's chain, and is left alone.
    const ItemRefId old_ref = slabs.ref_of(chunk);
    ItemRefId* link = &owner->chunk_head()->next;
    while (*link != 0 && *link != old_ref) link = &slabs.item_at(*link)->lru_next;
    if (*link == 0) {
      engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    void* raw = slabs.alloc_no_new_page(src);
    if (raw == nullptr) {
      engine.reassign_evictions.fetch_add(1, std::memory_order_relaxed);
      unlink(owner, hv);  // frees the whole chain, this chunk included
      return;
    }
    // As in rescue_locked: the header's plain fields one by one (a data chunk's links are
    // guarded by its owner's stripe lock, held here), its atomics fresh, then the bytes.
    Item* fresh = static_cast<Item*>(raw);
    fresh->lru_prev = chunk->lru_prev;
    fresh->lru_next = chunk->lru_next;
    fresh->h_next = chunk->h_next;
    new (&fresh->time) std::atomic<RelTime>(0);
    fresh->size_bits = chunk->size_bits;
    new (&fresh->refcount) std::atomic<uint16_t>(1);
    fresh->nkey = chunk->nkey;
    new (&fresh->iflags) std::atomic<uint8_t>(0);
    std::memcpy(static_cast<char*>(raw) + kItemFixedHeader,
                reinterpret_cast<const char*>(chunk) + kItemFixedHeader, chunk->chunk_length());
    *link = slabs.ref_of(fresh);
    chunk->refcount.store(0, std::memory_order_release);
    slabs.free(src, chunk);
    engine.reassign_chunk_rescues.fetch_add(1, std::memory_order_relaxed);
  }

  // get / touch / gat. exptime: nullptr for a plain get.
  Item* fetch(std::string_view key, const int64_t* exptime, bool pin) {
    const uint64_t hv = hash_key(key);
    Miss why = Miss::kNone;
    Item* it;
    bool needs_rebuild = false;
    RelTime new_exptime = 0;
    {
      std::lock_guard lock(locks.for_hash(hv));
      it = find_live(key, hv, &why);
      if (it != nullptr && pin && it->refcount.load(std::memory_order_relaxed) >= kMaxPins)
        it = nullptr;
      if (it != nullptr) {
        if (exptime != nullptr) {
          new_exptime = clock.realtime(*exptime);
          needs_rebuild = !set_ttl(it, new_exptime);
        }
        if (!needs_rebuild) {
          if (pin) it->refcount.fetch_add(1, std::memory_order_relaxed);
          lru.touch(it, clock.now(), /*try_only=*/true);
        }
      }
    }
    if (needs_rebuild) {
      it = rebuild_with_exptime(key, hv, new_exptime);
      if (it != nullptr && !pin) {
        release(it);
        return it;  // only compared with nullptr by touch()
      }
      return it;
    }
    if (exptime == nullptr) {
      if (why == Miss::kExpired) get_expired.fetch_add(1, std::memory_order_relaxed);
      if (why == Miss::kFlushed) get_flushed.fetch_add(1, std::memory_order_relaxed);
    }
    return it;
  }
};

// --- ItemRef -------------------------------------------------------------------------------------

ItemRef& ItemRef::operator=(ItemRef&& other) noexcept {
  if (this != &other) {
    reset();
    cache_ = other.cache_;
    item_ = other.item_;
    other.item_ = nullptr;
  }
  return *this;
}

void ItemRef::reset() {
  if (item_ != nullptr) {
    cache_->release(item_);
    item_ = nullptr;
  }
}

// Accessors require a non-empty ref, like std::optional::operator*.
std::string_view ItemRef::key() const { return item_->key(); }
ValueSegments ItemRef::value_segments() const { return cache_->segments_of(item_); }
std::size_t ItemRef::value_size() const { return item_->nbytes(); }
std::string ItemRef::value_copy() const {
  std::string out;
  out.reserve(item_->nbytes());
  for (std::string_view s : value_segments()) out.append(s);
  return out;
}
void ItemRef::write_value(std::size_t offset, std::string_view bytes) {
  cache_->write_value(item_, offset, bytes);
}

void ValueSegments::Iterator::advance() { cache_->next_segment(next_, &bytes_, &next_); }
uint32_t ItemRef::flags() const { return item_->flags(); }
uint64_t ItemRef::cas() const { return item_->cas(); }
uint8_t ItemRef::slab_class() const { return cache_->class_of(item_); }
bool ItemRef::is_stale() const { return (item_->bits() & kItemStale) != 0; }
bool ItemRef::token_sent() const { return (item_->bits() & kItemTokenSent) != 0; }
bool ItemRef::key_is_binary() const { return item_->key_is_binary(); }

// --- Cache ---------------------------------------------------------------------------------------

Cache::Cache(const CacheConfig& config) : impl_(std::make_unique<Impl>(config)) {
  if (config.track_sizes) {
    std::lock_guard lock(impl_->sizes_mu);
    impl_->sizes_start();
  }
  if (config.background_threads) impl_->background = std::make_unique<BackgroundWork>(*this);
}
Cache::~Cache() { impl_->background.reset(); }

uint8_t Cache::class_of(const Item* item) const { return impl_->slabs.class_of(item); }

ValueSegments Cache::segments_of(const Item* item) const {
  if (!item->is_chunked()) return {this, item->value(), 0, item->nbytes()};
  const ChunkHead* head = item->chunk_head();
  return {this, std::string_view(item->head_data(), head->first), head->next, head->length};
}

void Cache::next_segment(uint32_t ref, std::string_view* bytes, uint32_t* next) const {
  const Item* chunk = impl_->slabs.item_at(ref);
  *bytes = std::string_view(chunk->chunk_data(), chunk->chunk_length());
  *next = chunk->lru_next;
}

void Cache::write_value(Item* item, std::size_t offset, std::string_view bytes) {
  Impl::ValueCursor c = impl_->cursor_at(item, offset);
  impl_->write(c, bytes);
}

void Cache::copy_value(Item* dst, std::size_t offset, const Item* src) {
  impl_->copy_value(dst, offset, src);
}

void Cache::tick(int64_t unix_now) { impl_->clock.set(unix_now); }
RelTime Cache::now() const { return impl_->clock.public_now(); }

ItemRef Cache::get(std::string_view key) { return {this, impl_->fetch(key, nullptr, true)}; }

ItemRef Cache::get_and_touch(std::string_view key, int64_t exptime) {
  return {this, impl_->fetch(key, &exptime, true)};
}

bool Cache::touch(std::string_view key, int64_t exptime) {
  return impl_->fetch(key, &exptime, false) != nullptr;
}

bool Cache::remove(std::string_view key) { return impl_->remove_key(key); }

RemoveResult Cache::remove_if_cas(std::string_view key, uint64_t cas_in) {
  const uint64_t hv = hash_key(key);
  std::lock_guard lock(impl_->locks.for_hash(hv));
  Item* it = impl_->find_live(key, hv);
  if (it == nullptr) return RemoveResult::kNotFound;
  if (cas_in != 0 && it->cas() != cas_in) return RemoveResult::kCasMismatch;
  impl_->unlink(it, hv);
  return RemoveResult::kRemoved;
}

DeltaResult Cache::delta_if_cas(std::string_view key, bool increment, uint64_t amount,
                                uint64_t cas_in, bool* cas_mismatch, uint64_t* cas_out) {
  *cas_mismatch = false;
  return impl_->delta(key, increment, amount, cas_out, cas_in, cas_mismatch);
}

StoreResult Cache::store(StoreMode mode, std::string_view key, uint32_t flags, int64_t exptime,
                         std::string_view value, uint64_t cas_in, uint64_t* cas_out) {
  if (value.size() > UINT32_MAX) return StoreResult::kTooLarge;
  ItemRef ref;
  const StoreResult r =
      allocate(mode, key, flags, exptime, static_cast<uint32_t>(value.size()), &ref);
  if (r != StoreResult::kStored) return r;
  if (!value.empty()) ref.write_value(0, value);
  return commit(mode, ref, cas_in, cas_out);
}

StoreResult Cache::allocate(StoreMode mode, std::string_view key, uint32_t flags, int64_t exptime,
                            uint32_t value_length, ItemRef* out) {
  StoreResult err = StoreResult::kStored;
  Item* it = impl_->alloc_item(key, flags, impl_->clock.realtime(exptime), value_length, &err);
  if (it == nullptr) {
    // memcached: a failed set must not leave the old value to be served.
    if (mode == StoreMode::kSet && !key.empty() && key.size() <= kMaxKeyLength)
      impl_->remove_key(key);
    return err;
  }
  *out = ItemRef(this, it);
  return StoreResult::kStored;
}

StoreResult Cache::commit(StoreMode mode, ItemRef& item, uint64_t cas_in, uint64_t* cas_out) {
  if (!item || item.item_->is_linked()) return StoreResult::kNotStored;  // misuse, not a crash
  const StoreResult r = impl_->commit(mode, item.item_, cas_in, cas_out);
  item.reset();
  return r;
}

DeltaResult Cache::delta(std::string_view key, bool increment, uint64_t amount, uint64_t* cas_out) {
  return impl_->delta(key, increment, amount, cas_out);
}

void Cache::flush_all(int64_t delay) {
  Impl& d = *impl_;
  const RelTime now = d.clock.now();
  const RelTime new_oldest = delay > 0 ? d.clock.realtime(delay) : now;
  if (d.config.use_cas) {
    d.oldest_live.store(new_oldest - 1, std::memory_order_relaxed);
    if (new_oldest - 1 <= now) d.oldest_cas.store(d.next_cas(), std::memory_order_relaxed);
  } else {
    d.oldest_live.store(new_oldest, std::memory_order_relaxed);
  }
  d.flush_active.store(true, std::memory_order_release);
  d.note_death(new_oldest);
}

void Cache::set_memory_limit(std::size_t bytes) { impl_->slabs.set_memory_limit(bytes); }

bool Cache::item_size_ok(std::size_t key_length, std::size_t value_length) const {
  // Larger than the largest class is fine: such items are chunked.
  const std::size_t ntotal = impl_->header + key_length + value_length;
  return ntotal <= impl_->config.item_size_max && value_length <= UINT32_MAX;
}

std::size_t Cache::item_header_size() const { return impl_->header; }

CacheStats Cache::stats() const {
  const Impl& d = *impl_;
  CacheStats s;
  s.curr_items = d.curr_items.sum();
  s.total_items = d.total_items.sum();
  s.bytes = d.bytes.sum();
  s.get_expired = d.get_expired.load(std::memory_order_relaxed);
  s.get_flushed = d.get_flushed.load(std::memory_order_relaxed);
  for (const ItemClassStats& c : collect_item_stats(false)) {
    s.evictions += c.evicted;
    s.reclaimed += c.reclaimed;
    s.expired_unfetched += c.expired_unfetched;
    s.evicted_unfetched += c.evicted_unfetched;
    s.evicted_active += c.evicted_active;
  }
  s.limit_maxbytes = d.slabs.memory_limit();
  s.total_malloced = d.slabs.total_malloced();
  s.malloc_fails = d.slabs.malloc_fails();
  s.hash_power_level = d.table.hashpower();
  s.hash_bytes = d.table.bytes();
  s.hash_is_expanding = d.table.expanding();
  s.slab_global_page_pool = d.slabs.free_pool_pages();
  return s;
}

std::vector<SlabClassStats> Cache::slab_stats() const {
  std::vector<SlabClassStats> out;
  for (uint32_t id = 1; id <= impl_->slabs.class_count(); ++id) {
    SlabClassStats s = impl_->slabs.class_stats(static_cast<uint8_t>(id));
    if (s.total_pages > 0) out.push_back(s);
  }
  return out;
}

std::vector<ItemClassStats> Cache::item_stats() const { return collect_item_stats(true); }

std::vector<ItemClassStats> Cache::collect_item_stats(bool skip_idle) const {
  std::vector<ItemClassStats> out;
  const Impl& d = *impl_;
  const RelTime now = d.clock.now();
  auto age_of = [&](ItemRefId tail) -> uint64_t {
    const Item* it = d.lru.item_at(tail);
    return it == nullptr ? 0 : now - std::min(now, it->time.load(std::memory_order_relaxed));
  };
  for (uint32_t id = 1; id <= d.slabs.class_count(); ++id) {
    // The class's shards added up; ages are those of the oldest tail among them.
    ItemClassStats s;
    s.id = id;
    LruCounters c;
    for (uint32_t shard = 0; shard < kLruShards; ++shard) {
      Lru::List& l = impl_->lru.list(static_cast<uint8_t>(id), shard);
      std::lock_guard lock(l.mu);
      s.number += l.count();
      s.number_hot += l.seg[kHot].count;
      s.number_warm += l.seg[kWarm].count;
      s.number_cold += l.seg[kCold].count;
      s.number_temp += l.seg[kTemp].count;
      s.age_hot = std::max(s.age_hot, age_of(l.seg[kHot].tail));
      s.age_warm = std::max(s.age_warm, age_of(l.seg[kWarm].tail));
      s.age = std::max(s.age, age_of(l.seg[kCold].tail));
      s.mem_requested += l.bytes();
      c += l.counters;
    }
    c.expired_unfetched += d.engine.crawler_unfetched[id].load(std::memory_order_relaxed);
    if (skip_idle && s.number == 0 && c.evicted == 0 && c.reclaimed == 0 && c.outofmemory == 0)
      continue;
    const auto cls = static_cast<uint8_t>(id);
    s.hits_to_hot = d.lru.hits(cls, kHot);
    s.hits_to_warm = d.lru.hits(cls, kWarm);
    s.hits_to_cold = d.lru.hits(cls, kCold);
    s.hits_to_temp = d.lru.hits(cls, kTemp);
    s.evicted = c.evicted;
    s.evicted_nonzero = c.evicted_nonzero;
    s.evicted_time = c.evicted_time;
    s.outofmemory = c.outofmemory;
    s.reclaimed = c.reclaimed;
    s.expired_unfetched = c.expired_unfetched;
    s.evicted_unfetched = c.evicted_unfetched;
    s.evicted_active = c.evicted_active;
    s.crawler_reclaimed = d.engine.crawler_reclaimed[id].load(std::memory_order_relaxed);
    s.crawler_items_checked = d.engine.crawler_checked[id].load(std::memory_order_relaxed);
    s.moves_to_cold = c.moves_to_cold;
    s.moves_to_warm = c.moves_to_warm;
    s.moves_within_lru = c.moves_within_lru;
    s.direct_reclaims = c.direct_reclaims;
    out.push_back(s);
  }
  return out;
}

const CacheConfig& Cache::config() const { return impl_->config; }

bool Cache::size_histogram(std::vector<SizeBucket>* out) const {
  std::lock_guard lock(impl_->sizes_mu);
  if (impl_->sizes_hist.empty()) return false;
  for (std::size_t i = 0; i < impl_->sizes_hist.size(); ++i) {
    if (impl_->sizes_hist[i] != 0) out->push_back(SizeBucket{i * 32, impl_->sizes_hist[i]});
  }
  return true;
}

SizesEnable Cache::enable_size_histogram() {
  if (!impl_->config.use_cas) return SizesEnable::kCasDisabled;
  std::lock_guard lock(impl_->sizes_mu);
  if (impl_->sizes_hist.empty()) impl_->sizes_start();
  return SizesEnable::kEnabled;
}

void Cache::disable_size_histogram() {
  std::lock_guard lock(impl_->sizes_mu);
  impl_->sizes_on.store(false, std::memory_order_relaxed);
  impl_->sizes_hist.clear();
  impl_->sizes_hist.shrink_to_fit();
}

void Cache::release(Item* item) { impl_->release(item); }

// --- background engine work --------------------------------------------------------------------

uint64_t Cache::run_lru_maintainer_once(int budget) {
  Impl& d = *impl_;
  if (!d.config.lru_maintainer) return 0;  // classic LRU from the start: nothing to juggle
  const RelTime now = d.clock.now();
  uint64_t moves = 0;
  for (uint32_t id = 1; id <= d.slabs.class_count(); ++id) {
    moves += static_cast<uint64_t>(d.lru.juggle(static_cast<uint8_t>(id), now, budget));
  }
  d.engine.juggles.fetch_add(1, std::memory_order_relaxed);
  return moves;
}

uint64_t Cache::crawl(const std::vector<bool>& classes, uint32_t pause_every,
                      std::chrono::microseconds pause) {
  Impl& d = *impl_;
  d.engine.crawler_starts.fetch_add(1, std::memory_order_relaxed);
  d.engine.crawler_running.store(true, std::memory_order_relaxed);
  uint64_t freed = 0;
  uint32_t since_pause = 0;
  // A whole-table crawl learns the earliest death of what it leaves; TTLs written meanwhile
  // lower the bound again through note_death, so it starts over before the walk.
  const bool whole = classes.empty();
  RelTime earliest = kNoDeath;
  if (whole) d.next_death.store(kNoDeath, std::memory_order_relaxed);
  for (uint64_t stripe = 0; stripe < d.locks.count(); ++stripe) {
    if (pause_every != 0 && since_pause >= pause_every) {
      since_pause = 0;
      std::this_thread::sleep_for(pause);
    }
    std::lock_guard lock(d.locks.at(stripe));
    const RelTime now = d.clock.now();
    d.table.for_each_in_stripe(stripe, [&](Item* it) {
      const uint8_t id = d.slabs.class_of(it);
      if (!classes.empty() && (id >= classes.size() || !classes[id])) return;
      ++since_pause;
      d.engine.crawler_checked[id].fetch_add(1, std::memory_order_relaxed);
      const bool flushed = d.is_flushed(it, now);
      if (!flushed && !d.is_expired(it, now)) {
        if (const RelTime exptime = it->exptime(); exptime != 0)
          earliest = std::min(earliest, exptime);
        return;
      }
      d.engine.crawler_reclaimed[id].fetch_add(1, std::memory_order_relaxed);
      if (!flushed && !it->is_fetched())
        d.engine.crawler_unfetched[id].fetch_add(1, std::memory_order_relaxed);
      d.unlink(it, hash_key(it->key()));
      ++freed;
    });
  }
  if (whole) {
    // A delayed flush_all still to come kills whatever it covers at its time.
    if (d.flush_active.load(std::memory_order_acquire)) {
      const RelTime live = d.oldest_live.load(std::memory_order_relaxed);
      if (live >= d.clock.now()) earliest = std::min(earliest, live);
    }
    d.note_death(earliest);
  }
  d.engine.crawler_running.store(false, std::memory_order_relaxed);
  return freed;
}

bool Cache::request_crawl(const std::vector<bool>& classes) {
  if (impl_->background) return impl_->background->request_crawl(classes);
  crawl(classes);
  return true;
}

bool Cache::crawl_due() const {
  return impl_->next_death.load(std::memory_order_relaxed) <= impl_->clock.now();
}

void Cache::set_lru_crawler(bool enabled) {
  impl_->crawler_enabled.store(enabled, std::memory_order_relaxed);
}

bool Cache::lru_crawler_enabled() const {
  return impl_->crawler_enabled.load(std::memory_order_relaxed);
}

void Cache::for_each_item(const std::vector<bool>& classes,
                          const std::function<void(const ItemMetadata&)>& fn) {
  for_each_item_in_stripes(classes, 0, item_stripes(), fn);
}

uint64_t Cache::item_stripes() const { return impl_->locks.count(); }

void Cache::for_each_item_in_stripes(const std::vector<bool>& classes, uint64_t first,
                                     uint64_t last,
                                     const std::function<void(const ItemMetadata&)>& fn) {
  Impl& d = *impl_;
  const int64_t origin = d.config.process_started - Clock::kTimeBase;
  for (uint64_t stripe = first; stripe < std::min(last, d.locks.count()); ++stripe) {
    std::lock_guard lock(d.locks.at(stripe));
    const RelTime now = d.clock.now();
    d.table.for_each_in_stripe(stripe, [&](Item* it) {
      const uint8_t id = d.slabs.class_of(it);
      if (!classes.empty() && (id >= classes.size() || !classes[id])) return;
      if (d.is_dead(it, now)) return;
      ItemMetadata m;
      m.key = it->key();
      m.exptime = it->exptime() == 0 ? -1 : origin + it->exptime();
      m.last_access = origin + it->time.load(std::memory_order_relaxed);
      m.cas = it->cas();
      m.fetched = it->is_fetched();
      m.slab_class = id;
      m.size = it->total_size();
      m.value_length = it->nbytes();
      fn(m);
    });
  }
}

ReassignResult Cache::slabs_reassign(int src, int dst) {
  Impl& d = *impl_;
  const int largest = static_cast<int>(d.slabs.class_count());
  if (src < -1 || src == 0 || src > largest || dst < 0 || dst > largest)
    return ReassignResult::kBadClass;
  if (src == dst) return ReassignResult::kSame;
  std::lock_guard lock(d.engine.rebalance_mu);
  if (d.slabs.moving_page() != nullptr) return ReassignResult::kBusy;
  if (src == -1) {
    for (int id = 1; id <= largest && src == -1; ++id) {
      if (id != dst && d.slabs.pages_of(static_cast<uint8_t>(id)) > 1) src = id;
    }
    if (src == -1) return ReassignResult::kNoSpare;
  }
  if (!d.slabs.begin_move(static_cast<uint8_t>(src))) return ReassignResult::kNoSpare;
  d.engine.move_dst = static_cast<uint8_t>(dst);
  return ReassignResult::kOk;
}

void Cache::run_slab_rebalancer_once() {
  Impl& d = *impl_;
  std::unique_lock lock(d.engine.rebalance_mu);
  if (char* page = d.slabs.moving_page(); page != nullptr) {
    // Empty the page as memcached's slab mover does: a live item is copied into a free chunk
    // of its class elsewhere (a rescue) and evicted only when there is none; a data chunk of
    // a chunked item is copied likewise while no reader pins the item. Pinned items whose
    // key moved on are waited for: their chunks free themselves when the last pin goes.
    const uint8_t src = d.slabs.moving_class();
    const uint32_t size = d.slabs.chunk_size(src);
    const std::size_t perslab = d.slabs.page_size() / size;
    for (std::size_t i = 0; i < perslab; ++i) {
      Item* it = reinterpret_cast<Item*>(page + i * size);
      if (it->refcount.load(std::memory_order_acquire) == 0) continue;  // free chunk
      if (it->is_data_chunk()) {
        d.move_data_chunk(it, src);
        continue;
      }
      if ((it->iflags.load(std::memory_order_acquire) & kItemLinked) == 0) {
        d.engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);  // pinned or in flight
        continue;
      }
      const std::string_view key = it->key();
      const uint64_t hv = hash_key(key);
      std::lock_guard stripe(d.locks.for_hash(hv));
      if (d.table.find(key, hv) != it) continue;
      if (it->is_chunked() && it->refcount.load(std::memory_order_acquire) != 1 &&
          !d.is_dead(it, d.clock.now())) {
        // A reader walks its chain: the head cannot change hands until the pin goes.
        d.engine.reassign_busy.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (d.is_dead(it, d.clock.now())) {
        d.unlink(it, hv);
      } else if (!d.rescue_locked(it, hv, src)) {
        d.engine.reassign_evictions.fetch_add(1, std::memory_order_relaxed);
        d.unlink(it, hv);
      }
    }
    if (d.slabs.move_page_empty()) {
      d.slabs.finish_move(d.engine.move_dst);
      d.engine.slabs_moved.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  const uint32_t mode = d.automove.load(std::memory_order_relaxed);
  if (mode == 0) return;
  // Automove: give a page to the class that evicted most since the last look, taken from a
  // class that did not evict and either has a page's worth of free chunks or whose oldest item
  // is much older than the evicting class's (mode 1: twice; mode 2: any older).
  const RelTime now = d.clock.now();
  int dst = 0;
  uint64_t dst_evicted = 0;
  RelTime dst_age = 0;
  std::array<uint64_t, kMaxSlabClasses + 1> delta{};
  std::array<RelTime, kMaxSlabClasses + 1> age{};
  const uint32_t classes = d.slabs.class_count();
  for (uint32_t id = 1; id <= classes; ++id) {
    // Evictions, and stores refused because the class has no page at all; the age of the
    // oldest tail over the class's shards.
    uint64_t pressure = 0;
    for (uint32_t shard = 0; shard < kLruShards; ++shard) {
      Lru::List& l = d.lru.list(static_cast<uint8_t>(id), shard);
      std::lock_guard llock(l.mu);
      pressure += l.counters.evicted + l.counters.outofmemory;
      const Item* tail = d.lru.item_at(l.seg[kCold].tail);
      if (tail == nullptr) tail = d.lru.item_at(l.seg[kWarm].tail);
      if (tail == nullptr) tail = d.lru.item_at(l.seg[kHot].tail);
      if (tail != nullptr) {
        age[id] = std::max(age[id], now - std::min(now, tail->time.load(std::memory_order_relaxed)));
      }
    }
    delta[id] = pressure - d.engine.last_evicted[id];
    d.engine.last_evicted[id] = pressure;
    if (delta[id] > dst_evicted) {
      dst_evicted = delta[id];
      dst = static_cast<int>(id);
    }
  }
  if (dst == 0) return;
  dst_age = age[dst];
  int src = 0;
  uint64_t best = 0;
  for (uint32_t id = 1; id <= classes; ++id) {
    if (static_cast<int>(id) == dst || delta[id] != 0) continue;
    const SlabClassStats st = d.slabs.class_stats(static_cast<uint8_t>(id));
    if (st.total_pages < 2) continue;
    uint64_t score = 0;
    if (st.free_chunks >= st.chunks_per_page) {
      score = UINT32_MAX + st.free_chunks / st.chunks_per_page;
    } else if (age[id] > (mode == 1 ? dst_age * 2 + 1 : dst_age)) {
      score = age[id] - dst_age + 1;
    }
    if (score > best) {
      best = score;
      src = static_cast<int>(id);
    }
  }
  if (src == 0) return;
  if (d.slabs.begin_move(static_cast<uint8_t>(src))) d.engine.move_dst = static_cast<uint8_t>(dst);
}

void Cache::set_slab_automove(uint32_t mode) {
  impl_->automove.store(mode, std::memory_order_relaxed);
}

LruPolicy Cache::lru_policy() const { return impl_->lru.policy(); }

void Cache::set_lru_policy(const LruPolicy& policy) { impl_->lru.set_policy(policy); }

uint32_t Cache::slab_automove() const { return impl_->automove.load(std::memory_order_relaxed); }

EngineStats Cache::engine_stats() const {
  const Impl& d = *impl_;
  EngineStats s;
  s.lru_maintainer_juggles = d.engine.juggles.load(std::memory_order_relaxed);
  s.lru_crawler_starts = d.engine.crawler_starts.load(std::memory_order_relaxed);
  s.lru_crawler_running = d.engine.crawler_running.load(std::memory_order_relaxed);
  s.slabs_moved = d.engine.slabs_moved.load(std::memory_order_relaxed);
  s.slab_reassign_evictions_nomem = d.engine.reassign_evictions.load(std::memory_order_relaxed);
  s.slab_reassign_rescues = d.engine.reassign_rescues.load(std::memory_order_relaxed);
  s.slab_reassign_chunk_rescues = d.engine.reassign_chunk_rescues.load(std::memory_order_relaxed);
  s.slab_reassign_inline_reclaim = d.slabs.move_inline_reclaimed();
  s.slab_reassign_busy_items = d.engine.reassign_busy.load(std::memory_order_relaxed);
  s.slab_reassign_running = d.slabs.moving_page() != nullptr;
  s.slab_global_page_pool = d.slabs.free_pool_pages();
  for (const ItemClassStats& c : collect_item_stats(false)) {
    s.crawler_reclaimed += c.crawler_reclaimed;
    s.crawler_items_checked += c.crawler_items_checked;
    s.moves_to_cold += c.moves_to_cold;
    s.moves_to_warm += c.moves_to_warm;
    s.moves_within_lru += c.moves_within_lru;
    s.direct_reclaims += c.direct_reclaims;
  }
  return s;
}

// --- building blocks for slab/meta_ops.cc --------------------------------------------------------

std::mutex& Cache::stripe_for(uint64_t hv) { return impl_->locks.for_hash(hv); }

Item* Cache::find_live_locked(std::string_view key, uint64_t hv, bool count_misses) {
  Impl::Miss why = Impl::Miss::kNone;
  Item* it = impl_->find_live(key, hv, &why);
  if (count_misses && why == Impl::Miss::kExpired)
    impl_->get_expired.fetch_add(1, std::memory_order_relaxed);
  if (count_misses && why == Impl::Miss::kFlushed)
    impl_->get_flushed.fetch_add(1, std::memory_order_relaxed);
  return it;
}

void Cache::link_locked(Item* it, uint64_t hv) { impl_->link(it, hv); }
bool Cache::set_ttl(Item* it, RelTime exptime) { return impl_->set_ttl(it, exptime); }
void Cache::unlink_locked(Item* it, uint64_t hv) { impl_->unlink(it, hv); }
void Cache::bump_locked(Item* it, bool mark_fetched) {
  // The LRU's touch counts a read (it marks the item fetched, then active): meta commands that
  // are not reads (ma, a failed add) keep memcached's "h" as it was.
  const bool was_fetched = it->is_fetched();
  impl_->lru.touch(it, impl_->clock.now(), /*try_only=*/true);
  if (!mark_fetched && !was_fetched) it->clear_flag(kItemFetched);
}

Item* Cache::alloc_unlinked(std::string_view key, uint32_t flags, RelTime exptime,
                            std::size_t nbytes, StoreResult* err, bool with_exptime_field) {
  return impl_->alloc_item(key, flags, exptime, nbytes, err, with_exptime_field);
}

bool Cache::add_exptime_field(std::string_view key, uint64_t hv) {
  Item* it = impl_->rebuild_with_exptime(key, hv, 0, /*only_add_field=*/true);
  if (it == nullptr) return false;
  impl_->release(it);
  return true;
}

RelTime Cache::internal_now() const { return impl_->clock.now(); }
RelTime Cache::to_reltime(int64_t exptime) const { return impl_->clock.realtime(exptime); }
uint64_t Cache::next_cas() { return impl_->next_cas(); }

MetaTtl Cache::remaining_ttl(const Item* it) const {
  if (it->exptime() == 0) return -1;
  return static_cast<uint32_t>(it->exptime() - impl_->clock.now());
}

}  // namespace kioku::slab
