// tests/client/key_sampler_test.cc — the key distributions against theory.
#include "client/key_sampler.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

using kioku::client::KeySampler;
using kioku::client::Rng;
using kioku::client::UniformSampler;
using kioku::client::ZipfSampler;

namespace {

// Pearson's chi-square statistic of observed counts against probabilities.
double chi_square(const std::vector<uint64_t>& observed, const std::vector<double>& expected_p,
                  uint64_t draws) {
  double chi = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double expected = expected_p[i] * static_cast<double>(draws);
    const double diff = static_cast<double>(observed[i]) - expected;
    chi += diff * diff / expected;
  }
  return chi;
}

std::vector<double> zipf_probabilities(std::size_t n, double s) {
  std::vector<double> p(n);
  double norm = 0;
  for (std::size_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -s);
  for (std::size_t k = 1; k <= n; ++k) p[k - 1] = std::pow(static_cast<double>(k), -s) / norm;
  return p;
}

}  // namespace

TEST_CASE("uniform sampler stays within the key space and covers it evenly") {
  Rng rng(1);
  constexpr std::size_t kKeys = 50;
  constexpr uint64_t kDraws = 500000;
  UniformSampler sampler(kKeys);
  std::vector<uint64_t> counts(kKeys);
  for (uint64_t i = 0; i < kDraws; ++i) {
    const uint64_t k = sampler.sample(rng);
    REQUIRE(k < kKeys);
    ++counts[k];
  }
  // 49 degrees of freedom: P(chi^2 > 85.4) = 0.001.
  CHECK(chi_square(counts, std::vector<double>(kKeys, 1.0 / kKeys), kDraws) < 85.4);
}

TEST_CASE("uniform sampler with one key always returns it") {
  Rng rng(2);
  UniformSampler sampler(1);
  for (int i = 0; i < 1000; ++i) REQUIRE(sampler.sample(rng) == 0);
}

TEST_CASE("zipf 0.99 sampler frequencies match 1/k^s") {
  Rng rng(3);
  constexpr std::size_t kKeys = 100;
  constexpr uint64_t kDraws = 1000000;
  ZipfSampler sampler(kKeys, 0.99);
  std::vector<uint64_t> counts(kKeys);
  for (uint64_t i = 0; i < kDraws; ++i) {
    const uint64_t k = sampler.sample(rng);
    REQUIRE(k < kKeys);
    ++counts[k];
  }
  const std::vector<double> p = zipf_probabilities(kKeys, 0.99);
  // 99 degrees of freedom: P(chi^2 > 148.2) = 0.001.
  CHECK(chi_square(counts, p, kDraws) < 148.2);
  // The hottest key alone, to 2%.
  CHECK(static_cast<double>(counts[0]) / kDraws == Approx(p[0]).epsilon(0.02));
}

TEST_CASE("zipf sampler is exact near s = 1 and for other exponents") {
  for (double s : {0.5, 1.0, 1.2}) {
    Rng rng(4);
    constexpr std::size_t kKeys = 20;
    constexpr uint64_t kDraws = 400000;
    ZipfSampler sampler(kKeys, s);
    std::vector<uint64_t> counts(kKeys);
    for (uint64_t i = 0; i < kDraws; ++i) ++counts[sampler.sample(rng)];
    INFO("s = " << s);
    // 19 degrees of freedom: P(chi^2 > 43.8) = 0.001.
    CHECK(chi_square(counts, zipf_probabilities(kKeys, s), kDraws) < 43.8);
  }
}

TEST_CASE("zipf sampler over a huge key space stays in range") {
  Rng rng(5);
  const uint64_t keys = uint64_t{1} << 40;
  ZipfSampler sampler(keys, 0.99);
  uint64_t zeros = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t k = sampler.sample(rng);
    REQUIRE(k < keys);
    zeros += k == 0;
  }
  CHECK(zeros > 0);
}

TEST_CASE("key sampler dispatches to the chosen distribution") {
  Rng rng(6);
  const KeySampler uniform = KeySampler::uniform(10);
  const KeySampler zipf = KeySampler::zipf(10, 0.99);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(uniform.sample(rng) < 10);
    REQUIRE(zipf.sample(rng) < 10);
  }
}
