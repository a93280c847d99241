// client/histogram.cc — see histogram.h. Index arithmetic only; no allocation after construction.
#include "client/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kioku::client {

Histogram::Histogram() : counts_(std::make_unique<std::array<uint64_t, kBucketCount>>()) {
  counts_->fill(0);
}

Histogram::Histogram(const Histogram& other)
    : counts_(std::make_unique<std::array<uint64_t, kBucketCount>>(*other.counts_)),
      count_(other.count_),
      min_(other.min_),
      max_(other.max_),
      sum_(other.sum_) {}

Histogram& Histogram::operator=(const Histogram& other) {
  if (this != &other) {
    *counts_ = *other.counts_;
    count_ = other.count_;
    min_ = other.min_;
    max_ = other.max_;
    sum_ = other.sum_;
  }
  return *this;
}

std::size_t Histogram::bucket_index(uint64_t value) noexcept {
  if (value < kSubBuckets) return static_cast<std::size_t>(value);
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = msb - kSubBucketBits;
  // (value >> shift) is in [kSubBuckets, 2 * kSubBuckets): the top bit is implied by the row.
  return static_cast<std::size_t>((shift + 1) * kSubBuckets + ((value >> shift) - kSubBuckets));
}

uint64_t Histogram::bucket_lowest(std::size_t index) noexcept {
  if (index < kSubBuckets) return index;
  const uint64_t shift = index / kSubBuckets - 1;
  return (kSubBuckets + index % kSubBuckets) << shift;
}

uint64_t Histogram::bucket_width(std::size_t index) noexcept {
  if (index < kSubBuckets) return 1;
  return uint64_t{1} << (index / kSubBuckets - 1);
}

void Histogram::record(uint64_t value) noexcept {
  ++(*counts_)[bucket_index(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < kBucketCount; ++i) (*counts_)[i] += (*other.counts_)[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() noexcept {
  counts_->fill(0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

uint64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // Nearest rank: the smallest sample with at least percentile% of samples at or below it.
  auto rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += (*counts_)[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_lowest(i) + (bucket_width(i) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace kioku::client
