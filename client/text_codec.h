// client/text_codec.h — the memcached text protocol for kioku-bench: requests out, replies in.
//
// Owns: composing "get", "set" and "version" lines and parsing their replies (VALUE blocks then
// END; STORED / NOT_STORED / EXISTS / NOT_FOUND; VERSION; ERROR / CLIENT_ERROR / SERVER_ERROR
// lines). This is
// the mirror image of protocol/text_parser: the same byte rules, read from the other side.
// Must not: allocate, do I/O, or assume a reply arrives in one piece: a reply split at any byte
// parses as kNeedMore until it is whole.
#pragma once

#include "client/codec.h"

namespace kioku::client {

Reply parse_text_reply(std::string_view in, OpType op) noexcept;
std::size_t compose_text_get(std::span<char> out, std::string_view key) noexcept;
std::size_t compose_text_set(std::span<char> out, std::string_view key,
                             std::string_view value) noexcept;
std::size_t compose_text_version(std::span<char> out) noexcept;

class TextCodec final : public Codec {
 public:
  std::size_t request_overhead() const noexcept override;
  std::size_t reply_overhead() const noexcept override;
  std::size_t compose_get(std::span<char> out, std::string_view key,
                          uint32_t /*opaque*/) const noexcept override {
    return compose_text_get(out, key);
  }
  std::size_t compose_set(std::span<char> out, std::string_view key, std::string_view value,
                          uint32_t /*opaque*/) const noexcept override {
    return compose_text_set(out, key, value);
  }
  std::size_t compose_version(std::span<char> out, uint32_t /*opaque*/) const noexcept override {
    return compose_text_version(out);
  }
  Reply parse_reply(std::string_view in, OpType op, uint32_t /*opaque*/) const noexcept override {
    return parse_text_reply(in, op);
  }
};

}  // namespace kioku::client
