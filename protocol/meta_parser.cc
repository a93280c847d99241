// protocol/meta_parser.cc — memcached meta command lines, parsed byte-exactly.
//
// Owns: meta line recognition, tokenizing, flag validation and its error strings, base64 keys.
// Must not: allocate, do I/O, keep state, or decide anything that needs the cache.
//
// Validation follows memcached 1.6.18's order (checked against the running server): key length,
// token count, the ms data length, then one pass over the flags in which a repeated or unknown
// flag stops at once while a bad argument is remembered (the last one's message wins) and the
// pass goes on. md and ma answer every flag error with one generic message. Flags newer than
// 1.6.18 (E everywhere, x on md) are accepted here; 1.6.18 calls them invalid.
#include "protocol/c_numbers.h"
#include "protocol/meta_parser.h"

#include <charconv>
#include <cstring>
#include <limits>

#include "protocol/text_parser.h"

namespace kioku::protocol {
namespace {

constexpr std::size_t kMaxLineWithoutNewlineMeta = kMaxLineWithoutNewline;
constexpr std::size_t kMaxWords = 23;  // memcached's tokenizer: 24 tokens, one a terminator

constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format";


bool command_of(std::string_view word, MetaCommand* out) {
  if (word.size() != 2 || word[0] != 'm') return false;
  switch (word[1]) {
    case 'g':
      *out = MetaCommand::kGet;
      return true;
    case 's':
      *out = MetaCommand::kSet;
      return true;
    case 'd':
      *out = MetaCommand::kDelete;
      return true;
    case 'a':
      *out = MetaCommand::kArithmetic;
      return true;
    case 'n':
      *out = MetaCommand::kNoop;
      return true;
    case 'e':
      *out = MetaCommand::kDebug;
      return true;
    default:
      return false;
  }
}

MetaParseResult fail(MetaParseResult r, std::string_view message, uint64_t swallow = 0) {
  r.status = MetaStatus::kError;
  r.error = message;
  r.swallow = swallow;
  return r;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// One pass over the flag words; returns false with *message set on the first error memcached
// reports (see the file comment for which errors stop the pass).
bool preparse_flags(MetaRequest& req, std::string_view* message) {
  std::array<bool, 128> seen{};
  bool has_error = false;
  for (std::size_t i = 0; i < req.flag_count; ++i) {
    const MetaFlag& flag = req.flags[i];
    const auto o = static_cast<unsigned char>(flag.letter);
    if (o >= 127 || seen[o]) {
      *message = "CLIENT_ERROR duplicate flag";
      return false;
    }
    seen[o] = true;
    const std::string_view arg = flag.argument();
    switch (flag.letter) {
      case 'b': {
        const std::size_t n =
            base64_decode(req.raw_key_, req.decoded_key_.data(), req.decoded_key_.size());
        if (n == 0) {
          *message = "CLIENT_ERROR error decoding key";
          has_error = true;
        }
        req.decoded_length_ = n;
        req.base64_key = true;
        break;
      }
      case 'N':
        req.vivify = true;
        if (!parse_strtol(arg, &req.vivify_ttl)) {
          *message = kBadToken;
          has_error = true;
        }
        break;
      case 'T':
        if (!parse_strtol(arg, &req.ttl)) {
          *message = kBadToken;
          has_error = true;
        } else {
          req.has_ttl = true;
        }
        break;
      case 'R':
        if (!parse_strtol(arg, &req.recache_ttl)) {
          *message = kBadToken;
          has_error = true;
        } else {
          req.has_recache = true;
        }
        break;
      case 'O':
      case 'P':
      case 'L':
      case 'k':
      case 's':
      case 't':
      case 'c':
      case 'f':
      case 'l':
      case 'h':
        break;
      case 'v':
        req.return_value = true;
        break;
      case 'u':
        req.no_bump = true;
        break;
      case 'q':
        req.quiet = true;
        break;
      case 'I':
        req.invalidate = true;
        break;
      case 'x':
        req.remove_value = true;
        break;
      case 'F':
        // memcached leaves the message alone here: the generic one (or an earlier flag's) shows.
        if (!parse_strtoul(arg, &req.client_flags)) has_error = true;
        break;
      case 'C':
        if (!parse_strtoull(arg, &req.cas)) {
          *message = kBadToken;
          has_error = true;
        } else {
          req.has_cas = true;
        }
        break;
      case 'E':
        if (!parse_strtoull(arg, &req.new_cas)) {
          *message = kBadToken;
          has_error = true;
        } else {
          req.has_new_cas = true;
        }
        break;
      case 'M':
        if (flag.token.size() != 2) {
          *message = "CLIENT_ERROR incorrect length for M token";
          has_error = true;
        } else {
          req.mode = flag.token[1];
        }
        break;
      case 'J':
        if (!parse_strtoull(arg, &req.initial)) {
          *message = "CLIENT_ERROR invalid numeric initial value";
          has_error = true;
        }
        break;
      case 'D':
        if (!parse_strtoull(arg, &req.delta)) {
          *message = "CLIENT_ERROR invalid numeric delta value";
          has_error = true;
        }
        break;
      default:
        *message = "CLIENT_ERROR invalid flag";
        return false;
    }
  }
  return !has_error;
}

}  // namespace

bool MetaRequest::has_flag(char letter) const {
  for (std::size_t i = 0; i < flag_count; ++i) {
    if (flags[i].letter == letter) return true;
  }
  return false;
}

std::size_t base64_decode(std::string_view in, char* out, std::size_t out_size) {
  // memcached's decoder: bytes outside the alphabet are skipped, the rest ('=' included) must
  // come in groups of four, and the first group holding padding ends the key ("Zm9=Mg==" is
  // "fo"; anything after it is ignored).
  std::size_t symbols = 0;
  for (const char c : in) {
    if (c == '=' || base64_value(c) >= 0) ++symbols;
  }
  if (symbols == 0 || symbols % 4 != 0) return 0;
  std::size_t n = 0;
  uint32_t bits = 0;
  int in_group = 0;
  int pad = 0;
  for (const char c : in) {
    int v = 0;
    if (c == '=') {
      ++pad;
    } else {
      v = base64_value(c);
      if (v < 0) continue;
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++in_group < 4) continue;
    if (n + 3 > out_size) return 0;
    out[n++] = static_cast<char>((bits >> 16) & 0xff);
    out[n++] = static_cast<char>((bits >> 8) & 0xff);
    out[n++] = static_cast<char>(bits & 0xff);
    bits = 0;
    in_group = 0;
    if (pad > 0) {
      if (pad > 2) return 0;
      return n - static_cast<std::size_t>(pad);
    }
  }
  return n;
}

std::size_t base64_encode(std::string_view in, char* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t left = in.size() - i;
    uint32_t bits = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (left > 1) bits |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (left > 2) bits |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 2]));
    out[n++] = kAlphabet[(bits >> 18) & 63];
    out[n++] = kAlphabet[(bits >> 12) & 63];
    out[n++] = left > 1 ? kAlphabet[(bits >> 6) & 63] : '=';
    out[n++] = left > 2 ? kAlphabet[bits & 63] : '=';
  }
  return n;
}

MetaParseResult parse_meta_command_line(std::string_view buffer) {
  MetaParseResult r;
  std::size_t start = 0;
  while (start < buffer.size() && buffer[start] == ' ') ++start;
  const std::size_t newline = buffer.find('\n');
  if (newline == std::string_view::npos) {
    // The command word decides whether this is ours; until it is complete, let the text
    // parser (which also waits for the newline) have it.
    const std::string_view head = buffer.substr(start);
    MetaCommand command;
    if (head.size() < 3 || head[2] != ' ' || !command_of(head.substr(0, 2), &command)) return r;
    if (buffer.size() > kMaxLineWithoutNewlineMeta) {
      r.status = MetaStatus::kError;
      r.close_connection = true;
      return r;
    }
    r.status = MetaStatus::kNeedMore;
    return r;
  }
  std::string_view line = buffer.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (const std::size_t nul = line.find('\0'); nul != std::string_view::npos) {
    line = line.substr(0, nul);
  }

  std::array<std::string_view, kMaxWords> words;
  std::size_t count = 0;
  for (std::size_t i = 0; count < kMaxWords;) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    std::size_t end = line.find(' ', i);
    if (end == std::string_view::npos) end = line.size();
    words[count++] = line.substr(i, end - i);
    i = end;
  }
  MetaCommand command;
  if (count == 0 || !command_of(words[0], &command)) return r;

  r.consumed = newline + 1;
  MetaRequest& req = r.request;
  req.command = command;
  // memcached's ntokens counts a terminator token; a 24th word would be "the rest of the line".
  const bool more_than_max =
      count == kMaxWords &&
      words[count - 1].data() + words[count - 1].size() != line.data() + line.size();
  const std::size_t ntokens = count + 1 + (more_than_max ? 1 : 0);

  if (command == MetaCommand::kNoop) {
    r.status = MetaStatus::kRequest;
    return r;
  }
  if (command == MetaCommand::kDebug) {
    if (count < 2 || words[1].size() > kMaxKeyLength) return fail(r, kBadFormat);
    req.raw_key_ = words[1];
    if (count >= 3 && words[2] == "b") {
      req.decoded_length_ =
          base64_decode(req.raw_key_, req.decoded_key_.data(), req.decoded_key_.size());
      if (req.decoded_length_ == 0) return fail(r, kBadFormat);
      req.base64_key = true;
    }
    r.status = MetaStatus::kRequest;
    return r;
  }
  if (count < 2) return fail(r, "ERROR");
  req.raw_key_ = words[1];
  if (words[1].size() > kMaxKeyLength) return fail(r, kBadFormat);

  std::size_t first_flag = 2;
  uint64_t swallow = 0;
  if (command == MetaCommand::kSet) {
    if (count < 3) return fail(r, kBadFormat);
    if (ntokens > kMaxMetaTokens) return fail(r, "CLIENT_ERROR options flags too long");
    int32_t length = 0;
    if (!parse_strtol(words[2], &length) || length < 0 ||
        length > std::numeric_limits<int32_t>::max() - 2) {
      return fail(r, kBadFormat);
    }
    req.value_length = static_cast<uint32_t>(length);
    swallow = uint64_t{req.value_length} + 2;
    first_flag = 3;
  } else if (ntokens > kMaxMetaTokens) {
    return fail(r, command == MetaCommand::kGet ? "CLIENT_ERROR options flags are too long"
                                                : "CLIENT_ERROR options flags too long");
  }
  for (std::size_t i = first_flag; i < count; ++i) {
    req.flags[req.flag_count++] = MetaFlag{words[i][0], words[i]};
  }

  std::string_view message = kBadFormat;
  if (!preparse_flags(req, &message)) {
    if (command == MetaCommand::kDelete || command == MetaCommand::kArithmetic) {
      return fail(r, "CLIENT_ERROR invalid or duplicate flag");
    }
    return fail(r, message, swallow);
  }
  if (command == MetaCommand::kSet) {
    switch (req.mode) {
      case 0:
      case 'E':
      case 'A':
      case 'P':
      case 'R':
      case 'S':
        break;
      default:
        return fail(r, "CLIENT_ERROR invalid mode for ms M token", swallow);
    }
  } else if (command == MetaCommand::kArithmetic) {
    switch (req.mode) {
      case 0:
      case 'I':
      case '+':
      case 'D':
      case '-':
        break;
      default:
        return fail(r, "CLIENT_ERROR invalid mode for ma M token");
    }
  }
  // memcached checks opaque lengths while writing the reply, after every other check (and, for
  // ma, after the arithmetic: Kioku refuses before changing anything; the reply is the same).
  for (std::size_t i = 0; i < req.flag_count; ++i) {
    if (req.flags[i].letter == 'O' && req.flags[i].token.size() > kMaxOpaqueLength) {
      return fail(r, "CLIENT_ERROR opaque token too long", swallow);
    }
  }
  r.status = MetaStatus::kRequest;
  return r;
}

}  // namespace kioku::protocol
