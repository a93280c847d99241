// client/key_sampler.cc — see key_sampler.h. The Zipf code follows Hörmann & Derflinger,
// "Rejection-inversion to generate variates from monotone discrete distributions" (1996), in
// the formulation used by Apache Commons RNG; the helpers keep it exact near s = 1.
#include "client/key_sampler.h"

#include <algorithm>
#include <cmath>

namespace kioku::client {
namespace {

uint64_t splitmix64(uint64_t* state) noexcept {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// log1p(x) / x, continuous at 0.
double helper1(double x) noexcept {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}
// expm1(x) / x, continuous at 0.
double helper2(double x) noexcept {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x
                            : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

}  // namespace

Rng::Rng(uint64_t seed) noexcept {
  for (auto& word : s_) word = splitmix64(&seed);
}

uint64_t Rng::next() noexcept {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

ZipfSampler::ZipfSampler(uint64_t keys, double s) noexcept : keys_(keys ? keys : 1), s_(s) {
  h_integral_x1_ = h_integral(1.5) - 1.0;
  h_integral_n_ = h_integral(static_cast<double>(keys_) + 0.5);
  s_const_ = 2.0 - h_integral_inverse(h_integral(2.5) - h(2.0));
}

double ZipfSampler::h(double x) const noexcept { return std::exp(-s_ * std::log(x)); }

double ZipfSampler::h_integral(double x) const noexcept {
  const double log_x = std::log(x);
  return helper2((1.0 - s_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double x) const noexcept {
  double t = x * (1.0 - s_);
  if (t < -1.0) t = -1.0;  // rounding can push t just past the pole
  return std::exp(helper1(t) * x);
}

uint64_t ZipfSampler::sample(Rng& rng) const noexcept {
  const double n = static_cast<double>(keys_);
  for (;;) {
    const double u = h_integral_n_ + rng.unit() * (h_integral_x1_ - h_integral_n_);
    const double x = h_integral_inverse(u);
    double k = std::floor(x + 0.5);
    k = std::clamp(k, 1.0, n);
    // Accept at once when k is close enough to x (most draws), else the exact test.
    if (k - x <= s_const_ || u >= h_integral(k + 0.5) - h(k)) {
      return static_cast<uint64_t>(k) - 1;
    }
  }
}

}  // namespace kioku::client
