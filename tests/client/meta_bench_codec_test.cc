// tests/client/meta_bench_codec_test.cc — kioku-bench's meta protocol codec: mg / ms requests
// out, their replies in, split at every byte.
#include "client/meta_bench_codec.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace kioku::client;

namespace {

struct Parsed {
  ReplyKind kind;
  std::size_t consumed;
  uint32_t values;
  bool operator==(const Parsed&) const = default;
};

// Feeds `stream` cut at `cuts`, parsing replies to `ops` in order as bytes arrive, the way the
// bench loop does (through the Codec interface). Stops at a protocol error.
std::vector<Parsed> feed(const std::string& stream, const std::vector<std::size_t>& cuts,
                         const std::vector<OpType>& ops, bool* protocol_error) {
  const MetaBenchCodec codec;
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
      const Reply r = codec.parse_reply(buffer, ops[out.size()], 0);
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

// One reply of each shape memcached 1.6.18 gives to the base forms; the stream is their
// concatenation.
const std::vector<Case> kCases = {
    {"VA 5\r\nhello\r\n", OpType::kGet, ReplyKind::kHit, 1},
    {"EN\r\n", OpType::kGet, ReplyKind::kMiss, 0},
    {"HD\r\n", OpType::kSet, ReplyKind::kStored, 0},
    {"VA 0\r\n\r\n", OpType::kGet, ReplyKind::kHit, 1},
    {"VA 3 f0 s3\r\nabc\r\n", OpType::kGet, ReplyKind::kHit, 1},  // return flags are ignored
    {"NS\r\n", OpType::kSet, ReplyKind::kNotStored, 0},
    {"EX\r\n", OpType::kSet, ReplyKind::kExists, 0},
    {"NF\r\n", OpType::kSet, ReplyKind::kNotFound, 0},
    {"SERVER_ERROR out of memory storing object\r\n", OpType::kSet, ReplyKind::kServerError, 0},
    {"CLIENT_ERROR bad data chunk\r\n", OpType::kSet, ReplyKind::kClientError, 0},
    {"CLIENT_ERROR bad command line format\r\n", OpType::kGet, ReplyKind::kClientError, 0},
    {"ERROR\r\n", OpType::kGet, ReplyKind::kError, 0},
    {"VERSION 1.6.18\r\n", OpType::kVersion, ReplyKind::kVersion, 0},
    {"VA 300\r\n" + std::string(300, 'v') + "\r\n", OpType::kGet, ReplyKind::kHit, 1},
    {"VA 4\r\nVA 4\r\n", OpType::kGet, ReplyKind::kHit, 1},  // data that looks like a reply
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

TEST_CASE("meta: a reply stream delivered whole parses into the expected replies") {
  bool error = false;
  CHECK(feed(kStream, {}, kOps, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("meta: a reply stream split at every byte parses the same as whole") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    bool error = false;
    INFO("split at " << cut);
    REQUIRE(feed(kStream, {cut}, kOps, &error) == kExpected);
    REQUIRE_FALSE(error);
  }
}

TEST_CASE("meta: a reply stream delivered one byte at a time parses the same as whole") {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  bool error = false;
  CHECK(feed(kStream, cuts, kOps, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("meta: every proper prefix of a reply needs more and consumes nothing") {
  for (const Case& c : kCases) {
    for (std::size_t n = 0; n < c.text.size(); ++n) {
      INFO(c.text << " prefix " << n);
      const Reply r = parse_meta_bench_reply(std::string_view(c.text).substr(0, n), c.op);
      REQUIRE(r.status == ReplyStatus::kNeedMore);
      REQUIRE(r.consumed == 0);
    }
  }
}

TEST_CASE("meta: replies that cannot answer the request are protocol errors") {
  for (const char* bad :
       {"HD\r\n", "VA\r\nx\r\n", "VA x\r\nabc\r\n", "VA 3\r\nabcXY", "VALUE k 0 1\r\na\r\nEND\r\n",
        "END\r\n", "EN\n", "\r\n", "ENX\r\n", "VA -1\r\n\r\n", "NS\r\n"}) {
    INFO(bad);
    CHECK(parse_meta_bench_reply(bad, OpType::kGet).status == ReplyStatus::kProtocolError);
  }
  for (const char* bad : {"EN\r\n", "VA 1\r\na\r\n", "STORED\r\n", "HD\n", "HDX\r\n", "MN\r\n"}) {
    INFO(bad);
    CHECK(parse_meta_bench_reply(bad, OpType::kSet).status == ReplyStatus::kProtocolError);
  }
  CHECK(parse_meta_bench_reply("HD\r\n", OpType::kVersion).status == ReplyStatus::kProtocolError);
}

TEST_CASE("meta: an endless line without a newline is a protocol error, not a hang") {
  const std::string junk(5000, 'x');
  CHECK(parse_meta_bench_reply(junk, OpType::kGet).status == ReplyStatus::kProtocolError);
  CHECK(parse_meta_bench_reply(junk, OpType::kSet).status == ReplyStatus::kProtocolError);
}

TEST_CASE("meta: mg, ms and version are composed in their base forms") {
  const MetaBenchCodec codec;
  char buffer[64];
  std::size_t n = codec.compose_get(buffer, "kioku:42", 7);
  CHECK(std::string(buffer, n) == "mg kioku:42 v\r\n");
  n = codec.compose_set(buffer, "kioku:7", "abc", 8);
  CHECK(std::string(buffer, n) == "ms kioku:7 3\r\nabc\r\n");
  n = codec.compose_set(buffer, "k", "", 9);
  CHECK(std::string(buffer, n) == "ms k 0\r\n\r\n");
  n = codec.compose_version(buffer, 0);
  CHECK(std::string(buffer, n) == "version\r\n");
}

TEST_CASE("meta: a request that does not fit is not composed") {
  char small[8];
  CHECK(compose_meta_bench_get(small, "kioku:42") == 0);
  CHECK(compose_meta_bench_set(small, "k", "abcdef") == 0);
}

TEST_CASE("meta: the overheads leave room for the longest key and its framing") {
  const MetaBenchCodec codec;
  const std::string key(250, 'k');
  const std::string value(1000, 'v');
  std::vector<char> request(codec.request_overhead() + key.size() + value.size());
  CHECK(codec.compose_set(request, key, value, 0) > 0);
  // The longest reply to a get of that value: "VA 1000" plus flags we never ask for.
  const std::string reply = "VA 1000\r\n" + value + "\r\n";
  CHECK(reply.size() <= codec.reply_overhead() + key.size() + value.size());
}
