// slab/background_work.h — the one thread that runs the engine's periodic work: the LRU
// maintainer (10 times a second, and in short paced passes while sets keep it busy), the LRU
// crawler (about once a second while enabled and some item's TTL has passed since the last
// crawl) and the slab rebalancer (page moves and automove decisions).
//
// Owns: the thread and its pacing. Must not: reach into the cache's internals; it only calls
// Cache's public run_*_once() / crawl() entry points, which do their own locking, so tests can
// drive exactly the same code without the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace kioku::slab {

class Cache;

class BackgroundWork {
 public:
  explicit BackgroundWork(Cache& cache);
  ~BackgroundWork();  // stops and joins the thread
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  // "lru_crawler crawl": a crawl of these classes (empty = all) on this thread, soon, paced
  // as the periodic one. False while a requested crawl is still waiting or running.
  bool request_crawl(std::vector<bool> classes);

 private:
  void loop();

  Cache& cache_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::optional<std::vector<bool>> requested_;  // with mu_: a crawl asked for, not yet done
  std::thread thread_;
};

}  // namespace kioku::slab
