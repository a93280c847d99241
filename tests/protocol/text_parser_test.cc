// tests/protocol/text_parser_test.cc — the text parser against behaviour observed on a real
// memcached 1.6.18. Each table row records the input, the reply memcached gave to it, and the
// parse that makes the daemon give the same reply.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/text_parser.h"

using namespace kioku::protocol;
using C = TextCommand;
using E = TextError;

namespace {

struct Case {
  std::string input;
  std::string memcached_reply;  // what memcached 1.6.18 answered (documentation)
  ParseStatus status;
  TextError error = E::kNone;
  TextRequest request{};
  std::size_t consumed = std::string::npos;  // npos: the whole input
};

Case ok(std::string input, std::string reply, TextRequest request) {
  return Case{std::move(input), std::move(reply), ParseStatus::kRequest, E::kNone, request};
}
Case err(std::string input, std::string reply, TextError e, bool noreply = false) {
  TextRequest r;
  r.noreply = noreply;
  return Case{std::move(input), std::move(reply), ParseStatus::kError, e, r};
}

std::string key(std::size_t n, char c = 'a') { return std::string(n, c); }

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // Framing and unknown commands.
      err("\r\n", "ERROR", E::kUnknownCommand),
      err("\n", "ERROR", E::kUnknownCommand),
      err(" \r\n", "ERROR", E::kUnknownCommand),
      err("\r\r\n", "ERROR", E::kUnknownCommand),
      err("x\r\n", "ERROR", E::kUnknownCommand),
      err("a\r\r\n", "ERROR", E::kUnknownCommand),
      err("gt a\r\n", "ERROR", E::kUnknownCommand),
      err("GET a\r\n", "ERROR", E::kUnknownCommand),
      err("get\ta\r\n", "ERROR", E::kUnknownCommand),
      err("quitx\r\n", "ERROR", E::kUnknownCommand),
      err("sets k 0 0 1\r\n", "ERROR", E::kUnknownCommand),
      err(std::string("\0get a\r\n", 8), "ERROR", E::kUnknownCommand),
      err("mn\r\n", "MN (meta commands not supported yet)", E::kUnknownCommand),
      err("me k\r\n", "EN (meta commands not supported yet)", E::kUnknownCommand),

      // Retrieval.
      err("get\r\n", "ERROR", E::kUnknownCommand),
      err("get \r\n", "ERROR", E::kUnknownCommand),
      err("gets\r\n", "ERROR", E::kUnknownCommand),
      err("gat\r\n", "ERROR", E::kUnknownCommand),
      err("gats\r\n", "ERROR", E::kUnknownCommand),
      ok("get a\r\n", "END", {.command = C::kGet, .keys = "a"}),
      ok("get a\n", "END", {.command = C::kGet, .keys = "a"}),
      ok("get a\r\r\n", "END", {.command = C::kGet, .keys = "a\r"}),
      ok("get  a   b \r\n", "END", {.command = C::kGet, .keys = "a   b"}),
      ok("bget a\r\n", "END", {.command = C::kGet, .keys = "a"}),
      ok("gets a b\r\n", "END", {.command = C::kGets, .keys = "a b"}),
      ok("get a noreply\r\n", "END (noreply is a key)", {.command = C::kGet, .keys = "a noreply"}),
      ok(std::string("get a\0b\r\n", 9), "END (NUL ends the line)", {.command = C::kGet, .keys = "a"}),
      ok("get " + key(250) + "\r\n", "END", {.command = C::kGet, .keys = ""}),  // keys checked below
      err("get " + key(251) + "\r\n", "CLIENT_ERROR bad command line format",
          E::kBadCommandLineFormat),
      err("get a " + key(251) + " a\r\n", "CLIENT_ERROR bad command line format (no VALUE lines)",
          E::kBadCommandLineFormat),
      ok("gat 0\r\n", "END (no keys)", {.command = C::kGat, .keys = ""}),
      ok("gat 0 a\r\n", "END", {.command = C::kGat, .keys = "a"}),
      ok("gats 1\r\n", "END", {.command = C::kGats, .exptime = 1}),
      ok("gats 0 a b\r\n", "END", {.command = C::kGats, .keys = "a b"}),
      ok("gat -1 a\r\n", "END", {.command = C::kGat, .keys = "a", .exptime = -1}),
      ok("gat 99999999999 a\r\n", "END",
         {.command = C::kGat, .keys = "a", .exptime = static_cast<int32_t>(99999999999 & 0xffffffff)}),
      err("gat abc a\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("gat abc noreply\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("gat 9223372036854775808 a\r\n", "CLIENT_ERROR invalid exptime argument",
          E::kInvalidExptime),
      err("gat 0 " + key(251) + "\r\n", "CLIENT_ERROR bad command line format",
          E::kBadCommandLineFormat),
      ok("get a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5\r\n", "END",
         {.command = C::kGet, .keys = "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5"}),

      // Storage.
      ok("set k 0 0 1\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1\r\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 noreply\r\nx\r\n", "(nothing)",
         {.command = C::kSet, .noreply = true, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 noreply \r\nx\r\n", "(nothing)",
         {.command = C::kSet, .noreply = true, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 NOREPLY\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 noreplyx\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 \vnoreply\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 1 2\r\nx\r\n", "STORED (extra word ignored)",
         {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k  0  0  1 \r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 0\r\n\r\n", "STORED", {.command = C::kSet, .key = "k"}),
      ok("set k 0 0 -0\r\n\r\n", "STORED", {.command = C::kSet, .key = "k"}),
      ok("add k 1 2 3\r\nabc\r\n", "NOT_STORED",
         {.command = C::kAdd, .key = "k", .flags = 1, .exptime = 2, .value_length = 3, .value = "abc"}),
      ok("replace k 0 0 1\r\nx\r\n", "STORED", {.command = C::kReplace, .key = "k", .value_length = 1, .value = "x"}),
      ok("append k 0 0 1\r\nx\r\n", "STORED", {.command = C::kAppend, .key = "k", .value_length = 1, .value = "x"}),
      ok("prepend k 0 0 1\r\nx\r\n", "STORED", {.command = C::kPrepend, .key = "k", .value_length = 1, .value = "x"}),
      ok("set " + key(250) + " 0 0 1\r\nx\r\n", "STORED",
         {.command = C::kSet, .key = "", .value_length = 1, .value = "x"}),  // key checked below
      ok("set k\x01\x02 0 0 1\r\nx\r\n", "STORED (control bytes are key bytes)",
         {.command = C::kSet, .key = "k\x01\x02", .value_length = 1, .value = "x"}),
      // Flags: strtoul, wrapped to 32 bits; '-' refused only if the 64-bit result looks negative.
      ok("set k +5 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      ok("set k 007 0 1\r\nx\r\n", "STORED, flags 7", {.command = C::kSet, .key = "k", .flags = 7, .value_length = 1, .value = "x"}),
      ok("set k -0 0 1\r\nx\r\n", "STORED, flags 0", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 4294967295 0 1\r\nx\r\n", "STORED, flags 4294967295",
         {.command = C::kSet, .key = "k", .flags = 4294967295u, .value_length = 1, .value = "x"}),
      ok("set k 4294967296 0 1\r\nx\r\n", "STORED, flags 0", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 4294967301 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      ok("set k 18446744073709551615 0 1\r\nx\r\n", "STORED, flags 4294967295",
         {.command = C::kSet, .key = "k", .flags = 4294967295u, .value_length = 1, .value = "x"}),
      ok("set k -9223372036854775809 0 1\r\nx\r\n", "STORED, flags 4294967295",
         {.command = C::kSet, .key = "k", .flags = 4294967295u, .value_length = 1, .value = "x"}),
      ok("set k -18446744073709551615 0 1\r\nx\r\n", "STORED, flags 1",
         {.command = C::kSet, .key = "k", .flags = 1, .value_length = 1, .value = "x"}),
      ok("set k \t5 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      ok("set k 5\t 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      ok("set k 5\tzz 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      ok("set k 5\r 0 1\r\nx\r\n", "STORED, flags 5", {.command = C::kSet, .key = "k", .flags = 5, .value_length = 1, .value = "x"}),
      err("set k -1 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 18446744073709551616 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0x1 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 1e3 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      // Exptime: strtol (64-bit range), wrapped to int32.
      ok("set k 0 -1 1\r\nx\r\n", "STORED (then a miss)", {.command = C::kSet, .key = "k", .exptime = -1, .value_length = 1, .value = "x"}),
      ok("set k 0 +1 1\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .exptime = 1, .value_length = 1, .value = "x"}),
      ok("set k 0 2147483647 1\r\nx\r\n", "STORED",
         {.command = C::kSet, .key = "k", .exptime = 2147483647, .value_length = 1, .value = "x"}),
      ok("set k 0 2147483648 1\r\nx\r\n", "STORED (then a miss: wrapped negative)",
         {.command = C::kSet, .key = "k", .exptime = INT32_MIN, .value_length = 1, .value = "x"}),
      ok("set k 0 4294967296 1\r\nx\r\n", "STORED (then a hit: wrapped to 0)",
         {.command = C::kSet, .key = "k", .exptime = 0, .value_length = 1, .value = "x"}),
      ok("set k 0 -4294967296 1\r\nx\r\n", "STORED (then a hit: wrapped to 0)",
         {.command = C::kSet, .key = "k", .exptime = 0, .value_length = 1, .value = "x"}),
      ok("set k 0 -2147483649 1\r\nx\r\n", "STORED",
         {.command = C::kSet, .key = "k", .exptime = 2147483647, .value_length = 1, .value = "x"}),
      ok("set k 0 9223372036854775807 1\r\nx\r\n", "STORED (then a miss)",
         {.command = C::kSet, .key = "k", .exptime = -1, .value_length = 1, .value = "x"}),
      err("set k 0 9223372036854775808 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 -9223372036854775809 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 abc 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      // Length: strtol wrapped to int32, then 0..INT_MAX-2.
      ok("set k 0 0 +1\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 01\r\nx\r\n", "STORED", {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      ok("set k 0 0 4294967297\r\nx\r\n", "STORED (length wrapped to 1)",
         {.command = C::kSet, .key = "k", .value_length = 1, .value = "x"}),
      err("set k 0 0 -1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 0 -1 noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("set k 0 0 abc noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("set k 0 0 2147483646\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 0 2147483647\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 0 2147483648\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set k 0 0 1x\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set " + key(251) + " 0 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("set " + key(251) + " 0 0 1 noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("set\r\n", "ERROR", E::kUnknownCommand),
      err("set k 0 0\r\n", "ERROR", E::kUnknownCommand),
      err("set k 0 0 1 noreply extra\r\n", "ERROR", E::kUnknownCommand),
      err("set k 0 0 1 x x x x x x x x x x x x x x x x noreply\r\n", "ERROR", E::kUnknownCommand),
      err("prepend k 0 0\r\n", "ERROR", E::kUnknownCommand),
      err("prepend k 0 0 1 noreply x\r\n", "ERROR", E::kUnknownCommand),
      err(std::string("set k\0 0 0 1\r\n", 14), "ERROR (NUL ends the line)", E::kUnknownCommand),
      // Data blocks: exactly value_length + 2 bytes are consumed, good or bad.
      err("set k 0 0 2\r\nxyz\r", "CLIENT_ERROR bad data chunk", E::kBadDataChunk),
      err("set k 0 0 2 noreply\r\nxyz\r", "(nothing)", E::kBadDataChunk, true),
      err("set k 0 0 2\r\nxy\n\r", "CLIENT_ERROR bad data chunk", E::kBadDataChunk),
      err("set k 0 0 2\r\nxy\r\r", "CLIENT_ERROR bad data chunk", E::kBadDataChunk),
      err("set k 0 0 1\r\nx\ng", "CLIENT_ERROR bad data chunk", E::kBadDataChunk),
      // cas.
      ok("cas k 0 0 1 5\r\nx\r\n", "EXISTS", {.command = C::kCas, .key = "k", .value_length = 1, .cas_unique = 5, .value = "x"}),
      ok("cas k 0 0 1 5 noreply\r\nx\r\n", "(nothing)",
         {.command = C::kCas, .noreply = true, .key = "k", .value_length = 1, .cas_unique = 5, .value = "x"}),
      ok("cas k 0 0 1 5 6\r\nx\r\n", "EXISTS", {.command = C::kCas, .key = "k", .value_length = 1, .cas_unique = 5, .value = "x"}),
      ok("cas k 0 0 1 18446744073709551615\r\nx\r\n", "EXISTS",
         {.command = C::kCas, .key = "k", .value_length = 1, .cas_unique = UINT64_MAX, .value = "x"}),
      err("cas k 0 0 1\r\n", "ERROR", E::kUnknownCommand),
      err("cas k 0 0 1 5 6 7\r\n", "ERROR", E::kUnknownCommand),
      err("cas k 0 0 1 abc\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("cas k 0 0 1 -1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("cas k 0 0 1 18446744073709551616\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("cas k 0 0 1 noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("cas k 0 0 1 abc noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),

      // incr / decr.
      ok("incr n 5\r\n", "15", {.command = C::kIncr, .key = "n", .delta = 5}),
      ok("incr n +1\r\n", "16", {.command = C::kIncr, .key = "n", .delta = 1}),
      ok("incr n \t5\r\n", "NOT_FOUND", {.command = C::kIncr, .key = "n", .delta = 5}),
      ok("incr n 5 \t\r\n", "NOT_FOUND", {.command = C::kIncr, .key = "n", .delta = 5}),
      ok("incr n 18446744073709551615\r\n", "15 (wraps)", {.command = C::kIncr, .key = "n", .delta = UINT64_MAX}),
      ok("incr n 1 noreply\r\n", "(nothing)", {.command = C::kIncr, .noreply = true, .key = "n", .delta = 1}),
      ok("incr n 1 x\r\n", "17", {.command = C::kIncr, .key = "n", .delta = 1}),
      ok("decr n 1\r\n", "16", {.command = C::kDecr, .key = "n", .delta = 1}),
      err("incr n\r\n", "ERROR", E::kUnknownCommand),
      err("decr\r\n", "ERROR", E::kUnknownCommand),
      err("incr n 1 2 3\r\n", "ERROR", E::kUnknownCommand),
      err("incr n abc\r\n", "CLIENT_ERROR invalid numeric delta argument", E::kInvalidDelta),
      err("decr n abc\r\n", "CLIENT_ERROR invalid numeric delta argument", E::kInvalidDelta),
      err("incr n -1\r\n", "CLIENT_ERROR invalid numeric delta argument", E::kInvalidDelta),
      err("incr n 18446744073709551616\r\n", "CLIENT_ERROR invalid numeric delta argument", E::kInvalidDelta),
      err("incr n abc noreply\r\n", "(nothing)", E::kInvalidDelta, true),
      err("incr " + key(251) + " 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("incr " + key(251) + " 1 noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),

      // delete.
      ok("delete k\r\n", "DELETED", {.command = C::kDelete, .key = "k"}),
      ok("delete k 0\r\n", "NOT_FOUND", {.command = C::kDelete, .key = "k"}),
      ok("delete k noreply\r\n", "(nothing)", {.command = C::kDelete, .noreply = true, .key = "k"}),
      ok("delete k 0 noreply\r\n", "(nothing)", {.command = C::kDelete, .noreply = true, .key = "k"}),
      ok("delete noreply\r\n", "NOT_FOUND (a key)", {.command = C::kDelete, .key = "noreply"}),
      err("delete\r\n", "ERROR", E::kUnknownCommand),
      err("delete k 0 noreply x\r\n", "ERROR", E::kUnknownCommand),
      err("delete k 1\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", E::kBadDeleteFormat),
      err("delete k 00\r\n", "CLIENT_ERROR bad command line format.  Usage: ...", E::kBadDeleteFormat),
      err("delete k -0\r\n", "CLIENT_ERROR bad command line format.  Usage: ...", E::kBadDeleteFormat),
      err("delete k 0 0\r\n", "CLIENT_ERROR bad command line format.  Usage: ...", E::kBadDeleteFormat),
      err("delete k 0 x\r\n", "CLIENT_ERROR bad command line format.  Usage: ...", E::kBadDeleteFormat),
      err("delete k 1 noreply\r\n", "(nothing)", E::kBadDeleteFormat, true),
      err("delete k x noreply\r\n", "(nothing)", E::kBadDeleteFormat, true),
      err("delete " + key(251) + "\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("delete " + key(251) + " noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("delete " + key(251) + " 0\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("delete " + key(251) + " 1\r\n", "CLIENT_ERROR bad command line format.  Usage: ...", E::kBadDeleteFormat),
      err("delete k x x x x x x x x x x x x x x x x x x noreply\r\n", "ERROR", E::kUnknownCommand),

      // touch.
      ok("touch k 0\r\n", "NOT_FOUND", {.command = C::kTouch, .key = "k"}),
      ok("touch k 10 noreply\r\n", "(nothing)", {.command = C::kTouch, .noreply = true, .key = "k", .exptime = 10}),
      ok("touch k 0 x\r\n", "NOT_FOUND", {.command = C::kTouch, .key = "k"}),
      ok(std::string("touch k 0\0 noreply\r\n", 20), "TOUCHED (NUL ends the line)", {.command = C::kTouch, .key = "k"}),
      err("touch k\r\n", "ERROR", E::kUnknownCommand),
      err("touch k 0 noreply x\r\n", "ERROR", E::kUnknownCommand),
      err("touch k abc\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("touch k abc noreply\r\n", "(nothing)", E::kInvalidExptime, true),
      err("touch k 9223372036854775808\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("touch " + key(251) + " 0\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),

      // flush_all.
      ok("flush_all\r\n", "OK", {.command = C::kFlushAll}),
      ok("flush_all 0\r\n", "OK", {.command = C::kFlushAll, .has_argument = true}),
      ok("flush_all -1\r\n", "OK", {.command = C::kFlushAll, .exptime = -1, .has_argument = true}),
      ok("flush_all +5\r\n", "OK", {.command = C::kFlushAll, .exptime = 5, .has_argument = true}),
      ok("flush_all noreply\r\n", "(nothing)", {.command = C::kFlushAll, .noreply = true}),
      ok("flush_all 0 noreply\r\n", "(nothing)", {.command = C::kFlushAll, .noreply = true, .has_argument = true}),
      ok("flush_all 0 0\r\n", "OK", {.command = C::kFlushAll, .has_argument = true}),
      err("flush_all 0 0 0\r\n", "ERROR", E::kUnknownCommand),
      err("flush_all abc\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("flush_all abc noreply\r\n", "(nothing)", E::kInvalidExptime, true),
      err("flush_all 9223372036854775808\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),

      // version, quit, verbosity, cache_memlimit, stats, shutdown.
      ok("version\r\n", "VERSION 1.6.18", {.command = C::kVersion}),
      ok("version x y z\r\n", "VERSION 1.6.18", {.command = C::kVersion}),
      ok("quit\r\n", "(closes)", {.command = C::kQuit}),
      ok("quit x\r\n", "(closes)", {.command = C::kQuit}),
      ok("verbosity 1\r\n", "OK", {.command = C::kVerbosity, .delta = 1}),
      ok("verbosity 1 noreply\r\n", "(nothing)", {.command = C::kVerbosity, .noreply = true, .delta = 1}),
      ok("verbosity 1 2\r\n", "OK", {.command = C::kVerbosity, .delta = 1}),
      err("verbosity\r\n", "ERROR", E::kUnknownCommand),
      err("verbosity 1 2 3\r\n", "ERROR", E::kUnknownCommand),
      err("verbosity abc\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("verbosity -1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("verbosity noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      err("verbosity abc noreply\r\n", "(nothing)", E::kBadCommandLineFormat, true),
      ok("cache_memlimit 100\r\n", "OK", {.command = C::kCacheMemlimit, .delta = 100}),
      ok("cache_memlimit 4\r\n", "MEMLIMIT_TOO_SMALL ...", {.command = C::kCacheMemlimit, .delta = 4}),
      ok("cache_memlimit 1000000001\r\n", "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes",
         {.command = C::kCacheMemlimit, .delta = 1000000001}),
      ok("cache_memlimit 4294967297\r\n", "MEMLIMIT_TOO_SMALL (wrapped to 1)", {.command = C::kCacheMemlimit, .delta = 1}),
      ok("cache_memlimit 100 noreply\r\n", "(nothing)", {.command = C::kCacheMemlimit, .noreply = true, .delta = 100}),
      ok("cache_memlimit 100 x\r\n", "OK", {.command = C::kCacheMemlimit, .delta = 100}),
      err("cache_memlimit\r\n", "ERROR", E::kUnknownCommand),
      err("cache_memlimit 100 x y\r\n", "ERROR", E::kUnknownCommand),
      err("cache_memlimit abc\r\n", "ERROR", E::kUnknownCommand),
      err("cache_memlimit -1\r\n", "ERROR", E::kUnknownCommand),
      err("cache_memlimit abc noreply\r\n", "(nothing)", E::kUnknownCommand, true),
      ok("stats\r\n", "STAT ... END", {.command = C::kStats}),
      ok("stats  settings \r\n", "STAT maxbytes ...", {.command = C::kStats, .arguments = "settings"}),
      ok("stats reset\r\n", "RESET", {.command = C::kStats, .arguments = "reset"}),
      ok("stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump", {.command = C::kStats, .arguments = "detail"}),
      ok("stats cachedump 1  2\r\n", "(daemon decides)", {.command = C::kStats, .arguments = "cachedump 1  2"}),
      ok("stats foo\r\n", "ERROR (the daemon's answer)", {.command = C::kStats, .arguments = "foo"}),
      ok("stats noreply\r\n", "ERROR (the daemon's answer)", {.command = C::kStats, .arguments = "noreply"}),
      ok("shutdown\r\n", "ERROR: shutdown not enabled (without -A)", {.command = C::kShutdown}),
      ok("shutdown  graceful \r\n", "(closes, with -A)", {.command = C::kShutdown, .arguments = "graceful"}),
      ok("shutdown x\r\n", "CLIENT_ERROR invalid shutdown mode (with -A)", {.command = C::kShutdown, .arguments = "x"}),
      ok("shutdown graceful x\r\n", "CLIENT_ERROR invalid shutdown mode (with -A)",
         {.command = C::kShutdown, .arguments = "graceful x"}),
      ok("shutdown noreply\r\n", "CLIENT_ERROR invalid shutdown mode (with -A)",
         {.command = C::kShutdown, .arguments = "noreply"}),
      ok("watch\r\n", "OK, then fetchers", {.command = C::kWatch}),
      ok("watch fetchers mutations\r\n", "OK, then both streams",
         {.command = C::kWatch, .arguments = "fetchers mutations"}),
      ok("watch bogus\r\n", "ERROR (the daemon's answer)", {.command = C::kWatch, .arguments = "bogus"}),

      // Which check comes first when a line has two faults.
      err("incr " + key(251) + " abc\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("touch " + key(251) + " abc\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("gat abc " + key(251) + "\r\n", "CLIENT_ERROR invalid exptime argument", E::kInvalidExptime),
      err("set " + key(251) + " abc 0 1\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("cas k 0 0 -1 abc\r\n", "CLIENT_ERROR bad command line format", E::kBadCommandLineFormat),
      err("flush_all noreply noreply\r\n", "(nothing)", E::kInvalidExptime, true),
      // More number and word shapes.
      ok("flush_all 4294967296\r\n", "OK (wrapped to 0)", {.command = C::kFlushAll, .has_argument = true}),
      ok("verbosity 4294967296\r\n", "OK (wrapped to 0)", {.command = C::kVerbosity}),
      ok("incr n 5\t\r\n", "NOT_FOUND", {.command = C::kIncr, .key = "n", .delta = 5}),
      ok("touch k +5\r\n", "NOT_FOUND", {.command = C::kTouch, .key = "k", .exptime = 5}),
      ok("gat  0  a\r\n", "END", {.command = C::kGat, .keys = "a"}),
      ok("get k\v\r\n", "END (a different key from k)", {.command = C::kGet, .keys = "k\v"}),
      ok("get k\t\r\n", "END", {.command = C::kGet, .keys = "k\t"}),
  };
  return table;
}

std::size_t expected_consumed(const Case& c) {
  return c.consumed == std::string::npos ? c.input.size() : c.consumed;
}

void check(const Case& c, const TextParseResult& r, std::size_t consumed) {
  INFO("input: " << c.input << " (memcached: " << c.memcached_reply << ")");
  REQUIRE(r.status == c.status);
  CHECK(r.consumed == consumed);
  CHECK(r.error == c.error);
  CHECK(r.request.noreply == c.request.noreply);
  CHECK_FALSE(r.close_connection);
  if (c.status != ParseStatus::kRequest) return;
  const TextRequest& q = r.request;
  const TextRequest& e = c.request;
  CHECK(q.command == e.command);
  // Long-key rows leave key/keys empty in the table and check them here instead.
  if (!e.key.empty() || q.key.size() <= 16) CHECK(q.key == e.key);
  if (!e.keys.empty() || q.keys.size() <= 16) CHECK(q.keys == e.keys);
  CHECK(q.flags == e.flags);
  CHECK(q.exptime == e.exptime);
  CHECK(q.value_length == e.value_length);
  CHECK(q.cas_unique == e.cas_unique);
  CHECK(q.delta == e.delta);
  CHECK(q.has_argument == e.has_argument);
  CHECK(q.value == e.value);
  CHECK(q.arguments == e.arguments);
}

}  // namespace

TEST_CASE("every request parses as memcached 1.6.18 answered it", "[parser]") {
  for (const Case& c : cases()) check(c, parse_request(c.input), expected_consumed(c));
}

TEST_CASE("every request split at any byte needs more until it is whole", "[parser]") {
  for (const Case& c : cases()) {
    for (std::size_t cut = 0; cut < c.input.size(); ++cut) {
      const TextParseResult r = parse_request(std::string_view(c.input).substr(0, cut));
      INFO("input: " << c.input << " cut at " << cut);
      REQUIRE(r.status == ParseStatus::kNeedMore);
      REQUIRE(r.consumed == 0);
    }
    check(c, parse_request(c.input), expected_consumed(c));
  }
}

TEST_CASE("pipelined requests parse one after another with their own lengths", "[parser]") {
  std::string all;
  for (const Case& c : cases()) all += c.input;
  std::string_view rest = all;
  for (const Case& c : cases()) {
    const TextParseResult r = parse_request(rest);
    check(c, r, expected_consumed(c));
    rest.remove_prefix(r.consumed);
  }
  CHECK(rest.empty());
}

TEST_CASE("the 250-byte key limit is inclusive", "[parser]") {
  const std::string k250 = key(250);
  const std::string set = "set " + k250 + " 0 0 1\r\nx\r\n";
  TextParseResult r = parse_request(set);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.key == k250);
  const std::string get = "get " + k250 + "\r\n";
  r = parse_request(get);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.keys == k250);
}

TEST_CASE("gat takes the exptime first and the keys after it", "[parser]") {
  const std::string in = "gats 300 a bb  ccc\r\n";
  const TextParseResult r = parse_request(in);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.command == C::kGats);
  CHECK(r.request.exptime == 300);
  KeyIterator it(r.request.keys);
  std::string_view k;
  std::vector<std::string_view> keys;
  while (it.next(&k)) keys.push_back(k);
  CHECK(keys == std::vector<std::string_view>{"a", "bb", "ccc"});
}

TEST_CASE("a get with 500 keys returns them all, past memcached's 24-token window", "[parser]") {
  std::string line = "get";
  for (int i = 0; i < 500; ++i) line += " key" + std::to_string(i);
  line += "\r\n";
  const TextParseResult r = parse_request(line);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.consumed == line.size());
  KeyIterator it(r.request.keys);
  std::string_view k;
  int n = 0;
  while (it.next(&k)) {
    CHECK(k == "key" + std::to_string(n));
    ++n;
  }
  CHECK(n == 500);
}

TEST_CASE("a too-long key late in a 500-key get fails the whole get", "[parser]") {
  std::string line = "get";
  for (int i = 0; i < 499; ++i) line += " key" + std::to_string(i);
  line += " " + key(251) + "\r\n";
  const TextParseResult r = parse_request(line);
  REQUIRE(r.status == ParseStatus::kError);
  CHECK(r.error == E::kBadCommandLineFormat);
  CHECK(r.consumed == line.size());
}

TEST_CASE("over 2048 bytes without a newline close the connection unless it is a get",
          "[parser]") {
  auto closes = [](const std::string& in) {
    const TextParseResult r = parse_command_line(in);
    return r.status == ParseStatus::kError && r.error == E::kLineTooLong && r.close_connection &&
           r.consumed == 0;
  };
  auto waits = [](const std::string& in) {
    const TextParseResult r = parse_command_line(in);
    return r.status == ParseStatus::kNeedMore && r.consumed == 0;
  };
  // memcached: 2048 bytes of junk -> nothing; 2049 -> connection closed.
  CHECK(waits(std::string(2048, 'x')));
  CHECK(closes(std::string(2049, 'x')));
  CHECK(waits("get " + std::string(2049, 'x')));
  CHECK(waits("gets " + std::string(2049, 'x')));
  CHECK(waits("get" + std::string(2049, ' ')));
  CHECK(closes("gat " + std::string(2049, 'x')));
  CHECK(closes("bget " + std::string(2049, 'x')));
  CHECK(closes("set k 0 0 1" + std::string(2049, ' ')));
  CHECK(closes(std::string(2049, ' ')));
  CHECK(waits(std::string(100, ' ') + "get " + std::string(2049, 'x')));
  CHECK(closes(std::string(101, ' ') + "get " + std::string(2049, 'x')));
  // With its newline in the buffer, a long line is an ordinary line (memcached: STORED).
  const std::string long_set = "set k 0 0 1" + std::string(3000, ' ') + "\r\nx\r\n";
  const TextParseResult r = parse_request(long_set);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.consumed == long_set.size());
  // An unterminated huge multi-get is fine; once terminated its 251-byte key is refused.
  CHECK(parse_request("get " + std::string(2049, 'x') + "\r\n").error == E::kBadCommandLineFormat);
}

TEST_CASE("storage data blocks", "[parser]") {
  SECTION("the command line alone tells how many data bytes follow") {
    const std::string in = "set k 1 2 5\r\nhello\r\n";
    const TextParseResult line = parse_command_line(in);
    REQUIRE(line.status == ParseStatus::kRequest);
    CHECK(line.consumed == 13);
    CHECK(line.request.value_length == 5);
    std::string_view value;
    CHECK(parse_data_block(std::string_view(in).substr(13, 6), 5, &value) ==
          DataBlockStatus::kNeedMore);
    CHECK(parse_data_block(std::string_view(in).substr(13), 5, &value) == DataBlockStatus::kOk);
    CHECK(value == "hello");
  }
  SECTION("a bad data chunk consumes value_length + 2 and leaves the rest as a new line") {
    const std::string in = "set b 0 0 2\r\nxyz\r\n";
    const TextParseResult r = parse_request(in);
    REQUIRE(r.status == ParseStatus::kError);
    CHECK(r.error == E::kBadDataChunk);
    CHECK(r.consumed == in.size() - 1);
    const TextParseResult next = parse_request(std::string_view(in).substr(r.consumed));
    CHECK(next.error == E::kUnknownCommand);  // memcached: "ERROR"
    CHECK(next.consumed == 1);
  }
  SECTION("a value may contain CRLF and NUL bytes") {
    const std::string in = std::string("set k 0 0 6\r\na\r\n\0b\n\r\n", 21);
    const TextParseResult r = parse_request(in);
    REQUIRE(r.status == ParseStatus::kRequest);
    CHECK(r.request.value == std::string_view("a\r\n\0b\n", 6));
  }
  SECTION("a 1 MB value parses whole and needs more at every 4 KB cut") {
    const std::size_t n = 1024 * 1024;
    std::string in = "set big 0 0 " + std::to_string(n) + "\r\n";
    const std::size_t header = in.size();
    in += std::string(n, 'v');
    in += "\r\n";
    for (std::size_t cut = 0; cut < in.size(); cut += 4093) {
      REQUIRE(parse_request(std::string_view(in).substr(0, cut)).status == ParseStatus::kNeedMore);
    }
    REQUIRE(parse_request(std::string_view(in).substr(0, in.size() - 1)).status ==
            ParseStatus::kNeedMore);
    const TextParseResult r = parse_request(in);
    REQUIRE(r.status == ParseStatus::kRequest);
    CHECK(r.consumed == in.size());
    CHECK(r.request.value.size() == n);
    CHECK(r.request.value.data() == in.data() + header);
  }
  SECTION("the largest length memcached accepts is INT_MAX - 2") {
    const TextParseResult r = parse_command_line("set k 0 0 2147483645\r\n");
    REQUIRE(r.status == ParseStatus::kRequest);  // memcached: SERVER_ERROR object too large
    CHECK(r.request.value_length == 2147483645u);
  }
}

TEST_CASE("views point into the caller's buffer", "[parser]") {
  const std::string in = "set key 0 0 3\r\nabc\r\n";
  const TextParseResult r = parse_request(in);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.key.data() == in.data() + 4);
  CHECK(r.request.value.data() == in.data() + 15);
}

TEST_CASE("the key iterator skips runs of spaces and stops at the end", "[parser]") {
  KeyIterator it("  a  bb c ");
  std::string_view k;
  REQUIRE(it.next(&k));
  CHECK(k == "a");
  REQUIRE(it.next(&k));
  CHECK(k == "bb");
  REQUIRE(it.next(&k));
  CHECK(k == "c");
  CHECK_FALSE(it.next(&k));
  CHECK_FALSE(it.next(&k));
  KeyIterator empty("");
  CHECK_FALSE(empty.next(&k));
}
