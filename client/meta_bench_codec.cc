// client/meta_bench_codec.cc — see meta_bench_codec.h.
#include "client/meta_bench_codec.h"

#include <charconv>

#include "client/reply_lines.h"
#include "client/text_codec.h"
#include "client/words.h"

namespace kioku::client {
namespace {

// "VA <len> [flags]" then the data block and its "\r\n".
Reply parse_get(std::string_view in, std::string_view line, std::size_t next) {
  std::string_view rest = line;
  const std::string_view code = next_word(&rest);
  if (code == "EN") {
    return Reply{ReplyStatus::kReply, next, ReplyKind::kMiss, 0};
  }
  uint32_t length = 0;
  if (code != "VA" || !parse_number(next_word(&rest), &length)) return protocol_error_reply();
  const std::size_t data_end = next + length;
  if (in.size() < data_end + 2) {
    // Reject a broken terminator as soon as it is visible rather than waiting for more.
    if (in.size() > data_end && in[data_end] != '\r') return protocol_error_reply();
    return Reply{};
  }
  if (in[data_end] != '\r' || in[data_end + 1] != '\n') return protocol_error_reply();
  return Reply{ReplyStatus::kReply, data_end + 2, ReplyKind::kHit, 1};
}

Reply parse_set(std::string_view line, std::size_t next) {
  std::string_view rest = line;
  const std::string_view code = next_word(&rest);
  ReplyKind kind;
  if (code == "HD") {
    kind = ReplyKind::kStored;
  } else if (code == "NS") {
    kind = ReplyKind::kNotStored;
  } else if (code == "EX") {
    kind = ReplyKind::kExists;
  } else if (code == "NF") {
    kind = ReplyKind::kNotFound;
  } else {
    return protocol_error_reply();
  }
  return Reply{ReplyStatus::kReply, next, kind, 0};
}

}  // namespace

Reply parse_meta_bench_reply(std::string_view in, OpType op) noexcept {
  std::string_view line;
  std::size_t next = 0;
  switch (read_line(in, 0, &line, &next)) {
    case LineStatus::kNeedMore:
      return Reply{};
    case LineStatus::kBad:
      return protocol_error_reply();
    case LineStatus::kLine:
      break;
  }
  ReplyKind error_kind;
  if (classify_error(line, &error_kind)) return Reply{ReplyStatus::kReply, next, error_kind, 0};
  switch (op) {
    case OpType::kGet:
      return parse_get(in, line, next);
    case OpType::kSet:
      return parse_set(line, next);
    case OpType::kVersion:
      break;
  }
  if (!starts_with_word(line, "VERSION")) return protocol_error_reply();
  return Reply{ReplyStatus::kReply, next, ReplyKind::kVersion, 0};
}

std::size_t compose_meta_bench_get(std::span<char> out, std::string_view key) noexcept {
  std::size_t pos = 0;
  if (put_bytes(out, &pos, "mg ") && put_bytes(out, &pos, key) && put_bytes(out, &pos, " v\r\n")) {
    return pos;
  }
  return 0;
}

std::size_t compose_meta_bench_set(std::span<char> out, std::string_view key,
                                   std::string_view value) noexcept {
  return put_storage_request(out, "ms ", key, " ", value);
}

std::size_t MetaBenchCodec::compose_version(std::span<char> out, uint32_t) const noexcept {
  return compose_text_version(out);  // "version" is the same command in both
}

// "ms " + " " + a 20-digit length + two CRLFs, rounded up.
std::size_t MetaBenchCodec::request_overhead() const noexcept { return 64; }
// "VA " + a length + return flags + two CRLFs, rounded up.
std::size_t MetaBenchCodec::reply_overhead() const noexcept { return 64; }

}  // namespace kioku::client
