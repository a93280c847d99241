// slab/slab_allocator.h — slab classes, pages and per-class free lists.
//
// Owns: the table of chunk sizes (memcached's slabs_init), the pages carved into chunks, each
// class's free list, and the memory limit that bounds how many pages exist.
// Must not: know what is stored in a chunk, evict, or take any lock other than its own. Its
// mutexes are innermost: callers may hold stripe and LRU locks while calling in.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "slab/cache.h"
#include "slab/huge_page_arena.h"

namespace kioku::slab {

inline constexpr uint32_t kMaxSlabClasses = 63;  // ids 1..63

class SlabAllocator {
 public:
  // header_size: the per-item overhead the smallest class must hold on top of chunk_size.
  SlabAllocator(const CacheConfig& config, std::size_t header_size);
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // Smallest class whose chunks hold ntotal bytes, or 0 if none does.
  uint8_t class_for(std::size_t ntotal) const;
  // A free chunk of the class, or nullptr when it has none and the limit forbids a new page.
  void* alloc(uint8_t id);
  void free(uint8_t id, void* chunk);

  std::size_t page_size() const { return page_size_; }
  uint32_t class_count() const { return class_count_; }
  uint32_t chunk_size(uint8_t id) const { return classes_[id].size; }
  uint32_t largest_chunk() const { return classes_[class_count_].size; }
  void set_memory_limit(std::size_t bytes);
  std::size_t memory_limit() const { return limit_.load(std::memory_order_relaxed); }
  uint64_t total_malloced() const { return malloced_.load(std::memory_order_relaxed); }
  uint64_t malloc_fails() const { return malloc_fails_.load(std::memory_order_relaxed); }
  SlabClassStats class_stats(uint8_t id) const;

 private:
  struct Class {
    mutable std::mutex mu;
    uint32_t size = 0;
    uint32_t perslab = 0;
    void* free_head = nullptr;  // chunks returned by free(), linked through their first word
    uint64_t free_count = 0;
    char* end_page = nullptr;  // the newest page is carved lazily from here
    uint32_t end_page_free = 0;
    uint64_t pages = 0;
    uint64_t used = 0;
  };
  bool grab_page(Class& c);  // called with c.mu held

  std::size_t page_size_;
  uint32_t class_count_ = 0;
  std::array<Class, kMaxSlabClasses + 1> classes_;  // [0] unused

  std::mutex pages_mu_;
  std::vector<std::unique_ptr<char[]>> pages_;
  bool large_pages_ = false;     // -L: pages from huge_pages_ while it can map them
  HugePageArena huge_pages_;
  std::size_t huge_page_count_ = 0;
  std::atomic<std::size_t> limit_;
  std::atomic<uint64_t> malloced_{0};
  std::atomic<uint64_t> malloc_fails_{0};
};

}  // namespace kioku::slab
