// protocol/c_numbers.h — numbers read the way memcached reads them.
//
// memcached parses protocol numbers with C's strtoul/strtoull/strtol wrapped in its safe_strto*
// helpers, and clients see the consequences (leading whitespace skipped, "+5" accepted, a value
// wrapped to 32 bits, "-1" refused for unsigned fields only when it looks negative as int64).
// The text and meta parsers both need exactly those rules, so they live here once. Pure: no
// allocation, no locale, no errno.
#pragma once

#include <cstdint>
#include <string_view>

namespace kioku::protocol {

// C's isspace() in the "C" locale.
inline constexpr bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// safe_strtoull: a '-' is refused only when the wrapped result looks negative as int64.
bool parse_strtoull(std::string_view word, uint64_t* out);
// safe_strtoul on LP64: strtoul is 64-bit, the result is truncated to uint32.
bool parse_strtoul(std::string_view word, uint32_t* out);
// safe_strtol on LP64: strtol is 64-bit (ERANGE outside int64), the result truncated to int32.
bool parse_strtol(std::string_view word, int32_t* out);

}  // namespace kioku::protocol
