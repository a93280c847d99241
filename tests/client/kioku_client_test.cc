// tests/client/kioku_client_test.cc — KiokuClient without servers: key checks, and auto-eject
// wiring driven by a fake clock against loopback ports that refuse connections.
#include "client/kioku_client.h"

#include <catch2/catch.hpp>
#include <string>

using namespace kioku::client;
using namespace std::chrono_literals;

TEST_CASE("keys memcached would refuse are refused before anything is sent") {
  CHECK(valid_key("user:42"));
  CHECK(valid_key(std::string(250, 'k')));
  CHECK_FALSE(valid_key(std::string(251, 'k')));
  CHECK_FALSE(valid_key(""));
  CHECK_FALSE(valid_key("a b"));
  CHECK_FALSE(valid_key("a\nb"));
  KiokuClient client({ServerSpec{"127.0.0.1", "", 1, 1}}, ClientOptions{});
  CHECK(client.set("a b", "v") == Result::kInvalidKey);
  std::vector<Item> items;
  CHECK(client.get_multi({"ok", std::string(300, 'x')}, &items) == Result::kInvalidKey);
  CHECK(client.nodes()[0].consecutive_failures == 0);
}

TEST_CASE("an empty client owns nothing") {
  KiokuClient client({}, ClientOptions{});
  Item item;
  CHECK(client.get("a", &item) == Result::kNoServer);
  CHECK_FALSE(client.node_for("a"));
}

TEST_CASE("a failing node is ejected after the failure limit, its keys move, and it returns") {
  TimePoint fake_now{};
  ClientOptions options;
  options.failure = FailurePolicy{true, 2, 5000ms};
  options.timeout = 200ms;
  options.clock = [&] { return fake_now; };
  // Nothing listens on these loopback ports: every connect is refused at once.
  KiokuClient client({ServerSpec{"127.0.0.1", "", 1, 1}, ServerSpec{"127.0.0.1", "", 2, 1}},
                     options);
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    std::string candidate = "k";  // += : GCC 12's -Wrestrict misfires on "k" + to_string
    candidate += std::to_string(i);
    if (client.node_for(candidate) == 0u) key = candidate;
  }
  CHECK(client.set(key, "v") == Result::kIoError);
  CHECK(client.nodes()[0].state == NodeState::kLive);
  CHECK(client.set(key, "v") == Result::kIoError);
  CHECK(client.nodes()[0].state == NodeState::kEjected);
  CHECK(client.node_for(key) == 1u);

  fake_now += 4999ms;
  CHECK(client.node_for(key) == 1u);
  fake_now += 1ms;
  CHECK(client.nodes()[0].state == NodeState::kLive);
  CHECK(client.node_for(key) == 0u);
  // Back on probation: a single failure ejects it again.
  CHECK(client.set(key, "v") == Result::kIoError);
  CHECK(client.node_for(key) == 1u);
}
