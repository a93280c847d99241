// client/meta_bench_codec.h — memcached's meta protocol for kioku-bench: requests out, replies in.
//
// Owns: composing the base forms "mg <key> v", "ms <key> <datalen>" (then the data block) and
// "version", and parsing their replies: VA <len> with its data block or EN for mg; HD, NS, EX or
// NF for ms; VERSION; and ERROR / CLIENT_ERROR / SERVER_ERROR lines for any of them. Return
// flags after a code are tolerated and ignored. Must not: allocate, do I/O, or assume a reply
// arrives in one piece: a reply split at any byte parses as kNeedMore until it is whole.
// (client/meta_codec.h is the cluster client library's richer meta codec; this one is the
// bench's fixed-buffer mirror of the text codec.)
#pragma once

#include "client/codec.h"

namespace kioku::client {

Reply parse_meta_bench_reply(std::string_view in, OpType op) noexcept;
std::size_t compose_meta_bench_get(std::span<char> out, std::string_view key) noexcept;
std::size_t compose_meta_bench_set(std::span<char> out, std::string_view key,
                                   std::string_view value) noexcept;

class MetaBenchCodec final : public Codec {
 public:
  std::size_t request_overhead() const noexcept override;
  std::size_t reply_overhead() const noexcept override;
  std::size_t compose_get(std::span<char> out, std::string_view key,
                          uint32_t /*opaque*/) const noexcept override {
    return compose_meta_bench_get(out, key);
  }
  std::size_t compose_set(std::span<char> out, std::string_view key, std::string_view value,
                          uint32_t /*opaque*/) const noexcept override {
    return compose_meta_bench_set(out, key, value);
  }
  std::size_t compose_version(std::span<char> out, uint32_t opaque) const noexcept override;
  Reply parse_reply(std::string_view in, OpType op, uint32_t /*opaque*/) const noexcept override {
    return parse_meta_bench_reply(in, op);
  }
};

}  // namespace kioku::client
