// client/meta_codec.cc — see meta_codec.h.
#include "client/meta_codec.h"
#include "client/words.h"

#include <charconv>

#include "client/kioku_client.h"

namespace kioku::client {

namespace {

// A meta reply line holds a code, a key (at most 250 bytes) and a few flags; anything much
// longer without a newline is not a memcached server talking.
constexpr std::size_t kMaxMetaLine = 4096;

// The return flags after the code: k, f and c are kept, the rest (O, t, s, ...) skipped.
bool read_flags(std::string_view rest, MetaReply* reply) {
  for (std::string_view word = next_word(&rest); !word.empty(); word = next_word(&rest)) {
    const std::string_view token = word.substr(1);
    switch (word[0]) {
      case 'k':
        reply->item.key.assign(token);
        reply->has_key = true;
        break;
      case 'f':
        if (!parse_number(token, &reply->item.flags)) return false;
        break;
      case 'c':
        if (!parse_number(token, &reply->item.cas)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

void append_number(std::string* out, char flag, auto number) {
  *out += ' ';
  *out += flag;
  *out += std::to_string(number);
}

}  // namespace

ReadResult read_meta_reply(std::string_view in, MetaReply* reply) {
  *reply = MetaReply{};
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos) {
    return {in.size() > kMaxMetaLine ? ReadStatus::kMalformed : ReadStatus::kNeedMore, 0};
  }
  std::string_view line = in.substr(0, nl);
  if (!line.ends_with('\r')) return {ReadStatus::kMalformed, 0};
  line.remove_suffix(1);
  std::size_t consumed = nl + 1;
  if (is_error_line(line)) {
    reply->code = MetaCode::kError;
    reply->error_line.assign(line);
    return {ReadStatus::kDone, consumed};
  }
  std::string_view rest = line;
  const std::string_view code = next_word(&rest);
  if (code == "VA") {
    std::size_t length = 0;
    if (!parse_number(next_word(&rest), &length)) return {ReadStatus::kMalformed, 0};
    if (in.size() - consumed < length + 2) return {ReadStatus::kNeedMore, 0};
    if (in.substr(consumed + length, 2) != "\r\n") return {ReadStatus::kMalformed, 0};
    reply->code = MetaCode::kValue;
    reply->item.value.assign(in.substr(consumed, length));
    consumed += length + 2;
  } else if (code == "HD") {
    reply->code = MetaCode::kHeader;
  } else if (code == "EN") {
    reply->code = MetaCode::kEnd;
  } else if (code == "NF") {
    reply->code = MetaCode::kNotFound;
  } else if (code == "NS") {
    reply->code = MetaCode::kNotStored;
  } else if (code == "EX") {
    reply->code = MetaCode::kExists;
  } else if (code == "MN") {
    reply->code = MetaCode::kNoop;
  } else {
    return {ReadStatus::kMalformed, 0};
  }
  if (!read_flags(rest, reply)) return {ReadStatus::kMalformed, 0};
  return {ReadStatus::kDone, consumed};
}

char meta_store_mode(StoreMode mode) {
  switch (mode) {
    case StoreMode::kAdd:
      return 'E';
    case StoreMode::kReplace:
      return 'R';
    case StoreMode::kAppend:
      return 'A';
    case StoreMode::kPrepend:
      return 'P';
    case StoreMode::kSet:
    case StoreMode::kCas:
      break;
  }
  return 'S';
}

void compose_meta_get(std::string* out, std::string_view key, bool with_cas, bool quiet) {
  *out += "mg ";
  *out += key;
  *out += " v f k";
  if (with_cas) *out += " c";
  if (quiet) *out += " q";
  *out += "\r\n";
}

void compose_meta_touch(std::string* out, std::string_view key, int64_t exptime) {
  *out += "mg ";
  *out += key;
  append_number(out, 'T', exptime);
  *out += "\r\n";
}

void compose_meta_store(std::string* out, StoreMode mode, std::string_view key,
                        std::string_view value, uint32_t flags, int64_t exptime, uint64_t cas) {
  *out += "ms ";
  *out += key;
  *out += ' ';
  *out += std::to_string(value.size());
  if (mode != StoreMode::kAppend && mode != StoreMode::kPrepend) {
    if (flags != 0) append_number(out, 'F', flags);
    if (exptime != 0) append_number(out, 'T', exptime);
  }
  if (mode == StoreMode::kCas) append_number(out, 'C', cas);
  *out += " M";
  *out += meta_store_mode(mode);
  *out += "\r\n";
  *out += value;
  *out += "\r\n";
}

void compose_meta_delete(std::string* out, std::string_view key) {
  *out += "md ";
  *out += key;
  *out += "\r\n";
}

void compose_meta_arithmetic(std::string* out, std::string_view key, bool increment,
                             uint64_t delta) {
  *out += "ma ";
  *out += key;
  *out += " v";
  append_number(out, 'D', delta);
  *out += increment ? " MI" : " MD";
  *out += "\r\n";
}

void compose_meta_noop(std::string* out) { *out += "mn\r\n"; }

}  // namespace kioku::client
