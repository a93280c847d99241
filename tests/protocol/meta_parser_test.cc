// tests/protocol/meta_parser_test.cc — the meta parser against replies observed on memcached
// 1.6.18: every flag, every split point, malformed input.
#include "protocol/meta_parser.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/meta_composer.h"

using namespace kioku::protocol;

namespace {
// Callers keep the bytes alive: a result's views point into them.
MetaParseResult parse(std::string_view s) { return parse_meta_command_line(s); }
}  // namespace

TEST_CASE("non-meta lines are left to the text parser") {
  for (const char* line :
       {"get foo\r\n", "mgx foo\r\n", "MG foo\r\n", "m\r\n", "set a 0 0 1\r\n"}) {
    CHECK(parse(line).status == MetaStatus::kNotMeta);
  }
  CHECK(parse("ge").status == MetaStatus::kNotMeta);
  CHECK(parse("mg").status == MetaStatus::kNotMeta);  // the text parser waits for the newline
}

TEST_CASE("mg with every return flag keeps them in order") {
  auto r = parse("mg foo s v f t c k O123 h l q u\r\nrest");
  REQUIRE(r.status == MetaStatus::kRequest);
  CHECK(r.consumed == std::string("mg foo s v f t c k O123 h l q u\r\n").size());
  CHECK(r.request.command == MetaCommand::kGet);
  CHECK(r.request.key() == "foo");
  REQUIRE(r.request.flag_count == 11);
  std::string letters;
  for (std::size_t i = 0; i < r.request.flag_count; ++i) letters += r.request.flags[i].letter;
  CHECK(letters == "svftckOhlqu");
  CHECK(r.request.flags[6].token == "O123");
  CHECK(r.request.return_value);
  CHECK(r.request.quiet);
  CHECK(r.request.no_bump);
}

TEST_CASE("numeric flags decode as memcached's safe_strto* do") {
  auto r = parse("mg foo N30 T-1 R15 E77\r\n");
  REQUIRE(r.status == MetaStatus::kRequest);
  CHECK(r.request.vivify);
  CHECK(r.request.vivify_ttl == 30);
  CHECK(r.request.has_ttl);
  CHECK(r.request.ttl == -1);
  CHECK(r.request.recache_ttl == 15);
  CHECK(r.request.new_cas == 77);
  auto s = parse("ms foo 5 F4294967297 C9 MA I\r\n");
  REQUIRE(s.status == MetaStatus::kRequest);
  CHECK(s.request.value_length == 5);
  CHECK(s.request.client_flags == 1);  // wraps to 32 bits
  CHECK(s.request.cas == 9);
  CHECK(s.request.mode == 'A');
  CHECK(s.request.invalidate);
  auto a = parse("ma foo N0 J10 D3 MD\r\n");
  REQUIRE(a.status == MetaStatus::kRequest);
  CHECK(a.request.initial == 10);
  CHECK(a.request.delta == 3);
  CHECK(a.request.mode == 'D');
  CHECK(parse("ma foo\r\n").request.delta == 1);
  CHECK(parse("md foo x I T5 C1\r\n").request.remove_value);
}

TEST_CASE("malformed meta lines earn memcached's exact errors") {
  struct Row {
    std::string in;
    std::string error;
    uint64_t swallow;
  };
  const std::string long_key(251, 'a');
  std::string opaques17, opaques18;
  for (int i = 0; i < 18; ++i) (i < 17 ? opaques17 : opaques18) += " O" + std::to_string(i);
  opaques18 = opaques17 + opaques18;
  const std::vector<Row> rows = {
      {"mg\r\n", "ERROR", 0},
      {"md\r\n", "ERROR", 0},
      {"me\r\n", "CLIENT_ERROR bad command line format", 0},
      {"mg " + long_key + " v\r\n", "CLIENT_ERROR bad command line format", 0},
      {"mg foo k k\r\n", "CLIENT_ERROR duplicate flag", 0},
      {"mg foo z\r\n", "CLIENT_ERROR invalid flag", 0},
      {"mg foo Tabc\r\n", "CLIENT_ERROR bad token in command line format", 0},
      {"mg foo T\r\n", "CLIENT_ERROR bad token in command line format", 0},
      {"mg foo O" + std::string(40, 'x') + "\r\n", "CLIENT_ERROR opaque token too long", 0},
      {"mg foo" + opaques17 + "\r\n", "CLIENT_ERROR duplicate flag", 0},
      {"md foo O" + std::string(40, 'x') + "\r\n", "CLIENT_ERROR opaque token too long", 0},
      {"ma foo O" + std::string(40, 'x') + "\r\n", "CLIENT_ERROR opaque token too long", 0},
      {"ms foo 2 O" + std::string(40, 'x') + "\r\n", "CLIENT_ERROR opaque token too long", 4},
      {"mg foo O" + std::string(40, 'x') + " Tx\r\n",
       "CLIENT_ERROR bad token in command line format", 0},
      {"ms foo 2 MX O" + std::string(40, 'x') + "\r\n", "CLIENT_ERROR invalid mode for ms M token",
       4},
      {"mg foo" + opaques18 + "\r\n", "CLIENT_ERROR options flags are too long", 0},
      {"md foo" + opaques18 + "\r\n", "CLIENT_ERROR options flags too long", 0},
      {"mg Zm9v= b\r\n", "CLIENT_ERROR error decoding key", 0},
      {"ms foo\r\n", "CLIENT_ERROR bad command line format", 0},
      {"ms foo x\r\n", "CLIENT_ERROR bad command line format", 0},
      {"ms foo -1\r\n", "CLIENT_ERROR bad command line format", 0},
      {"ms foo 3 MX\r\n", "CLIENT_ERROR invalid mode for ms M token", 5},
      {"ms foo 3 Me\r\n", "CLIENT_ERROR invalid mode for ms M token", 5},
      {"ms foo 3 MEE\r\n", "CLIENT_ERROR incorrect length for M token", 5},
      {"ms foo 3 Fx\r\n", "CLIENT_ERROR bad command line format", 5},
      {"ms foo 2 S5\r\n", "CLIENT_ERROR invalid flag", 4},
      {"md foo zz\r\n", "CLIENT_ERROR invalid or duplicate flag", 0},
      {"md foo C\r\n", "CLIENT_ERROR invalid or duplicate flag", 0},
      {"ma foo Dx\r\n", "CLIENT_ERROR invalid or duplicate flag", 0},
      {"ma foo Jx\r\n", "CLIENT_ERROR invalid or duplicate flag", 0},
      {"ma foo MX\r\n", "CLIENT_ERROR invalid mode for ma M token", 0},
      {"me !!! b\r\n", "CLIENT_ERROR bad command line format", 0},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    auto r = parse(row.in);
    REQUIRE(r.status == MetaStatus::kError);
    CHECK(r.error == row.error);
    CHECK(r.swallow == row.swallow);
    CHECK(r.consumed == row.in.size());
  }
}

TEST_CASE("a meta request split at any byte parses only when whole") {
  const std::string req = "ms Zm9v 5 b T30 F3 k O9 c q\r\n";
  for (std::size_t cut = 0; cut < req.size(); ++cut) {
    INFO(cut);
    auto r = parse(req.substr(0, cut));
    CHECK((r.status == MetaStatus::kNeedMore || r.status == MetaStatus::kNotMeta));
    CHECK(r.consumed == 0);
  }
  const std::string whole = req + "hello\r\n";
  auto r = parse(whole);
  REQUIRE(r.status == MetaStatus::kRequest);
  CHECK(r.consumed == req.size());
  CHECK(r.request.key() == "foo");
  CHECK(r.request.raw_key() == "Zm9v");
  CHECK(r.request.base64_key);
}

TEST_CASE("an over-long meta line without a newline closes the connection") {
  const std::string line = "mg " + std::string(3000, 'a');
  auto r = parse(line);
  CHECK(r.status == MetaStatus::kError);
  CHECK(r.close_connection);
}

TEST_CASE("base64 round trips and rejects malformed input") {
  char out[64];
  CHECK(std::string(out, base64_encode("foo2", out)) == "Zm9vMg==");
  CHECK(std::string(out, base64_decode("Zm9vMg==", out, sizeof out)) == "foo2");
  CHECK(base64_decode("Zm9v=", out, sizeof out) == 0);
  CHECK(base64_decode("ZZZ", out, sizeof out) == 0);
  // As memcached: padding ends the key, whatever follows; stray bytes are skipped.
  CHECK(std::string(out, base64_decode("Zm9=Mg==", out, sizeof out)) == "fo");
  CHECK(std::string(out, base64_decode("Zm9vMg==Zm9v", out, sizeof out)) == "foo2");
  CHECK(base64_decode("Zm9vMg", out, sizeof out) == 0);
  CHECK(base64_decode("Zm9vM===", out, sizeof out) == 0);
  CHECK(base64_decode("====", out, sizeof out) == 0);
  CHECK(base64_decode("ab\tc", out, sizeof out) == 0);
  CHECK(base64_decode("!!!!", out, sizeof out) == 0);
}

TEST_CASE("meta reply lines carry flags in order") {
  char buf[kMaxMetaReplyLine];
  MetaReplyLine line(buf);
  line.value_status(3);
  line.number_flag('s', 3);
  line.ttl_flag(-1);
  line.key_flag("foo2", true);
  line.token("O1");
  line.letter('W');
  const std::size_t n = line.finish();
  CHECK(std::string(buf, n) == "VA 3 s3 t-1 kZm9vMg== b O1 W\r\n");
  const std::size_t d = compose_meta_debug(buf, "foo", false, -1, 2, 7, true, 1, 65);
  CHECK(std::string(buf, d) == "ME foo exp=-1 la=2 cas=7 fetch=yes cls=1 size=65\r\n");
}
