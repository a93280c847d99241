// slab/counter_text.h — reading an item's value as an incr/decr counter.
//
// memcached applies safe_strtoull to the stored bytes, so which values count as numbers (leading
// whitespace, a sign, trailing space padding left by an in-place decr) is part of the protocol.
// The text/binary arithmetic path (cache.cc) and the meta one (meta_ops.cc) share this reading.
#pragma once

#include <cstdint>
#include <string_view>

namespace kioku::slab {

// memcached's safe_strtoull over a value that is not NUL-terminated: optional leading space,
// optional sign, digits, then end of value or a space; no overflow; "-N" only if it does not
// look negative as a signed number.
inline bool parse_counter(std::string_view s, uint64_t* out) {
  std::size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (i < s.size() && is_space(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  const std::size_t digits_start = i;
  uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;  // ERANGE
    v = v * 10 + d;
  }
  if (i == digits_start) return false;
  if (i < s.size() && !is_space(s[i])) return false;
  if (negative) {
    v = ~v + 1;  // what strtoull does with a minus sign
    if (static_cast<int64_t>(v) < 0) return false;
  }
  *out = v;
  return true;
}

}  // namespace kioku::slab
