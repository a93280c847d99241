// daemon/connection_limits.h — the per-connection memory bounds a hostile client cannot exceed.
//
// Owns: the numbers, and why each is what it is. Must not: depend on anything; connection.cc,
// executor.cc and the tests read them.
#pragma once

#include <cstddef>

namespace kioku::daemon {

// A request line still without its '\n' after this many bytes closes the connection. memcached
// closes non-get lines after 2048 bytes (the parser does the same) but lets a multi-get line grow
// without bound; Kioku allows a multi-get line this long (some 30,000 keys of 250 bytes) and
// then closes, so a client streaming "get " and keys forever cannot take all memory.
inline constexpr std::size_t kMaxRequestLineBytes = std::size_t{8} << 20;

// Output a connection may own (composed bytes and the bookkeeping of zero-copy values; the values
// themselves live in the cache) before it stops parsing pipelined requests until the client has
// read some: pipelining stays fast and a client that never reads holds at most this much.
inline constexpr std::size_t kOutputPauseBytes = std::size_t{1} << 20;
// lru_crawler metadump: rows are made while less than this is waiting to be sent, so a dump
// holds about this much memory however many items it lists.
inline constexpr std::size_t kDumpStepBytes = std::size_t{256} << 10;

// Values being received are buffered outside -m; each worker bounds what its connections hold
// that way to max(-m / threads, this, 2 x -I). Past it a storage command gets memcached's
// "SERVER_ERROR out of memory storing object" and its value is discarded as it arrives.
inline constexpr std::size_t kMinValueBufferBudget = std::size_t{64} << 20;

// One multi-get whose reply would own more than this is cut short with memcached's
// "SERVER_ERROR out of memory writing get response" and the connection is closed after it (the
// VALUE lines already queued make the reply unusable anyway).
inline constexpr std::size_t kMaxReplyOwnedBytes = std::size_t{64} << 20;

}  // namespace kioku::daemon
