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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace kioku::slab {

using RelTime = uint32_t;

// memcached's boundary between relative and absolute expiry times.
inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

struct CacheConfig {
  std::size_t memory_limit = std::size_t{64} << 20;  // -m, bytes
  std::size_t item_size_max = std::size_t{1} << 20;  // -I, bytes (header + key + value)
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

struct Item;  // layout private to slab/
class Cache;

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
  std::string_view value() const;
  // Writable value bytes of a not-yet-stored item from Cache::allocate().
  std::span<char> mutable_value();
  uint32_t flags() const;
  uint64_t cas() const;
  uint8_t slab_class() const;

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
  uint64_t slab_reassign_evictions = 0;  // items freed to empty a page
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

enum class ReassignResult : uint8_t {
  kOk,        // the move runs in the background
  kBusy,      // a move is already running ("BUSY currently processing reassign request")
  kBadClass,  // "BADCLASS invalid src or dst class id"
  kNoSpare,   // "NOSPARE source class has no spare pages"
  kSame,      // "SAME src and dst class are identical"
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

  // Store in one call (value copied into item memory). cas_in is used by kCas only. On
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

  // Internal, used by ItemRef: drop one reference.
  void release(Item* item);

  // --- background engine work (memory engine issue) ------------------------------------------
  // Each of these is what a background thread runs periodically (config.background_threads);
  // tests with the threads off call them directly after moving the clock.
  // One LRU maintainer pass over every class; returns the moves made.
  uint64_t run_lru_maintainer_once();
  // Frees every expired or flushed item of the chosen classes (empty = all); returns how many.
  uint64_t crawl(const std::vector<bool>& classes = {});
  // Progresses a pending page move and, when automove is on, decides on new ones.
  void run_slab_rebalancer_once();

  void set_lru_crawler(bool enabled);
  bool lru_crawler_enabled() const;
  // Calls fn for every live item of the chosen classes (empty = all), one stripe at a time.
  void for_each_item(const std::vector<bool>& classes,
                     const std::function<void(const ItemMetadata&)>& fn);
  // slabs reassign <src> <dst>: src -1 = any class with a spare page; dst 0 = global pool.
  ReassignResult slabs_reassign(int src, int dst);
  void set_slab_automove(uint32_t mode);  // 0 off, 1 on evictions, 2 aggressive
  uint32_t slab_automove() const;
  EngineStats engine_stats() const;

 private:
  friend class ItemRef;
  uint8_t class_of(const Item* item) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kioku::slab
