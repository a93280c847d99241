// tests/client/text_codec_test.cc — the text reply parser and request composer.
#include "client/text_codec.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using kioku::client::compose_text_get;
using kioku::client::compose_text_set;
using kioku::client::compose_text_version;
using kioku::client::OpType;
using kioku::client::parse_text_reply;
using kioku::client::Reply;
using kioku::client::ReplyKind;
using kioku::client::ReplyStatus;

namespace {

struct Parsed {
  ReplyKind kind;
  std::size_t consumed;
  uint32_t values;
  bool operator==(const Parsed&) const = default;
};

// Feeds `stream` in the given chunks, parsing replies to `ops` in order as bytes arrive, the way
// the bench loop does. Stops at a protocol error.
std::vector<Parsed> feed(const std::string& stream, const std::vector<std::size_t>& cuts,
                         const std::vector<OpType>& ops, bool* protocol_error) {
  std::vector<Parsed> out;
  std::string buffer;
  std::size_t from = 0;
  *protocol_error = false;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(stream.size());
  for (std::size_t end : ends) {
    buffer.append(stream, from, end - from);
    from = end;
    while (out.size() < ops.size()) {
      const Reply r = parse_text_reply(buffer, ops[out.size()]);
      if (r.status == ReplyStatus::kNeedMore) break;
      if (r.status == ReplyStatus::kProtocolError) {
        *protocol_error = true;
        return out;
      }
      out.push_back({r.kind, r.consumed, r.values});
      buffer.erase(0, r.consumed);
    }
  }
  return out;
}

struct Case {
  std::string text;
  OpType op;
  ReplyKind kind;
  uint32_t values;
};

// One reply of each shape; the stream is their concatenation.
const std::vector<Case> kCases = {
    {"VALUE kioku:1 0 5\r\nhello\r\nEND\r\n", OpType::kGet, ReplyKind::kHit, 1},
    {"END\r\n", OpType::kGet, ReplyKind::kMiss, 0},
    {"STORED\r\n", OpType::kSet, ReplyKind::kStored, 0},
    {"VALUE k 4294967295 0 123\r\n\r\nVALUE k2 1 3\r\nEND\r\nEND\r\n", OpType::kGet,
     ReplyKind::kHit, 2},
    {"NOT_STORED\r\n", OpType::kSet, ReplyKind::kNotStored, 0},
    {"SERVER_ERROR out of memory storing object\r\n", OpType::kSet, ReplyKind::kServerError, 0},
    {"CLIENT_ERROR bad data chunk\r\n", OpType::kGet, ReplyKind::kClientError, 0},
    {"ERROR\r\n", OpType::kGet, ReplyKind::kError, 0},
    {"EXISTS\r\n", OpType::kSet, ReplyKind::kExists, 0},
    {"NOT_FOUND\r\n", OpType::kSet, ReplyKind::kNotFound, 0},
    {"VALUE big 0 300\r\n" + std::string(300, 'v') + "\r\nEND\r\n", OpType::kGet, ReplyKind::kHit,
     1},
};

std::string stream() {
  std::string s;
  for (const Case& c : kCases) s += c.text;
  return s;
}
std::vector<OpType> ops() {
  std::vector<OpType> v;
  for (const Case& c : kCases) v.push_back(c.op);
  return v;
}
std::vector<Parsed> expected() {
  std::vector<Parsed> v;
  for (const Case& c : kCases) v.push_back({c.kind, c.text.size(), c.values});
  return v;
}

const std::string kStream = stream();
const std::vector<OpType> kOps = ops();
const std::vector<Parsed> kExpected = expected();

}  // namespace

namespace Catch {
template <>
struct StringMaker<Parsed> {
  static std::string convert(const Parsed& p) {
    return "{kind " + std::to_string(static_cast<int>(p.kind)) + ", consumed " +
           std::to_string(p.consumed) + ", values " + std::to_string(p.values) + "}";
  }
};
}  // namespace Catch

TEST_CASE("a reply stream delivered whole parses into the expected replies") {
  bool error = false;
  CHECK(feed(kStream, {}, kOps, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("a reply stream split at every byte parses the same as whole") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    bool error = false;
    INFO("split at " << cut);
    REQUIRE(feed(kStream, {cut}, kOps, &error) == kExpected);
    REQUIRE_FALSE(error);
  }
}

TEST_CASE("a reply stream delivered one byte at a time parses the same as whole") {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  bool error = false;
  CHECK(feed(kStream, cuts, kOps, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("every proper prefix of a reply needs more") {
  const std::string reply = "VALUE key 0 10\r\n0123456789\r\nEND\r\n";
  for (std::size_t n = 0; n < reply.size(); ++n) {
    INFO("prefix " << n);
    REQUIRE(parse_text_reply(std::string_view(reply).substr(0, n), OpType::kGet).status ==
            ReplyStatus::kNeedMore);
  }
  CHECK(parse_text_reply(reply, OpType::kGet).status == ReplyStatus::kReply);
}

TEST_CASE("malformed replies are protocol errors") {
  for (const char* bad : {"STORED\r\n", "VALUE k 0 3\r\nabcXY", "VALUE k 0 x\r\nabc\r\nEND\r\n",
                          "VALUE k 0\r\nEND\r\n", "VALUE k 0 3 9 9\r\nabc\r\nEND\r\n", "END\n",
                          "\r\n", "HELLO\r\n", "VALUE k -1 3\r\nabc\r\nEND\r\n"}) {
    INFO(bad);
    CHECK(parse_text_reply(bad, OpType::kGet).status == ReplyStatus::kProtocolError);
  }
  for (const char* bad :
       {"END\r\n", "VALUE k 0 1\r\na\r\nEND\r\n", "STORED\n", "STOREDX\r\n", "ERRORS\r\n"}) {
    INFO(bad);
    CHECK(parse_text_reply(bad, OpType::kSet).status == ReplyStatus::kProtocolError);
  }
}

TEST_CASE("an endless line without a newline is a protocol error, not a hang") {
  const std::string junk(5000, 'x');
  CHECK(parse_text_reply(junk, OpType::kGet).status == ReplyStatus::kProtocolError);
  CHECK(parse_text_reply(junk, OpType::kSet).status == ReplyStatus::kProtocolError);
}

TEST_CASE("get and set requests are composed in memcached's text syntax") {
  char buffer[64];
  std::size_t n = compose_text_get(buffer, "kioku:42");
  CHECK(std::string(buffer, n) == "get kioku:42\r\n");
  n = compose_text_set(buffer, "kioku:7", "abc");
  CHECK(std::string(buffer, n) == "set kioku:7 0 0 3\r\nabc\r\n");
  n = compose_text_set(buffer, "k", "");
  CHECK(std::string(buffer, n) == "set k 0 0 0\r\n\r\n");
}

TEST_CASE("a request that does not fit is not composed") {
  char small[8];
  CHECK(compose_text_get(small, "kioku:42") == 0);
  CHECK(compose_text_set(small, "k", "abcdef") == 0);
}

TEST_CASE("a version request and its reply") {
  char buffer[16];
  const std::size_t n = compose_text_version(buffer);
  CHECK(std::string(buffer, n) == "version\r\n");
  const std::string reply = "VERSION 1.6.18\r\n";
  for (std::size_t cut = 0; cut < reply.size(); ++cut) {
    INFO("prefix " << cut);
    REQUIRE(parse_text_reply(std::string_view(reply).substr(0, cut), OpType::kVersion).status ==
            ReplyStatus::kNeedMore);
  }
  const Reply r = parse_text_reply(reply + "END\r\n", OpType::kVersion);
  CHECK(r.status == ReplyStatus::kReply);
  CHECK(r.kind == ReplyKind::kVersion);
  CHECK(r.consumed == reply.size());
  // memcached at its connection limit answers anything with an error line.
  CHECK(parse_text_reply("ERROR Too many open connections\r\n", OpType::kVersion).kind ==
        ReplyKind::kError);
  CHECK(parse_text_reply("END\r\n", OpType::kVersion).status == ReplyStatus::kProtocolError);
}
