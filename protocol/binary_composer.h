// protocol/binary_composer.h — the memcached binary protocol, response side, as bytes.
//
// Owns: encoding the 24-byte response header (big-endian) and memcached 1.6.18's error texts.
// Must not: know about items, sockets or the cache. Item values are never copied here: the
// daemon sends a composed header + extras (+ key), then the value straight from item memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/binary_parser.h"

namespace kioku::protocol {

// A response header in host byte order; the magic and data type are always memcached's.
struct BinaryResponseHeader {
  uint8_t opcode = 0;
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  BinaryStatus status = BinaryStatus::kSuccess;
  uint32_t body_length = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
};

// Writes kBinaryHeaderSize bytes.
void encode_binary_response_header(const BinaryResponseHeader& header,
                                   std::span<char, kBinaryHeaderSize> out);

// The body memcached sends with an error status ("Not found", "Too large." ...); empty for
// statuses that carry no text (success, AUTH_CONTINUE).
std::string_view binary_status_text(BinaryStatus status);

// The longest error response: header + the longest status text.
inline constexpr std::size_t kMaxBinaryErrorSize = kBinaryHeaderSize + 64;

// ENOMEM texts: memcached names what it could not allocate, except for SASL data.
inline constexpr std::string_view kNoMemoryForItem = "Out of memory allocating item";
inline constexpr std::string_view kNoMemoryForNewItem = "Out of memory allocating new item";
inline constexpr std::string_view kNoMemoryForIncrement = "Out of memory incrementing value";

// Header + text of an error response (`text` empty: binary_status_text(status)); returns the
// bytes written (<= kMaxBinaryErrorSize; a longer text is cut there).
std::size_t compose_binary_error(std::span<char, kMaxBinaryErrorSize> out, uint8_t opcode,
                                 uint32_t opaque, BinaryStatus status, std::string_view text = {});

// One STAT response packet: key = name, value = value. `out` must hold
// kBinaryHeaderSize + name.size() + value.size() bytes; returns that size.
std::size_t compose_binary_stat(std::span<char> out, uint8_t opcode, uint32_t opaque,
                                std::string_view name, std::string_view value);

// Big-endian stores, for extras (flags, incr/decr value).
void store_be32(char* at, uint32_t value);
void store_be64(char* at, uint64_t value);

}  // namespace kioku::protocol
