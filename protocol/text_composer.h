// protocol/text_composer.h — memcached text protocol replies, as bytes.
//
// Owns: the exact reply strings and the formatting of variable reply lines (VALUE headers,
// STAT lines, numbers). Must not: know about items, sockets or the cache. Values are never
// copied here: the daemon sends the VALUE header from this file, then the item's bytes straight
// from item memory, then kCrlf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/text_parser.h"

namespace kioku::protocol {

inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kStored = "STORED\r\n";
inline constexpr std::string_view kNotStored = "NOT_STORED\r\n";
inline constexpr std::string_view kExists = "EXISTS\r\n";
inline constexpr std::string_view kNotFound = "NOT_FOUND\r\n";
inline constexpr std::string_view kDeleted = "DELETED\r\n";
inline constexpr std::string_view kTouched = "TOUCHED\r\n";
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kEnd = "END\r\n";
inline constexpr std::string_view kReset = "RESET\r\n";
inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kOutOfMemory = "SERVER_ERROR out of memory storing object\r\n";
inline constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";
inline constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
// shutdown (see TextRequest::arguments for the order memcached checks them in).
inline constexpr std::string_view kShutdownNotEnabled = "ERROR: shutdown not enabled\r\n";
inline constexpr std::string_view kInvalidShutdownMode = "CLIENT_ERROR invalid shutdown mode\r\n";
// cache_memlimit <megabytes>: < 8 is too small, > 1000000000 is taken for a byte count.
inline constexpr std::string_view kMemlimitTooSmall =
    "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n";
inline constexpr std::string_view kMemlimitNotBytes =
    "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n";
inline constexpr std::string_view kMemlimitAdjustFailed =
    "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n";

// The reply line for a parse error ("ERROR\r\n", "CLIENT_ERROR ...\r\n"); empty for errors that
// get no reply (kLineTooLong closes the connection silently).
std::string_view error_reply(TextError error);

// Big enough for any VALUE header: "VALUE " + 250-byte key + flags + length + cas + CRLF.
inline constexpr std::size_t kMaxValueHeader = 320;

// "VALUE <key> <flags> <bytes>[ <cas>]\r\n" into out; returns the bytes written.
// with_cas selects the gets/gats form.
std::size_t compose_value_header(std::span<char, kMaxValueHeader> out, std::string_view key,
                                 uint32_t flags, uint32_t bytes, bool with_cas, uint64_t cas);

// "<number>\r\n" (incr/decr reply); out must hold at least 22 bytes.
std::size_t compose_number(std::span<char> out, uint64_t value);

// "STAT <name> <value>\r\n"; returns 0 if out is too small.
std::size_t compose_stat(std::span<char> out, std::string_view name, std::string_view value);
std::size_t compose_stat(std::span<char> out, std::string_view name, uint64_t value);

}  // namespace kioku::protocol
