// slab/clock.h — the cache's notion of "now" and memcached's exptime conversion (realtime()).
//
// Owns: the internal clock, which runs kTimeBase seconds ahead of the public RelTime so that
// the value 1 ("already expired") is always in the past and "now - 1" never wraps, exactly
// why memcached starts current_time a couple of seconds after process_started.
// Must not: read the system clock; the owner calls set() from Cache::tick().
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

#include "slab/cache.h"

namespace kioku::slab {

class Clock {
 public:
  static constexpr RelTime kTimeBase = 2;
  static constexpr RelTime kExpiredNow = 1;

  explicit Clock(int64_t process_started) : process_started_(process_started) {}

  void set(int64_t unix_now) {
    const int64_t rel = std::clamp<int64_t>(unix_now - process_started_, 0,
                                            std::numeric_limits<RelTime>::max() - kTimeBase);
    now_.store(static_cast<RelTime>(rel) + kTimeBase, std::memory_order_relaxed);
  }
  // Internal time (compare with item times); public_now() is what Cache::now() reports.
  RelTime now() const { return now_.load(std::memory_order_relaxed); }
  RelTime public_now() const { return now() - kTimeBase; }

  // memcached's realtime(): 0 = never, negative = already expired, up to 30 days = relative,
  // beyond that a unix timestamp.
  RelTime realtime(int64_t exptime) const {
    if (exptime == 0) return 0;
    if (exptime < 0) return kExpiredNow;
    if (exptime > kMaxRelativeExptime) {
      if (exptime <= process_started_) return kExpiredNow;
      return saturate(exptime - process_started_ + kTimeBase);
    }
    return saturate(exptime + now());
  }

 private:
  static RelTime saturate(int64_t t) {
    return static_cast<RelTime>(std::min<int64_t>(t, std::numeric_limits<RelTime>::max()));
  }
  int64_t process_started_;
  std::atomic<RelTime> now_{kTimeBase};
};

}  // namespace kioku::slab
