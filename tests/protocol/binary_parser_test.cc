// tests/protocol/binary_parser_test.cc — binary request framing and memcached 1.6.18's
// per-opcode rules (each rule was probed on the real server: what it answered, when it closed).
#include "protocol/binary_parser.h"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/binary_composer.h"

using namespace kioku::protocol;
using Op = BinaryOpcode;

namespace {

std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be32(uint32_t v) { return be16(static_cast<uint16_t>(v >> 16)) + be16(v & 0xffff); }
std::string be64(uint64_t v) {
  return be32(static_cast<uint32_t>(v >> 32)) + be32(static_cast<uint32_t>(v));
}

// A request packet; body_length defaults to extras + key + value.
std::string packet(Op op, std::string key = "", std::string extras = "", std::string value = "",
                   uint32_t opaque = 0, uint64_t cas = 0, int64_t body_length = -1,
                   uint8_t magic = kBinaryRequestMagic) {
  const uint32_t body = body_length >= 0
                            ? static_cast<uint32_t>(body_length)
                            : static_cast<uint32_t>(extras.size() + key.size() + value.size());
  std::string p;
  p += static_cast<char>(magic);
  p += static_cast<char>(op);
  p += be16(static_cast<uint16_t>(key.size()));
  p += static_cast<char>(extras.size());
  p += '\0';
  p += be16(0);
  p += be32(body);
  p += be32(opaque);
  p += be64(cas);
  return p + extras + key + value;
}

BinaryCheck check(const std::string& bytes, bool sasl = false) {
  BinaryFrame f = frame_binary_request(bytes);
  REQUIRE(f.status == BinaryFrameStatus::kReady);
  return check_binary_request(f.request, sasl);
}

}  // namespace

TEST_CASE("a set request frames header, extras and key, and reports the value length") {
  const std::string bytes =
      packet(Op::kSet, "key", be32(0xdeadbeef) + be32(100), "value", 0x01020304, 77);
  BinaryFrame f = frame_binary_request(bytes);
  REQUIRE(f.status == BinaryFrameStatus::kReady);
  CHECK(f.consumed == 24 + 8 + 3);
  CHECK(f.request.header.opcode == 0x01);
  CHECK(f.request.header.opaque == 0x01020304);
  CHECK(f.request.header.cas == 77);
  CHECK(f.request.header.body_length == 16);
  CHECK(f.request.key == "key");
  CHECK(f.request.extras.size() == 8);
  CHECK(f.request.value_length == 5);
  CHECK(check(bytes).reads_value);
}

TEST_CASE("a request split at any byte needs more until its key is complete") {
  const std::string bytes = packet(Op::kGetK, "some-key", "", "", 9);
  const std::size_t head = 24 + 8;
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    BinaryFrame f = frame_binary_request(std::string_view(bytes).substr(0, cut));
    INFO("cut at " << cut);
    REQUIRE(f.status == BinaryFrameStatus::kNeedMore);
    CHECK(f.need == (cut < 24 ? 24 : head));
    CHECK(f.need > cut);
  }
  BinaryFrame whole = frame_binary_request(bytes);
  REQUIRE(whole.status == BinaryFrameStatus::kReady);
  CHECK(whole.request.key == "some-key");
}

TEST_CASE("every split point of a pipelined stream yields the same requests") {
  const std::string stream = packet(Op::kSetQ, "a", be32(1) + be32(0), "xyz", 1) +
                             packet(Op::kGetKQ, "a", "", "", 2) +
                             packet(Op::kIncrement, "n", be64(1) + be64(5) + be32(0), "", 3) +
                             packet(Op::kNoop, "", "", "", 4);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    // Feed [0, cut) then the whole: the parser never claims a request from a partial buffer.
    std::string_view first = std::string_view(stream).substr(0, cut);
    std::size_t at = 0;
    std::vector<uint32_t> opaques;
    while (true) {
      BinaryFrame f = frame_binary_request(first.substr(at));
      if (f.status != BinaryFrameStatus::kReady) break;
      BinaryCheck c = check_binary_request(f.request, false);
      const std::size_t total = f.consumed + (c.reads_value ? f.request.value_length : 0);
      if (at + total > first.size()) break;
      opaques.push_back(f.request.header.opaque);
      at += total;
    }
    INFO("cut at " << cut);
    CHECK(opaques.size() <= 4);
    for (std::size_t i = 0; i < opaques.size(); ++i) CHECK(opaques[i] == i + 1);
    if (cut == stream.size()) CHECK(opaques.size() == 4);
  }
}

TEST_CASE("a first byte other than the request magic is refused") {
  CHECK(frame_binary_request(packet(Op::kNoop, "", "", "", 0, 0, -1, 0x81)).status ==
        BinaryFrameStatus::kBadMagic);
  CHECK(frame_binary_request("get foo\r\nget foo\r\nget foo\r\n").status ==
        BinaryFrameStatus::kBadMagic);
  // Fewer than 24 bytes: memcached waits for a whole header before looking at the magic.
  CHECK(frame_binary_request("get foo\r\n").status == BinaryFrameStatus::kNeedMore);
}

TEST_CASE("a body shorter than key or key plus extras is an unknown command") {
  CHECK(frame_binary_request(packet(Op::kGet, "abc", "", "", 0, 0, 1)).status ==
        BinaryFrameStatus::kBodyTooShort);
  CHECK(frame_binary_request(packet(Op::kSet, "abc", std::string(8, '\0'), "", 0, 0, 9)).status ==
        BinaryFrameStatus::kBodyTooShort);
}

TEST_CASE("huge lengths never overflow") {
  // Body length near 2^32 with a short key: framed; the get rule then refuses it.
  const std::string get = packet(Op::kGet, "k", "", "", 0, 0, 0xffffffff);
  BinaryFrame f = frame_binary_request(get);
  REQUIRE(f.status == BinaryFrameStatus::kReady);
  CHECK(f.request.value_length == 0xfffffffe);
  CHECK(check(get).validity == BinaryValidity::kInvalid);
  // The largest extras + key a header can announce: waits for them.
  std::string header = packet(Op::kGet).substr(0, 24);
  header[2] = header[3] = '\xff';
  header[4] = '\xff';
  header[8] = header[9] = header[10] = header[11] = '\xff';
  BinaryFrame big = frame_binary_request(header);
  CHECK(big.status == BinaryFrameStatus::kNeedMore);
  CHECK(big.need == 24 + 255 + 65535);
}

TEST_CASE("per-opcode shape rules match memcached") {
  const std::string e8(8, '\0'), e4(4, '\0'), e20(20, '\0');
  CHECK(check(packet(Op::kNoop)).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kNoop, "x")).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kQuit, "x")).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kVersion, "", e4)).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kFlush, "", e4)).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kFlush, "", std::string(2, '\0'))).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kGet)).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kGet, "k", e4)).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kGet, std::string(250, 'k'))).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kGet, std::string(251, 'k'))).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kSet, "k", "", "v")).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kSetQ, "k", e8, "v")).reads_value);
  CHECK(check(packet(Op::kDelete, "k", e4)).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kIncrement, "k", e4)).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kDecrementQ, "k", e20)).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kAppend, "k", e4, "x")).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kPrependQ, "k", "", "x")).reads_value);
  CHECK(check(packet(Op::kTouch, "k")).validity == BinaryValidity::kInvalid);
  CHECK(check(packet(Op::kGatKQ, "k", e4)).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kStat, "items")).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kStat, "", e4)).validity == BinaryValidity::kInvalid);
}

TEST_CASE("unknown opcodes skip the body length again after the key") {
  BinaryCheck c = check(packet(static_cast<Op>(0x55), "k", "", "vvv"));
  CHECK(c.validity == BinaryValidity::kUnknownCommand);
  CHECK(c.skip_after_key == 4);
  // memcached 1.6.18 has no binary VERBOSITY.
  CHECK(check(packet(Op::kVerbosity, "", be32(1))).validity == BinaryValidity::kUnknownCommand);
}

TEST_CASE("SASL opcodes are unknown without -S and checked with it") {
  BinaryCheck off = check(packet(Op::kSaslAuth, "PLAIN", "", "data"), false);
  CHECK(off.validity == BinaryValidity::kUnknownCommand);
  CHECK(off.skip_after_key == 4);
  CHECK(check(packet(Op::kSaslListMechs), false).validity == BinaryValidity::kUnknownCommand);
  CHECK(check(packet(Op::kSaslListMechs), true).validity == BinaryValidity::kValid);
  CHECK(check(packet(Op::kSaslAuth, "PLAIN", "", "x"), true).reads_value);
  CHECK(check(packet(Op::kSaslStep, "", "", "x"), true).validity == BinaryValidity::kInvalid);
}

TEST_CASE("quiet opcodes map to their loud forms") {
  CHECK(is_quiet(Op::kGetKQ));
  CHECK(!is_quiet(Op::kGetK));
  CHECK(loud_form(Op::kGatKQ) == Op::kGatK);
  CHECK(loud_form(Op::kQuitQ) == Op::kQuit);
  CHECK(loud_form(Op::kStat) == Op::kStat);
}

TEST_CASE("an error response carries memcached's text and echoes opcode and opaque") {
  char out[kMaxBinaryErrorSize];
  std::size_t n = compose_binary_error(std::span<char, kMaxBinaryErrorSize>(out), 0x04, 0xa1b2c3d4,
                                       BinaryStatus::kKeyNotFound);
  const std::string bytes(out, n);
  CHECK(bytes == std::string("\x81\x04\x00\x00\x00\x00\x00\x01", 8) + be32(9) + be32(0xa1b2c3d4) +
                     be64(0) + "Not found");
  CHECK(binary_status_text(BinaryStatus::kDeltaBadValue) ==
        "Non-numeric server-side value for incr or decr");
  CHECK(binary_status_text(BinaryStatus::kAuthError) == "Auth failure.");
  CHECK(binary_status_text(BinaryStatus::kAuthContinue).empty());
}

TEST_CASE("a stat packet puts the name in the key and the value in the body") {
  char out[64];
  std::size_t n = compose_binary_stat(std::span<char>(out), 0x10, 7, "pid", "42");
  const std::string bytes(out, n);
  CHECK(bytes ==
        std::string("\x81\x10\x00\x03\x00\x00\x00\x00", 8) + be32(5) + be32(7) + be64(0) + "pid42");
}

TEST_CASE("a response header round-trips through the request decoder's field layout") {
  BinaryResponseHeader h;
  h.opcode = 0x0c;
  h.key_length = 300;
  h.extras_length = 4;
  h.status = BinaryStatus::kKeyExists;
  h.body_length = 0x01020304;
  h.opaque = 0xffffffff;
  h.cas = 0x0102030405060708;
  char out[24];
  encode_binary_response_header(h, std::span<char, 24>(out));
  BinaryHeader d = decode_binary_header(std::string_view(out, 24));
  CHECK(d.magic == kBinaryResponseMagic);
  CHECK(d.opcode == 0x0c);
  CHECK(d.key_length == 300);
  CHECK(d.extras_length == 4);
  CHECK(d.vbucket == 0x0002);  // the status field
  CHECK(d.body_length == 0x01020304);
  CHECK(d.opaque == 0xffffffff);
  CHECK(d.cas == 0x0102030405060708);
}
