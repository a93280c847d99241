// slab/hash_table.cc — see hash_table.h.
#include "slab/hash_table.h"

#include <pthread.h>

#include <bit>
#include <cstring>

namespace kioku::slab {
namespace {

constexpr uint32_t kMaxHashPower = 32;
constexpr uint32_t kGrowCheckEvery = 64;  // inserts per thread between load-factor checks

constexpr uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

constexpr uint64_t mix_word(uint64_t k) {
  k *= 0x87c37b91114253d5ULL;
  k = std::rotl(k, 31);
  k *= 0x4cf5ad432745937fULL;
  return k;
}

}  // namespace

uint64_t hash_key(std::string_view key) {
  const char* p = key.data();
  std::size_t n = key.size();
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xc6a4a7935bd1e995ULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h ^= mix_word(w);
    h = std::rotl(h, 27) * 5 + 0x52dce729;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h ^= mix_word(w);
  }
  return fmix64(h);
}

HashTable::HashTable(uint32_t hashpower, ItemLocks& locks, const SlabAllocator& slabs)
    : locks_(locks),
      slabs_(slabs),
      owned_cur_(std::make_unique<Table>(hashpower)),
      cur_(owned_cur_.get()),
      hashpower_(hashpower) {
  thread_ = std::thread([this] { expansion_loop(); });
  pthread_setname_np(thread_.native_handle(), "kioku-hashgrow");  // as top -H and perf show it
}

HashTable::~HashTable() {
  {
    std::lock_guard lock(thread_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

ItemRefId* HashTable::bucket(uint64_t hv) const {
  // Order matters: next_ first (see the member comments).
  if (const Table* next = next_.load(std::memory_order_acquire); next != nullptr) {
    const uint64_t old_index = hv & (next->mask() >> 1);
    if (old_index < cursor_.load(std::memory_order_relaxed))
      return &next->buckets[hv & next->mask()];
  }
  const Table* cur = cur_.load(std::memory_order_acquire);
  return &cur->buckets[hv & cur->mask()];
}

Item* HashTable::find(std::string_view key, uint64_t hv) const {
  for (ItemRefId ref = *bucket(hv); ref != 0;) {
    Item* it = slabs_.item_at(ref);
    ref = it->h_next;
    if (it->nkey == key.size() && std::memcmp(it->payload(), key.data(), key.size()) == 0)
      return it;
  }
  return nullptr;
}

void HashTable::insert(Item* item, uint64_t hv) {
  ItemRefId* head = bucket(hv);
  item->h_next = *head;
  *head = slabs_.ref_of(item);
  items_.add(1);
  // Grow at a load factor of 1.5, as memcached does. Summing every shard costs a cache miss
  // per shard, so each thread looks once per kGrowCheckEvery of its inserts (the table may
  // run that many items per thread past the threshold; the expansion thread checks again).
  static thread_local uint32_t inserts = 0;
  if (++inserts % kGrowCheckEvery != 0) return;
  const uint32_t power = hashpower_.load(std::memory_order_relaxed);
  if (items_.sum() > (uint64_t{3} << power) / 2 && power < kMaxHashPower && !expanding()) {
    {
      std::lock_guard lock(thread_mu_);
      want_expand_ = true;
    }
    wake_.notify_one();
  }
}

void HashTable::remove(Item* item, uint64_t hv) {
  const ItemRefId ref = slabs_.ref_of(item);
  for (ItemRefId* link = bucket(hv); *link != 0; link = &slabs_.item_at(*link)->h_next) {
    if (*link == ref) {
      *link = item->h_next;
      item->h_next = 0;
      items_.sub(1);
      return;
    }
  }
}

bool HashTable::migrate(Table& from, Table& to) {
  const uint64_t old_size = from.mask() + 1;
  for (uint64_t b = 0; b < old_size; ++b) {
    {
      // Stripe bits are a subset of the old mask: this one stripe covers bucket b and both
      // buckets its keys move to.
      std::lock_guard lock(locks_.at(b & locks_.mask()));
      for (ItemRefId ref = from.buckets[b]; ref != 0;) {
        Item* it = slabs_.item_at(ref);
        const ItemRefId next = it->h_next;
        ItemRefId* head = &to.buckets[hash_key(it->key()) & to.mask()];
        it->h_next = *head;
        *head = ref;
        ref = next;
      }
      from.buckets[b] = 0;
      cursor_.store(b + 1, std::memory_order_relaxed);
    }
    if ((b & 4095) == 4095) {
      std::lock_guard tl(thread_mu_);
      if (stop_) return false;
    }
  }
  return true;
}

void HashTable::expansion_loop() {
  for (;;) {
    {
      std::unique_lock lock(thread_mu_);
      wake_.wait(lock, [this] { return stop_ || want_expand_; });
      if (stop_) return;
      want_expand_ = false;
    }
    const uint32_t power = hashpower_.load(std::memory_order_relaxed);
    if (items_.sum() <= (uint64_t{3} << power) / 2 || power >= kMaxHashPower) continue;

    owned_next_ = std::make_unique<Table>(power + 1);
    cursor_.store(0, std::memory_order_relaxed);
    next_.store(owned_next_.get(), std::memory_order_release);
    hashpower_.store(power + 1, std::memory_order_relaxed);
    if (!migrate(*owned_cur_, *owned_next_)) return;  // the destructor frees both tables

    cur_.store(owned_next_.get(), std::memory_order_release);
    next_.store(nullptr, std::memory_order_release);
    // Readers load table pointers only while holding a stripe, but for_each_in_stripe (the
    // crawler, metadump) may have loaded the old table before the last bucket of some other
    // stripe moved and still be walking its own, already empty, buckets of it. Taking each
    // stripe once (never all at once) waits those walks out; later ones see the new cur_.
    for (uint64_t i = 0; i < locks_.count(); ++i) {
      std::lock_guard barrier(locks_.at(i));
    }
    owned_cur_ = std::move(owned_next_);
  }
}

}  // namespace kioku::slab
