// tests/daemon/cluster_config_test.cc — the node list kiokud serves to auto-discovery clients.
#include "daemon/cluster_config.h"

#include <catch2/catch.hpp>
#include <string>

using kioku::daemon::ClusterConfig;
using kioku::daemon::parse_cluster_nodes;

TEST_CASE("cluster node entries normalise to host, ip and port") {
  std::string nodes;
  std::string error;
  REQUIRE(parse_cluster_nodes("127.0.0.1:11211, cache-b:11212 x|10.0.0.3|11213", &nodes, &error));
  CHECK(nodes == "127.0.0.1|127.0.0.1|11211 cache-b||11212 x|10.0.0.3|11213");
  CHECK_FALSE(parse_cluster_nodes("a:0", &nodes, &error));
  CHECK(error == "invalid cluster node \"a:0\"");
  CHECK_FALSE(parse_cluster_nodes("a", &nodes, &error));
  CHECK_FALSE(parse_cluster_nodes("a|b", &nodes, &error));
  CHECK_FALSE(parse_cluster_nodes("||11211", &nodes, &error));
}

TEST_CASE("config get cluster composes the managed-memcached reply; set replaces it") {
  ClusterConfig unset("");
  CHECK(unset.get_reply() == "END\r\n");
  ClusterConfig config("a|10.0.0.1|11211 b|10.0.0.2|11211");
  CHECK(config.get_reply() ==
        "CONFIG cluster 0 36\r\n1\na|10.0.0.1|11211 b|10.0.0.2|11211\n\r\nEND\r\n");
  CHECK(config.set("7\nc|10.0.0.3|11212\n"));
  CHECK(config.get_reply() == "CONFIG cluster 0 19\r\n7\nc|10.0.0.3|11212\n\r\nEND\r\n");
  CHECK_FALSE(config.set("seven\nc|10.0.0.3|11212\n"));
  CHECK_FALSE(config.set("8"));
  CHECK_FALSE(config.set("8\nc|x\n"));
  CHECK(config.get_reply() == "CONFIG cluster 0 19\r\n7\nc|10.0.0.3|11212\n\r\nEND\r\n");
}
