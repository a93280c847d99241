// Unit tests for daemon/watch_hub and daemon/command_latency: watch argument parsing, events
// reaching only the watchers that asked for them, and latency buckets at their bounds.
#include "daemon/watch_hub.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "daemon/command_latency.h"

using kioku::daemon::CommandLatency;
using kioku::daemon::WatchHub;

namespace {

// Reads what arrives on fd within `ms` (the hub writes from its own thread).
std::string read_for(int fd, int ms) {
  std::string out;
  char buffer[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, ms) > 0) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    ms = 50;
  }
  return out;
}

}  // namespace

TEST_CASE("watch arguments name event kinds, and none means fetchers") {
  uint32_t flags = 0;
  CHECK(WatchHub::parse_flags("", &flags));
  CHECK(flags == kioku::daemon::kWatchFetchers);
  CHECK(WatchHub::parse_flags(" mutations  evictions ", &flags));
  CHECK(flags == (kioku::daemon::kWatchMutations | kioku::daemon::kWatchEvictions));
  CHECK(WatchHub::parse_flags("connevents", &flags));
  CHECK(flags == kioku::daemon::kWatchConnEvents);
  CHECK_FALSE(WatchHub::parse_flags("fetchers bogus", &flags));
  CHECK_FALSE(WatchHub::parse_flags("Fetchers", &flags));
}

TEST_CASE("a watcher gets OK, then only the kinds it asked for, one line each") {
  WatchHub hub;
  CHECK(hub.mask() == 0);
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  REQUIRE(hub.add_watcher_of(pair[0], kioku::daemon::kWatchMutations));
  close(pair[0]);  // the hub holds its own duplicate
  CHECK(hub.mask() == kioku::daemon::kWatchMutations);
  hub.item_get("skipped", "found", 1, 7, 3);
  hub.item_store("k", "stored", "set", 100, 2, 7, 3);
  std::string got = read_for(pair[1], 2000);
  REQUIRE(got.starts_with("OK\r\nts="));
  CHECK(got.find("item_get") == std::string::npos);
  CHECK(
      got.ends_with(" type=item_store key=k status=stored cmd=set ttl=100 clsid=2 cfd=7 "
                    "size=3\n"));
  close(pair[1]);
  // The hub notices the watcher left and stops asking the request path for events.
  for (int i = 0; i < 100 && hub.mask() != 0; ++i) usleep(20'000);
  CHECK(hub.mask() == 0);
}

TEST_CASE("latency buckets are inclusive upper bounds, the last one catches the rest") {
  CommandLatency latency;
  const auto get = kioku::protocol::TextCommand::kGet;
  latency.record(get, 1'000);          // exactly 1us: first bucket
  latency.record(get, 1'001);          // second
  latency.record(get, 5'000'000'000);  // 5 s: +Inf
  const auto c = static_cast<std::size_t>(get);
  CHECK(latency.bucket(c, 0) == 1);
  CHECK(latency.bucket(c, 1) == 1);
  CHECK(latency.bucket(c, CommandLatency::kBuckets - 1) == 1);
  CHECK(latency.sum_ns(c) == 1'000 + 1'001 + 5'000'000'000);
  CHECK(kioku::daemon::command_label(c) == "get");
  CHECK(kioku::daemon::command_label(CommandLatency::kCommands - 1) == "other");
}
