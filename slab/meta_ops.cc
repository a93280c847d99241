// slab/meta_ops.cc — the engine side of memcached's meta protocol: get-with-side-effects,
// stale marking, recache tokens, CAS-explicit stores, vivifying incr/decr and the debug view.
//
// Owns: the meta semantics that must be atomic per key (a vivify and the win it hands out, a
// stale mark and the token reset, a CAS compare and the write it guards). Must not: know the
// wire format, or allocate while holding a stripe lock (allocation may evict, and eviction
// try-locks stripes): operations that need a new item allocate first, then re-check under the
// lock that what they saw is still current, as cache.cc's append and incr do.
#include <cstring>
#include <mutex>

#include "slab/counter_text.h"
#include "slab/cache.h"
#include "slab/hash_table.h"
#include "slab/item.h"

namespace kioku::slab {
namespace {

std::size_t format_u64(uint64_t v, char* buf) {
  char tmp[24];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

void pin(Item* it) { it->refcount.fetch_add(1, std::memory_order_relaxed); }

// Whether the TTL steps set a non-zero TTL (T) on an existing item: its header then needs an
// exptime field, which only a rebuild outside the stripe lock can add (item.h).
bool sets_ttl(const MetaTtlSteps& ttl, RelTime ttl_rel) {
  if (ttl_rel == 0) return false;
  for (std::size_t i = 0; i < ttl.count; ++i) {
    if (ttl.steps[i] == MetaTtlStep::kSetTtl) return true;
  }
  return false;
}

}  // namespace

MetaItemInfo Cache::meta_get(std::string_view key, const MetaGetOptions& options, ItemRef* out) {
  const uint64_t hv = hash_key(key);
  Item* spare = nullptr;  // an empty item allocated for vivify, outside the lock
  bool first_try = true;
  const bool needs_field = sets_ttl(options.ttl, to_reltime(options.ttl.ttl));
  bool field_added = false;
  MetaItemInfo info;
  for (;;) {
    std::unique_lock lock(stripe_for(hv));
    Item* it = find_live_locked(key, hv, first_try);
    first_try = false;
    bool created = false;
    if (it == nullptr) {
      if (!options.vivify) break;
      if (spare == nullptr) {
        lock.unlock();
        StoreResult err = StoreResult::kStored;
        spare = alloc_unlinked(key, 0, 0, 0, &err, /*with_exptime_field=*/true);
        if (spare == nullptr) return info;  // no memory: report a miss, as memcached does
        continue;
      }
      it = spare;  // the allocation's reference becomes the caller's pin
      spare = nullptr;
      link_locked(it, hv);
      if (options.new_cas != 0) it->set_cas(options.new_cas);
      created = true;
    } else {
      if (needs_field && !field_added && !it->has_exptime()) {
        lock.unlock();
        field_added = true;  // once: without memory for it the TTL stays as it was
        add_exptime_field(key, hv);
        continue;
      }
      pin(it);
    }
    const RelTime now = internal_now();
    const uint8_t bits = it->bits();
    info.created = created;
    info.fetched = (bits & kItemFetched) != 0;
    info.last_access = now - std::min(now, it->time.load(std::memory_order_relaxed));
    info.ttl_after[0] = remaining_ttl(it);
    bool won = false;
    const bool token_sent = (bits & kItemTokenSent) != 0;
    for (std::size_t i = 0; i < options.ttl.count; ++i) {
      switch (options.ttl.steps[i]) {
        case MetaTtlStep::kSetTtl:
          set_ttl(it, to_reltime(options.ttl.ttl));
          break;
        case MetaTtlStep::kVivify:
          if (created) {
            set_ttl(it, to_reltime(options.ttl.vivify));
            won = true;
          }
          break;
        case MetaTtlStep::kRecache:
          // Expiring sooner than the client's horizon: the first to notice refreshes it early.
          if (!token_sent && !created && it->exptime() != 0 &&
              it->exptime() < to_reltime(options.ttl.recache)) {
            won = true;
          }
          break;
      }
      info.ttl_after[i + 1] = remaining_ttl(it);
    }
    info.token_was_sent = token_sent;
    info.stale = (bits & kItemStale) != 0;
    if (info.stale && !token_sent) won = true;
    if (won) it->set_flag(kItemTokenSent);
    info.won = won;
    if (!options.no_bump) {
      bump_locked(it, /*mark_fetched=*/true);  // marks it fetched (a second read: active)
    }
    *out = ItemRef(this, it);
    break;
  }
  if (spare != nullptr) release(spare);
  return info;
}

StoreResult Cache::meta_commit(ItemRef& ref, const MetaStoreOptions& options, uint64_t* cas_out,
                               uint32_t* length_out) {
  Item* it = ref.item_;
  ref.item_ = nullptr;  // this call owns the allocation's reference now
  const bool concat = options.mode == StoreMode::kAppend || options.mode == StoreMode::kPrepend;
  if (((concat && options.vivify && to_reltime(options.vivify_ttl) != 0) || options.invalidate) &&
      !it->has_exptime()) {
    // A TTL may be set under the lock below: copy the value into an item with the field.
    StoreResult err = StoreResult::kStored;
    Item* copy = alloc_unlinked(it->key(), it->flags(), 0, it->nbytes(), &err,
                                /*with_exptime_field=*/true);
    if (copy == nullptr) {
      release(it);
      return err;
    }
    copy_value(copy, 0, it);
    release(it);
    it = copy;
  }
  if (options.key_binary) it->set_key_binary();
  const std::string_view key = it->key();
  const uint64_t hv = hash_key(key);
  StoreResult result = StoreResult::kStored;

  if (options.mode == StoreMode::kAppend || options.mode == StoreMode::kPrepend) {
    const bool append = options.mode == StoreMode::kAppend;
    for (;;) {
      Item* old_it;
      RelTime old_exptime;
      {
        std::lock_guard lock(stripe_for(hv));
        old_it = find_live_locked(key, hv, false);
        if (old_it == nullptr) {
          if (options.vivify) {
            set_ttl(it, to_reltime(options.vivify_ttl));
            link_locked(it, hv);
            if (options.new_cas != 0) it->set_cas(options.new_cas);
            if (cas_out != nullptr) *cas_out = it->cas();
            if (length_out != nullptr) *length_out = it->nbytes();
          } else {
            result = StoreResult::kNotStored;
          }
          break;
        }
        // memcached's simplified CAS check for append/prepend: only a non-zero C compares.
        if (options.cas != 0 && options.cas != old_it->cas()) {
          result = StoreResult::kExists;
          break;
        }
        pin(old_it);
        old_exptime = old_it->exptime();
      }
      StoreResult err = StoreResult::kStored;
      Item* combined = alloc_unlinked(key, old_it->flags(), old_exptime,
                                      std::size_t{old_it->nbytes()} + it->nbytes(), &err);
      if (combined == nullptr) {
        release(old_it);
        result = StoreResult::kNotStored;
        break;
      }
      const Item* first = append ? old_it : it;
      copy_value(combined, 0, first);
      copy_value(combined, first->nbytes(), append ? it : old_it);
      if (old_it->key_is_binary() || options.key_binary) combined->set_key_binary();
      bool done = false;
      {
        std::lock_guard lock(stripe_for(hv));
        if (find_live_locked(key, hv, false) == old_it) {
          unlink_locked(old_it, hv);
          link_locked(combined, hv);
          if (options.new_cas != 0) combined->set_cas(options.new_cas);
          if (cas_out != nullptr) *cas_out = combined->cas();
          if (length_out != nullptr) *length_out = combined->nbytes();
          done = true;
        }
      }
      release(old_it);
      release(combined);
      if (done) break;
    }
    release(it);
    return result;
  }

  {
    std::lock_guard lock(stripe_for(hv));
    Item* old_it = find_live_locked(key, hv, false);
    switch (options.mode) {
      case StoreMode::kAdd:
        if (old_it != nullptr) {
          bump_locked(old_it, /*mark_fetched=*/false);
          result = StoreResult::kNotStored;
        }
        break;
      case StoreMode::kReplace:
        if (old_it == nullptr) result = StoreResult::kNotStored;
        break;
      case StoreMode::kCas:
        if (old_it == nullptr) {
          result = StoreResult::kNotFound;
        } else if (old_it->cas() != options.cas) {
          if (options.invalidate && options.cas < old_it->cas()) {
            // An older writer may still fill an invalidated key: its value goes in marked
            // stale, keeping the key's TTL and whether a recache token is out.
            set_ttl(it, old_it->exptime());
            it->set_flag(kItemStale);
            if ((old_it->bits() & kItemTokenSent) != 0) it->set_flag(kItemTokenSent);
          } else {
            result = StoreResult::kExists;
          }
        }
        break;
      default:
        break;
    }
    if (result == StoreResult::kStored) {
      if (old_it != nullptr) unlink_locked(old_it, hv);
      link_locked(it, hv);
      if (options.new_cas != 0) it->set_cas(options.new_cas);
      if (cas_out != nullptr) *cas_out = it->cas();
      if (length_out != nullptr) *length_out = it->nbytes();
    }
  }
  release(it);
  return result;
}

MetaDeleteResult Cache::meta_delete(std::string_view key, const MetaDeleteOptions& options) {
  const uint64_t hv = hash_key(key);
  // x replaces the item with an empty tombstone built from the request alone, so it can be
  // allocated before the lock is taken.
  Item* tombstone = nullptr;
  if (options.remove_value) {
    StoreResult err = StoreResult::kStored;
    tombstone = alloc_unlinked(key, options.tombstone_flags, to_reltime(options.tombstone_ttl), 0,
                               &err, /*with_exptime_field=*/options.invalidate);
    if (tombstone == nullptr) return MetaDeleteResult::kNoMemory;
  }
  const bool needs_field = options.invalidate && options.has_ttl && to_reltime(options.ttl) != 0;
  bool field_added = false;
  MetaDeleteResult result;
  for (;;) {
    std::unique_lock lock(stripe_for(hv));
    Item* it = find_live_locked(key, hv, false);
    if (it == nullptr) {
      result = MetaDeleteResult::kNotFound;
    } else if (options.has_cas && it->cas() != options.cas) {
      result = MetaDeleteResult::kExists;
    } else {
      if (tombstone == nullptr && needs_field && !field_added && !it->has_exptime()) {
        lock.unlock();
        field_added = true;  // once: without memory for it the TTL stays as it was
        add_exptime_field(key, hv);
        continue;
      }
      if (tombstone != nullptr) {
        const uint64_t old_cas = it->cas();
        if (it->key_is_binary()) tombstone->set_key_binary();
        unlink_locked(it, hv);
        link_locked(tombstone, hv);
        tombstone->set_cas(options.new_cas != 0 ? options.new_cas : old_cas);
        it = tombstone;
      }
      if (options.invalidate) {
        if (options.has_ttl) set_ttl(it, to_reltime(options.ttl));
        it->set_flag(kItemStale);
        it->clear_flag(kItemTokenSent);  // the next reader wins the recache
        it->set_cas(options.new_cas != 0 ? options.new_cas : next_cas());
        result = MetaDeleteResult::kInvalidated;
      } else {
        if (tombstone == nullptr) unlink_locked(it, hv);
        result = MetaDeleteResult::kDeleted;
      }
    }
    break;
  }
  if (tombstone != nullptr) release(tombstone);
  return result;
}

MetaDeltaResult Cache::meta_delta(std::string_view key, const MetaDeltaOptions& options,
                                  bool key_binary) {
  const uint64_t hv = hash_key(key);
  MetaDeltaResult result;
  char buf[24];
  Item* spare = nullptr;  // allocated outside the lock: the vivified item or the grown value
  uint64_t value = 0;
  std::size_t len = 0;
  const bool needs_field = sets_ttl(options.ttl, to_reltime(options.ttl.ttl));
  bool field_added = false;
  for (;;) {
    std::unique_lock lock(stripe_for(hv));
    Item* it = find_live_locked(key, hv, false);
    Item* target = nullptr;  // the item whose CAS and TTL the reply reports
    bool created = false;
    if (it == nullptr) {
      if (!options.vivify) {
        result.status = MetaDeltaStatus::kNotFound;
        break;
      }
      len = format_u64(options.initial, buf);
      if (spare == nullptr || spare->nbytes() != len) {
        lock.unlock();
        if (spare != nullptr) release(spare);
        StoreResult err = StoreResult::kStored;
        spare = alloc_unlinked(key, 0, 0, len, &err, /*with_exptime_field=*/true);
        if (spare == nullptr) {
          result.status = MetaDeltaStatus::kNoMemory;
          return result;
        }
        std::memcpy(spare->mutable_value().data(), buf, len);
        continue;
      }
      if (key_binary) spare->set_key_binary();
      link_locked(spare, hv);
      target = spare;
      spare = nullptr;
      created = true;
      value = options.initial;
      result.status = MetaDeltaStatus::kCreated;
    } else {
      if (options.has_cas && options.cas != 0 && it->cas() != options.cas) {
        result.status = MetaDeltaStatus::kExists;
        break;
      }
      if (it->nbytes() == 0 || !parse_counter(it->value(), &value)) {
        result.status = MetaDeltaStatus::kNonNumeric;
        break;
      }
      if (needs_field && !field_added && !it->has_exptime()) {
        lock.unlock();
        field_added = true;  // once: without memory for it the TTL stays as it was
        add_exptime_field(key, hv);
        continue;
      }
      if (options.increment) {
        value += options.delta;
      } else {
        value = options.delta > value ? 0 : value - options.delta;
      }
      len = format_u64(value, buf);
      // Unlike a get, memcached's incr/decr does not mark the item fetched (its "h" stays).
      if (len <= it->nbytes() && it->refcount.load(std::memory_order_acquire) == 1) {
        std::span<char> v = it->mutable_value();
        std::memcpy(v.data(), buf, len);
        std::memset(v.data() + len, ' ', v.size() - len);
        it->set_cas(next_cas());
        bump_locked(it, /*mark_fetched=*/false);
        target = it;
        pin(target);
      } else if (spare != nullptr && spare->nbytes() == len && spare->flags() == it->flags()) {
        std::memcpy(spare->mutable_value().data(), buf, len);
        if (it->key_is_binary()) spare->set_key_binary();
        set_ttl(spare, it->exptime());
        unlink_locked(it, hv);
        link_locked(spare, hv);
        target = spare;
        spare = nullptr;
      } else {
        // Needs a larger item: allocate outside the lock, then redo the whole step.
        const uint32_t flags = it->flags();
        lock.unlock();
        if (spare != nullptr) release(spare);
        StoreResult err = StoreResult::kStored;
        spare = alloc_unlinked(key, flags, 0, len, &err, /*with_exptime_field=*/true);
        if (spare == nullptr) {
          result.status = MetaDeltaStatus::kNoMemory;
          return result;
        }
        continue;
      }
      result.status = MetaDeltaStatus::kOk;
    }
    // target holds one reference for us here.
    if (options.new_cas != 0) target->set_cas(options.new_cas);
    result.ttl_after[0] = remaining_ttl(target);
    for (std::size_t i = 0; i < options.ttl.count; ++i) {
      if (options.ttl.steps[i] == MetaTtlStep::kSetTtl) {
        set_ttl(target, to_reltime(options.ttl.ttl));
      } else if (options.ttl.steps[i] == MetaTtlStep::kVivify && created) {
        set_ttl(target, to_reltime(options.ttl.vivify));
      }
      result.ttl_after[i + 1] = remaining_ttl(target);
    }
    result.value = value;
    result.cas = target->cas();
    lock.unlock();
    release(target);
    break;
  }
  if (spare != nullptr) release(spare);
  return result;
}

MetaDebugInfo Cache::meta_debug(std::string_view key) {
  const uint64_t hv = hash_key(key);
  MetaDebugInfo info;
  std::lock_guard lock(stripe_for(hv));
  Item* it = find_live_locked(key, hv, true);
  if (it == nullptr) return info;
  const RelTime now = internal_now();
  info.found = true;
  info.exp = it->exptime() == 0 ? -1 : static_cast<int32_t>(now - it->exptime());
  info.last_access = now - std::min(now, it->time.load(std::memory_order_relaxed));
  info.cas = it->cas();
  info.fetched = it->is_fetched();
  info.slab_class = class_of(it);
  info.key_binary = it->key_is_binary();
  info.value_length = it->nbytes();
  info.flags = it->flags();
  return info;
}

}  // namespace kioku::slab
