// client/key_sampler.h — random numbers and key-index distributions for the load generator.
//
// Owns: a small fast PRNG (xoshiro256**), a uniform key sampler and a Zipf key sampler using
// Hörmann & Derflinger's rejection-inversion method (O(1) memory and expected O(1) time, so a
// key space of billions costs nothing to set up). Must not: allocate per sample, share state
// between threads (each thread owns its Rng), or know what a key looks like as text.
#pragma once

#include <cstdint>

namespace kioku::client {

class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept;
  uint64_t next() noexcept;
  // Uniform in [0, bound) by Lemire's multiply-shift (bias < bound / 2^64, negligible here).
  uint64_t below(uint64_t bound) noexcept {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }
  // Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_[4];
};

class UniformSampler {
 public:
  explicit UniformSampler(uint64_t keys) noexcept : keys_(keys ? keys : 1) {}
  uint64_t sample(Rng& rng) const noexcept { return rng.below(keys_); }

 private:
  uint64_t keys_;
};

// P(index = k - 1) is proportional to 1 / k^s for k in [1, keys]: index 0 is the hottest key.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t keys, double s) noexcept;
  uint64_t sample(Rng& rng) const noexcept;
  double exponent() const noexcept { return s_; }

 private:
  double h(double x) const noexcept;
  double h_integral(double x) const noexcept;
  double h_integral_inverse(double x) const noexcept;

  uint64_t keys_;
  double s_;
  double h_integral_x1_;
  double h_integral_n_;
  double s_const_;
};

// The distribution a run uses, chosen once; sample() is a predictable branch, not a virtual call.
class KeySampler {
 public:
  static KeySampler uniform(uint64_t keys) noexcept { return KeySampler(keys, 0.0, false); }
  static KeySampler zipf(uint64_t keys, double s) noexcept { return KeySampler(keys, s, true); }
  uint64_t sample(Rng& rng) const noexcept {
    return is_zipf_ ? zipf_.sample(rng) : uniform_.sample(rng);
  }

 private:
  KeySampler(uint64_t keys, double s, bool is_zipf) noexcept
      : uniform_(keys), zipf_(keys, is_zipf ? s : 1.0), is_zipf_(is_zipf) {}
  UniformSampler uniform_;
  ZipfSampler zipf_;
  bool is_zipf_;
};

}  // namespace kioku::client
