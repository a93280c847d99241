// client/reply_lines.h — the line rules kioku-bench's text and meta codecs share.
//
// Owns: finding one "\r\n"-terminated reply line in a byte buffer (with a length bound, so junk
// without a newline is an error rather than a hang), recognising memcached's error lines, and
// appending request pieces to a caller's buffer. Must not: allocate or do I/O.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <system_error>

#include "client/codec.h"

namespace kioku::client {

// A reply line longer than this (without its value bytes) is not memcached talking.
inline constexpr std::size_t kMaxReplyLine = 2048;

enum class LineStatus : uint8_t { kNeedMore, kLine, kBad };

// The line starting at `pos` without its "\r\n"; `*next` is the offset just past it.
inline LineStatus read_line(std::string_view in, std::size_t pos, std::string_view* line,
                            std::size_t* next) {
  const std::size_t newline = in.find('\n', pos);
  if (newline == std::string_view::npos) {
    return in.size() - pos > kMaxReplyLine ? LineStatus::kBad : LineStatus::kNeedMore;
  }
  if (newline == pos || in[newline - 1] != '\r' || newline - pos > kMaxReplyLine) {
    return LineStatus::kBad;
  }
  *line = in.substr(pos, newline - 1 - pos);
  *next = newline + 1;
  return LineStatus::kLine;
}

// `line` is `word` alone or `word` followed by a space and more.
inline bool starts_with_word(std::string_view line, std::string_view word) {
  return line.starts_with(word) && (line.size() == word.size() || line[word.size()] == ' ');
}

// An error line ends any reply; returns false if `line` is not one.
inline bool classify_error(std::string_view line, ReplyKind* kind) {
  if (starts_with_word(line, "ERROR")) {
    *kind = ReplyKind::kError;
  } else if (starts_with_word(line, "CLIENT_ERROR")) {
    *kind = ReplyKind::kClientError;
  } else if (starts_with_word(line, "SERVER_ERROR")) {
    *kind = ReplyKind::kServerError;
  } else {
    return false;
  }
  return true;
}

inline Reply protocol_error_reply() {
  return Reply{ReplyStatus::kProtocolError, 0, ReplyKind::kError, 0};
}

// Appends `piece` at *pos if it fits; false (and nothing written) if not.
inline bool put_bytes(std::span<char> out, std::size_t* pos, std::string_view piece) {
  if (out.size() - *pos < piece.size()) return false;
  std::memcpy(out.data() + *pos, piece.data(), piece.size());
  *pos += piece.size();
  return true;
}

// "<verb><key><middle><value length>\r\n<value>\r\n", the storage line both text ("set k 0 0 N")
// and meta ("ms k N") send; 0 if it does not fit in `out`.
inline std::size_t put_storage_request(std::span<char> out, std::string_view verb,
                                       std::string_view key, std::string_view middle,
                                       std::string_view value) {
  std::size_t pos = 0;
  char length[24];
  auto [end, ec] = std::to_chars(length, length + sizeof length, value.size());
  if (ec != std::errc()) return 0;
  if (put_bytes(out, &pos, verb) && put_bytes(out, &pos, key) && put_bytes(out, &pos, middle) &&
      put_bytes(out, &pos, std::string_view(length, static_cast<std::size_t>(end - length))) &&
      put_bytes(out, &pos, "\r\n") && put_bytes(out, &pos, value) && put_bytes(out, &pos, "\r\n")) {
    return pos;
  }
  return 0;
}

}  // namespace kioku::client
