// tests/fuzz/text_parser_fuzz.cc — libFuzzer target for protocol/text_parser.
//
// Feeds arbitrary bytes to the parser as a stream of requests and checks the properties the
// daemon relies on: every result consumes within the buffer, a complete request parses the same
// when the buffer ends right after it, and retrieval keys walk as 1..250-byte words. Must not:
// touch anything outside protocol/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/text_parser.h"

namespace {

using kioku::protocol::KeyIterator;
using kioku::protocol::ParseStatus;
using kioku::protocol::TextParseResult;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_keys(const TextParseResult& r) {
  if (r.status != ParseStatus::kRequest || !is_retrieval_command(r.request.command)) return;
  KeyIterator keys(r.request.keys);
  std::string_view key;
  std::size_t count = 0;
  while (keys.next(&key)) {
    check(!key.empty() && key.size() <= kioku::protocol::kMaxKeyLength);
    ++count;
  }
  // "gat <exptime>" with no key is a valid, empty request (memcached answers END).
  const bool touches = r.request.command == kioku::protocol::TextCommand::kGat ||
                       r.request.command == kioku::protocol::TextCommand::kGats;
  check(count > 0 || touches);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 10000 && !rest.empty(); ++guard) {
    TextParseResult line = kioku::protocol::parse_command_line(rest);
    check(line.consumed <= rest.size());
    TextParseResult whole = kioku::protocol::parse_request(rest);
    check(whole.consumed <= rest.size());
    if (whole.status == ParseStatus::kRequest) {
      check(whole.consumed > 0);
      check_keys(whole);
      // Split invariance: the request alone parses exactly as it did followed by more bytes.
      TextParseResult alone = kioku::protocol::parse_request(rest.substr(0, whole.consumed));
      check(alone.status == ParseStatus::kRequest && alone.consumed == whole.consumed &&
            alone.request.command == whole.request.command &&
            alone.request.value == whole.request.value && alone.request.key == whole.request.key);
      if (is_storage_command(whole.request.command)) {
        check(whole.request.value.size() == whole.request.value_length);
      }
    }
    if (line.status == ParseStatus::kNeedMore) break;
    if (line.status == ParseStatus::kError && line.close_connection) break;
    // Move on as the daemon would: past the line, and past a data block that fully arrived.
    std::size_t advance = line.consumed;
    if (line.status == ParseStatus::kRequest && is_storage_command(line.request.command)) {
      const std::size_t block = std::size_t{line.request.value_length} + 2;
      if (rest.size() - advance < block) break;
      std::string_view value;
      auto status = kioku::protocol::parse_data_block(rest.substr(advance),
                                                      line.request.value_length, &value);
      check(status != kioku::protocol::DataBlockStatus::kNeedMore);
      advance += block;
    }
    check(advance > 0);
    rest.remove_prefix(advance);
  }
  return 0;
}
