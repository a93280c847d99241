// Unit tests for daemon/settings: memcached's flags parse into the same meanings.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "daemon/settings.h"

using kioku::daemon::ParseOutcome;
using kioku::daemon::Settings;

namespace {

ParseOutcome parse(std::vector<std::string> args, Settings* settings) {
  args.insert(args.begin(), "kiokud");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return kioku::daemon::parse_settings(static_cast<int>(argv.size()), argv.data(), settings);
}

}  // namespace

TEST_CASE("defaults match memcached's") {
  Settings s;
  REQUIRE(parse({}, &s) == ParseOutcome::kRun);
  CHECK(s.port == 11211);
  CHECK(s.udp_port == 0);
  CHECK(s.memory_limit == 64u << 20);
  CHECK(s.max_connections == 1024);
  CHECK(s.item_size_max == 1u << 20);
  CHECK(s.growth_factor == Approx(1.25));
  CHECK(s.chunk_size == 48);
  CHECK(s.reqs_per_event == 20);
  CHECK(s.backlog == 1024);
  CHECK(s.use_cas);
  CHECK(s.evict_to_free);
  CHECK(s.threads >= 1);
}

TEST_CASE("short memcached flags set their settings") {
  Settings s;
  REQUIRE(parse({"-p", "12345", "-m", "128", "-c", "10", "-t", "3", "-I", "2m", "-f", "1.5",
                 "-n", "64", "-M", "-C", "-vv", "-R", "5", "-b", "64", "-A", "-l",
                 "127.0.0.1,::1", "-U", "0"},
                &s) == ParseOutcome::kRun);
  CHECK(s.port == 12345);
  CHECK(s.memory_limit == 128u << 20);
  CHECK(s.max_connections == 10);
  CHECK(s.threads == 3);
  CHECK(s.item_size_max == 2u << 20);
  CHECK(s.growth_factor == Approx(1.5));
  CHECK(s.chunk_size == 64);
  CHECK_FALSE(s.evict_to_free);
  CHECK_FALSE(s.use_cas);
  CHECK(s.verbose == 2);
  CHECK(s.reqs_per_event == 5);
  CHECK(s.backlog == 64);
  CHECK(s.shutdown_command);
  REQUIRE(s.listen.size() == 2);
  CHECK(s.listen[0] == "127.0.0.1");
  CHECK(s.listen[1] == "::1");
}

TEST_CASE("long option names are memcached's") {
  Settings s;
  REQUIRE(parse({"--port=2000", "--memory-limit=32", "--conn-limit=7", "--threads=2",
                 "--max-item-size=512k", "--disable-evictions", "--disable-cas",
                 "--enable-shutdown", "--listen=127.0.0.1", "--max-reqs-per-event=9"},
                &s) == ParseOutcome::kRun);
  CHECK(s.port == 2000);
  CHECK(s.memory_limit == 32u << 20);
  CHECK(s.max_connections == 7);
  CHECK(s.threads == 2);
  CHECK(s.item_size_max == 512u << 10);
  CHECK_FALSE(s.evict_to_free);
  CHECK_FALSE(s.use_cas);
  CHECK(s.shutdown_command);
  CHECK(s.reqs_per_event == 9);
}

TEST_CASE("extended options are parsed and unknown ones rejected") {
  Settings s;
  REQUIRE(parse({"-o", "hashpower=20,idle_timeout=5", "-o", "modern"}, &s) ==
          ParseOutcome::kRun);
  CHECK(s.hashpower_init == 20);
  CHECK(s.idle_timeout == 5);
  CHECK(s.extended.size() == 3);

  Settings bad;
  CHECK(parse({"-o", "no_such_option=1"}, &bad) == ParseOutcome::kExitFailure);
  Settings low;
  CHECK(parse({"-o", "hashpower=3"}, &low) == ParseOutcome::kExitFailure);
}

TEST_CASE("invalid values fail with memcached's limits") {
  Settings s;
  // memcached's sizing errors exit with EX_USAGE (64), as memcached does.
  CHECK(parse({"-I", "512"}, &s) == ParseOutcome::kExitUsage);               // below 1k
  CHECK(parse({"-m", "8000", "-I", "2g"}, &s) == ParseOutcome::kExitUsage);  // above 1 GB
  CHECK(parse({"-m", "4", "-I", "4m"}, &s) == ParseOutcome::kExitUsage);     // > half of -m
  CHECK(parse({"-I", "100k"}, &s) == ParseOutcome::kExitUsage);              // below slab_chunk_max
  CHECK(parse({"-I", "1000k"}, &s) == ParseOutcome::kExitUsage);             // not whole chunks
  CHECK(parse({"-m", "64", "-I", "4m", "-o", "slab_chunk_max=2097152"}, &s) ==
        ParseOutcome::kExitUsage);  // not a page fraction
  CHECK(parse({"-o", "slab_chunk_max=512k"}, &s) == ParseOutcome::kExitFailure);  // bytes only
  CHECK(parse({"-o", "slab_chunk_max=0"}, &s) == ParseOutcome::kExitFailure);
  Settings big;
  REQUIRE(parse({"-m", "2048", "-I", "1024m"}, &big) == ParseOutcome::kRun);
  CHECK(big.item_size_max == std::size_t{1} << 30);
  Settings chunked;
  REQUIRE(parse({"-I", "128k", "-o", "slab_chunk_max=65536"}, &chunked) == ParseOutcome::kRun);
  CHECK(chunked.slab_chunk_max == 65536);
  CHECK(parse({"-f", "1.0"}, &s) == ParseOutcome::kExitFailure);
  CHECK(parse({"-B", "telepathy"}, &s) == ParseOutcome::kExitFailure);
  CHECK(parse({"-p", "notaport"}, &s) == ParseOutcome::kExitFailure);
  CHECK(parse({"--no-such-flag"}, &s) == ParseOutcome::kExitFailure);
}

TEST_CASE("sizes accept k, m and g suffixes") {
  std::size_t bytes = 0;
  CHECK(kioku::daemon::parse_size("1m", &bytes));
  CHECK(bytes == 1u << 20);
  CHECK(kioku::daemon::parse_size("64k", &bytes));
  CHECK(bytes == 64u << 10);
  CHECK(kioku::daemon::parse_size("1048576", &bytes));
  CHECK(bytes == 1048576u);
  CHECK_FALSE(kioku::daemon::parse_size("", &bytes));
  CHECK_FALSE(kioku::daemon::parse_size("m", &bytes));
  CHECK_FALSE(kioku::daemon::parse_size("12x", &bytes));
}
