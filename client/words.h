// client/words.h — the small text helpers every client/ parser uses.
//
// Replies, options and node lists are all space-separated words holding decimal numbers; these
// two helpers read them the same way everywhere in client/ (whole-token numbers, no locale, no
// allocation).
#pragma once

#include <algorithm>
#include <charconv>
#include <string_view>
#include <system_error>

namespace kioku::client {

// The whole of `text` as a number (integral or floating): no sign games, no trailing bytes.
template <typename T>
bool parse_number(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits off the next space-separated word of *rest (empty when none is left).
inline std::string_view next_word(std::string_view* rest) {
  const auto start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  rest->remove_prefix(start);
  const auto end = std::min(rest->find(' '), rest->size());
  std::string_view word = rest->substr(0, end);
  rest->remove_prefix(end);
  return word;
}

}  // namespace kioku::client
