// tests/client/bench_options_test.cc — option parsing, and the man page against the table.
#include "client/bench_options.h"

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace kioku::client;

TEST_CASE("server addresses parse as host and port") {
  std::string host;
  uint16_t port = 0;
  CHECK(parse_server("127.0.0.1:11211", &host, &port));
  CHECK(host == "127.0.0.1");
  CHECK(port == 11211);
  CHECK(parse_server("[::1]:9", &host, &port));
  CHECK(host == "::1");
  CHECK(port == 9);
  for (const char* bad : {"localhost", ":11211", "host:", "host:0", "host:65536", "host:12x"}) {
    INFO(bad);
    CHECK_FALSE(parse_server(bad, &host, &port));
  }
}

TEST_CASE("ratios parse as get and set weights") {
  unsigned gets = 0, sets = 0;
  CHECK(parse_ratio("90:10", &gets, &sets));
  CHECK((gets == 90 && sets == 10));
  CHECK(parse_ratio("0:1", &gets, &sets));
  CHECK((gets == 0 && sets == 1));
  for (const char* bad : {"90", "0:0", "a:b", "90:10:1", "-1:2", ":"}) {
    INFO(bad);
    CHECK_FALSE(parse_ratio(bad, &gets, &sets));
  }
}

TEST_CASE("value sizes parse as a fixed size or a range") {
  uint32_t lo = 0, hi = 0;
  CHECK(parse_value_size("32", &lo, &hi));
  CHECK((lo == 32 && hi == 32));
  CHECK(parse_value_size("16-4096", &lo, &hi));
  CHECK((lo == 16 && hi == 4096));
  for (const char* bad : {"", "10-5", "x", "1-", "-5", "2000000"}) {
    INFO(bad);
    CHECK_FALSE(parse_value_size(bad, &lo, &hi));
  }
}

TEST_CASE("distributions parse as uniform or zipf with an exponent") {
  bool zipf = true;
  double s = 0;
  CHECK(parse_distribution("uniform", &zipf, &s));
  CHECK_FALSE(zipf);
  CHECK(parse_distribution("zipf:0.99", &zipf, &s));
  CHECK(zipf);
  CHECK(s == 0.99);
  for (const char* bad : {"zipf", "zipf:", "zipf:0", "zipf:-1", "zipf:abc", "normal"}) {
    INFO(bad);
    CHECK_FALSE(parse_distribution(bad, &zipf, &s));
  }
}

TEST_CASE("a full command line fills the options") {
  BenchOptions o;
  RawBenchOptions raw;
  CLI::App app;
  add_bench_options(app, o, raw);
  std::vector<std::string> args = {"--json",         "--prefill",
                                   "--rate",         "5000",
                                   "--keys",         "1000",
                                   "--value-size",   "10-20",
                                   "--ratio",        "50:50",
                                   "--distribution", "zipf:1.1",
                                   "--server",       "localhost:1234",
                                   "--requests",     "100",
                                   "--threads",      "2",
                                   "--connections",  "4"};
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  REQUIRE_FALSE(finish_bench_options(raw, o).has_value());
  CHECK(o.json);
  CHECK(o.prefill);
  CHECK(o.rate == 5000);
  CHECK(o.keys == 1000);
  CHECK((o.value_min == 10 && o.value_max == 20));
  CHECK((o.get_weight == 50 && o.set_weight == 50));
  CHECK((o.zipf && o.zipf_s == 1.1));
  CHECK((o.host == "localhost" && o.port == 1234));
  CHECK(o.requests == 100);
}

TEST_CASE("duration and requests exclude each other") {
  BenchOptions o;
  RawBenchOptions raw;
  CLI::App app;
  add_bench_options(app, o, raw);
  std::vector<std::string> args = {"5", "--duration", "100", "--requests"};
  CHECK_THROWS(app.parse(args));
}

TEST_CASE("fewer connections than threads is refused") {
  BenchOptions o;
  RawBenchOptions raw;
  o.threads = 4;
  o.connections = 2;
  CHECK(finish_bench_options(raw, o).has_value());
}

TEST_CASE("the man page documents exactly the options --help lists") {
  BenchOptions o;
  RawBenchOptions raw;
  CLI::App app;
  add_bench_options(app, o, raw);
  // Each option as "s/server" (short name, then long; either may be empty).
  std::set<std::string> table;
  for (const CLI::Option* option : app.get_options()) {
    const auto& shorts = option->get_snames();
    for (const std::string& name : option->get_lnames()) {
      table.insert((shorts.empty() ? "" : shorts.front()) + "/" + name);
    }
  }
  std::ifstream file(KIOKU_BENCH_MAN_PAGE);
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  // Options are documented as ".TP" then "\fB\-x\fR, \fB\-\-name..." (short form optional).
  const std::string man = text.str();
  std::set<std::string> documented;
  const std::regex item(R"(\.TP\n(?:\\fB\\-([a-zA-Z])\\fR, )?\\fB\\-\\-([a-z][a-z-]*))");
  for (auto it = std::sregex_iterator(man.begin(), man.end(), item); it != std::sregex_iterator();
       ++it) {
    documented.insert((*it)[1].str() + "/" + (*it)[2].str());
  }
  CHECK(documented == table);
}

TEST_CASE("a run needing absurd buffer memory is refused up front") {
  BenchOptions o;
  RawBenchOptions raw;
  raw.value_size = "1048576";
  o.connections = 1000;
  o.pipeline = 64;
  CHECK(finish_bench_options(raw, o).has_value());
}

TEST_CASE("protocols parse by name") {
  Protocol p = Protocol::kText;
  CHECK(parse_protocol("meta", &p));
  CHECK(p == Protocol::kMeta);
  CHECK(parse_protocol("binary", &p));
  CHECK(p == Protocol::kBinary);
  CHECK(parse_protocol("text", &p));
  CHECK(p == Protocol::kText);
  for (const char* bad : {"", "Text", "ascii", "bin", "meta "}) {
    INFO(bad);
    CHECK_FALSE(parse_protocol(bad, &p));
  }
  BenchOptions o;
  RawBenchOptions raw;
  raw.protocol = "udp";
  CHECK(finish_bench_options(raw, o).has_value());
}

TEST_CASE("TLS and idle-connection options fill the options") {
  BenchOptions o;
  RawBenchOptions raw;
  CLI::App app;
  add_bench_options(app, o, raw);
  std::vector<std::string> args = {
      "--protocol",         "binary", "--tls",     "--tls-ca", "ca.pem",
      "--tls-cert",         "c.pem",  "--tls-key", "k.pem",    "--tls-insecure",
      "--idle-connections", "5000"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  REQUIRE_FALSE(finish_bench_options(raw, o).has_value());
  CHECK(o.protocol == Protocol::kBinary);
  CHECK(o.tls);
  CHECK(o.tls_ca == "ca.pem");
  CHECK(o.tls_cert == "c.pem");
  CHECK(o.tls_key == "k.pem");
  CHECK(o.tls_insecure);
  CHECK(o.idle_connections == 5000);
}

TEST_CASE("TLS file options without --tls are refused") {
  for (std::vector<std::string> args : {std::vector<std::string>{"ca.pem", "--tls-ca"},
                                        {"--tls-insecure"},
                                        {"c.pem", "--tls-cert"},
                                        {"k.pem", "--tls-key", "--tls"}}) {
    BenchOptions o;
    RawBenchOptions raw;
    CLI::App app;
    add_bench_options(app, o, raw);
    INFO(args.back());
    CHECK_THROWS(app.parse(args));
  }
}
