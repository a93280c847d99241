// slab/background_work.cc — see background_work.h.
#include "slab/background_work.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cstdint>

#include "slab/cache.h"

namespace kioku::slab {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kCrawlEvery = std::chrono::seconds(1);
// The maintainer works in short passes with pauses between them while a pass finds work,
// as memcached's does: the thread shares a CPU with a worker under -t 1, and a burst of
// back-to-back passes (about 1.8 ms each under 800k sets/s) is a stall of every connection of
// that worker. A pass looks at kPassBudget items per segment of each of a class's lists (tens
// of microseconds); after a busy one the thread sleeps kBusyPause or, if longer,
// kBusyIdleFactor times the CPU time the pass took, so it never takes more than about a
// twentieth of a CPU from the workers however fast they insert (HOT then runs over its share
// until the load eases; eviction takes HOT's tail when COLD is empty).
constexpr int kPassBudget = 128;
constexpr uint64_t kBusyPass = 256;  // moves in one pass that call for another
constexpr auto kBusyPause = std::chrono::microseconds(1000);
constexpr int kBusyIdleFactor = 19;
// memcached's crawler defaults (crawls_persleep, lru_crawler_sleep): a pause after every
// thousand items checked keeps each burst to tens of microseconds.
constexpr uint32_t kCrawlBatch = 1000;
constexpr auto kCrawlPause = std::chrono::microseconds(100);

std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

BackgroundWork::BackgroundWork(Cache& cache) : cache_(cache) {
  thread_ = std::thread([this] { loop(); });
  pthread_setname_np(thread_.native_handle(), "kioku-maint");  // as top -H and perf show it
}

BackgroundWork::~BackgroundWork() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool BackgroundWork::request_crawl(std::vector<bool> classes) {
  {
    std::lock_guard lock(mu_);
    if (requested_) return false;
    requested_ = std::move(classes);
  }
  wake_.notify_all();
  return true;
}

void BackgroundWork::loop() {
  using Clock = std::chrono::steady_clock;
  auto next_crawl = Clock::now() + kCrawlEvery;
  bool maintainer_busy = false;  // the last tick ended with passes still finding work
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, maintainer_busy ? kBusyPause : kTick,
                   [this] { return stop_ || requested_.has_value(); });
    if (stop_) return;
    if (requested_) {
      // Stays set (refusing more requests) until the crawl is done, as memcached's BUSY.
      const std::vector<bool> classes = *requested_;
      lock.unlock();
      cache_.crawl(classes, kCrawlBatch, kCrawlPause);
      lock.lock();
      requested_.reset();
      continue;
    }
    lock.unlock();
    if (cache_.config().lru_maintainer) {
      // A burst of sets can outrun one pass per tick: keep going while passes are busy, for
      // up to a tick (then the rebalancer, the crawler and stop get their turn).
      const auto until = Clock::now() + kTick;
      for (;;) {
        const auto cpu_before = thread_cpu_time();
        maintainer_busy = cache_.run_lru_maintainer_once(kPassBudget) >= kBusyPass;
        if (!maintainer_busy || Clock::now() >= until) break;
        const auto took = thread_cpu_time() - cpu_before;
        std::this_thread::sleep_for(
            std::max<std::chrono::nanoseconds>(kBusyPause, took * kBusyIdleFactor));
      }
    }
    if (cache_.config().slab_reassign) cache_.run_slab_rebalancer_once();
    if (cache_.lru_crawler_enabled() && Clock::now() >= next_crawl && cache_.crawl_due()) {
      const auto cpu_before = thread_cpu_time();
      cache_.crawl({}, kCrawlBatch, kCrawlPause);
      // A full crawl walks every item: keep it under about a quarter of one core.
      const auto took = std::chrono::duration_cast<Clock::duration>(thread_cpu_time() - cpu_before);
      next_crawl = Clock::now() + std::max<Clock::duration>(kCrawlEvery, took * 3);
    }
    lock.lock();
  }
}

}  // namespace kioku::slab
