// client/binary_codec.h — memcached's binary protocol for kioku-bench: requests out, replies in.
//
// Owns: composing GET, SET (flags 0, no expiry, no CAS) and VERSION requests with their 24-byte
// headers, and parsing one response from the front of a byte buffer: the response magic, the
// opcode of the request it answers and the request's opaque are checked, so a reply that does
// not pair with its request is a protocol error rather than a silently wrong count. Status
// mapping: success is a hit / stored / version; KEY_ENOENT a get miss (a set's NOT_FOUND);
// KEY_EEXISTS, NOT_STORED as the text replies; UNKNOWN_COMMAND as ERROR; E2BIG and EINVAL as
// CLIENT_ERROR; anything else as SERVER_ERROR. Must not: allocate, do I/O, or assume a reply
// arrives in one piece: a reply split at any byte parses as kNeedMore until it is whole.
#pragma once

#include "client/codec.h"

namespace kioku::client {

Reply parse_binary_reply(std::string_view in, OpType op, uint32_t opaque) noexcept;
std::size_t compose_binary_get(std::span<char> out, std::string_view key, uint32_t opaque) noexcept;
std::size_t compose_binary_set(std::span<char> out, std::string_view key, std::string_view value,
                               uint32_t opaque) noexcept;
std::size_t compose_binary_version(std::span<char> out, uint32_t opaque) noexcept;

class BinaryCodec final : public Codec {
 public:
  std::size_t request_overhead() const noexcept override;
  std::size_t reply_overhead() const noexcept override;
  std::size_t compose_get(std::span<char> out, std::string_view key,
                          uint32_t opaque) const noexcept override {
    return compose_binary_get(out, key, opaque);
  }
  std::size_t compose_set(std::span<char> out, std::string_view key, std::string_view value,
                          uint32_t opaque) const noexcept override {
    return compose_binary_set(out, key, value, opaque);
  }
  std::size_t compose_version(std::span<char> out, uint32_t opaque) const noexcept override {
    return compose_binary_version(out, opaque);
  }
  Reply parse_reply(std::string_view in, OpType op, uint32_t opaque) const noexcept override {
    return parse_binary_reply(in, op, opaque);
  }
};

}  // namespace kioku::client
