// tests/daemon/engine_options_test.cc — the memory engine's -o options reach the cache config.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "daemon/engine_admin.h"
#include "daemon/settings.h"

using namespace kioku::daemon;

namespace {

ParseOutcome parse(std::vector<std::string> args, Settings* s) {
  args.insert(args.begin(), "kiokud");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_settings(static_cast<int>(argv.size()), argv.data(), s);
}

}  // namespace

TEST_CASE("engine -o options default to memcached's modern set") {
  Settings s;
  REQUIRE(parse({}, &s) == ParseOutcome::kRun);
  CHECK(s.engine.lru_maintainer);
  CHECK(s.engine.lru_crawler);
  CHECK(s.engine.slab_reassign);
  CHECK(s.engine.slab_automove == 1);
  CHECK(s.engine.hot_lru_pct == 20);
  CHECK(s.engine.warm_lru_pct == 40);
  CHECK(s.engine.temporary_ttl == 61);
  CHECK_FALSE(s.engine.temp_lru);
}

TEST_CASE("engine -o options are parsed and copied into the cache config") {
  Settings s;
  REQUIRE(parse({"-o", "no_lru_maintainer,hot_lru_pct=10,warm_lru_pct=50,hot_max_factor=0.5", "-o",
                 "temporary_ttl=30,slab_automove=2,no_lru_crawler"},
                &s) == ParseOutcome::kRun);
  kioku::slab::CacheConfig config;
  copy_engine_options(s.engine, &config);
  CHECK_FALSE(config.lru_maintainer);
  CHECK(config.hot_lru_pct == 10);
  CHECK(config.warm_lru_pct == 50);
  CHECK(config.hot_max_factor == 0.5);
  CHECK(config.temp_lru);
  CHECK(config.temporary_ttl == 30);
  CHECK(config.slab_automove == 2);
  CHECK_FALSE(config.lru_crawler);
}

TEST_CASE("bad engine -o values are refused") {
  Settings a, b, c;
  CHECK(parse({"-o", "slab_automove=3"}, &a) == ParseOutcome::kExitFailure);
  CHECK(parse({"-o", "hot_lru_pct=60,warm_lru_pct=60"}, &b) == ParseOutcome::kExitFailure);
  CHECK(parse({"-o", "hot_max_factor=x"}, &c) == ParseOutcome::kExitFailure);
}
