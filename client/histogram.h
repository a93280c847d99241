// client/histogram.h — a log-linear latency histogram (HdrHistogram-like).
//
// Owns: recording non-negative integer samples (nanoseconds, by convention) into buckets that
// are powers of two split into kSubBuckets linear sub-buckets, so any reported value is within
// 1 / (2 * kSubBuckets) of a true sample (< 0.4%), and merging histograms recorded by
// different threads. Must not: allocate after construction, lock, or know what it measures.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kioku::client {

class Histogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  // Values below kSubBuckets are exact; above, one row of kSubBuckets per power of two up to
  // 2^63, the last row included.
  static constexpr std::size_t kBucketCount = (64 - kSubBucketBits + 1) * kSubBuckets;

  Histogram();
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;

  void record(uint64_t value) noexcept;
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  // The value at or below which `percentile` percent of the samples lie (nearest rank), as the
  // midpoint of its bucket clamped to [min, max]; 0 for an empty histogram.
  uint64_t value_at_percentile(double percentile) const noexcept;

  static std::size_t bucket_index(uint64_t value) noexcept;
  static uint64_t bucket_lowest(std::size_t index) noexcept;
  static uint64_t bucket_width(std::size_t index) noexcept;

 private:
  // Heap-held so a Histogram is cheap to move and does not blow a thread's stack (~58 KiB).
  std::unique_ptr<std::array<uint64_t, kBucketCount>> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace kioku::client
