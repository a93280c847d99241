// tests/client/meta_codec_test.cc — the client library's meta requests and reply parsing.
#include "client/meta_codec.h"

#include <catch2/catch.hpp>
#include <string>

#include "client/kioku_client.h"

using namespace kioku::client;

namespace {

// Every proper prefix of `bytes` needs more; the whole parses and consumes exactly `bytes`.
MetaReply parse_whole_only(const std::string& bytes) {
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    MetaReply reply;
    ReadResult r = read_meta_reply(std::string_view(bytes).substr(0, cut), &reply);
    INFO("cut at " << cut);
    CHECK(r.status == ReadStatus::kNeedMore);
    CHECK(r.consumed == 0);
  }
  MetaReply reply;
  ReadResult r = read_meta_reply(bytes + "HD\r\n", &reply);
  REQUIRE(r.status == ReadStatus::kDone);
  CHECK(r.consumed == bytes.size());
  return reply;
}

}  // namespace

TEST_CASE("a VA reply with key, flags and cas parses whole, and only whole") {
  MetaReply reply = parse_whole_only("VA 5 f42 kuser:1 c99 t-1\r\nhe\r\nl\r\n");
  CHECK(reply.code == MetaCode::kValue);
  CHECK(reply.has_key);
  CHECK(reply.item.key == "user:1");
  CHECK(reply.item.flags == 42);
  CHECK(reply.item.cas == 99);
  CHECK(reply.item.value == "he\r\nl");
}

TEST_CASE("an empty VA and one without return flags parse") {
  MetaReply reply = parse_whole_only("VA 0\r\n\r\n");
  CHECK(reply.code == MetaCode::kValue);
  CHECK_FALSE(reply.has_key);
  CHECK(reply.item.value.empty());
  reply = parse_whole_only("VA 2\r\n14\r\n");
  CHECK(reply.item.value == "14");
}

TEST_CASE("each status code parses whole, and only whole") {
  CHECK(parse_whole_only("HD\r\n").code == MetaCode::kHeader);
  CHECK(parse_whole_only("HD c5\r\n").item.cas == 5);
  CHECK(parse_whole_only("EN\r\n").code == MetaCode::kEnd);
  CHECK(parse_whole_only("NF\r\n").code == MetaCode::kNotFound);
  CHECK(parse_whole_only("NS\r\n").code == MetaCode::kNotStored);
  CHECK(parse_whole_only("EX\r\n").code == MetaCode::kExists);
  CHECK(parse_whole_only("MN\r\n").code == MetaCode::kNoop);
  MetaReply error = parse_whole_only("CLIENT_ERROR bad data chunk\r\n");
  CHECK(error.code == MetaCode::kError);
  CHECK(error.error_line == "CLIENT_ERROR bad data chunk");
  CHECK(parse_whole_only("SERVER_ERROR out of memory storing object\r\n").code == MetaCode::kError);
  CHECK(parse_whole_only("ERROR\r\n").code == MetaCode::kError);
}

TEST_CASE("replies that are not meta are malformed") {
  for (std::string bad : {"VALUE k 0 1\r\nx\r\nEND\r\n", "STORED\r\n", "VA x\r\n", "VA 1\r\nxy\r\n",
                          "HD fnope\r\n", "HD\n", "VA 3 c-1\r\nabc\r\n"}) {
    MetaReply reply;
    INFO(bad);
    CHECK(read_meta_reply(bad, &reply).status == ReadStatus::kMalformed);
  }
  MetaReply reply;
  CHECK(read_meta_reply(std::string(5000, 'H'), &reply).status == ReadStatus::kMalformed);
}

TEST_CASE("a quiet multi-get pipeline reads back reply by reply, split anywhere") {
  const std::string bytes = "VA 1 f0 ka\r\nx\r\nSERVER_ERROR busy\r\nVA 2 f1 kb\r\nyz\r\nMN\r\n";
  std::vector<MetaCode> codes;
  std::string_view rest = bytes;
  for (;;) {
    MetaReply reply;
    ReadResult r = read_meta_reply(rest, &reply);
    REQUIRE(r.status == ReadStatus::kDone);
    codes.push_back(reply.code);
    rest.remove_prefix(r.consumed);
    if (reply.code == MetaCode::kNoop) break;
  }
  CHECK(rest.empty());
  CHECK(codes == std::vector<MetaCode>{MetaCode::kValue, MetaCode::kError, MetaCode::kValue,
                                       MetaCode::kNoop});
}

TEST_CASE("requests are composed as memcached's meta commands") {
  std::string out;
  compose_meta_get(&out, "k", false, false);
  CHECK(out == "mg k v f k\r\n");
  out.clear();
  compose_meta_get(&out, "k", true, true);
  compose_meta_noop(&out);
  CHECK(out == "mg k v f k c q\r\nmn\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kSet, "k", "val", 0, 0, 0);
  CHECK(out == "ms k 3 MS\r\nval\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kAdd, "k", "", 7, -1, 0);
  CHECK(out == "ms k 0 F7 T-1 ME\r\n\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kReplace, "k", "v", 0, 9, 0);
  CHECK(out == "ms k 1 T9 MR\r\nv\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kAppend, "k", "v", 7, 9, 0);
  CHECK(out == "ms k 1 MA\r\nv\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kPrepend, "k", "v", 0, 0, 0);
  CHECK(out == "ms k 1 MP\r\nv\r\n");
  out.clear();
  compose_meta_store(&out, StoreMode::kCas, "k", "v", 1, 0, 123456789012ULL);
  CHECK(out == "ms k 1 F1 C123456789012 MS\r\nv\r\n");
  out.clear();
  compose_meta_delete(&out, "k");
  CHECK(out == "md k\r\n");
  out.clear();
  compose_meta_arithmetic(&out, "k", true, 18446744073709551615ULL);
  CHECK(out == "ma k v D18446744073709551615 MI\r\n");
  out.clear();
  compose_meta_arithmetic(&out, "k", false, 1);
  CHECK(out == "ma k v D1 MD\r\n");
  out.clear();
  compose_meta_touch(&out, "k", 100);
  CHECK(out == "mg k T100\r\n");
}
