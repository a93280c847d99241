// tests/protocol/config_command_test.cc — "config get/set" (managed-memcached auto-discovery).
#include <catch2/catch.hpp>
#include <string>

#include "protocol/text_parser.h"

using namespace kioku::protocol;

TEST_CASE("config get cluster parses with its key") {
  TextParseResult r = parse_request("config get cluster\r\n");
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.command == TextCommand::kConfigGet);
  CHECK(r.request.key == "cluster");
  CHECK(r.consumed == 20);
}

TEST_CASE("config set cluster reads its data block like a storage command") {
  const std::string bytes = "config set cluster 0 8\r\n2\na|b|1\n\r\nget x\r\n";
  for (std::size_t cut = 0; cut < 34; ++cut) {
    CHECK(parse_request(std::string_view(bytes).substr(0, cut)).status == ParseStatus::kNeedMore);
  }
  TextParseResult r = parse_request(bytes);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.request.command == TextCommand::kConfigSet);
  CHECK(is_storage_command(r.request.command));
  CHECK(r.request.key == "cluster");
  CHECK(r.request.value == "2\na|b|1\n");
  CHECK(r.consumed == 34);
}

TEST_CASE("malformed config commands are errors") {
  CHECK(parse_request("config\r\n").error == TextError::kUnknownCommand);
  CHECK(parse_request("config get\r\n").error == TextError::kUnknownCommand);
  CHECK(parse_request("config list cluster\r\n").error == TextError::kUnknownCommand);
  CHECK(parse_request("config set cluster x 5\r\n").error == TextError::kBadCommandLineFormat);
  CHECK(parse_request("config set cluster 0 -1\r\n").error == TextError::kBadCommandLineFormat);
}
