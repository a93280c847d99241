// tests/client/binary_codec_test.cc — kioku-bench's binary protocol codec: GET / SET / VERSION
// requests out, responses in, split at every byte, paired by opcode and opaque.
#include "client/binary_codec.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace kioku::client;

namespace {

// A response header and body as memcached writes them.
std::string response(uint8_t opcode, uint16_t status, uint32_t opaque, std::string_view extras,
                     std::string_view key, std::string_view value) {
  std::string r(24, '\0');
  const uint32_t body = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  r[0] = static_cast<char>(0x81);
  r[1] = static_cast<char>(opcode);
  r[2] = static_cast<char>(key.size() >> 8);
  r[3] = static_cast<char>(key.size());
  r[4] = static_cast<char>(extras.size());
  r[6] = static_cast<char>(status >> 8);
  r[7] = static_cast<char>(status);
  for (int i = 0; i < 4; ++i) r[8 + i] = static_cast<char>(body >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) r[12 + i] = static_cast<char>(opaque >> (24 - 8 * i));
  r[23] = 1;  // a CAS, which the bench ignores
  r += extras;
  r += key;
  r += value;
  return r;
}

const std::string kFlags(4, '\0');

struct Case {
  std::string bytes;
  OpType op;
  uint32_t opaque;
  ReplyKind kind;
  uint32_t values;
};

struct Parsed {
  ReplyKind kind;
  std::size_t consumed;
  uint32_t values;
  bool operator==(const Parsed&) const = default;
};

const std::vector<Case> kCases = {
    {response(0x00, 0x0000, 1, kFlags, "", "hello"), OpType::kGet, 1, ReplyKind::kHit, 1},
    {response(0x00, 0x0001, 2, "", "", "Not found"), OpType::kGet, 2, ReplyKind::kMiss, 0},
    {response(0x01, 0x0000, 3, "", "", ""), OpType::kSet, 3, ReplyKind::kStored, 0},
    {response(0x00, 0x0000, 4, kFlags, "", ""), OpType::kGet, 4, ReplyKind::kHit, 1},
    {response(0x01, 0x0002, 5, "", "", "Data exists for key."), OpType::kSet, 5, ReplyKind::kExists,
     0},
    {response(0x01, 0x0005, 6, "", "", "Not stored."), OpType::kSet, 6, ReplyKind::kNotStored, 0},
    {response(0x01, 0x0001, 7, "", "", "Not found"), OpType::kSet, 7, ReplyKind::kNotFound, 0},
    {response(0x01, 0x0003, 8, "", "", "Too large."), OpType::kSet, 8, ReplyKind::kClientError, 0},
    {response(0x01, 0x0082, 9, "", "", "Out of memory"), OpType::kSet, 9, ReplyKind::kServerError,
     0},
    {response(0x00, 0x0081, 10, "", "", "Unknown command"), OpType::kGet, 10, ReplyKind::kError, 0},
    {response(0x0b, 0x0000, 0, "", "", "1.6.18"), OpType::kVersion, 0, ReplyKind::kVersion, 0},
    {response(0x00, 0x0000, 0xfffffffe, kFlags, "", std::string(300, 'v')), OpType::kGet,
     0xfffffffe, ReplyKind::kHit, 1},
    // A value made of response-looking bytes is still just the value.
    {response(0x00, 0x0000, 12, kFlags, "", response(0x01, 0, 12, "", "", "")), OpType::kGet, 12,
     ReplyKind::kHit, 1},
};

std::string stream() {
  std::string s;
  for (const Case& c : kCases) s += c.bytes;
  return s;
}

const std::string kStream = stream();

std::vector<Parsed> expected() {
  std::vector<Parsed> v;
  for (const Case& c : kCases) v.push_back({c.kind, c.bytes.size(), c.values});
  return v;
}

const std::vector<Parsed> kExpected = expected();

// Feeds kStream cut at `cuts`, parsing the replies in order as bytes arrive, the way the bench
// loop does (through the Codec interface). Stops at a protocol error.
std::vector<Parsed> feed(const std::vector<std::size_t>& cuts, bool* protocol_error) {
  const BinaryCodec codec;
  std::vector<Parsed> out;
  std::string buffer;
  std::size_t from = 0;
  *protocol_error = false;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(kStream.size());
  for (std::size_t end : ends) {
    buffer.append(kStream, from, end - from);
    from = end;
    while (out.size() < kCases.size()) {
      const Case& c = kCases[out.size()];
      const Reply r = codec.parse_reply(buffer, c.op, c.opaque);
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

TEST_CASE("binary: a response stream delivered whole parses into the expected replies") {
  bool error = false;
  CHECK(feed({}, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("binary: a response stream split at every byte parses the same as whole") {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    bool error = false;
    INFO("split at " << cut);
    REQUIRE(feed({cut}, &error) == kExpected);
    REQUIRE_FALSE(error);
  }
}

TEST_CASE("binary: a response stream delivered one byte at a time parses the same as whole") {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  bool error = false;
  CHECK(feed(cuts, &error) == kExpected);
  CHECK_FALSE(error);
}

TEST_CASE("binary: every proper prefix of a response needs more and consumes nothing") {
  for (const Case& c : kCases) {
    for (std::size_t n = 0; n < c.bytes.size(); ++n) {
      INFO("case with opaque " << c.opaque << ", prefix " << n);
      const Reply r = parse_binary_reply(std::string_view(c.bytes).substr(0, n), c.op, c.opaque);
      REQUIRE(r.status == ReplyStatus::kNeedMore);
      REQUIRE(r.consumed == 0);
    }
  }
}

TEST_CASE("binary: a response that does not pair with its request is a protocol error") {
  const std::string hit = response(0x00, 0, 42, kFlags, "", "abc");
  CHECK(parse_binary_reply(hit, OpType::kGet, 42).status == ReplyStatus::kReply);
  // Another request's opaque, another opcode, a request magic, text.
  CHECK(parse_binary_reply(hit, OpType::kGet, 41).status == ReplyStatus::kProtocolError);
  CHECK(parse_binary_reply(hit, OpType::kSet, 42).status == ReplyStatus::kProtocolError);
  std::string request_magic = hit;
  request_magic[0] = static_cast<char>(0x80);
  CHECK(parse_binary_reply(request_magic, OpType::kGet, 42).status == ReplyStatus::kProtocolError);
  CHECK(parse_binary_reply("ERROR\r\n", OpType::kGet, 0).status == ReplyStatus::kProtocolError);
  // A wrong magic or opcode is refused as soon as its byte arrives.
  CHECK(parse_binary_reply("E", OpType::kGet, 0).status == ReplyStatus::kProtocolError);
  CHECK(parse_binary_reply(std::string_view(hit).substr(0, 2), OpType::kSet, 42).status ==
        ReplyStatus::kProtocolError);
  // Key and extras longer than the whole body.
  std::string bad_lengths = response(0x00, 0, 1, kFlags, "", "");
  bad_lengths[4] = 10;
  CHECK(parse_binary_reply(bad_lengths, OpType::kGet, 1).status == ReplyStatus::kProtocolError);
}

TEST_CASE("binary: GET, SET and VERSION requests are composed with 24-byte headers") {
  const BinaryCodec codec;
  char buffer[128];
  std::size_t n = codec.compose_get(buffer, "kioku:42", 0x01020304);
  const std::string get(buffer, n);
  const std::string want_get = std::string("\x80\x00\x00\x08\x00\x00\x00\x00", 8) +
                               std::string("\x00\x00\x00\x08\x01\x02\x03\x04", 8) +
                               std::string(8, '\0') + "kioku:42";
  CHECK(get == want_get);

  n = codec.compose_set(buffer, "k", "abc", 7);
  const std::string set(buffer, n);
  const std::string want_set = std::string("\x80\x01\x00\x01\x08\x00\x00\x00", 8) +
                               std::string("\x00\x00\x00\x0c\x00\x00\x00\x07", 8) +
                               std::string(8, '\0') + std::string(8, '\0') + "kabc";
  CHECK(set == want_set);

  n = codec.compose_version(buffer, 0);
  CHECK(std::string(buffer, n) == std::string("\x80\x0b", 2) + std::string(22, '\0'));
}

TEST_CASE("binary: a request that does not fit is not composed") {
  char small[30];
  CHECK(compose_binary_get(small, "kioku:42", 0) == 0);
  CHECK(compose_binary_set(small, "k", "abcdef", 0) == 0);
  CHECK(compose_binary_version(small, 0) == 24);
}

TEST_CASE("binary: the overheads leave room for the longest key and its framing") {
  const BinaryCodec codec;
  const std::string key(250, 'k');
  const std::string value(1000, 'v');
  std::vector<char> request(codec.request_overhead() + key.size() + value.size());
  CHECK(codec.compose_set(request, key, value, 0) > 0);
  const std::string reply = response(0x00, 0, 0, kFlags, "", value);
  CHECK(reply.size() <= codec.reply_overhead() + key.size() + value.size());
}
