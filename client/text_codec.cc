// client/text_codec.cc — see text_codec.h.
#include "client/text_codec.h"

#include <charconv>

#include "client/reply_lines.h"
#include "client/words.h"

namespace kioku::client {
namespace {

constexpr std::string_view kValuePrefix = "VALUE ";

std::string_view next_token(std::string_view* rest) {
  std::size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  std::size_t end = rest->find(' ', start);
  if (end == std::string_view::npos) end = rest->size();
  std::string_view token = rest->substr(start, end - start);
  rest->remove_prefix(end);
  return token;
}

// The data length from "VALUE <key> <flags> <bytes>[ <cas>]" (prefix already removed).
bool parse_value_length(std::string_view rest, uint32_t* bytes) {
  const std::string_view key = next_token(&rest);
  const std::string_view flags = next_token(&rest);
  const std::string_view length = next_token(&rest);
  const std::string_view cas = next_token(&rest);
  uint32_t flags_value = 0;
  uint64_t cas_value = 0;
  if (key.empty() || !parse_number(flags, &flags_value) || !parse_number(length, bytes)) {
    return false;
  }
  if (!cas.empty() && !parse_number(cas, &cas_value)) return false;
  return next_token(&rest).empty();
}

Reply protocol_error() { return protocol_error_reply(); }

Reply parse_get_reply(std::string_view in) {
  std::size_t pos = 0;
  uint32_t values = 0;
  for (;;) {
    std::string_view line;
    std::size_t next = 0;
    switch (read_line(in, pos, &line, &next)) {
      case LineStatus::kNeedMore:
        return Reply{};
      case LineStatus::kBad:
        return protocol_error();
      case LineStatus::kLine:
        break;
    }
    if (line == "END") {
      return Reply{ReplyStatus::kReply, next, values ? ReplyKind::kHit : ReplyKind::kMiss, values};
    }
    ReplyKind error_kind;
    if (classify_error(line, &error_kind)) {
      return Reply{ReplyStatus::kReply, next, error_kind, values};
    }
    uint32_t bytes = 0;
    if (!line.starts_with(kValuePrefix) ||
        !parse_value_length(line.substr(kValuePrefix.size()), &bytes)) {
      return protocol_error();
    }
    const std::size_t data_end = next + bytes;
    if (in.size() < data_end + 2) {
      // Reject a broken terminator as soon as it is visible rather than waiting for more.
      if (in.size() > data_end && in[data_end] != '\r') return protocol_error();
      return Reply{};
    }
    if (in[data_end] != '\r' || in[data_end + 1] != '\n') return protocol_error();
    ++values;
    pos = data_end + 2;
  }
}

// The one line a reply to `version` is: "VERSION <text>", or an error line.
Reply parse_version_reply(std::string_view in) {
  std::string_view line;
  std::size_t next = 0;
  switch (read_line(in, 0, &line, &next)) {
    case LineStatus::kNeedMore:
      return Reply{};
    case LineStatus::kBad:
      return protocol_error();
    case LineStatus::kLine:
      break;
  }
  ReplyKind kind = ReplyKind::kVersion;
  if (!starts_with_word(line, "VERSION") && !classify_error(line, &kind)) return protocol_error();
  return Reply{ReplyStatus::kReply, next, kind, 0};
}

Reply parse_set_reply(std::string_view in) {
  std::string_view line;
  std::size_t next = 0;
  switch (read_line(in, 0, &line, &next)) {
    case LineStatus::kNeedMore:
      return Reply{};
    case LineStatus::kBad:
      return protocol_error();
    case LineStatus::kLine:
      break;
  }
  ReplyKind kind;
  if (line == "STORED") {
    kind = ReplyKind::kStored;
  } else if (line == "NOT_STORED") {
    kind = ReplyKind::kNotStored;
  } else if (line == "EXISTS") {
    kind = ReplyKind::kExists;
  } else if (line == "NOT_FOUND") {
    kind = ReplyKind::kNotFound;
  } else if (!classify_error(line, &kind)) {
    return protocol_error();
  }
  return Reply{ReplyStatus::kReply, next, kind, 0};
}

}  // namespace

Reply parse_text_reply(std::string_view in, OpType op) noexcept {
  switch (op) {
    case OpType::kGet:
      return parse_get_reply(in);
    case OpType::kSet:
      return parse_set_reply(in);
    case OpType::kVersion:
      break;
  }
  return parse_version_reply(in);
}

std::size_t compose_text_get(std::span<char> out, std::string_view key) noexcept {
  std::size_t pos = 0;
  if (put_bytes(out, &pos, "get ") && put_bytes(out, &pos, key) && put_bytes(out, &pos, "\r\n"))
    return pos;
  return 0;
}

std::size_t compose_text_set(std::span<char> out, std::string_view key,
                             std::string_view value) noexcept {
  return put_storage_request(out, "set ", key, " 0 0 ", value);
}

std::size_t compose_text_version(std::span<char> out) noexcept {
  std::size_t pos = 0;
  return put_bytes(out, &pos, "version\r\n") ? pos : 0;
}

// "set " + " 0 0 " + a 20-digit length + two CRLFs, rounded up.
std::size_t TextCodec::request_overhead() const noexcept { return 64; }
// "VALUE " + " <flags> <bytes> <cas>" + CRLFs + "END\r\n", rounded up.
std::size_t TextCodec::reply_overhead() const noexcept { return 96; }

}  // namespace kioku::client
