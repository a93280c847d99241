// tests/client/server_list_test.cc — server lists and the auto-discovery reply, split anywhere.
#include "client/server_list.h"

#include <catch2/catch.hpp>
#include <string>

using namespace kioku::client;

TEST_CASE("server lists parse host, port and weight") {
  auto list = parse_server_list("a:11211, b:11212:3 c [::1]:11300");
  REQUIRE(list);
  REQUIRE(list->size() == 4);
  CHECK((*list)[0] == ServerSpec{"a", "", 11211, 1});
  CHECK((*list)[1] == ServerSpec{"b", "", 11212, 3});
  CHECK((*list)[2] == ServerSpec{"c", "", 11211, 1});
  CHECK((*list)[3] == ServerSpec{"::1", "", 11300, 1});
  CHECK((*list)[1].label() == "b:11212");
}

TEST_CASE("malformed server lists are refused with the entry named") {
  std::string error;
  CHECK_FALSE(parse_server_list("a:11211,b:x", &error));
  CHECK(error == "invalid server \"b:x\"");
  CHECK_FALSE(parse_server_list("a:0"));
  CHECK_FALSE(parse_server_list("a:70000"));
  CHECK_FALSE(parse_server_list("a:1:0"));
  CHECK_FALSE(parse_server_list("a:"));
  CHECK_FALSE(parse_server_list(" , ", &error));
  CHECK(error == "empty server list");
}

namespace {
const std::string kPayload =
    "12\nnode1.example.com|10.0.0.1|11211 node2.example.com|10.0.0.2|11212 |127.0.0.1|11213\n";
std::string reply_bytes() {
  return "CONFIG cluster 0 " + std::to_string(kPayload.size()) + "\r\n" + kPayload + "\r\nEND\r\n";
}
}  // namespace

TEST_CASE("a config get cluster reply parses into version and nodes") {
  const std::string bytes = reply_bytes() + "extra";
  ConfigReply r = parse_config_reply(bytes);
  REQUIRE(r.status == ConfigReplyStatus::kConfig);
  CHECK(r.consumed == bytes.size() - 5);
  CHECK(r.config.version == 12);
  REQUIRE(r.config.nodes.size() == 3);
  CHECK(r.config.nodes[0] == ServerSpec{"node1.example.com", "10.0.0.1", 11211, 1});
  CHECK(r.config.nodes[1].connect_host() == "10.0.0.2");
  CHECK(r.config.nodes[2].host == "127.0.0.1");
  CHECK(compose_cluster_payload(ClusterConfig{12, {r.config.nodes[0], r.config.nodes[1]}}) ==
        "12\nnode1.example.com|10.0.0.1|11211 node2.example.com|10.0.0.2|11212\n");
}

TEST_CASE("a config reply split at any byte is need-more until whole") {
  const std::string bytes = reply_bytes();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO("cut at " << cut);
    ConfigReply r = parse_config_reply(std::string_view(bytes).substr(0, cut));
    CHECK(r.status == ConfigReplyStatus::kNeedMore);
    CHECK(r.consumed == 0);
  }
  CHECK(parse_config_reply(bytes).status == ConfigReplyStatus::kConfig);
}

TEST_CASE("error replies to config get are errors") {
  CHECK(parse_config_reply("ERROR\r\n").status == ConfigReplyStatus::kError);
  ConfigReply end = parse_config_reply("END\r\n");
  CHECK(end.status == ConfigReplyStatus::kError);
  CHECK(end.error == "no cluster configuration");
  CHECK(parse_config_reply("CONFIG cluster 0 5\r\n1\na|b\n\r\nEND\r\n").status ==
        ConfigReplyStatus::kError);
  CHECK(parse_config_reply("CONFIG cluster 0 2\r\n1\nXXEND\r\n").status ==
        ConfigReplyStatus::kError);
  CHECK(parse_config_reply("CONFIG cluster zero 2\r\n").status == ConfigReplyStatus::kError);
}
