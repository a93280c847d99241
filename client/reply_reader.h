// client/reply_reader.h — the memcached text protocol's replies, read from the client's side.
//
// Owns: parsing one whole reply from the front of a byte buffer for the kioku client library:
// retrieval replies (VALUE blocks with key, flags, length, optional CAS, then END) into Items,
// and one-line replies (STORED, NOT_FOUND, a number for incr/decr, VERSION ..., STAT lines up to
// END for stats). Must not: do I/O or keep state between calls; a reply split at any byte is
// kNeedMore until whole. kioku-bench keeps its own allocation-free codec (text_codec.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kioku::client {

struct Item {
  std::string key;
  uint32_t flags = 0;
  uint64_t cas = 0;  // gets only
  std::string value;
};

enum class ReadStatus : uint8_t { kNeedMore, kDone, kMalformed };

struct ReadResult {
  ReadStatus status = ReadStatus::kNeedMore;
  std::size_t consumed = 0;
};

// A retrieval reply: appends each VALUE to `items`. A reply that is one error line instead
// (ERROR, CLIENT_ERROR ..., SERVER_ERROR ...) is kDone with the line in `error_line`.
ReadResult read_retrieval(std::string_view in, std::vector<Item>* items, std::string* error_line);

// One line, without its "\r\n".
ReadResult read_line(std::string_view in, std::string* line);

// "STAT name value" lines up to END (or a single error line, left in `error_line`).
ReadResult read_stats(std::string_view in, std::vector<std::pair<std::string, std::string>>* stats,
                      std::string* error_line);

bool is_error_line(std::string_view line);

}  // namespace kioku::client
