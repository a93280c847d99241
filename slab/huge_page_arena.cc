// slab/huge_page_arena.cc — see huge_page_arena.h.
#include "slab/huge_page_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

namespace kioku::slab {

HugePageArena::~HugePageArena() {
  for (const Mapping& m : mappings_) munmap(m.base, m.length);
}

char* HugePageArena::take(std::size_t bytes) {
  if (bytes > left_) {
    const std::size_t length = std::max(kRegion, (bytes + kHugePage - 1) / kHugePage * kHugePage);
    void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (base == MAP_FAILED) {
      // No reserved huge pages: map 2 MiB more than needed and align, so that whole huge
      // pages fit, then ask for transparent huge pages.
      const std::size_t padded = length + kHugePage;
      base = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED) return nullptr;
      const auto start = reinterpret_cast<std::uintptr_t>(base);
      const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
      if (aligned > start) munmap(base, aligned - start);
      const std::uintptr_t end = start + padded;
      if (end > aligned + length) {
        munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
      }
      base = reinterpret_cast<void*>(aligned);
      madvise(base, length, MADV_HUGEPAGE);  // best effort: ignored where THP is off
    }
    mappings_.push_back({base, length});
    cursor_ = static_cast<char*>(base);
    left_ = length;
  }
  char* page = cursor_;
  cursor_ += bytes;
  left_ -= bytes;
  return page;
}

}  // namespace kioku::slab
