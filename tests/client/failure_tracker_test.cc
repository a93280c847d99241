// tests/client/failure_tracker_test.cc — auto-eject and retry with a hand-driven clock.
#include "client/failure_tracker.h"

#include <catch2/catch.hpp>

using kioku::client::FailurePolicy;
using kioku::client::FailureTracker;
using kioku::client::TimePoint;
using namespace std::chrono_literals;

TEST_CASE("a node failing the limit in a row is ejected for the retry interval") {
  FailureTracker t(FailurePolicy{true, 3, 2000ms}, 2);
  const TimePoint t0{};
  CHECK_FALSE(t.record_failure(0, t0));
  CHECK_FALSE(t.record_failure(0, t0 + 1ms));
  CHECK(t.is_live(0, t0 + 1ms));
  CHECK(t.record_failure(0, t0 + 2ms));
  CHECK_FALSE(t.is_live(0, t0 + 2ms));
  CHECK_FALSE(t.is_live(0, t0 + 2001ms));
  CHECK(t.is_live(0, t0 + 2002ms));
  CHECK(t.is_live(1, t0 + 2ms));
  CHECK(t.live_set(t0 + 100ms) == std::vector<bool>{false, true});
}

TEST_CASE("a success in between resets the count of failures") {
  FailureTracker t(FailurePolicy{true, 2, 1000ms}, 1);
  const TimePoint t0{};
  CHECK_FALSE(t.record_failure(0, t0));
  t.record_success(0);
  CHECK_FALSE(t.record_failure(0, t0));
  CHECK(t.is_live(0, t0));
  CHECK(t.record_failure(0, t0));
  CHECK_FALSE(t.is_live(0, t0));
}

TEST_CASE("a node back from ejection is ejected again by one failure, cleared by one success") {
  FailureTracker t(FailurePolicy{true, 2, 1000ms}, 1);
  const TimePoint t0{};
  t.record_failure(0, t0);
  CHECK(t.record_failure(0, t0));
  const TimePoint back = t0 + 1000ms;
  CHECK(t.is_live(0, back));
  CHECK(t.record_failure(0, back));
  CHECK_FALSE(t.is_live(0, back + 999ms));
  CHECK(t.is_live(0, back + 1000ms));
  t.record_success(0);
  CHECK(t.consecutive_failures(0) == 0);
  CHECK_FALSE(t.record_failure(0, back + 1000ms));
  CHECK(t.is_live(0, back + 1000ms));
}

TEST_CASE("failures while ejected do not extend the ejection") {
  FailureTracker t(FailurePolicy{true, 1, 1000ms}, 1);
  const TimePoint t0{};
  CHECK(t.record_failure(0, t0));
  CHECK_FALSE(t.record_failure(0, t0 + 500ms));
  CHECK(t.is_live(0, t0 + 1000ms));
}

TEST_CASE("without auto-eject a failing node is never taken off the ring") {
  FailureTracker t(FailurePolicy{false, 1, 1000ms}, 1);
  const TimePoint t0{};
  for (int i = 0; i < 10; ++i) CHECK_FALSE(t.record_failure(0, t0));
  CHECK(t.is_live(0, t0));
}
