// client/failure_tracker.cc — see failure_tracker.h.
#include "client/failure_tracker.h"

namespace kioku::client {

bool FailureTracker::record_failure(std::size_t node, TimePoint now) {
  NodeState& s = nodes_[node];
  ++s.failures;
  if (!policy_.auto_eject || s.failures < policy_.failure_limit || !is_live(node, now)) {
    return false;
  }
  s.ejected = true;
  s.ejected_until = now + policy_.retry_timeout;
  return true;
}

void FailureTracker::record_success(std::size_t node) { nodes_[node] = NodeState{}; }

bool FailureTracker::is_live(std::size_t node, TimePoint now) const {
  const NodeState& s = nodes_[node];
  return !s.ejected || now >= s.ejected_until;
}

std::vector<bool> FailureTracker::live_set(TimePoint now) const {
  std::vector<bool> live(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) live[i] = is_live(i, now);
  return live;
}

}  // namespace kioku::client
