// client/bench_result.h — what a run measured, and how it is printed.
//
// Owns: the per-thread tallies (mergeable), the merged result, and its two renderings: a
// human-readable table and one line of JSON. Must not: measure anything itself.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "client/bench_options.h"
#include "client/codec.h"
#include "client/histogram.h"

namespace kioku::client {

struct Tally {
  std::array<uint64_t, kOpTypeCount> ops{};
  std::array<Histogram, kOpTypeCount> latency_ns;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t error_replies = 0;      // ERROR / CLIENT_ERROR / SERVER_ERROR, and sets not STORED
  uint64_t protocol_errors = 0;    // bytes that cannot be a reply: connection dropped
  uint64_t timeouts = 0;           // requests unanswered after --timeout: connection dropped
  uint64_t connection_errors = 0;  // requests lost to a reset / closed connection

  uint64_t total_ops() const;
  uint64_t total_errors() const;
  void merge(const Tally& other);
};

struct BenchResult {
  Tally tally;
  double elapsed_s = 0;    // the measured window
  uint64_t prefilled = 0;  // keys set by --prefill
  uint64_t prefill_errors = 0;
  double prefill_s = 0;
  bool connections_lost = false;  // the run ended early: every connection was given up
  uint64_t idle_held_at_start = 0;  // --idle-connections held when the load started
  uint64_t idle_held = 0;           // ...and still held when it ended
};

std::string format_text_report(const BenchOptions& options, const BenchResult& result);
std::string format_json_report(const BenchOptions& options, const BenchResult& result);

}  // namespace kioku::client
