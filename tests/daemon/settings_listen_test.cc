// Unit tests for daemon/settings: -l and -U given more than once behave as in memcached.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "daemon/settings.h"

using kioku::daemon::ParseOutcome;
using kioku::daemon::Settings;

namespace {

ParseOutcome parse_args(std::vector<std::string> args, Settings* settings) {
  args.insert(args.begin(), "kiokud");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return kioku::daemon::parse_settings(static_cast<int>(argv.size()), argv.data(), settings);
}

}  // namespace

TEST_CASE("several -l options add up, commas split within one") {
  Settings s;
  REQUIRE(parse_args({"-l", "127.0.0.1", "-l", "notls:127.0.0.2:11212,[::1]:11213"}, &s) ==
          ParseOutcome::kRun);
  CHECK(s.listen == std::vector<std::string>{"127.0.0.1", "notls:127.0.0.2:11212", "[::1]:11213"});
}

TEST_CASE("the last -U wins and UDP is accepted") {
  Settings s;
  REQUIRE(parse_args({"-U", "0", "-U", "11311"}, &s) == ParseOutcome::kRun);
  CHECK(s.udp_port == 11311);
}
