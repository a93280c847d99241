// slab/slab_allocator.cc — see slab_allocator.h. Learned from memcached's slabs.c; the page
// is carved lazily (one chunk per alloc) instead of being split into the free list up front,
// so a fresh page costs no RSS until it is used.
#include "slab/slab_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "slab/thread_slot.h"

namespace kioku::slab {
namespace {

constexpr std::size_t kDefaultPageSize = std::size_t{1} << 20;
// 32-bit references in 8-byte units address 32 GiB; in 4-byte units, 16 GiB.
constexpr std::size_t kMaxArena = (std::size_t{1} << 32) * 8 - (std::size_t{1} << 20);
constexpr std::size_t kFineArena = (std::size_t{1} << 32) * 4 - (std::size_t{1} << 20);
constexpr std::size_t kMinArena = std::size_t{4} << 30;
// Below this chunk size every class is one alignment unit apart: the per-item overhead matters
// most for small items, and there an 8-byte step is already a 5% waste.
constexpr std::size_t kFineClassesBelow = 256;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Free chunks are linked through their first bytes; chunks may be only 4-byte aligned.
void* next_free(const void* chunk) {
  void* next;
  std::memcpy(&next, chunk, sizeof next);
  return next;
}
void set_next_free(void* chunk, void* next) { std::memcpy(chunk, &next, sizeof next); }

}  // namespace

SlabAllocator::SlabAllocator(const CacheConfig& config, std::size_t header_size)
    : page_size_(kDefaultPageSize), limit_(config.memory_limit) {
  large_pages_ = config.large_pages;
  const double factor = config.growth_factor > 1.0 ? config.growth_factor : 1.25;
  // memcached steps by the factor; with steps_per_factor N > 1 each step is split in N (never
  // below 8 bytes), so an item wastes about 1/N as much of its chunk. Same loop shape as
  // memcached's slabs_init; the last class is a whole page.
  const uint32_t steps = std::max<uint32_t>(1, config.slab_steps_per_factor);
  const double step = 1.0 + (factor - 1.0) / steps;

  // Reserve address space only: PROT_NONE mappings are not charged by overcommit accounting.
  std::size_t want = std::clamp(config.memory_limit * 2, kMinArena, kMaxArena);
  // -L: 2 MiB more is reserved and trimmed so the arena starts on a huge-page boundary.
  const std::size_t pad = large_pages_ ? kHugePage : 0;
  for (; want >= page_size_ * 2; want /= 2) {
    void* p =
        mmap(nullptr, want + pad, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) continue;
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t aligned = pad == 0 ? start : (start + pad - 1) & ~(pad - 1);
    if (aligned > start) munmap(p, aligned - start);
    if (start + pad > aligned)
      munmap(reinterpret_cast<void*>(aligned + want), start + pad - aligned);
    base_ = reinterpret_cast<char*>(aligned);
    arena_bytes_ = want;
    break;
  }
  // Best effort, as memcached's -L: transparent huge pages back the pages as they are made
  // writable (mprotect keeps the advice); where THP is off the kernel ignores it.
  if (large_pages_ && base_ != nullptr) madvise(base_, arena_bytes_, MADV_HUGEPAGE);
  arena_pages_ = arena_bytes_ / page_size_;
  page_class_ = std::make_unique<std::atomic<uint8_t>[]>(std::max<std::size_t>(arena_pages_, 1));
  // memcached's table (steps == 1) keeps its 8-byte alignment.
  ref_shift_ = (steps > 1 && arena_bytes_ <= kFineArena) ? 2 : 3;
  const std::size_t unit = std::size_t{1} << ref_shift_;
  auto align = [unit](std::size_t n) { return (n + unit - 1) & ~(unit - 1); };

  // memcached 1.6: classes stop at slab_chunk_max (half a page by default); larger items are
  // chunked (item.h). A chunk max that does not divide the page wastes its remainder.
  std::size_t chunk_max = config.slab_chunk_max == 0 ? page_size_ / 2 : config.slab_chunk_max;
  chunk_max = std::clamp(chunk_max, kMinSlabChunkMax, page_size_) & ~(unit - 1);
  std::size_t size = align(header_size + config.chunk_size);
  uint32_t id = 1;
  while (id < kMaxSlabClasses &&
         static_cast<double>(size) <= static_cast<double>(chunk_max) / factor) {
    classes_[id].size = static_cast<uint32_t>(size);
    classes_[id].perslab = static_cast<uint32_t>(page_size_ / size);
    if (steps == 1) {
      size = align(static_cast<std::size_t>(static_cast<double>(size) * factor));
    } else if (size < kFineClassesBelow) {
      size += unit;
    } else {
      const auto grow = static_cast<std::size_t>(static_cast<double>(size) * (step - 1.0));
      size += std::max(unit, grow & ~(unit - 1));
    }
    ++id;
  }
  classes_[id].size = static_cast<uint32_t>(chunk_max);
  classes_[id].perslab = static_cast<uint32_t>(page_size_ / chunk_max);
  class_count_ = id;
}

SlabAllocator::~SlabAllocator() {
  if (base_ != nullptr) munmap(base_, arena_bytes_);
}

uint8_t SlabAllocator::class_for(std::size_t ntotal) const {
  if (ntotal == 0 || ntotal > classes_[class_count_].size) return 0;
  // Classes are sorted: binary search (there can be up to 255 of them).
  uint32_t lo = 1;
  uint32_t hi = class_count_;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (classes_[mid].size >= ntotal) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return static_cast<uint8_t>(lo);
}

uint64_t SlabAllocator::Class::free_count() const {
  uint64_t n = 0;
  for (const FreeList& f : free) n += f.count.load(std::memory_order_relaxed);
  return n;
}

int64_t SlabAllocator::Class::used() const {
  int64_t n = 0;
  for (const FreeList& f : free) n += f.used.load(std::memory_order_relaxed);
  return n;
}

uint32_t SlabAllocator::thread_shard() { return thread_slot() % kFreeShards; }

bool SlabAllocator::grab_page(Class& c, uint8_t id) {
  std::lock_guard lock(pages_mu_);
  return grab_page_locked(c, id);
}

bool SlabAllocator::reclaim_idle_pages(Class& c) {
  // With pages_mu_ and c.mu held. Classes with pages but no item in use (a size that went
  // away, e.g. a value that grew by appends) give their pages to the pool. try_lock: two
  // allocating threads may look at each other's class.
  bool found = false;
  for (uint32_t id = 1; id <= class_count_; ++id) {
    Class& o = classes_[id];
    if (&o == &c || !o.mu.try_lock()) continue;
    std::lock_guard olock(o.mu, std::adopt_lock);
    if (o.pages == 0 || move_src_.load(std::memory_order_relaxed) == id) continue;
    // Every free list held: no chunk can be handed out meanwhile, and used() is exact.
    std::array<std::unique_lock<std::mutex>, kFreeShards> held;
    bool all = true;
    for (uint32_t i = 0; i < kFreeShards && all; ++i) {
      held[i] = std::unique_lock(o.free[i].mu, std::try_to_lock);
      all = held[i].owns_lock();
    }
    if (!all || o.used() != 0) continue;
    for (std::size_t i = 0; i < pages_mapped_; ++i) {
      if (page_class_[i].load(std::memory_order_relaxed) != id) continue;
      page_class_[i].store(0, std::memory_order_relaxed);
      madvise(base_ + i * page_size_, page_size_, MADV_DONTNEED);  // zeroed: no stale headers
      free_pages_.push_back(i);
      found = true;
    }
    o.pages = 0;
    for (FreeList& f : o.free) {
      f.head = nullptr;
      f.count.store(0, std::memory_order_relaxed);
    }
    o.end_page = nullptr;
    o.end_page_free = 0;
  }
  return found;
}

bool SlabAllocator::make_writable(std::size_t bytes) {
  if (bytes <= writable_bytes_) return true;
  const std::size_t step = large_pages_ ? kHugePage : page_size_;
  const std::size_t target = std::min(arena_bytes_, (bytes + step - 1) / step * step);
  if (mprotect(base_ + writable_bytes_, target - writable_bytes_, PROT_READ | PROT_WRITE) != 0)
    return false;
  writable_bytes_ = target;
  return true;
}

bool SlabAllocator::grab_page_locked(Class& c, uint8_t id) {
  std::size_t index;
  if (!free_pages_.empty()) {
    index = free_pages_.back();
    free_pages_.pop_back();
  } else {
    // memcached (do_slabs_newslab) lets every class have its first page even past the limit,
    // so a size never seen before can still be stored. With Kioku's finer (and more) classes
    // that could add far more than memcached's ~40 pages, so the overdraft is capped at 1/16
    // of the limit plus 4 pages; past it, a new class waits for automove (the rebalancer
    // counts its outofmemory). A limit below one page still allows one.
    const std::size_t limit = std::max(limit_.load(std::memory_order_relaxed), page_size_);
    const std::size_t overdraft = limit / 16 + 4 * page_size_;
    const std::size_t after = (pages_mapped_ + 1) * page_size_;
    if (after > limit && (c.pages > 0 || after > limit + overdraft)) {
      if (!reclaim_idle_pages(c)) return false;
      return grab_page_locked(c, id);
    }
    if (pages_mapped_ >= arena_pages_ || !make_writable(after)) {
      malloc_fails_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    index = pages_mapped_++;
    malloced_.fetch_add(page_size_, std::memory_order_relaxed);
  }
  page_class_[index].store(id, std::memory_order_relaxed);
  c.end_page = base_ + index * page_size_;
  c.end_page_free = c.perslab;
  ++c.pages;
  return true;
}

void* SlabAllocator::alloc(uint8_t id) { return alloc_in(id, true); }

void* SlabAllocator::alloc_no_new_page(uint8_t id) { return alloc_in(id, false); }

void* SlabAllocator::alloc_in(uint8_t id, bool new_page) {
  Class& c = classes_[id];
  const uint32_t home = thread_shard();
  // This thread's free list first, then the others that look non-empty, then the page.
  for (uint32_t i = 0; i < kFreeShards; ++i) {
    FreeList& f = c.free[(home + i) % kFreeShards];
    if (i != 0 && f.count.load(std::memory_order_relaxed) == 0) continue;
    std::lock_guard lock(f.mu);
    if (f.head == nullptr) continue;
    void* chunk = f.head;
    f.head = next_free(chunk);
    f.count.store(f.count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    c.free[home].used.fetch_add(1, std::memory_order_relaxed);
    return chunk;
  }
  std::lock_guard lock(c.mu);
  if (c.end_page_free == 0 && !(new_page && grab_page(c, id))) return nullptr;
  void* chunk = c.end_page;
  c.end_page += c.size;
  --c.end_page_free;
  c.free[home].used.fetch_add(1, std::memory_order_relaxed);
  return chunk;
}

void SlabAllocator::free(uint8_t id, void* chunk) {
  Class& c = classes_[id];
  FreeList& f = c.free[thread_shard()];
  std::lock_guard lock(f.mu);
  f.used.fetch_sub(1, std::memory_order_relaxed);
  if (in_moving_page(id, chunk)) {
    move_parked_.fetch_add(1, std::memory_order_acq_rel);  // not reused: the page is being emptied
    return;
  }
  set_next_free(chunk, f.head);
  f.head = chunk;
  f.count.store(f.count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void SlabAllocator::set_memory_limit(std::size_t bytes) {
  limit_.store(bytes, std::memory_order_relaxed);
}

uint64_t SlabAllocator::free_pool_pages() const {
  std::lock_guard lock(pages_mu_);
  return free_pages_.size();
}

uint64_t SlabAllocator::pages_of(uint8_t id) const {
  std::lock_guard lock(classes_[id].mu);
  return classes_[id].pages;
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
  s.used_chunks = static_cast<uint64_t>(std::max<int64_t>(0, c.used()));
  s.free_chunks = c.free_count() + c.end_page_free;
  s.free_chunks_end = c.end_page_free;
  return s;
}

bool SlabAllocator::begin_move(uint8_t src) {
  if (src == 0 || src > class_count_) return false;
  if (move_page_.load(std::memory_order_relaxed) != nullptr) return false;
  Class& c = classes_[src];
  std::lock_guard lock(c.mu);
  if (c.pages < 2) return false;
  std::size_t mapped;
  {
    std::lock_guard plock(pages_mu_);
    mapped = pages_mapped_;
  }
  // Prefer a page that is not the one being carved; fall back to it.
  char* page = nullptr;
  for (std::size_t i = 0; i < mapped; ++i) {
    if (page_class_[i].load(std::memory_order_relaxed) != src) continue;
    char* p = base_ + i * page_size_;
    const bool carving = c.end_page_free > 0 && c.end_page >= p && c.end_page < p + page_size_;
    page = p;
    if (!carving) break;
  }
  if (page == nullptr) return false;
  uint64_t parked = 0;
  if (c.end_page_free > 0 && c.end_page >= page && c.end_page < page + page_size_) {
    parked += c.end_page_free;  // never handed out
    c.end_page_free = 0;
  }
  move_parked_.store(parked, std::memory_order_relaxed);
  // Published before the sweep: a free() of this page's chunk from now on parks it, and one
  // that ran before the sweep of its list left it on the list, where the sweep finds it.
  move_src_.store(src, std::memory_order_relaxed);
  move_page_.store(page, std::memory_order_release);
  // Withdraw the page's free chunks from the free lists.
  for (FreeList& f : c.free) {
    std::lock_guard flock(f.mu);
    char* prev = nullptr;  // the chunk whose link points at `chunk` (nullptr: head)
    for (char* chunk = static_cast<char*>(f.head); chunk != nullptr;) {
      char* next = static_cast<char*>(next_free(chunk));
      if (chunk >= page && chunk < page + page_size_) {
        if (prev == nullptr) {
          f.head = next;
        } else {
          set_next_free(prev, next);
        }
        f.count.store(f.count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
        move_parked_.fetch_add(1, std::memory_order_acq_rel);
        inline_reclaimed_.fetch_add(1, std::memory_order_relaxed);
      } else {
        prev = chunk;
      }
      chunk = next;
    }
  }
  return true;
}

bool SlabAllocator::move_page_empty() const {
  const uint8_t src = move_src_.load(std::memory_order_relaxed);
  if (move_page_.load(std::memory_order_relaxed) == nullptr) return false;
  return move_parked_.load(std::memory_order_acquire) == classes_[src].perslab;
}

void SlabAllocator::finish_move(uint8_t dst) {
  const uint8_t src = move_src_.load(std::memory_order_relaxed);
  char* page = move_page_.load(std::memory_order_relaxed);
  if (page == nullptr) return;
  {
    std::lock_guard lock(classes_[src].mu);
    --classes_[src].pages;
    move_page_.store(nullptr, std::memory_order_release);
    move_src_.store(0, std::memory_order_relaxed);
    move_parked_.store(0, std::memory_order_relaxed);
  }
  // Zero it and drop its RSS: the next class carves it fresh (refcount 0 marks free chunks).
  madvise(page, page_size_, MADV_DONTNEED);
  const std::size_t index = page_index(page);
  if (dst == 0 || dst > class_count_) {
    std::lock_guard plock(pages_mu_);
    page_class_[index].store(0, std::memory_order_relaxed);
    free_pages_.push_back(index);
    return;
  }
  Class& d = classes_[dst];
  std::lock_guard lock(d.mu);
  {
    std::lock_guard plock(pages_mu_);
    page_class_[index].store(dst, std::memory_order_relaxed);
  }
  ++d.pages;
  if (d.end_page_free == 0) {
    d.end_page = page;
    d.end_page_free = d.perslab;
  } else {
    FreeList& f = d.free[thread_shard()];
    std::lock_guard flock(f.mu);
    for (uint32_t i = 0; i < d.perslab; ++i) {
      char* chunk = page + static_cast<std::size_t>(i) * d.size;
      set_next_free(chunk, f.head);
      f.head = chunk;
    }
    f.count.store(f.count.load(std::memory_order_relaxed) + d.perslab, std::memory_order_relaxed);
  }
}

}  // namespace kioku::slab
