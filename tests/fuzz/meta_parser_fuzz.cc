// tests/fuzz/meta_parser_fuzz.cc — libFuzzer target for protocol/meta_parser.
//
// Feeds arbitrary bytes to parse_meta_command_line as a stream of requests, moving on as
// daemon/connection_meta.cc does (past each line, past an ms data block or the bytes an error
// swallows; a line that is not meta is skipped to its newline, where the daemon would hand it to
// the text parser), and checks the properties the daemon relies on: results consume within the
// buffer and end on the line's '\n'; a complete line parses identically when the buffer ends
// right after it (split invariance) and "needs more" when its newline is missing; flags are
// within the token limits, unique and known; keys are 1..250 bytes and a base64 key decodes to a
// bounded length that survives re-encoding. Must not: touch anything outside protocol/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "protocol/meta_parser.h"
#include "protocol/text_parser.h"

namespace {

using kioku::protocol::MetaCommand;
using kioku::protocol::MetaParseResult;
using kioku::protocol::MetaRequest;
using kioku::protocol::MetaStatus;

void check(bool ok) {
  if (!ok) std::abort();
}

// An exactly sized heap copy: a parser that reads past the end of what it was given trips ASan
// here, where a view into the larger fuzzer input would not.
struct ExactCopy {
  std::unique_ptr<char[]> bytes;
  std::string_view view;
  explicit ExactCopy(std::string_view from) : bytes(new char[from.size()]) {
    if (!from.empty()) std::memcpy(bytes.get(), from.data(), from.size());
    view = std::string_view(bytes.get(), from.size());
  }
};

// `view` lies inside `buffer`; returns its offset there (views of two parses of the same bytes
// at different addresses are compared by offset and contents).
std::size_t offset_in(std::string_view view, std::string_view buffer) {
  if (view.empty()) return 0;
  check(view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size());
  return static_cast<std::size_t>(view.data() - buffer.data());
}

bool same_view(std::string_view a, std::string_view a_buffer, std::string_view b,
               std::string_view b_buffer) {
  return a == b && offset_in(a, a_buffer) == offset_in(b, b_buffer);
}

bool same_result(const MetaParseResult& a, std::string_view a_buffer, const MetaParseResult& b,
                 std::string_view b_buffer) {
  if (a.status != b.status || a.consumed != b.consumed || a.error != b.error ||
      a.swallow != b.swallow || a.close_connection != b.close_connection) {
    return false;
  }
  const MetaRequest& x = a.request;
  const MetaRequest& y = b.request;
  if (x.command != y.command || x.flag_count != y.flag_count) return false;
  for (std::size_t i = 0; i < x.flag_count; ++i) {
    if (x.flags[i].letter != y.flags[i].letter ||
        !same_view(x.flags[i].token, a_buffer, y.flags[i].token, b_buffer)) {
      return false;
    }
  }
  return same_view(x.raw_key(), a_buffer, y.raw_key(), b_buffer) && x.key() == y.key() &&
         x.base64_key == y.base64_key && x.quiet == y.quiet && x.return_value == y.return_value &&
         x.no_bump == y.no_bump && x.has_ttl == y.has_ttl && x.ttl == y.ttl &&
         x.vivify == y.vivify && x.vivify_ttl == y.vivify_ttl && x.has_recache == y.has_recache &&
         x.recache_ttl == y.recache_ttl && x.has_cas == y.has_cas && x.cas == y.cas &&
         x.has_new_cas == y.has_new_cas && x.new_cas == y.new_cas &&
         x.client_flags == y.client_flags && x.mode == y.mode && x.delta == y.delta &&
         x.initial == y.initial && x.invalidate == y.invalidate &&
         x.remove_value == y.remove_value && x.value_length == y.value_length;
}

bool known_flag(char letter) {
  return std::string_view("bNTROPLkstcflhvuqIxFCEMJD").find(letter) != std::string_view::npos;
}

// What a successfully parsed request promises its executor.
void check_request(const MetaParseResult& r, std::string_view line) {
  const MetaRequest& req = r.request;
  check(req.flag_count <= kioku::protocol::kMaxMetaFlags);
  if (req.command == MetaCommand::kNoop) return;
  // The key: one word of the line, 1..250 bytes.
  const std::string_view raw = req.raw_key();
  check(!raw.empty() && raw.size() <= kioku::protocol::kMaxKeyLength);
  check(raw.find(' ') == std::string_view::npos && raw.find('\n') == std::string_view::npos);
  offset_in(raw, line);
  if (req.base64_key) {
    // Four symbols make at most three bytes; the decoded key fits its fixed buffer.
    const std::string_view key = req.key();
    check(!key.empty() && key.size() <= raw.size() / 4 * 3);
    check(key.size() <= req.decoded_key_.size());
    // Re-encoding (what replies echo) decodes back to the same key.
    char encoded[4 * (kioku::protocol::kMaxKeyLength / 3 + 1)];
    char decoded[sizeof encoded];
    const std::size_t n = kioku::protocol::base64_encode(key, encoded);
    check(n <= sizeof encoded);
    const std::size_t m =
        kioku::protocol::base64_decode(std::string_view(encoded, n), decoded, sizeof decoded);
    check(std::string_view(decoded, m) == key);
  } else {
    check(req.key() == raw);
  }
  if (req.command == MetaCommand::kDebug) return;
  // memcached's token limit: command, key, (ms: length,) flags and its terminator.
  const std::size_t words = 2 + (req.command == MetaCommand::kSet ? 1 : 0) + req.flag_count;
  check(words + 1 <= kioku::protocol::kMaxMetaTokens);
  bool seen[256] = {};
  for (std::size_t i = 0; i < req.flag_count; ++i) {
    const auto& flag = req.flags[i];
    check(!flag.token.empty() && flag.token[0] == flag.letter);
    check(flag.token.find(' ') == std::string_view::npos);
    offset_in(flag.token, line);
    check(known_flag(flag.letter));
    const auto index = static_cast<unsigned char>(flag.letter);
    check(!seen[index]);
    seen[index] = true;
    if (flag.letter == 'O') check(flag.token.size() <= kioku::protocol::kMaxOpaqueLength);
    if (flag.letter == 'M') check(flag.token.size() == 2 && req.mode == flag.token[1]);
  }
  check(req.base64_key == seen[static_cast<unsigned char>('b')]);
  if (req.command == MetaCommand::kSet) {
    check(req.value_length <= uint32_t{INT32_MAX} - 2);
    check(std::string_view("\0EAPRS", 6).find(req.mode) != std::string_view::npos);
  }
  if (req.command == MetaCommand::kArithmetic) {
    check(std::string_view("\0I+D-", 5).find(req.mode) != std::string_view::npos);
  }
}

// Parses `rest` and its complete first line alone, and checks both agree; returns the result.
MetaParseResult parse_checked(std::string_view rest) {
  MetaParseResult r = kioku::protocol::parse_meta_command_line(rest);
  check(r.consumed <= rest.size());
  switch (r.status) {
    case MetaStatus::kNotMeta:
    case MetaStatus::kNeedMore:
      check(r.consumed == 0);
      // Without a newline nothing is decided except a line too long to wait for.
      return r;
    case MetaStatus::kError:
      if (r.close_connection) {
        check(r.consumed == 0 && rest.size() > kioku::protocol::kMaxLineWithoutNewline &&
              rest.find('\n') == std::string_view::npos);
        return r;
      }
      check(!r.error.empty());
      check(r.swallow == 0 ||
            (r.request.command == MetaCommand::kSet && r.swallow == r.request.value_length + 2));
      break;
    case MetaStatus::kRequest:
      break;
  }
  // A decided line ends at its newline, the first in the buffer.
  check(r.consumed > 0 && rest[r.consumed - 1] == '\n');
  check(rest.substr(0, r.consumed - 1).find('\n') == std::string_view::npos);
  if (r.status == MetaStatus::kRequest) check_request(r, rest.substr(0, r.consumed));

  // Split invariance: the line alone, in a buffer of exactly its size, parses the same.
  const ExactCopy alone(rest.substr(0, r.consumed));
  const MetaParseResult again = kioku::protocol::parse_meta_command_line(alone.view);
  check(same_result(r, rest, again, alone.view));
  // And without its newline it is not decided yet (or refused as too long, never accepted).
  const ExactCopy cut(rest.substr(0, r.consumed - 1));
  const MetaParseResult early = kioku::protocol::parse_meta_command_line(cut.view);
  check(early.consumed == 0);
  check(early.status == MetaStatus::kNeedMore || early.status == MetaStatus::kNotMeta ||
        (early.status == MetaStatus::kError && early.close_connection));
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 10000 && !rest.empty(); ++guard) {
    const MetaParseResult r = parse_checked(rest);
    std::size_t advance = 0;
    switch (r.status) {
      case MetaStatus::kNeedMore:
        return 0;
      case MetaStatus::kNotMeta: {
        // The daemon gives this line to the text parser; here it is skipped.
        const std::size_t newline = rest.find('\n');
        if (newline == std::string_view::npos) return 0;
        advance = newline + 1;
        break;
      }
      case MetaStatus::kError:
        if (r.close_connection) return 0;
        if (rest.size() - r.consumed < r.swallow) return 0;
        advance = r.consumed + static_cast<std::size_t>(r.swallow);
        break;
      case MetaStatus::kRequest:
        advance = r.consumed;
        if (r.request.command == MetaCommand::kSet) {
          const std::size_t block = std::size_t{r.request.value_length} + 2;
          if (rest.size() - advance < block) return 0;
          std::string_view value;
          const auto status = kioku::protocol::parse_data_block(rest.substr(advance),
                                                                r.request.value_length, &value);
          check(status != kioku::protocol::DataBlockStatus::kNeedMore);
          if (status == kioku::protocol::DataBlockStatus::kOk) {
            check(value.size() == r.request.value_length && value.data() == rest.data() + advance);
          }
          advance += block;
        }
        break;
    }
    check(advance > 0 && advance <= rest.size());
    rest.remove_prefix(advance);
  }
  return 0;
}
