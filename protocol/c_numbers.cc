// protocol/c_numbers.cc — see c_numbers.h.
#include "protocol/c_numbers.h"

#include <charconv>
#include <limits>
#include <system_error>

namespace kioku::protocol {
namespace {

// What C's strtoul/strtoull/strtol see in a word, as memcached's safe_strto* helpers use them.
struct CNumber {
  bool ok = false;  // digits present, no ERANGE, followed by the word's end or C whitespace
  bool negative = false;
  uint64_t magnitude = 0;
};

CNumber scan_c_number(std::string_view word) {
  CNumber n;
  std::size_t i = 0;
  while (i < word.size() && is_c_space(word[i])) ++i;
  if (i < word.size() && (word[i] == '+' || word[i] == '-')) {
    n.negative = word[i] == '-';
    ++i;
  }
  const char* first = word.data() + i;
  const char* last = word.data() + word.size();
  const auto [ptr, ec] = std::from_chars(first, last, n.magnitude, 10);
  if (ptr == first) return n;  // no digits (from_chars also refuses a second sign)
  if (ec == std::errc::result_out_of_range) return n;
  if (ptr != last && !is_c_space(*ptr)) return n;
  n.ok = true;
  return n;
}

}  // namespace

bool parse_strtoull(std::string_view word, uint64_t* out) {
  const CNumber n = scan_c_number(word);
  if (!n.ok) return false;
  const uint64_t value = n.negative ? 0 - n.magnitude : n.magnitude;
  if (n.negative && static_cast<int64_t>(value) < 0) return false;
  *out = value;
  return true;
}

bool parse_strtoul(std::string_view word, uint32_t* out) {
  uint64_t value = 0;
  if (!parse_strtoull(word, &value)) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

bool parse_strtol(std::string_view word, int32_t* out) {
  const CNumber n = scan_c_number(word);
  if (!n.ok) return false;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (n.magnitude > kMaxPositive + (n.negative ? 1 : 0)) return false;
  const uint64_t bits = n.negative ? 0 - n.magnitude : n.magnitude;
  *out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

}  // namespace kioku::protocol
