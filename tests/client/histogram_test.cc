// tests/client/histogram_test.cc — Histogram against a sorted-array oracle.
#include "client/histogram.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

using kioku::client::Histogram;

namespace {

uint64_t oracle(const std::vector<uint64_t>& sorted, double percentile) {
  auto rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * sorted.size()));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void check_within_one_percent(const Histogram& h, std::vector<uint64_t> samples) {
  std::sort(samples.begin(), samples.end());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double expected = static_cast<double>(oracle(samples, p));
    const double got = static_cast<double>(h.value_at_percentile(p));
    INFO("percentile " << p << " expected " << expected << " got " << got);
    CHECK(std::abs(got - expected) <= 0.01 * expected);
  }
  CHECK(h.max() == samples.back());
  CHECK(h.min() == samples.front());
  CHECK(h.count() == samples.size());
}

}  // namespace

TEST_CASE("bucket boundaries are contiguous and within 1% relative width") {
  for (std::size_t i = 0; i + 1 < Histogram::kBucketCount; ++i) {
    REQUIRE(Histogram::bucket_lowest(i) + Histogram::bucket_width(i) ==
            Histogram::bucket_lowest(i + 1));
    if (Histogram::bucket_lowest(i) >= Histogram::kSubBuckets) {
      REQUIRE(static_cast<double>(Histogram::bucket_width(i)) /
                  static_cast<double>(Histogram::bucket_lowest(i)) <=
              0.01);
    }
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{255},
                     uint64_t{256}, uint64_t{1} << 40, UINT64_MAX}) {
    const std::size_t i = Histogram::bucket_index(v);
    REQUIRE(i < Histogram::kBucketCount);
    CHECK(Histogram::bucket_lowest(i) <= v);
    CHECK(v - Histogram::bucket_lowest(i) < Histogram::bucket_width(i));
  }
}

TEST_CASE("percentiles of random log-uniform data are within 1% of the sorted oracle") {
  std::mt19937_64 gen(42);
  std::uniform_real_distribution<double> exponent(0.0, 40.0);
  Histogram h;
  std::vector<uint64_t> samples;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<uint64_t>(std::exp2(exponent(gen)));
    samples.push_back(v);
    h.record(v);
  }
  check_within_one_percent(h, samples);
}

TEST_CASE("percentiles of latency-like data are within 1% of the sorted oracle") {
  std::mt19937_64 gen(7);
  std::lognormal_distribution<double> latency(std::log(50'000.0), 0.6);
  Histogram h;
  std::vector<uint64_t> samples;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(latency(gen));
    samples.push_back(v);
    h.record(v);
  }
  check_within_one_percent(h, samples);
}

TEST_CASE("merging per-thread histograms equals recording everything in one") {
  std::mt19937_64 gen(3);
  std::uniform_int_distribution<uint64_t> value(0, 10'000'000);
  Histogram parts[4];
  Histogram whole;
  std::vector<uint64_t> samples;
  for (int i = 0; i < 40000; ++i) {
    const uint64_t v = value(gen) >> (i % 17);
    parts[i % 4].record(v);
    whole.record(v);
    samples.push_back(v);
  }
  Histogram merged;
  for (const Histogram& part : parts) merged.merge(part);
  CHECK(merged.count() == whole.count());
  CHECK(merged.min() == whole.min());
  CHECK(merged.max() == whole.max());
  CHECK(merged.mean() == Approx(whole.mean()));
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    CHECK(merged.value_at_percentile(p) == whole.value_at_percentile(p));
  }
  check_within_one_percent(merged, samples);
}

TEST_CASE("an empty histogram reports zeros and reset empties it") {
  Histogram h;
  CHECK(h.value_at_percentile(99) == 0);
  CHECK(h.max() == 0);
  CHECK(h.min() == 0);
  h.record(12345);
  CHECK(h.value_at_percentile(50) == 12345);  // clamped to [min, max]
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.value_at_percentile(50) == 0);
}
