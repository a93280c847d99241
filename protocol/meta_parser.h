// protocol/meta_parser.h — memcached's meta protocol (mg ms md ma mn me), bytes in, MetaRequest
// out.
//
// Owns: recognising a meta command line, tokenizing it, validating its flags exactly as memcached
// 1.6.18 does (down to which error string a malformed line earns), base64 key decoding, and the
// ms data block framing. Must not: do I/O, touch the cache, allocate, or keep state between
// calls. String views in a MetaRequest point into the caller's buffer, except a base64-decoded
// key, which lives inside the request itself (so copy a MetaRequest only before using key()).
//
// A request split at any byte boundary parses the same as one delivered whole: the parser
// answers "need more" until the full line is present.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kioku::protocol {

enum class MetaCommand : uint8_t { kGet, kSet, kDelete, kArithmetic, kNoop, kDebug };

// memcached refuses more tokens than this on a meta line (command, key, flags, terminator).
inline constexpr std::size_t kMaxMetaTokens = 20;
inline constexpr std::size_t kMaxMetaFlags = kMaxMetaTokens;  // an upper bound, never reached
inline constexpr std::size_t kMaxOpaqueLength = 32;           // "O" token, letter included

// One flag word as sent: `letter` is its first byte, `token` the whole word ("O123", "T30").
struct MetaFlag {
  char letter = 0;
  std::string_view token{};
  std::string_view argument() const { return token.substr(1); }
};

struct MetaRequest {
  MetaCommand command = MetaCommand::kNoop;
  // The flags in the order sent; replies echo return flags in this order.
  std::array<MetaFlag, kMaxMetaFlags> flags{};
  std::size_t flag_count = 0;

  // Decoded flag arguments (meaningful only when the flag was given).
  bool base64_key = false;    // b: key() is the decoded key; echo it re-encoded
  bool quiet = false;         // q
  bool return_value = false;  // v
  bool no_bump = false;       // u
  bool has_ttl = false;       // T
  int32_t ttl = 0;
  bool vivify = false;  // N
  int32_t vivify_ttl = 0;
  bool has_recache = false;  // R
  int32_t recache_ttl = 0;
  bool has_cas = false;  // C: compare CAS
  uint64_t cas = 0;
  bool has_new_cas = false;  // E: explicit new CAS (newer than memcached 1.6.18)
  uint64_t new_cas = 0;
  uint32_t client_flags = 0;  // F
  char mode = 0;              // M: ms E/A/P/R/S, ma I/+/D/-
  uint64_t delta = 1;         // D
  uint64_t initial = 0;       // J
  bool invalidate = false;    // I
  bool remove_value = false;  // x: md keeps the item, empties its value (newer)

  uint32_t value_length = 0;  // ms: declared data length
  std::string_view value{};   // ms: the data block, without its \r\n

  std::string_view key() const {
    return base64_key ? std::string_view(decoded_key_.data(), decoded_length_) : raw_key_;
  }
  std::string_view raw_key() const { return raw_key_; }
  bool has_flag(char letter) const;

  // Parser internals (public so the parser can fill them; not for callers).
  std::string_view raw_key_{};
  std::array<char, 192> decoded_key_{};
  std::size_t decoded_length_ = 0;
};

enum class MetaStatus : uint8_t {
  kNotMeta,   // not a meta command: hand the bytes to the text parser
  kNeedMore,  // nothing consumed; call again with more bytes appended
  kRequest,   // `consumed` bytes (the line only, for ms) form `request`
  kError,     // `consumed` bytes were rejected: reply `error`, then skip `swallow` more bytes
};

struct MetaParseResult {
  MetaStatus status = MetaStatus::kNotMeta;
  std::size_t consumed = 0;
  // kError: memcached's exact reply line, without "\r\n"; empty with close_connection.
  std::string_view error{};
  // kError: data-block bytes memcached discards after the error (an ms whose length was read).
  uint64_t swallow = 0;
  bool close_connection = false;  // line too long without a newline
  MetaRequest request;
};

// Parses one meta command line (up to and including '\n'). kNotMeta whenever the first word is
// not exactly mg/ms/md/ma/mn/me. For ms the caller then needs request.value_length + 2 more
// bytes (parse_data_block in text_parser.h frames them the same way).
MetaParseResult parse_meta_command_line(std::string_view buffer);

// base64 (RFC 4648, padded) as memcached's meta "b" flag uses it. decode returns the decoded
// length, 0 on malformed input or if out is too small.
std::size_t base64_decode(std::string_view in, char* out, std::size_t out_size);
// Returns the encoded length; out must hold 4 * ceil(in.size() / 3) bytes.
std::size_t base64_encode(std::string_view in, char* out);

}  // namespace kioku::protocol
