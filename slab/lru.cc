// slab/lru.cc — see lru.h. The segment rules follow memcached's lru_pull_tail().
#include "slab/lru.h"

#include <algorithm>

#include "slab/thread_slot.h"

namespace kioku::slab {

uint64_t Lru::hits(uint8_t id, LruSegment s) const {
  uint64_t n = 0;
  for (const HitCounts& h : hits_[id]) n += h.seg[s].load(std::memory_order_relaxed);
  return n;
}

void Lru::link_locked(List& list, Item* item, LruSegment s) {
  Segment& seg = list.seg[s];
  const ItemRefId ref = slabs_.ref_of(item);
  item->set_segment(s);
  item->lru_prev = 0;
  item->lru_next = seg.head;
  if (seg.head != 0) item_at(seg.head)->lru_prev = ref;
  seg.head = ref;
  if (seg.tail == 0) seg.tail = ref;
  ++seg.count;
  seg.bytes += item->total_size();
}

void Lru::unlink_locked(List& list, Item* item) {
  Segment& seg = list.seg[item->segment()];
  const ItemRefId ref = slabs_.ref_of(item);
  if (seg.head == ref) seg.head = item->lru_next;
  if (seg.tail == ref) seg.tail = item->lru_prev;
  if (item->lru_next != 0) item_at(item->lru_next)->lru_prev = item->lru_prev;
  if (item->lru_prev != 0) item_at(item->lru_prev)->lru_next = item->lru_next;
  item->lru_next = item->lru_prev = 0;
  --seg.count;
  seg.bytes -= item->total_size();
}

LruPolicy Lru::policy() const {
  LruPolicy p;
  p.segmented = segmented_.load(std::memory_order_relaxed);
  p.hot_pct = hot_pct_.load(std::memory_order_relaxed);
  p.warm_pct = warm_pct_.load(std::memory_order_relaxed);
  p.hot_max_factor = hot_max_factor_.load(std::memory_order_relaxed);
  p.warm_max_factor = warm_max_factor_.load(std::memory_order_relaxed);
  p.temp_lru = temp_lru_.load(std::memory_order_relaxed);
  p.temporary_ttl = temporary_ttl_.load(std::memory_order_relaxed);
  return p;
}

void Lru::set_policy(const LruPolicy& p) {
  segmented_.store(p.segmented, std::memory_order_relaxed);
  hot_pct_.store(p.hot_pct, std::memory_order_relaxed);
  warm_pct_.store(p.warm_pct, std::memory_order_relaxed);
  hot_max_factor_.store(p.hot_max_factor, std::memory_order_relaxed);
  warm_max_factor_.store(p.warm_max_factor, std::memory_order_relaxed);
  temp_lru_.store(p.temp_lru, std::memory_order_relaxed);
  temporary_ttl_.store(p.temporary_ttl, std::memory_order_relaxed);
}

void Lru::link(Item* item, RelTime now) {
  List& l = list_of(item);
  LruSegment s = kCold;
  if (segmented()) {
    s = kHot;
    const RelTime exptime = item->exptime();
    if (temp_lru_.load(std::memory_order_relaxed) && exptime != 0 &&
        exptime - std::min(exptime, now) < temporary_ttl_.load(std::memory_order_relaxed))
      s = kTemp;
  }
  std::lock_guard lock(l.mu);
  link_locked(l, item, s);
}

void Lru::unlink(Item* item) {
  List& l = list_of(item);
  std::lock_guard lock(l.mu);
  unlink_locked(l, item);
}

void Lru::touch(Item* item, RelTime now, bool try_only) {
  if (segmented()) {
    // memcached's do_item_bump: the first read only marks "fetched", a second one "active".
    const uint8_t seg = item->segment();
    hits_[slabs_.class_of(item)][thread_slot() % kHitSlots].seg[seg].fetch_add(1, std::memory_order_relaxed);
    if (!item->is_fetched()) {
      item->set_flag(kItemFetched);
    } else if (!item->is_active()) {
      item->set_flag(kItemActive);
    }
    if (seg != kCold && item->time.load(std::memory_order_relaxed) != now)
      item->time.store(now, std::memory_order_relaxed);
    return;
  }
  item->set_flag(kItemFetched);
  if (now <= item->time.load(std::memory_order_relaxed) + kItemUpdateInterval) return;
  List& l = list_of(item);
  std::unique_lock lock(l.mu, std::defer_lock);
  if (try_only) {
    if (!lock.try_lock()) return;
  } else {
    lock.lock();
  }
  if (!item->is_linked()) return;
  item->time.store(now, std::memory_order_relaxed);
  move_locked(l, item, kCold);
}

int Lru::juggle(uint8_t id, RelTime now, int budget) {
  const bool flat = !segmented();
  int moves = 0;
  for (List& l : lists_[id]) moves += flat ? drain_to_cold(l, budget) : juggle_list(l, now, budget);
  return moves;
}

int Lru::drain_to_cold(List& l, int budget) {
  std::lock_guard lock(l.mu);
  int moves = 0;
  for (const LruSegment s : {kHot, kWarm}) {
    for (; moves < budget; ++moves) {
      Item* it = item_at(l.seg[s].tail);
      if (it == nullptr) break;
      it->clear_flag(kItemActive);
      ++l.counters.moves_to_cold;
      move_locked(l, it, kCold);
    }
  }
  return moves;
}

int Lru::juggle_list(List& l, RelTime now, int budget) {
  std::lock_guard lock(l.mu);
  int moves = 0;
  const uint64_t total = l.bytes() - l.seg[kTemp].bytes;
  Item* cold_tail = item_at(l.seg[kCold].tail);
  const RelTime cold_age =
      cold_tail == nullptr ? 0
                           : now - std::min(now, cold_tail->time.load(std::memory_order_relaxed));

  for (const LruSegment s : {kHot, kWarm}) {
    const uint64_t limit =
        total * (s == kHot ? hot_pct_ : warm_pct_).load(std::memory_order_relaxed) / 100;
    const double factor =
        (s == kHot ? hot_max_factor_ : warm_max_factor_).load(std::memory_order_relaxed);
    const auto max_age = static_cast<RelTime>(static_cast<double>(cold_age) * factor);
    // Each active item met is re-queued; bound the walk so a list of all-active items ends.
    for (int looked = 0; looked < budget; ++looked) {
      Item* it = item_at(l.seg[s].tail);
      if (it == nullptr) break;
      const RelTime age = now - std::min(now, it->time.load(std::memory_order_relaxed));
      if (it->is_active()) {
        it->clear_flag(kItemActive);
        if (s == kWarm) {
          ++l.counters.moves_within_lru;
          move_locked(l, it, kWarm);
        } else {
          ++l.counters.moves_to_warm;
          move_locked(l, it, kWarm);
        }
        ++moves;
      } else if (l.seg[s].bytes > limit || (cold_tail != nullptr && age > max_age)) {
        ++l.counters.moves_to_cold;
        move_locked(l, it, kCold);
        ++moves;
      } else {
        break;
      }
    }
  }
  // Active items that reached COLD's tail earn a place in WARM instead of eviction.
  for (int looked = 0; looked < budget; ++looked) {
    Item* it = item_at(l.seg[kCold].tail);
    if (it == nullptr || !it->is_active()) break;
    it->clear_flag(kItemActive);
    ++l.counters.moves_to_warm;
    move_locked(l, it, kWarm);
    ++moves;
  }
  return moves;
}

}  // namespace kioku::slab
