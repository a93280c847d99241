// client/meta_codec.h — memcached's meta protocol seen from the client library's side.
//
// Owns: composing the meta requests the cluster client sends (mg, ms, md, ma, mn) and parsing
// one meta reply (VA with its data block, HD, EN, NF, NS, EX, MN, or an error line) from the
// front of a byte buffer. This is the mirror image of protocol/meta_parser and meta_composer:
// the same byte rules, read from the other side. Must not: do I/O or keep state between calls;
// a reply split at any byte is kNeedMore until whole. Keys are sent as they are (no base64):
// KiokuClient only sends keys valid_key() accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "client/reply_reader.h"

namespace kioku::client {

enum class MetaCode : uint8_t {
  kValue,      // VA: a hit with data
  kHeader,     // HD: success without data (stored, deleted, touched)
  kEnd,        // EN: a get miss
  kNotFound,   // NF
  kNotStored,  // NS
  kExists,     // EX: cas mismatch
  kNoop,       // MN: the end of a quiet pipeline
  kError,      // ERROR / CLIENT_ERROR ... / SERVER_ERROR ...: the line is in `error_line`
};

struct MetaReply {
  MetaCode code = MetaCode::kEnd;
  bool has_key = false;  // the k flag came back
  Item item;             // key (k), flags (f), cas (c), value (VA's data block)
  std::string error_line;
};

// Parses one reply from the front of `in` into `reply` (overwritten).
ReadResult read_meta_reply(std::string_view in, MetaReply* reply);

// The mode letter of `ms ... M<mode>` for a text store command (cas is a set with C<cas>).
enum class StoreMode : uint8_t;
char meta_store_mode(StoreMode mode);

// Each appends one whole request, "\r\n" included, to `out`.
// mg <key> v f k [c] [q]: a get (gets with `with_cas`); quiet ones are ended with mn.
void compose_meta_get(std::string* out, std::string_view key, bool with_cas, bool quiet);
// mg <key> T<exptime>: touch; HD on a hit, EN on a miss.
void compose_meta_touch(std::string* out, std::string_view key, int64_t exptime);
// ms <key> <datalen> [F<flags>] [T<exptime>] [C<cas>] M<mode>, then the data block.
// append/prepend carry no flags or exptime, as the text commands ignore theirs.
void compose_meta_store(std::string* out, StoreMode mode, std::string_view key,
                        std::string_view value, uint32_t flags, int64_t exptime, uint64_t cas);
// md <key>
void compose_meta_delete(std::string* out, std::string_view key);
// ma <key> v D<delta> MI|MD
void compose_meta_arithmetic(std::string* out, std::string_view key, bool increment,
                             uint64_t delta);
// mn
void compose_meta_noop(std::string* out);

}  // namespace kioku::client
