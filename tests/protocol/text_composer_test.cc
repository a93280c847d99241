// tests/protocol/text_composer_test.cc — reply bytes, compared byte for byte with memcached's.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "protocol/text_composer.h"

using namespace kioku::protocol;

namespace {
std::string header(std::string_view key, uint32_t flags, uint32_t bytes, bool with_cas,
                   uint64_t cas) {
  std::array<char, kMaxValueHeader> buf{};
  const std::size_t n = compose_value_header(buf, key, flags, bytes, with_cas, cas);
  return std::string(buf.data(), n);
}
}  // namespace

TEST_CASE("error replies are memcached's exact strings", "[composer]") {
  CHECK(error_reply(TextError::kNone).empty());
  CHECK(error_reply(TextError::kUnknownCommand) == "ERROR\r\n");
  CHECK(error_reply(TextError::kBadCommandLineFormat) == "CLIENT_ERROR bad command line format\r\n");
  CHECK(error_reply(TextError::kBadDataChunk) == "CLIENT_ERROR bad data chunk\r\n");
  CHECK(error_reply(TextError::kInvalidExptime) == "CLIENT_ERROR invalid exptime argument\r\n");
  CHECK(error_reply(TextError::kInvalidDelta) ==
        "CLIENT_ERROR invalid numeric delta argument\r\n");
  CHECK(error_reply(TextError::kLineTooLong).empty());
  CHECK(error_reply(TextError::kTooLarge) == "SERVER_ERROR object too large for cache\r\n");
  CHECK(error_reply(TextError::kBadDeleteFormat) ==
        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
}

TEST_CASE("VALUE headers match get and gets", "[composer]") {
  // memcached: "VALUE k 0 1", "VALUE k 5 1 4", "VALUE k 4294967295 1 25".
  CHECK(header("k", 0, 1, false, 99) == "VALUE k 0 1\r\n");
  CHECK(header("k", 5, 1, true, 4) == "VALUE k 5 1 4\r\n");
  CHECK(header("k", 4294967295u, 1, true, 25) == "VALUE k 4294967295 1 25\r\n");
  CHECK(header("k", 0, 0, false, 0) == "VALUE k 0 0\r\n");
}

TEST_CASE("the largest VALUE header fits the buffer", "[composer]") {
  const std::string key(kMaxKeyLength, 'k');
  const std::string h = header(key, UINT32_MAX, UINT32_MAX, true, UINT64_MAX);
  CHECK(h == "VALUE " + key + " 4294967295 4294967295 18446744073709551615\r\n");
}

TEST_CASE("a key over 250 bytes gets no VALUE header", "[composer]") {
  CHECK(header(std::string(kMaxKeyLength + 1, 'k'), 0, 1, false, 0).empty());
}

TEST_CASE("numbers end with CRLF and check their buffer", "[composer]") {
  std::array<char, 22> buf{};
  std::size_t n = compose_number(buf, 15);
  CHECK(std::string(buf.data(), n) == "15\r\n");
  n = compose_number(buf, UINT64_MAX);
  CHECK(std::string(buf.data(), n) == "18446744073709551615\r\n");
  n = compose_number(buf, 0);
  CHECK(std::string(buf.data(), n) == "0\r\n");
  std::array<char, 3> small{};
  CHECK(compose_number(small, 15) == 0);
  CHECK(compose_number(std::span<char>(buf.data(), 21), UINT64_MAX) == 0);
}

TEST_CASE("STAT lines for strings and numbers", "[composer]") {
  std::array<char, 64> buf{};
  std::size_t n = compose_stat(buf, "version", std::string_view("1.6.18"));
  CHECK(std::string(buf.data(), n) == "STAT version 1.6.18\r\n");
  n = compose_stat(buf, "curr_items", uint64_t{42});
  CHECK(std::string(buf.data(), n) == "STAT curr_items 42\r\n");
  n = compose_stat(buf, "maxbytes", uint64_t{104857600});
  CHECK(std::string(buf.data(), n) == "STAT maxbytes 104857600\r\n");
}

TEST_CASE("STAT lines that do not fit write nothing", "[composer]") {
  std::array<char, 64> buf{};
  const std::string_view line = "STAT curr_items 42\r\n";
  CHECK(compose_stat(std::span<char>(buf.data(), line.size()), "curr_items", uint64_t{42}) ==
        line.size());
  CHECK(compose_stat(std::span<char>(buf.data(), line.size() - 1), "curr_items", uint64_t{42}) ==
        0);
  CHECK(compose_stat(std::span<char>(buf.data(), 10), "version", std::string_view("1.6.18")) == 0);
  CHECK(compose_stat(std::span<char>(buf.data(), 0), "a", uint64_t{1}) == 0);
}

TEST_CASE("fixed replies are memcached's", "[composer]") {
  CHECK(kStored == "STORED\r\n");
  CHECK(kDeleted == "DELETED\r\n");
  CHECK(kShutdownNotEnabled == "ERROR: shutdown not enabled\r\n");
  CHECK(kInvalidShutdownMode == "CLIENT_ERROR invalid shutdown mode\r\n");
  CHECK(kMemlimitTooSmall == "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  CHECK(kMemlimitNotBytes == "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
  CHECK(kNonNumeric == "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
}
