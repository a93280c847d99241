// daemon/command_latency.h — per-worker histograms of how long each text command takes to run.
//
// Owns: fixed buckets (Prometheus "le" bounds) per command, written by one worker thread with
// relaxed single-writer counters, read by the metrics thread. Must not: allocate, lock or do
// more than a short scan on the request path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "daemon/thread_stats.h"
#include "protocol/text_parser.h"

namespace kioku::daemon {

class CommandLatency {
 public:
  // Upper bounds in nanoseconds; one more bucket (+Inf) follows. A cache command runs in a
  // microsecond or two, so the resolution is there; the tail catches lock waits and big values.
  static constexpr std::array<uint64_t, 12> kBoundsNs = {
      1'000,   2'500,   5'000,   10'000,    25'000,     50'000,
      100'000, 250'000, 500'000, 1'000'000, 10'000'000, 100'000'000};
  static constexpr std::size_t kBuckets = kBoundsNs.size() + 1;
  // Room for every TextCommand value and later additions; beyond it, the last slot.
  static constexpr std::size_t kCommands = 40;

  static uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }

  void record(protocol::TextCommand command, uint64_t elapsed_ns) {
    std::size_t c = std::min(static_cast<std::size_t>(command), kCommands - 1);
    std::size_t b = 0;
    while (b < kBoundsNs.size() && elapsed_ns > kBoundsNs[b]) ++b;
    buckets_[c][b].add();
    sum_ns_[c].add(elapsed_ns);
  }

  uint64_t bucket(std::size_t command, std::size_t index) const {
    return buckets_[command][index].load();
  }
  uint64_t sum_ns(std::size_t command) const { return sum_ns_[command].load(); }

 private:
  std::array<std::array<Counter, kBuckets>, kCommands> buckets_{};
  std::array<Counter, kCommands> sum_ns_{};
};

// The command's protocol name ("get", "flush_all"); "other" for values this file predates.
std::string_view command_label(std::size_t command);

}  // namespace kioku::daemon
