// protocol/meta_composer.cc — see meta_composer.h. Formats follow memcached 1.6.18.
#include "protocol/meta_composer.h"

#include <charconv>
#include <cstdio>

#include "protocol/meta_parser.h"

namespace kioku::protocol {

void MetaReplyLine::put(std::string_view s) {
  const std::size_t n = std::min(s.size(), out_.size() - length_);
  for (std::size_t i = 0; i < n; ++i) out_[length_ + i] = s[i];
  length_ += n;
}

void MetaReplyLine::value_status(uint32_t length) {
  put("VA");
  number_flag(' ', length);
}

void MetaReplyLine::number_flag(char letter, uint64_t value) {
  char buf[24];
  buf[0] = ' ';
  std::size_t n = 1;
  if (letter != ' ') buf[n++] = letter;
  n = static_cast<std::size_t>(std::to_chars(buf + n, buf + sizeof buf, value).ptr - buf);
  put(std::string_view(buf, n));
}

void MetaReplyLine::ttl_flag(int64_t ttl) {
  if (ttl < 0) {
    put(" t-1");
  } else {
    number_flag('t', static_cast<uint64_t>(ttl));
  }
}

void MetaReplyLine::token(std::string_view token) {
  put(" ");
  put(token);
}

void MetaReplyLine::key_flag(std::string_view key, bool binary) {
  put(" k");
  if (!binary) {
    put(key);
    return;
  }
  char encoded[4 * ((255 + 2) / 3)];
  put(std::string_view(encoded, base64_encode(key.substr(0, 255), encoded)));
  put(" b");
}

void MetaReplyLine::letter(char c) {
  const char buf[2] = {' ', c};
  put(std::string_view(buf, 2));
}

std::size_t MetaReplyLine::finish() {
  put("\r\n");
  return length_;
}

std::size_t compose_meta_debug(std::span<char> out, std::string_view key, bool binary, int64_t exp,
                               uint64_t last_access, uint64_t cas, bool fetched, uint32_t cls,
                               uint64_t size) {
  char encoded[4 * ((255 + 2) / 3)];
  if (binary) key = std::string_view(encoded, base64_encode(key.substr(0, 255), encoded));
  const int n = std::snprintf(
      out.data(), out.size(), "ME %.*s exp=%lld la=%llu cas=%llu fetch=%s cls=%u size=%llu\r\n",
      static_cast<int>(key.size()), key.data(), static_cast<long long>(exp),
      static_cast<unsigned long long>(last_access), static_cast<unsigned long long>(cas),
      fetched ? "yes" : "no", cls, static_cast<unsigned long long>(size));
  if (n < 0) return 0;
  return std::min(static_cast<std::size_t>(n), out.size() - 1);
}

}  // namespace kioku::protocol
