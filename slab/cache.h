// slab/cache.h — the storage engine's one façade.
//
// Owns: items, their memory (slab classes carved from 1 MiB pages, bounded by the memory
// limit), the hash table, LRU eviction, expiry, flush and CAS. Thread-safe: any number of
// worker threads call it concurrently. Must not: know about sockets, protocols or the daemon's
// settings; throw on the hot path; allocate per request.
//
// Time: the cache never reads the system clock. The owner calls tick() (the daemon once a
// second, tests whenever they like), which keeps "now" as seconds since process start, the way
// memcached's rel_time_t works.
//
// Lifetime: an ItemRef pins one item. A pinned item's bytes stay valid even while the key is
// replaced, deleted, expired, flushed or evicted; the memory returns to its slab class when the
// last pin goes. This is what lets the daemon send values straight from item memory.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slab/lru_policy.h"

namespace kioku::slab {

using RelTime = uint32_t;
inline constexpr RelTime kNoDeath = UINT32_MAX;  // "never": no item has a TTL

// memcached's boundary between relative and absolute expiry times.
inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

struct CacheConfig {
  std::size_t memory_limit = std::size_t{64} << 20;  // -m, bytes
  std::size_t item_size_max = std::size_t{1} << 20;  // -I, bytes (header + key + value)
  // -o slab_chunk_max: the largest slab class; larger items are chunked (item.h). 0 = half a
  // page, memcached's default. Below kMinSlabChunkMax it is raised to that.
  std::size_t slab_chunk_max = 0;
  double growth_factor = 1.25;                       // -f
  uint32_t chunk_size = 48;                          // -n: minimum key + value space
  bool use_cas = true;                               // -C turns it off
  bool evict_to_free = true;                         // -M turns it off
  uint32_t hashpower_init = 16;                      // -o hashpower=N
  int64_t process_started = 0;                       // unix time that RelTime 0 stands for

  // Engine tuning (memory engine issue): memcached's -o names, "modern" defaults.
  // Each -f step is split into this many chunk sizes (1 = memcached's table exactly).
  uint32_t slab_steps_per_factor = 4;
  bool lru_maintainer = true;    // -o lru_maintainer / no_lru_maintainer
  uint32_t hot_lru_pct = 20;     // -o hot_lru_pct
  uint32_t warm_lru_pct = 40;    // -o warm_lru_pct
  double hot_max_factor = 0.2;   // -o hot_max_factor
  double warm_max_factor = 2.0;  // -o warm_max_factor
  bool temp_lru = false;         // -o temp_lru
  uint32_t temporary_ttl = 61;   // -o temporary_ttl
  bool lru_crawler = true;       // -o lru_crawler / no_lru_crawler
  bool slab_reassign = true;     // -o slab_reassign / no_slab_reassign
  uint32_t slab_automove = 1;    // -o slab_automove=N
  // Whether the cache runs its own background threads (maintainer, crawler, rebalancer).
  // Tests that drive them by hand (run_maintainer_once() etc.) turn this off.
  bool background_threads = true;
  bool large_pages = false;  // -L: huge-page-backed slab pages
  bool track_sizes = false;  // -o track_sizes: keep the "stats sizes" histogram from the start
  // Optional: told about each live item evicted to make room (kiokud's `watch evictions`).
  // Runs under the LRU and item locks: it must be quick and must not call into the cache.
  struct EvictedItem {
    std::string_view key;
    bool fetched;
    int64_t ttl;          // seconds left, -1 = never expires
    int64_t last_access;  // seconds since
    uint8_t slab_class;
    uint32_t size;  // value bytes
  };
  void (*on_evict)(void* context, const EvictedItem& item) = nullptr;
  void* on_evict_context = nullptr;
};

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

enum class StoreResult : uint8_t {
  kStored,
  kNotStored,  // add on existing, replace/append/prepend on missing
  kExists,     // cas mismatch
  kNotFound,   // cas on missing key
  kTooLarge,   // item would exceed item_size_max: "SERVER_ERROR object too large for cache"
  kNoMemory,   // nothing evictable (or -M): "SERVER_ERROR out of memory storing object"
};

enum class DeltaStatus : uint8_t { kOk, kNotFound, kNonNumeric, kNoMemory };
struct DeltaResult {
  DeltaStatus status = DeltaStatus::kNotFound;
  uint64_t value = 0;  // the new value when kOk
};

enum class RemoveResult : uint8_t { kRemoved, kNotFound, kCasMismatch };

struct Item;  // layout private to slab/
class Cache;
class ItemRef;

// An item's value as the spans of item memory it is stored in, in order: one span, unless the
// item is larger than the largest slab class (slab_chunk_max) and so chunked (slab/item.h),
// then one per chunk. Valid while the ItemRef it came from pins the item.
class ValueSegments {
 public:
  class Iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    std::string_view operator*() const { return bytes_; }
    Iterator& operator++() {
      if (next_ == 0) {
        cache_ = nullptr;
        bytes_ = {};
      } else {
        advance();
      }
      return *this;
    }
    bool operator==(const Iterator& other) const {
      return cache_ == other.cache_ && bytes_.data() == other.bytes_.data();
    }

   private:
    friend class ValueSegments;
    Iterator(const Cache* cache, std::string_view bytes, uint32_t next)
        : cache_(cache), bytes_(bytes), next_(next) {}
    void advance();  // to the chunk next_ names (cache.cc)
    const Cache* cache_ = nullptr;
    std::string_view bytes_;
    uint32_t next_ = 0;
  };

  ValueSegments() = default;
  ValueSegments(const Cache* cache, std::string_view first, uint32_t next, std::size_t size)
      : cache_(cache), first_(first), next_(next), size_(size) {}
  Iterator begin() const { return {cache_, first_, next_}; }
  Iterator end() const { return {}; }
  // Value bytes in all segments.
  std::size_t size() const { return size_; }
  // One span: front() is the whole value (every item below slab_chunk_max).
  bool contiguous() const { return next_ == 0; }
  std::string_view front() const { return first_; }

 private:
  const Cache* cache_ = nullptr;
  std::string_view first_;
  uint32_t next_ = 0;
  std::size_t size_ = 0;
};

// A counted reference to one item; move-only. Empty means "miss".
class ItemRef {
 public:
  ItemRef() = default;
  ItemRef(Cache* cache, Item* item) : cache_(cache), item_(item) {}
  ItemRef(ItemRef&& other) noexcept : cache_(other.cache_), item_(other.item_) {
    other.item_ = nullptr;
  }
  ItemRef& operator=(ItemRef&& other) noexcept;
  ItemRef(const ItemRef&) = delete;
  ItemRef& operator=(const ItemRef&) = delete;
  ~ItemRef() { reset(); }

  explicit operator bool() const { return item_ != nullptr; }
  void reset();

  std::string_view key() const;
  // The value, zero-copy, as one or more spans (see ValueSegments).
  ValueSegments value_segments() const;
  std::size_t value_size() const;
  // A copy of the value (tests and cold paths; readers that answer clients use segments).
  std::string value_copy() const;
  // Copies bytes into the value of a not-yet-stored item from Cache::allocate(), starting at
  // offset (whatever chunks that spans).
  void write_value(std::size_t offset, std::string_view bytes);
  uint32_t flags() const;
  uint64_t cas() const;
  uint8_t slab_class() const;
  // Meta protocol state (see item.h): invalidated, recache token handed out, base64 key.
  bool is_stale() const;
  bool token_sent() const;
  bool key_is_binary() const;

 private:
  friend class Cache;
  Cache* cache_ = nullptr;
  Item* item_ = nullptr;
};

struct CacheStats {
  uint64_t curr_items = 0;
  uint64_t total_items = 0;
  uint64_t bytes = 0;  // bytes used by live items (memcached's "bytes")
  uint64_t evictions = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t get_expired = 0;
  uint64_t get_flushed = 0;
  uint64_t limit_maxbytes = 0;
  uint64_t total_malloced = 0;  // page memory handed to slab classes
  uint64_t malloc_fails = 0;
  uint64_t hash_power_level = 0;
  uint64_t hash_bytes = 0;
  bool hash_is_expanding = false;
  uint64_t slab_global_page_pool = 0;
};

// One row of "stats slabs" (memcached field names).
struct SlabClassStats {
  uint32_t id = 0;
  uint32_t chunk_size = 0;
  uint32_t chunks_per_page = 0;
  uint64_t total_pages = 0;
  uint64_t total_chunks = 0;
  uint64_t used_chunks = 0;
  uint64_t free_chunks = 0;
  uint64_t free_chunks_end = 0;
};

// One class's row of "stats items" (memcached field names).
struct ItemClassStats {
  uint32_t id = 0;
  uint64_t number = 0;
  uint64_t age = 0;  // seconds since the LRU tail item was last accessed
  uint64_t mem_requested = 0;
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;
  uint64_t evicted_time = 0;
  uint64_t outofmemory = 0;
  uint64_t tailrepairs = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  // Segmented LRU and crawler (memcached field names).
  uint64_t number_hot = 0;
  uint64_t number_warm = 0;
  uint64_t number_cold = 0;
  uint64_t number_temp = 0;
  uint64_t age_hot = 0;
  uint64_t age_warm = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t direct_reclaims = 0;
  uint64_t hits_to_hot = 0;
  uint64_t hits_to_warm = 0;
  uint64_t hits_to_cold = 0;
  uint64_t hits_to_temp = 0;
};

// Background engine counters for "stats" (memcached field names).
struct EngineStats {
  uint64_t lru_maintainer_juggles = 0;
  uint64_t lru_crawler_starts = 0;
  bool lru_crawler_running = false;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t slabs_moved = 0;
  uint64_t slab_reassign_rescues = 0;          // items copied into free chunks of their class
  uint64_t slab_reassign_chunk_rescues = 0;    // data chunks of chunked items copied
  uint64_t slab_reassign_evictions_nomem = 0;  // items evicted: no free chunk to rescue into
  uint64_t slab_reassign_inline_reclaim = 0;   // free chunks of moved pages taken off the free list
  uint64_t slab_reassign_busy_items = 0;
  bool slab_reassign_running = false;
  uint64_t slab_global_page_pool = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t direct_reclaims = 0;
};

// One item as "lru_crawler metadump" lists it (times are unix seconds; exptime -1 = never).
struct ItemMetadata {
  std::string_view key;
  int64_t exptime = -1;
  int64_t last_access = 0;
  uint64_t cas = 0;
  bool fetched = false;
  uint32_t slab_class = 0;
  uint64_t size = 0;  // bytes the item accounts for
  uint64_t value_length = 0;
};

// "stats sizes_enable" (memcached's dynamic control needs CAS to tell old items from new).
enum class SizesEnable : uint8_t { kEnabled, kCasDisabled };

// One "stats sizes" row: items whose memcached-sized total (its 48-byte header, key + NUL,
// value + CRLF, flags and CAS fields) rounds up to `size`, a multiple of 32.
struct SizeBucket {
  uint64_t size = 0;
  uint64_t count = 0;
};

enum class ReassignResult : uint8_t {
  kOk,        // the move runs in the background
  kBusy,      // a move is already running ("BUSY currently processing reassign request")
  kBadClass,  // "BADCLASS invalid src or dst class id"
  kNoSpare,   // "NOSPARE source class has no spare pages"
  kSame,      // "SAME src and dst class are identical"
};

// --- meta protocol (slab/meta_ops.cc)
// -------------------------------------------------------------

// The TTL-changing flags of one meta request, in the order the client sent them: memcached
// applies them in that order and a "t" flag reports the TTL as it stands at its own position.
enum class MetaTtlStep : uint8_t {
  kSetTtl,   // T: new expiry
  kVivify,   // N: expiry of an item created by this request (a win)
  kRecache,  // R: win if the item expires sooner than this (mg only)
};
inline constexpr std::size_t kMaxMetaTtlSteps = 3;

struct MetaTtlSteps {
  std::array<MetaTtlStep, kMaxMetaTtlSteps> steps{};
  std::size_t count = 0;
  int64_t ttl = 0;      // T (client exptime)
  int64_t vivify = 0;   // N
  int64_t recache = 0;  // R
  void add(MetaTtlStep s) {
    if (count < kMaxMetaTtlSteps) steps[count++] = s;
  }
};

// Remaining TTL as memcached reports it: -1 for "never", else (exptime - now) as uint32.
using MetaTtl = int64_t;

struct MetaGetOptions {
  bool vivify = false;   // N: create an empty item on a miss (the caller wins the recache)
  bool no_bump = false;  // u: leave last-access time, LRU position and "fetched" alone
  MetaTtlSteps ttl;
  uint64_t new_cas = 0;  // E: CAS for an item this request creates (0: the next one)
};

// One item seen by a meta command, captured under its lock before the command changed it.
struct MetaItemInfo {
  bool created = false;         // vivified by this request
  bool won = false;             // W: this client should recache
  bool token_was_sent = false;  // Z: another client already won
  bool stale = false;           // X
  bool fetched = false;         // h: fetched before this request
  uint32_t last_access = 0;     // l: seconds since last access, before this request
  std::array<MetaTtl, kMaxMetaTtlSteps + 1> ttl_after{};  // [0] before any step, [i+1] after step i
};

enum class MetaDeleteResult : uint8_t { kDeleted, kInvalidated, kNotFound, kExists, kNoMemory };

struct MetaDeleteOptions {
  bool has_cas = false;  // C
  uint64_t cas = 0;
  bool invalidate = false;  // I: mark stale instead of removing
  bool has_ttl = false;     // T with I
  int64_t ttl = 0;
  uint64_t new_cas = 0;  // E
  // x: replace the value with an empty tombstone carrying these flags and this expiry (client
  // exptime, 0 = never) and the old CAS (or E's).
  bool remove_value = false;
  uint32_t tombstone_flags = 0;
  int64_t tombstone_ttl = 0;
};

struct MetaStoreOptions {
  StoreMode mode = StoreMode::kSet;  // kCas when a C flag upgraded set/replace
  uint64_t cas = 0;                  // C (kCas, and the append/prepend check when non-zero)
  bool invalidate = false;           // I with C: a lower CAS still stores, marked stale
  uint64_t new_cas = 0;              // E
  bool vivify = false;               // N: append/prepend on a miss creates the item
  int64_t vivify_ttl = 0;
  bool key_binary = false;  // b
};

enum class MetaDeltaStatus : uint8_t { kOk, kCreated, kNotFound, kNonNumeric, kNoMemory, kExists };

struct MetaDeltaOptions {
  bool increment = true;
  uint64_t delta = 1;
  bool has_cas = false;
  uint64_t cas = 0;
  bool vivify = false;  // N: create with `initial` on a miss
  uint64_t initial = 0;
  uint64_t new_cas = 0;  // E
  MetaTtlSteps ttl;      // T and N, in request order
};

struct MetaDeltaResult {
  MetaDeltaStatus status = MetaDeltaStatus::kNotFound;
  uint64_t value = 0;
  uint64_t cas = 0;
  std::array<MetaTtl, kMaxMetaTtlSteps + 1> ttl_after{};
};

// "me": memcached's debug view of one item.
struct MetaDebugInfo {
  bool found = false;
  int64_t exp = -1;  // memcached prints (now - exptime), -1 for never
  uint64_t last_access = 0;
  uint64_t cas = 0;
  bool fetched = false;
  uint32_t slab_class = 0;
  bool key_binary = false;
  uint32_t value_length = 0;
  uint32_t flags = 0;
};

class Cache {
 public:
  explicit Cache(const CacheConfig& config);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Called by the owner with the current unix time; advances "now".
  void tick(int64_t unix_now);
  RelTime now() const;

  // Live (not expired, not flushed) item or an empty ref. Expired or flushed items found are
  // unlinked on the spot and counted as get_expired / get_flushed.
  ItemRef get(std::string_view key);
  // get + set a new expiry (gat/gats).
  ItemRef get_and_touch(std::string_view key, int64_t exptime);
  bool touch(std::string_view key, int64_t exptime);
  bool remove(std::string_view key);

  // Delete only if the item's CAS is cas_in (0: any), as the binary protocol's DELETE.
  RemoveResult remove_if_cas(std::string_view key, uint64_t cas_in);

  // Store in one call (value copied into item memory). cas_in is used by kCas, and by
  // kAppend/kPrepend when non-zero (the item's CAS must match, else kExists). On
  // kStored, *cas_out (if given) receives the stored item's CAS.
  StoreResult store(StoreMode mode, std::string_view key, uint32_t flags, int64_t exptime,
                    std::string_view value, uint64_t cas_in = 0, uint64_t* cas_out = nullptr);

  // Two-phase store, for callers that read the value straight into item memory: allocate an
  // unlinked item (kStored on success, else kTooLarge / kNoMemory), fill mutable_value(), then
  // link it with commit(), which consumes the ref (it is empty afterwards, whatever the
  // result). A failed allocation for kSet also removes the old value, as
  // memcached does, so a failed set never leaves stale data behind.
  StoreResult allocate(StoreMode mode, std::string_view key, uint32_t flags, int64_t exptime,
                       uint32_t value_length, ItemRef* out);
  StoreResult commit(StoreMode mode, ItemRef& item, uint64_t cas_in = 0,
                     uint64_t* cas_out = nullptr);

  // incr/decr with memcached's semantics (64-bit unsigned, incr wraps, decr floors at 0).
  DeltaResult delta(std::string_view key, bool increment, uint64_t amount,
                    uint64_t* cas_out = nullptr);

  // delta() for the binary protocol: when cas_in is non-zero the item's CAS must match, else
  // *cas_mismatch is set and nothing changes.
  DeltaResult delta_if_cas(std::string_view key, bool increment, uint64_t amount, uint64_t cas_in,
                           bool* cas_mismatch, uint64_t* cas_out = nullptr);

  // flush_all [delay]: delay <= 0 invalidates everything now; otherwise at that (memcached
  // exptime-style) time.
  void flush_all(int64_t delay);

  // cache_memlimit: raises or lowers the memory limit. Lowering never frees pages already
  // handed out.
  void set_memory_limit(std::size_t bytes);

  // Whether an item of this key and value length could ever be stored (for refusing a value
  // before reading it off the socket).
  bool item_size_ok(std::size_t key_length, std::size_t value_length) const;
  // Per-item overhead counted against item_size_max and chunk sizes: the header with CAS (if
  // enabled) and 4 bytes of client flags. Items whose flags are 0 store 4 bytes less, and
  // "bytes"/mem_requested count what is stored.
  std::size_t item_header_size() const;

  CacheStats stats() const;
  std::vector<SlabClassStats> slab_stats() const;
  std::vector<ItemClassStats> item_stats() const;
  const CacheConfig& config() const;

  // "stats sizes": false while the histogram is off (memcached's "sizes_status disabled").
  bool size_histogram(std::vector<SizeBucket>* out) const;
  // Turns it on (counting items linked from now on, as memcached) or off (dropping it).
  SizesEnable enable_size_histogram();
  void disable_size_histogram();

  // Internal, used by ItemRef: drop one reference.
  void release(Item* item);
  // Internal, used by ValueSegments: the bytes of data chunk `ref` and the chunk after it.
  void next_segment(uint32_t ref, std::string_view* bytes, uint32_t* next) const;

  // --- background engine work (memory engine issue) ------------------------------------------
  // Each of these is what a background thread runs periodically (config.background_threads);
  // tests with the threads off call them directly after moving the clock.
  // One LRU maintainer pass over every class, looking at most `budget` items per segment of
  // each list; returns the moves made.
  uint64_t run_lru_maintainer_once(int budget = 500);
  // Frees every expired or flushed item of the chosen classes (empty = all); returns how many.
  // With pause_every > 0 it sleeps `pause` after each pause_every items it checked (between
  // lock stripes), as memcached's crawler does: a full crawl then never holds a CPU for more
  // than a fraction of a millisecond, which a worker sharing that CPU would wait behind.
  uint64_t crawl(const std::vector<bool>& classes = {}, uint32_t pause_every = 0,
                 std::chrono::microseconds pause = {});
  // Progresses a pending page move and, when automove is on, decides on new ones.
  void run_slab_rebalancer_once();

  // "lru_crawler crawl": with the background threads, queues a crawl of these classes on the
  // background thread and returns at once (false: one asked for earlier is not done yet);
  // without them, crawls now and returns true.
  bool request_crawl(const std::vector<bool>& classes);
  // Whether some item may have died since the last whole-table crawl (a TTL passed, a delayed
  // flush_all took effect): the background crawler skips its turn otherwise.
  bool crawl_due() const;
  void set_lru_crawler(bool enabled);
  bool lru_crawler_enabled() const;
  // Calls fn for every live item of the chosen classes (empty = all), one stripe at a time.
  void for_each_item(const std::vector<bool>& classes,
                     const std::function<void(const ItemMetadata&)>& fn);
  // The same over lock stripes [first, last) of item_stripes() only, so a caller can walk the
  // table a piece at a time, holding nothing in between (each item belongs to one stripe for
  // its life, through hash table growth).
  void for_each_item_in_stripes(const std::vector<bool>& classes, uint64_t first, uint64_t last,
                                const std::function<void(const ItemMetadata&)>& fn);
  uint64_t item_stripes() const;
  // slabs reassign <src> <dst>: src -1 = any class with a spare page; dst 0 = global pool.
  ReassignResult slabs_reassign(int src, int dst);
  void set_slab_automove(uint32_t mode);  // 0 off, 1 on evictions, 2 aggressive
  // "lru tune|mode|temp_ttl": the policy in force (starting from the config's fields).
  LruPolicy lru_policy() const;
  void set_lru_policy(const LruPolicy& policy);
  uint32_t slab_automove() const;
  EngineStats engine_stats() const;

  // --- meta protocol (slab/meta_ops.cc) ---
  // mg: a live item (or a vivified one) pinned in *item, with the meta state before this
  // request changed it; empty *item on a miss. Bumps, touches and vivifies atomically under
  // the key's lock.
  MetaItemInfo meta_get(std::string_view key, const MetaGetOptions& options, ItemRef* item);
  // ms: links an item from allocate() (consumed, as commit()). On kStored, *cas_out gets the
  // new item's CAS and *length_out its value length (larger than the piece after append).
  StoreResult meta_commit(ItemRef& item, const MetaStoreOptions& options, uint64_t* cas_out,
                          uint32_t* length_out = nullptr);
  MetaDeleteResult meta_delete(std::string_view key, const MetaDeleteOptions& options);
  MetaDeltaResult meta_delta(std::string_view key, const MetaDeltaOptions& options,
                             bool key_binary);
  MetaDebugInfo meta_debug(std::string_view key);

 private:
  friend class ItemRef;
  uint8_t class_of(const Item* item) const;
  ValueSegments segments_of(const Item* item) const;
  // Copies bytes into item's value at offset, across its chunks.
  void write_value(Item* item, std::size_t offset, std::string_view bytes);
  // Copies src's whole value into dst's value at offset.
  void copy_value(Item* dst, std::size_t offset, const Item* src);
  // Building blocks for meta_ops.cc, defined in cache.cc next to what they wrap.
  std::mutex& stripe_for(uint64_t hv);
  Item* find_live_locked(std::string_view key, uint64_t hv, bool count_misses);
  void link_locked(Item* it, uint64_t hv);
  bool set_ttl(Item* it, RelTime exptime);  // Item::set_exptime, and tells the crawler
  void unlink_locked(Item* it, uint64_t hv);
  void bump_locked(Item* it, bool mark_fetched);
  // with_exptime_field: the header gets an exptime field even for exptime 0 (item.h).
  Item* alloc_unlinked(std::string_view key, uint32_t flags, RelTime exptime, std::size_t nbytes,
                       StoreResult* err, bool with_exptime_field = false);
  // Without the stripe lock: rebuilds the live item for key into one whose header has an
  // exptime field, so that a TTL can then be set in place under the lock. False if the key
  // went away or no memory was free.
  bool add_exptime_field(std::string_view key, uint64_t hv);
  RelTime internal_now() const;
  RelTime to_reltime(int64_t exptime) const;
  uint64_t next_cas();
  MetaTtl remaining_ttl(const Item* it) const;

  // item_stats() with skip_idle; the totals in stats() and engine_stats() add up every class,
  // so they never drop when a class empties.
  std::vector<ItemClassStats> collect_item_stats(bool skip_idle) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kioku::slab
