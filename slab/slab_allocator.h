// slab/slab_allocator.h — the arena, slab classes, pages and per-class free lists.
//
// Owns: one reserved address range (the arena) from which every page is carved, the table of
// chunk sizes, which class each page belongs to, each class's free list, the global pool of
// pages given back by rebalancing, and the memory limit that bounds how many pages exist.
// Must not: know what is stored in a chunk, evict, or take any lock other than its own. Its
// mutexes are innermost: callers may hold stripe and LRU locks while calling in.
//
// Why an arena: items link to each other with 32-bit chunk references (item.h) instead of
// 64-bit pointers, and an item's class is found from its page instead of a header byte. The
// range is reserved PROT_NONE (no memory, no overcommit charge) and pages are made writable
// one at a time as the memory limit allows, so RSS tracks what is really used.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "slab/cache.h"
#include "slab/item.h"

namespace kioku::slab {

inline constexpr uint32_t kMaxSlabClasses = 255;  // ids 1..255 (uint8_t)
// The smallest largest-class size: a chunked item's head must hold a full header, a 250-byte
// key and its ChunkHead with room to spare (memcached accepts less; nothing sane uses it).
inline constexpr std::size_t kMinSlabChunkMax = 1024;
inline constexpr uint32_t kFreeShards = 8;  // free lists per class (see Class)

class SlabAllocator {
 public:
  // header_size: the per-item overhead the smallest class must hold on top of chunk_size.
  SlabAllocator(const CacheConfig& config, std::size_t header_size);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // Smallest class whose chunks hold ntotal bytes, or 0 if none does.
  uint8_t class_for(std::size_t ntotal) const;
  // A free chunk of the class, or nullptr when it has none and the limit forbids a new page.
  void* alloc(uint8_t id);
  // alloc() that never takes a new page (the slab mover rescuing items into free chunks).
  void* alloc_no_new_page(uint8_t id);
  void free(uint8_t id, void* chunk);

  // 32-bit chunk references (item.h).
  ItemRefId ref_of(const void* chunk) const {
    if (chunk == nullptr) return 0;
    return static_cast<ItemRefId>((static_cast<const char*>(chunk) - base_) >> ref_shift_) + 1;
  }
  Item* item_at(ItemRefId ref) const {
    if (ref == 0) return nullptr;
    return reinterpret_cast<Item*>(base_ + (static_cast<std::size_t>(ref - 1) << ref_shift_));
  }
  // The class of the page holding this chunk.
  uint8_t class_of(const void* chunk) const {
    return page_class_[page_index(chunk)].load(std::memory_order_relaxed);
  }

  std::size_t page_size() const { return page_size_; }
  uint32_t class_count() const { return class_count_; }
  uint32_t chunk_size(uint8_t id) const { return classes_[id].size; }
  uint32_t largest_chunk() const { return classes_[class_count_].size; }
  void set_memory_limit(std::size_t bytes);
  std::size_t memory_limit() const { return limit_.load(std::memory_order_relaxed); }
  uint64_t total_malloced() const { return malloced_.load(std::memory_order_relaxed); }
  uint64_t malloc_fails() const { return malloc_fails_.load(std::memory_order_relaxed); }
  uint64_t free_pool_pages() const;
  uint64_t pages_of(uint8_t id) const;
  SlabClassStats class_stats(uint8_t id) const;

  // --- page rebalancing (slab_rebalancer.cc drives these) ----------------------------------
  // Picks a page of class src to empty and takes it off the allocation path: its free chunks
  // are withdrawn from the free list. Returns false if src has fewer than two pages (a class
  // keeps one) or a move is already in progress. While a move is in progress, chunks of that
  // page that are freed are not reused (free() parks them).
  bool begin_move(uint8_t src);
  // The page being emptied (nullptr if none), its chunk size and chunk count.
  char* moving_page() const { return move_page_.load(std::memory_order_acquire); }
  uint8_t moving_class() const { return move_src_.load(std::memory_order_relaxed); }
  // Free chunks the moves took off their class's free list (memcached's
  // slab_reassign_inline_reclaim: memory the mover cleared from the freelist).
  uint64_t move_inline_reclaimed() const {
    return inline_reclaimed_.load(std::memory_order_relaxed);
  }
  // True once every chunk of the moving page is free (parked).
  bool move_page_empty() const;
  // Hands the emptied page to class dst (0 = the global pool). Call only when empty.
  void finish_move(uint8_t dst);

 private:
  // Chunks returned by free(), linked through their first word. A class keeps kFreeShards of
  // these and each thread frees into, and first allocates from, its own: every store frees
  // the chunk of the item it replaces and allocates one, and with one list per class (as
  // memcached has) that mutex would cap stores at about one core's worth.
  struct alignas(64) FreeList {
    std::mutex mu;
    void* head = nullptr;
    std::atomic<uint64_t> count{0};  // written under mu; read without it as a hint
    // Chunks handed out minus chunks given back by the threads that use this shard; only the
    // sum over a class's shards means anything. Changed with the mutex of some shard of the
    // class held (or the class's), so holding all of them freezes the sum.
    std::atomic<int64_t> used{0};
  };
  struct Class {
    mutable std::mutex mu;  // pages and carving; taken before a FreeList's mutex, never after
    uint32_t size = 0;
    uint32_t perslab = 0;
    char* end_page = nullptr;  // the newest page is carved lazily from here
    uint32_t end_page_free = 0;
    uint64_t pages = 0;
    std::array<FreeList, kFreeShards> free;
    uint64_t free_count() const;
    int64_t used() const;
  };
  static uint32_t thread_shard();
  void* alloc_in(uint8_t id, bool new_page);
  bool grab_page(Class& c, uint8_t id);         // called with c.mu held
  bool grab_page_locked(Class& c, uint8_t id);  // and pages_mu_
  bool make_writable(std::size_t bytes);         // with pages_mu_: the first BYTES of the arena
  bool reclaim_idle_pages(Class& c);            // and pages_mu_
  std::size_t page_index(const void* p) const {
    return static_cast<std::size_t>(static_cast<const char*>(p) - base_) / page_size_;
  }
  // With a free list of class id locked.
  bool in_moving_page(uint8_t id, const void* p) const {
    if (move_src_.load(std::memory_order_relaxed) != id) return false;
    const char* page = move_page_.load(std::memory_order_relaxed);
    return page != nullptr && static_cast<const char*>(p) >= page &&
           static_cast<const char*>(p) < page + page_size_;
  }

  std::size_t page_size_;
  uint32_t class_count_ = 0;
  std::array<Class, kMaxSlabClasses + 1> classes_;  // [0] unused

  char* base_ = nullptr;
  // Chunks are aligned to 1 << ref_shift_ bytes and references count in those units: 4-byte
  // units (finer chunk sizes) while the arena is at most 16 GiB, 8-byte units up to 32 GiB.
  unsigned ref_shift_ = 2;
  std::size_t arena_bytes_ = 0;
  std::size_t arena_pages_ = 0;
  std::unique_ptr<std::atomic<uint8_t>[]> page_class_;  // 0 = not in any class

  mutable std::mutex pages_mu_;          // innermost of all
  std::size_t pages_mapped_ = 0;         // pages [0, pages_mapped_) are in use or pooled
  // The arena's writable prefix, at least pages_mapped_ pages. With -L it grows a huge page
  // at a time: a 2 MiB range only gets a huge page on its first touch if all of it is
  // writable by then, and the pages are carved 1 MiB at a time.
  std::size_t writable_bytes_ = 0;
  std::vector<std::size_t> free_pages_;  // emptied pages not in any class (global pool)
  bool large_pages_ = false;  // -L: the arena is 2 MiB aligned and advised for huge pages
  std::atomic<std::size_t> limit_;
  std::atomic<uint64_t> malloced_{0};
  std::atomic<uint64_t> malloc_fails_{0};

  // The page being emptied by a move: set under the source class's mutex before its free
  // lists are swept, so a free() either sees it or frees before the sweep.
  std::atomic<char*> move_page_{nullptr};
  std::atomic<uint8_t> move_src_{0};
  std::atomic<uint64_t> move_parked_{0};  // chunks of move_page_ known free
  std::atomic<uint64_t> inline_reclaimed_{0};
};

}  // namespace kioku::slab
