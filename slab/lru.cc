// slab/lru.cc — see lru.h.
#include "slab/lru.h"

namespace kioku::slab {

void Lru::link_locked(List& list, Item* item) {
  item->lru_prev = nullptr;
  item->lru_next = list.head;
  if (list.head != nullptr) list.head->lru_prev = item;
  list.head = item;
  if (list.tail == nullptr) list.tail = item;
  ++list.count;
  list.bytes += item->total_size();
}

void Lru::unlink_locked(List& list, Item* item) {
  if (list.head == item) list.head = item->lru_next;
  if (list.tail == item) list.tail = item->lru_prev;
  if (item->lru_next != nullptr) item->lru_next->lru_prev = item->lru_prev;
  if (item->lru_prev != nullptr) item->lru_prev->lru_next = item->lru_next;
  item->lru_next = item->lru_prev = nullptr;
  --list.count;
  list.bytes -= item->total_size();
}

void Lru::link(Item* item) {
  List& l = lists_[item->slab_class];
  std::lock_guard lock(l.mu);
  link_locked(l, item);
}

void Lru::unlink(Item* item) {
  List& l = lists_[item->slab_class];
  std::lock_guard lock(l.mu);
  unlink_locked(l, item);
}

void Lru::bump(Item* item, RelTime now, bool try_only) {
  if (now <= item->time.load(std::memory_order_relaxed) + kItemUpdateInterval) return;
  List& l = lists_[item->slab_class];
  std::unique_lock lock(l.mu, std::defer_lock);
  if (try_only) {
    if (!lock.try_lock()) return;
  } else {
    lock.lock();
  }
  if (!item->is_linked()) return;
  item->time.store(now, std::memory_order_relaxed);
  unlink_locked(l, item);
  link_locked(l, item);
}

}  // namespace kioku::slab
