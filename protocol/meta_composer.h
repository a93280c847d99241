// protocol/meta_composer.h — memcached meta protocol reply lines, as bytes.
//
// Owns: the layout of a meta status line ("HD", "VA <n>", "EN", ...) followed by return flags in
// request order (" c<cas>", " t<ttl>", " k<key>[ b]", " O<opaque>", " W"...), and the "me" debug
// line. Must not: know about items, sockets or the cache. Values are never copied here: the
// daemon sends the status line, then item bytes, then "\r\n".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace kioku::protocol {

// Room for any meta status line: a 250-byte key base64-encoded, 17 flags (opaques up to 32
// bytes, 20-digit numbers).
inline constexpr std::size_t kMaxMetaReplyLine = 1024;

inline constexpr std::string_view kMetaNoop = "MN\r\n";

class MetaReplyLine {
 public:
  explicit MetaReplyLine(std::span<char> out) : out_(out) {}

  // The two-letter status: "HD", "EN", "NF", "NS", "EX".
  void status(std::string_view code) { put(code); }
  // "VA <length>"
  void value_status(uint32_t length);
  // " <letter><number>"
  void number_flag(char letter, uint64_t value);
  // " t<ttl>": -1 means "never expires".
  void ttl_flag(int64_t ttl);
  // " <token>" (an opaque echoed as sent, letter included).
  void token(std::string_view token);
  // " k<key>", or " k<base64 of key> b" for keys that came base64-encoded.
  void key_flag(std::string_view key, bool binary);
  // " <letter>" (W, X, Z).
  void letter(char c);
  // Appends "\r\n"; returns the line's length.
  std::size_t finish();

 private:
  void put(std::string_view s);
  std::span<char> out_;
  std::size_t length_ = 0;
};

// "ME <key> exp=<exp> la=<la> cas=<cas> fetch=<yes|no> cls=<cls> size=<size>\r\n"
std::size_t compose_meta_debug(std::span<char> out, std::string_view key, bool binary, int64_t exp,
                               uint64_t last_access, uint64_t cas, bool fetched, uint32_t cls,
                               uint64_t size);

}  // namespace kioku::protocol
