// protocol/text_parser.h — the memcached text protocol, bytes in, TextRequest out.
//
// Owns: splitting a byte buffer into one request (command line + data block for storage
// commands) and validating it exactly as memcached 1.6.18 does, down to which error string a
// malformed line earns. Must not: do I/O, touch the cache, allocate, or keep state between
// calls. Every string_view in a TextRequest points into the caller's buffer, so a request is
// valid only while that buffer is unchanged.
//
// A request split at any byte boundary parses the same as one delivered whole: the parser only
// ever answers "need more" until the full request is present.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kioku::protocol {

inline constexpr std::size_t kMaxKeyLength = 250;
// memcached closes a connection that sends this many bytes without a newline, unless the line
// is a (possibly huge) multi-get.
inline constexpr std::size_t kMaxLineWithoutNewline = 2048;

enum class TextCommand : uint8_t {
  kGet,
  kGets,
  kGat,
  kGats,
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  kIncr,
  kDecr,
  kDelete,
  kTouch,
  kFlushAll,
  kVersion,
  kVerbosity,
  kQuit,
  kShutdown,
  kStats,
  kCacheMemlimit,
  kLruCrawler,  // arguments: the rest of the line
  kSlabs,       // arguments: the rest of the line
  kLru,         // "lru tune|mode|temp_ttl ...": arguments: the rest of the line
  kWatch,       // arguments: the event kinds ("fetchers mutations ...")
  // Managed-memcached auto-discovery: "config get <key>" and "config set <key> <flags>
  // <bytes>" + data block (key, flags, value_length, value as for storage commands).
  kConfigGet,
  kConfigSet,
  kRefreshCerts,  // TLS certificate reload; any words after it are ignored
};

// "config set" counts as storage: it carries a data block the connection reads the same way.
inline constexpr bool is_storage_command(TextCommand c) {
  return c == TextCommand::kSet || c == TextCommand::kAdd || c == TextCommand::kReplace ||
         c == TextCommand::kAppend || c == TextCommand::kPrepend || c == TextCommand::kCas ||
         c == TextCommand::kConfigSet;
}
inline constexpr bool is_retrieval_command(TextCommand c) {
  return c == TextCommand::kGet || c == TextCommand::kGets || c == TextCommand::kGat ||
         c == TextCommand::kGats;
}

// One parsed request. Which fields are meaningful depends on `command`.
struct TextRequest {
  TextCommand command = TextCommand::kGet;
  bool noreply = false;
  // Single-key commands (storage, incr/decr, delete, touch).
  std::string_view key{};
  // Retrieval commands: the keys, space separated, exactly as on the line (already validated:
  // each is 1..250 bytes). Walk them with KeyIterator.
  std::string_view keys{};
  uint32_t flags = 0;        // storage commands: client flags (strtoul, wrapped to 32 bits)
  // storage, touch, gat/gats, flush_all delay: the client's value as memcached reads it (strtol,
  // then wrapped to int32: "4294967296" reads as 0, "2147483648" as INT32_MIN).
  int64_t exptime = 0;
  uint32_t value_length = 0; // storage commands: declared data length (without the \r\n)
  uint64_t cas_unique = 0;   // cas: the compare value
  // incr/decr amount; cache_memlimit megabytes (wrapped to 32 bits); verbosity level (same).
  uint64_t delta = 0;
  bool has_argument = false; // flush_all: a delay was given
  // Storage commands: the data block, without its trailing \r\n.
  std::string_view value{};
  // stats: everything after "stats " (e.g. "settings", "items", "slabs", "reset"); empty for
  // plain "stats". Leading and trailing spaces are trimmed; inner runs of spaces are kept (walk
  // the words with KeyIterator). Unknown subcommands are the daemon's to answer ("ERROR").
  // shutdown: likewise everything after "shutdown". memcached answers, in this order:
  // "ERROR: shutdown not enabled" without -A; empty -> shut down; exactly "graceful" -> graceful
  // shutdown; anything else (even "noreply") -> "CLIENT_ERROR invalid shutdown mode".
  std::string_view arguments{};
};

// What went wrong with a request, mapped by the composer to memcached's exact reply.
enum class TextError : uint8_t {
  kNone,
  kUnknownCommand,        // "ERROR"
  kBadCommandLineFormat,  // "CLIENT_ERROR bad command line format"
  kBadDataChunk,          // "CLIENT_ERROR bad data chunk"
  kInvalidExptime,        // "CLIENT_ERROR invalid exptime argument"
  kInvalidDelta,          // "CLIENT_ERROR invalid numeric delta argument"
  kLineTooLong,           // no reply: memcached closes the connection
  kTooLarge,              // "SERVER_ERROR object too large for cache" (used by the daemon)
  // "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]" (two spaces): a
  // delete whose third word is anything but "0" or "noreply".
  kBadDeleteFormat,
};

enum class ParseStatus : uint8_t {
  kNeedMore,  // nothing consumed; call again with more bytes appended
  kRequest,   // `consumed` bytes form `request`
  kError,     // `consumed` bytes were rejected with `error`; see swallow_bytes / close
};

// kError results carry whatever of `request` was read before the error; in particular
// request.noreply is set exactly when memcached would have suppressed the error reply (the
// command had already seen its trailing "noreply": storage, incr/decr, delete, touch,
// flush_all, verbosity, cache_memlimit). A bare "ERROR" for a wrong token count is never
// suppressed, and get/gat/shutdown/stats have no noreply at all.
//
// Storage commands with a bad command line do NOT swallow their data block: memcached parses
// the data line that follows as the next command (and usually answers "ERROR" to it).
struct TextParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  std::size_t consumed = 0;
  TextError error = TextError::kNone;
  bool close_connection = false;  // kError: memcached closes the connection after replying
  TextRequest request;
};

// Parses only the command line (up to and including '\n').
//
// Lines: a line ends at '\n'; one '\r' before it is dropped; a NUL byte ends the line early
// (memcached works on C strings). Words are separated by runs of ' ' only (a tab is part of a
// word). Numbers follow memcached's safe_strto* helpers: leading C whitespace and a sign are
// allowed, a word may continue after the digits if the next byte is C whitespace ("5\tzz" is
// 5), "+5" and "007" are fine, a '-' is refused only where the wrapped value would look
// negative. memcached sees at most 24 tokens (23 words) per line; more words give "ERROR" for
// every fixed-arity command, while get/gets keep reading keys without limit.
//
// Line too long: with no '\n' in more than kMaxLineWithoutNewline bytes the result is kError /
// kLineTooLong / close_connection, unless the bytes (after at most 100 leading spaces) begin
// with "get " or "gets ". This is the one rule that depends on how bytes arrive, as it does in
// memcached: a long non-get line is fine if its '\n' comes in the same buffer.
//
// Commands memcached 1.6.18 knows but TextCommand does not (yet) have -- lru, extstore,
// misbehave, debugtime, mget... -- parse as kUnknownCommand ("ERROR") for now (the meta commands mg/ms/md/ma/mn/me have their own parser, meta_parser.h, which the
// daemon tries first); "bget" is memcached's old alias for get and parses
// as kGet. For storage commands the result's
// `consumed` covers the line alone; the caller then needs request.value_length + 2 more bytes
// (see parse_data_block). This split lets the daemon refuse or swallow a huge value without
// buffering it.
TextParseResult parse_command_line(std::string_view buffer);

enum class DataBlockStatus : uint8_t { kNeedMore, kOk, kBadDataChunk };
// Given the bytes after a storage command line, checks for value_length bytes plus "\r\n".
// kOk and kBadDataChunk both consume value_length + 2 bytes, as memcached does.
DataBlockStatus parse_data_block(std::string_view buffer, uint32_t value_length,
                                 std::string_view* value);

// Whole-request convenience over the two calls above (used by tests and the fuzzer): storage
// commands come back as kRequest only with their data block, consumed covering both.
TextParseResult parse_request(std::string_view buffer);

// Walks the space-separated keys (or stats/shutdown argument words) of a retrieval request without allocating.
class KeyIterator {
 public:
  explicit KeyIterator(std::string_view keys) : rest_(keys) {}
  // Returns false when no key is left.
  bool next(std::string_view* key);

 private:
  std::string_view rest_;
};

}  // namespace kioku::protocol
