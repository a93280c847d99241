// tests/client/reply_reader_test.cc — the client library's reply parsing, split anywhere.
#include "client/reply_reader.h"

#include <catch2/catch.hpp>
#include <string>

using namespace kioku::client;

TEST_CASE("a retrieval reply with values and CAS parses whole, and only whole") {
  const std::string bytes = "VALUE a 5 3 10\r\nxyz\r\nVALUE bb 0 0 11\r\n\r\nEND\r\n";
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<Item> items;
    std::string error;
    ReadResult r = read_retrieval(std::string_view(bytes).substr(0, cut), &items, &error);
    CHECK(r.status == ReadStatus::kNeedMore);
    CHECK(items.empty());
  }
  std::vector<Item> items;
  std::string error;
  ReadResult r = read_retrieval(bytes, &items, &error);
  REQUIRE(r.status == ReadStatus::kDone);
  CHECK(r.consumed == bytes.size());
  REQUIRE(items.size() == 2);
  CHECK(items[0].key == "a");
  CHECK(items[0].flags == 5);
  CHECK(items[0].value == "xyz");
  CHECK(items[0].cas == 10);
  CHECK(items[1].value.empty());
  CHECK(items[1].cas == 11);
}

TEST_CASE("a retrieval answered with an error line reports the line") {
  std::vector<Item> items;
  std::string error;
  ReadResult r = read_retrieval("CLIENT_ERROR bad command line format\r\n", &items, &error);
  CHECK(r.status == ReadStatus::kDone);
  CHECK(error == "CLIENT_ERROR bad command line format");
  CHECK(read_retrieval("VALUE a x 1\r\nz\r\nEND\r\n", &items, &error).status ==
        ReadStatus::kMalformed);
  CHECK(read_retrieval("VALUE a 0 1\r\nzzEND\r\n", &items, &error).status ==
        ReadStatus::kMalformed);
}

TEST_CASE("stats replies collect name/value pairs up to END") {
  std::vector<std::pair<std::string, std::string>> stats;
  std::string error;
  const std::string bytes = "STAT pid 42\r\nSTAT version 1.6.18\r\nEND\r\n";
  CHECK(read_stats(std::string_view(bytes).substr(0, 20), &stats, &error).status ==
        ReadStatus::kNeedMore);
  CHECK(stats.empty());
  ReadResult r = read_stats(bytes, &stats, &error);
  CHECK(r.status == ReadStatus::kDone);
  REQUIRE(stats.size() == 2);
  CHECK(stats[1] == std::pair<std::string, std::string>{"version", "1.6.18"});
}
