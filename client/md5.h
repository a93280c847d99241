// client/md5.h — MD5 (RFC 1321), the hash ketama places servers and keys with.
//
// Owns: one-shot MD5 of a byte string. Must not: be used for anything that needs a secure
// hash; ketama only needs MD5's exact bits, so libmemcached and twemproxy agree with us.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace kioku::client {

using Md5Digest = std::array<uint8_t, 16>;

Md5Digest md5(std::string_view bytes) noexcept;

}  // namespace kioku::client
