// slab/huge_page_arena.h — slab pages backed by huge pages, for -L (best effort).
//
// Owns: large anonymous mappings, 2 MiB aligned, from which slab pages are carved in order
// (slab pages are never returned, so no free list is needed). Each mapping is tried first with
// MAP_HUGETLB (reserved hugetlbfs pages, vm.nr_hugepages) and otherwise advised with
// MADV_HUGEPAGE so transparent huge pages back it where the kernel allows. Must not: fail the
// cache; when nothing can be mapped, take() returns nullptr and the caller uses plain memory.
#pragma once

#include <cstddef>
#include <vector>

namespace kioku::slab {

class HugePageArena {
 public:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  static constexpr std::size_t kRegion = std::size_t{64} << 20;  // mapped per refill

  HugePageArena() = default;
  ~HugePageArena();
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  // `bytes` of fresh memory, or nullptr. Not thread-safe: the caller holds its page lock.
  char* take(std::size_t bytes);

 private:
  struct Mapping {
    void* base;
    std::size_t length;
  };
  std::vector<Mapping> mappings_;
  char* cursor_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace kioku::slab
