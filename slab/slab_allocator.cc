// slab/slab_allocator.cc — see slab_allocator.h. Learned from memcached's slabs.c; the page
// is carved lazily (one chunk per alloc) instead of being split into the free list up front.
#include "slab/slab_allocator.h"

#include <algorithm>
#include <new>

namespace kioku::slab {
namespace {

constexpr std::size_t kDefaultPageSize = std::size_t{1} << 20;
constexpr std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

}  // namespace

SlabAllocator::SlabAllocator(const CacheConfig& config, std::size_t header_size)
    : page_size_(std::max(kDefaultPageSize, config.item_size_max)), limit_(config.memory_limit) {
  large_pages_ = config.large_pages;
  const double factor = config.growth_factor > 1.0 ? config.growth_factor : 1.25;
  std::size_t size = align8(header_size + config.chunk_size);
  uint32_t id = 1;
  // Same loop shape as memcached's slabs_init; the last class is a whole page.
  while (id < kMaxSlabClasses &&
         static_cast<double>(size) <= static_cast<double>(page_size_) / factor) {
    size = align8(size);
    classes_[id].size = static_cast<uint32_t>(size);
    classes_[id].perslab = static_cast<uint32_t>(page_size_ / size);
    size = static_cast<std::size_t>(static_cast<double>(size) * factor);
    ++id;
  }
  classes_[id].size = static_cast<uint32_t>(page_size_);
  classes_[id].perslab = 1;
  class_count_ = id;
}

uint8_t SlabAllocator::class_for(std::size_t ntotal) const {
  if (ntotal == 0 || ntotal > page_size_) return 0;
  // Few classes, mostly hit near the bottom: a linear scan beats a binary search here.
  for (uint32_t id = 1; id <= class_count_; ++id) {
    if (ntotal <= classes_[id].size) return static_cast<uint8_t>(id);
  }
  return 0;
}

bool SlabAllocator::grab_page(Class& c) {
  std::lock_guard lock(pages_mu_);
  // A limit below one page still allows one page, so a tiny -m can store something.
  const std::size_t limit = std::max(limit_.load(std::memory_order_relaxed), page_size_);
  if ((pages_.size() + huge_page_count_ + 1) * page_size_ > limit) return false;
  if (char* huge = large_pages_ ? huge_pages_.take(page_size_) : nullptr; huge != nullptr) {
    c.end_page = huge;
    c.end_page_free = c.perslab;
    ++c.pages;
    ++huge_page_count_;
    malloced_.fetch_add(page_size_, std::memory_order_relaxed);
    return true;
  }
  std::unique_ptr<char[]> page(new (std::nothrow) char[page_size_]);
  if (!page) {
    malloc_fails_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  c.end_page = page.get();
  c.end_page_free = c.perslab;
  ++c.pages;
  pages_.push_back(std::move(page));
  malloced_.fetch_add(page_size_, std::memory_order_relaxed);
  return true;
}

void* SlabAllocator::alloc(uint8_t id) {
  Class& c = classes_[id];
  std::lock_guard lock(c.mu);
  void* chunk = nullptr;
  if (c.free_head != nullptr) {
    chunk = c.free_head;
    c.free_head = *static_cast<void**>(chunk);
    --c.free_count;
  } else if (c.end_page_free > 0 || grab_page(c)) {
    chunk = c.end_page;
    c.end_page += c.size;
    --c.end_page_free;
  } else {
    return nullptr;
  }
  ++c.used;
  return chunk;
}

void SlabAllocator::free(uint8_t id, void* chunk) {
  Class& c = classes_[id];
  std::lock_guard lock(c.mu);
  *static_cast<void**>(chunk) = c.free_head;
  c.free_head = chunk;
  ++c.free_count;
  --c.used;
}

void SlabAllocator::set_memory_limit(std::size_t bytes) {
  limit_.store(bytes, std::memory_order_relaxed);
}

SlabClassStats SlabAllocator::class_stats(uint8_t id) const {
  const Class& c = classes_[id];
  std::lock_guard lock(c.mu);
  SlabClassStats s;
  s.id = id;
  s.chunk_size = c.size;
  s.chunks_per_page = c.perslab;
  s.total_pages = c.pages;
  s.total_chunks = c.pages * c.perslab;
  s.used_chunks = c.used;
  s.free_chunks = c.free_count + c.end_page_free;
  s.free_chunks_end = c.end_page_free;
  return s;
}

}  // namespace kioku::slab
