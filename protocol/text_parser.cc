// protocol/text_parser.cc — memcached 1.6.18 text protocol requests, parsed byte-exactly.
//
// Owns: line framing, tokenizing, per-command arity and argument validation, data blocks.
// Must not: allocate, do I/O, keep state, or decide anything that needs the cache or the
// daemon's settings (e.g. whether shutdown is enabled, whether a value is too large).
//
// Every rule here was checked against a running memcached 1.6.18; tests/protocol/ holds the
// observed input -> reply pairs.
#include "protocol/c_numbers.h"
#include "protocol/text_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>

namespace kioku::protocol {
namespace {

// memcached tokenizes into at most 24 tokens, the last being its "rest of line" terminator, so a
// command sees at most 23 words and `ntokens` (which counts the terminator) is at most 24.
constexpr std::size_t kMaxTokens = 24;
constexpr std::size_t kMaxWords = kMaxTokens - 1;
// How far memcached looks past leading spaces for "get "/"gets " on an over-long line.
constexpr std::size_t kMaxLeadingSpacesForLongGet = 100;

// A line split the way memcached's tokenize_command splits it.
struct Tokens {
  std::array<std::string_view, kMaxWords> words;
  std::size_t count = 0;  // words found, at most kMaxWords
  // memcached's ntokens: the words plus its terminator token.
  std::size_t ntokens() const { return count + 1; }
  std::string_view last() const { return words[count - 1]; }
};

Tokens tokenize(std::string_view line) {
  Tokens t;
  std::size_t i = 0;
  while (t.count < kMaxWords) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    std::size_t end = line.find(' ', i);
    if (end == std::string_view::npos) end = line.size();
    t.words[t.count++] = line.substr(i, end - i);
    i = end;
  }
  return t;
}

// The text after word `word` on `line` (a view inside it), without leading or trailing spaces.
std::string_view rest_after(std::string_view line, std::string_view word) {
  std::string_view rest = line.substr(static_cast<std::size_t>(word.data() - line.data()) + word.size());
  const std::size_t first = rest.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  rest.remove_prefix(first);
  rest.remove_suffix(rest.size() - 1 - rest.find_last_not_of(' '));
  return rest;
}


bool valid_keys(std::string_view keys) {
  KeyIterator it(keys);
  std::string_view key;
  while (it.next(&key)) {
    if (key.size() > kMaxKeyLength) return false;
  }
  return true;
}

TextParseResult error(std::size_t consumed, TextError e, const TextRequest& request = {}) {
  TextParseResult r;
  r.status = ParseStatus::kError;
  r.consumed = consumed;
  r.error = e;
  r.request = request;
  return r;
}

TextParseResult ok(std::size_t consumed, const TextRequest& request) {
  TextParseResult r;
  r.status = ParseStatus::kRequest;
  r.consumed = consumed;
  r.request = request;
  return r;
}

// memcached's set_noreply_maybe: the last word is exactly "noreply".
bool ends_with_noreply(const Tokens& t) { return t.count > 0 && t.last() == "noreply"; }

TextParseResult parse_retrieval(std::string_view line, const Tokens& t, std::size_t consumed,
                                TextCommand command) {
  TextRequest req;
  req.command = command;
  std::string_view keys_after = t.words[0];
  if (command == TextCommand::kGat || command == TextCommand::kGats) {
    int32_t exptime = 0;
    if (!parse_strtol(t.words[1], &exptime)) {
      return error(consumed, TextError::kInvalidExptime, req);
    }
    req.exptime = exptime;
    keys_after = t.words[1];
  }
  // Keys are validated before any is looked up: memcached answers a too-long key anywhere in
  // the line with the error alone, dropping the VALUE lines it had built.
  req.keys = rest_after(line, keys_after);
  if (!valid_keys(req.keys)) return error(consumed, TextError::kBadCommandLineFormat, req);
  return ok(consumed, req);
}

TextParseResult parse_storage(const Tokens& t, std::size_t consumed, TextCommand command) {
  TextRequest req;
  req.command = command;
  req.noreply = ends_with_noreply(t);
  req.key = t.words[1];
  if (req.key.size() > kMaxKeyLength) return error(consumed, TextError::kBadCommandLineFormat, req);
  int32_t exptime = 0;
  int32_t length = 0;
  if (!parse_strtoul(t.words[2], &req.flags) || !parse_strtol(t.words[3], &exptime) ||
      !parse_strtol(t.words[4], &length)) {
    return error(consumed, TextError::kBadCommandLineFormat, req);
  }
  req.exptime = exptime;
  if (command == TextCommand::kCas && !parse_strtoull(t.words[5], &req.cas_unique)) {
    return error(consumed, TextError::kBadCommandLineFormat, req);
  }
  // memcached adds 2 for the "\r\n" to an int, hence INT_MAX - 2.
  if (length < 0 || length > std::numeric_limits<int32_t>::max() - 2) {
    return error(consumed, TextError::kBadCommandLineFormat, req);
  }
  req.value_length = static_cast<uint32_t>(length);
  return ok(consumed, req);
}

TextParseResult parse_arithmetic(const Tokens& t, std::size_t consumed, TextCommand command) {
  TextRequest req;
  req.command = command;
  req.noreply = ends_with_noreply(t);
  req.key = t.words[1];
  if (req.key.size() > kMaxKeyLength) return error(consumed, TextError::kBadCommandLineFormat, req);
  if (!parse_strtoull(t.words[2], &req.delta)) {
    return error(consumed, TextError::kInvalidDelta, req);
  }
  return ok(consumed, req);
}

TextParseResult parse_delete(const Tokens& t, std::size_t consumed) {
  TextRequest req;
  req.command = TextCommand::kDelete;
  req.key = t.words[1];
  // An old "delete <key> <time>" form: memcached still accepts a time of exactly "0".
  if (t.ntokens() > 3) {
    const bool hold_is_zero = t.words[2] == "0";
    req.noreply = ends_with_noreply(t);
    const bool valid = (t.ntokens() == 4 && (hold_is_zero || req.noreply)) ||
                       (t.ntokens() == 5 && hold_is_zero && req.noreply);
    if (!valid) return error(consumed, TextError::kBadDeleteFormat, req);
  }
  if (req.key.size() > kMaxKeyLength) return error(consumed, TextError::kBadCommandLineFormat, req);
  return ok(consumed, req);
}

TextParseResult parse_touch(const Tokens& t, std::size_t consumed) {
  TextRequest req;
  req.command = TextCommand::kTouch;
  req.noreply = ends_with_noreply(t);
  req.key = t.words[1];
  if (req.key.size() > kMaxKeyLength) return error(consumed, TextError::kBadCommandLineFormat, req);
  int32_t exptime = 0;
  if (!parse_strtol(t.words[2], &exptime)) return error(consumed, TextError::kInvalidExptime, req);
  req.exptime = exptime;
  return ok(consumed, req);
}

TextParseResult parse_flush_all(const Tokens& t, std::size_t consumed) {
  TextRequest req;
  req.command = TextCommand::kFlushAll;
  req.noreply = ends_with_noreply(t);
  if (t.ntokens() != (req.noreply ? 3u : 2u)) {
    int32_t delay = 0;
    if (!parse_strtol(t.words[1], &delay)) return error(consumed, TextError::kInvalidExptime, req);
    req.exptime = delay;
    req.has_argument = true;
  }
  return ok(consumed, req);
}

// verbosity and cache_memlimit: one 32-bit number, optionally "noreply"; they differ only in the
// error a bad number earns.
TextParseResult parse_level(const Tokens& t, std::size_t consumed, TextCommand command,
                            TextError bad_number) {
  TextRequest req;
  req.command = command;
  req.noreply = ends_with_noreply(t);
  uint32_t value = 0;
  if (!parse_strtoul(t.words[1], &value)) return error(consumed, bad_number, req);
  req.delta = value;
  return ok(consumed, req);
}

TextParseResult with_arguments(std::string_view line, const Tokens& t, std::size_t consumed,
                               TextCommand command) {
  TextRequest req;
  req.command = command;
  req.arguments = rest_after(line, t.words[0]);
  return ok(consumed, req);
}

// "config get <key>" / "config set <key> <flags> <bytes> [noreply]" (memcached itself answers
// ERROR to both; managed memcached's auto-discovery endpoints answer them).
TextParseResult parse_config(const Tokens& t, std::size_t consumed) {
  const std::size_t n = t.ntokens();
  if (n == 4 && t.words[1] == "get") {
    TextRequest req;
    req.command = TextCommand::kConfigGet;
    req.key = t.words[2];
    if (req.key.size() > kMaxKeyLength) return error(consumed, TextError::kBadCommandLineFormat, req);
    return ok(consumed, req);
  }
  if ((n == 6 || n == 7) && t.words[1] == "set") {
    TextRequest req;
    req.command = TextCommand::kConfigSet;
    req.noreply = ends_with_noreply(t);
    req.key = t.words[2];
    int32_t length = 0;
    if (req.key.size() > kMaxKeyLength || !parse_strtoul(t.words[3], &req.flags) ||
        !parse_strtol(t.words[4], &length) || length < 0 ||
        length > std::numeric_limits<int32_t>::max() - 2) {
      return error(consumed, TextError::kBadCommandLineFormat, req);
    }
    req.value_length = static_cast<uint32_t>(length);
    return ok(consumed, req);
  }
  return error(consumed, TextError::kUnknownCommand);
}

TextParseResult need_more() { return TextParseResult{}; }

}  // namespace

bool KeyIterator::next(std::string_view* key) {
  const std::size_t first = rest_.find_first_not_of(' ');
  if (first == std::string_view::npos) {
    rest_ = {};
    return false;
  }
  rest_.remove_prefix(first);
  const std::size_t end = std::min(rest_.find(' '), rest_.size());
  *key = rest_.substr(0, end);
  rest_.remove_prefix(end);
  return true;
}

TextParseResult parse_command_line(std::string_view buffer) {
  const void* nl = std::memchr(buffer.data(), '\n', buffer.size());
  if (nl == nullptr) {
    if (buffer.size() <= kMaxLineWithoutNewline) return need_more();
    // Only a multi-get may be this long; anything else is taken for garbage.
    const std::size_t first = buffer.find_first_not_of(' ');
    const std::string_view start =
        first == std::string_view::npos ? std::string_view{} : buffer.substr(first);
    if (first == std::string_view::npos || first > kMaxLeadingSpacesForLongGet ||
        (!start.starts_with("get ") && !start.starts_with("gets "))) {
      TextParseResult r = error(0, TextError::kLineTooLong);
      r.close_connection = true;
      return r;
    }
    return need_more();
  }
  const std::size_t line_end = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer.data());
  const std::size_t consumed = line_end + 1;
  std::string_view line = buffer.substr(0, line_end);
  // memcached drops the '\r' only from lines longer than the '\r' itself; a lone "\r" is an
  // unknown command either way.
  if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
  line = line.substr(0, line.find('\0'));

  const Tokens t = tokenize(line);
  if (t.count == 0 || t.words[0].size() < 2) return error(consumed, TextError::kUnknownCommand);
  const std::size_t n = t.ntokens();
  const std::string_view cmd = t.words[0];
  auto wrong_arity = [&] { return error(consumed, TextError::kUnknownCommand); };

  if (cmd == "get" || cmd == "bget" || cmd == "gets" || cmd == "gat" || cmd == "gats") {
    if (n < 3) return wrong_arity();
    const TextCommand c = cmd == "gets"  ? TextCommand::kGets
                          : cmd == "gat"  ? TextCommand::kGat
                          : cmd == "gats" ? TextCommand::kGats
                                          : TextCommand::kGet;
    return parse_retrieval(line, t, consumed, c);
  }
  if (cmd == "set" || cmd == "add" || cmd == "replace" || cmd == "append" || cmd == "prepend") {
    if (n != 6 && n != 7) return wrong_arity();
    const TextCommand c = cmd == "set"       ? TextCommand::kSet
                          : cmd == "add"     ? TextCommand::kAdd
                          : cmd == "replace" ? TextCommand::kReplace
                          : cmd == "append"  ? TextCommand::kAppend
                                             : TextCommand::kPrepend;
    return parse_storage(t, consumed, c);
  }
  if (cmd == "cas") {
    if (n != 7 && n != 8) return wrong_arity();
    return parse_storage(t, consumed, TextCommand::kCas);
  }
  if (cmd == "incr" || cmd == "decr") {
    if (n != 4 && n != 5) return wrong_arity();
    return parse_arithmetic(t, consumed, cmd == "incr" ? TextCommand::kIncr : TextCommand::kDecr);
  }
  if (cmd == "delete") {
    if (n < 3 || n > 5) return wrong_arity();
    return parse_delete(t, consumed);
  }
  if (cmd == "touch") {
    if (n != 4 && n != 5) return wrong_arity();
    return parse_touch(t, consumed);
  }
  if (cmd == "flush_all") {
    if (n > 4) return wrong_arity();
    return parse_flush_all(t, consumed);
  }
  if (cmd == "verbosity") {
    if (n != 3 && n != 4) return wrong_arity();
    return parse_level(t, consumed, TextCommand::kVerbosity, TextError::kBadCommandLineFormat);
  }
  if (cmd == "cache_memlimit") {
    if (n != 3 && n != 4) return wrong_arity();
    return parse_level(t, consumed, TextCommand::kCacheMemlimit, TextError::kUnknownCommand);
  }
  // version and quit ignore any words after them.
  if (cmd == "version") return ok(consumed, TextRequest{.command = TextCommand::kVersion});
  if (cmd == "quit") return ok(consumed, TextRequest{.command = TextCommand::kQuit});
  if (cmd == "stats") return with_arguments(line, t, consumed, TextCommand::kStats);
  if (cmd == "shutdown") return with_arguments(line, t, consumed, TextCommand::kShutdown);
  if (cmd == "lru_crawler") return with_arguments(line, t, consumed, TextCommand::kLruCrawler);
  if (cmd == "slabs") return with_arguments(line, t, consumed, TextCommand::kSlabs);
  if (cmd == "lru") return with_arguments(line, t, consumed, TextCommand::kLru);
  if (cmd == "watch") return with_arguments(line, t, consumed, TextCommand::kWatch);
  if (cmd == "config") return parse_config(t, consumed);
  if (cmd == "refresh_certs") return ok(consumed, TextRequest{.command = TextCommand::kRefreshCerts});
  return error(consumed, TextError::kUnknownCommand);
}

DataBlockStatus parse_data_block(std::string_view buffer, uint32_t value_length,
                                 std::string_view* value) {
  const std::size_t need = static_cast<std::size_t>(value_length) + 2;
  if (buffer.size() < need) return DataBlockStatus::kNeedMore;
  if (buffer[value_length] != '\r' || buffer[value_length + 1] != '\n') {
    return DataBlockStatus::kBadDataChunk;
  }
  *value = buffer.substr(0, value_length);
  return DataBlockStatus::kOk;
}

TextParseResult parse_request(std::string_view buffer) {
  TextParseResult r = parse_command_line(buffer);
  if (r.status != ParseStatus::kRequest || !is_storage_command(r.request.command)) return r;
  std::string_view value;
  switch (parse_data_block(buffer.substr(r.consumed), r.request.value_length, &value)) {
    case DataBlockStatus::kNeedMore:
      return need_more();
    case DataBlockStatus::kBadDataChunk:
      r.status = ParseStatus::kError;
      r.error = TextError::kBadDataChunk;
      break;
    case DataBlockStatus::kOk:
      r.request.value = value;
      break;
  }
  r.consumed += static_cast<std::size_t>(r.request.value_length) + 2;
  return r;
}

}  // namespace kioku::protocol
