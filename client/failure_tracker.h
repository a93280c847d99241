// client/failure_tracker.h — libmemcached's auto-eject, as a small state machine per node.
//
// Owns: counting each node's consecutive failures, ejecting a node that reaches the failure
// limit for the retry interval, and putting it back on the ring when the interval is over.
// A returned node stays "on probation": one more failure ejects it again at once, one success
// clears its record (libmemcached's MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT and
// MEMCACHED_BEHAVIOR_RETRY_TIMEOUT with MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS).
// Must not: read a clock itself: every call takes `now`, so tests drive time by hand.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kioku::client {

using TimePoint = std::chrono::steady_clock::time_point;

struct FailurePolicy {
  bool auto_eject = true;
  uint32_t failure_limit = 2;
  std::chrono::milliseconds retry_timeout{2000};
};

class FailureTracker {
 public:
  FailureTracker(FailurePolicy policy, std::size_t nodes) : policy_(policy), nodes_(nodes) {}

  // Returns true when this failure ejected the node.
  bool record_failure(std::size_t node, TimePoint now);
  void record_success(std::size_t node);
  bool is_live(std::size_t node, TimePoint now) const;
  // One flag per node, for Ring's `live`.
  std::vector<bool> live_set(TimePoint now) const;
  uint32_t consecutive_failures(std::size_t node) const { return nodes_[node].failures; }
  std::size_t size() const { return nodes_.size(); }

 private:
  struct NodeState {
    uint32_t failures = 0;
    TimePoint ejected_until{};
    bool ejected = false;
  };
  FailurePolicy policy_;
  std::vector<NodeState> nodes_;
};

}  // namespace kioku::client
