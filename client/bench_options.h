// client/bench_options.h — kioku-bench's command line: one table of options, parsed into an
// immutable BenchOptions.
//
// Owns: declaring every option once (name, default, help text) on a CLI::App, and turning the
// textual forms ("90:10", "32-1024", "zipf:0.99", "host:port") into checked numbers. Must not:
// open sockets or start threads. The man page is tested against this table
// (tests/client/bench_options_test.cc), so a new option fails the tests until it is documented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/codec.h"

namespace CLI {
class App;
}

namespace kioku::client {

struct BenchOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11211;
  unsigned threads = 2;
  unsigned connections = 50;  // total, spread over threads
  unsigned pipeline = 1;      // requests in flight per connection
  unsigned get_weight = 90;
  unsigned set_weight = 10;
  uint32_t value_min = 32;
  uint32_t value_max = 32;
  uint64_t keys = 100000;
  std::string key_prefix = "kioku:";
  bool zipf = false;
  double zipf_s = 0.99;
  double duration_s = 10.0;
  uint64_t requests = 0;  // non-zero: stop after this many measured requests, not by time
  double rate = 0.0;      // non-zero: open loop, total ops/s across all connections
  Protocol protocol = Protocol::kText;
  bool tls = false;
  std::string tls_ca;    // empty: the system's trust store
  std::string tls_cert;  // client certificate for mutual TLS
  std::string tls_key;   // empty: the key is in tls_cert's file
  bool tls_insecure = false;
  unsigned idle_connections = 0;  // extra connections held open and silent, spread over threads
  double warmup_s = 0.0;
  bool prefill = false;
  bool json = false;
  bool quiet = false;
  double timeout_s = 5.0;
  uint64_t seed = 1;
};

// The raw strings the table binds before they are checked and converted.
struct RawBenchOptions {
  std::string server = "127.0.0.1:11211";
  std::string ratio = "90:10";
  std::string value_size = "32";
  std::string distribution = "uniform";
  std::string protocol = "text";
};

// Declares every option on `app`, bound to `raw` and `options`.
void add_bench_options(CLI::App& app, BenchOptions& options, RawBenchOptions& raw);

// Checks `raw` and the numeric options together and fills the derived fields of `options`;
// returns an error message, or nothing when the options are usable.
std::optional<std::string> finish_bench_options(const RawBenchOptions& raw, BenchOptions& options);

// Pieces of finish_bench_options, exposed for tests. Each returns false on malformed input.
bool parse_server(std::string_view text, std::string* host, uint16_t* port);
bool parse_ratio(std::string_view text, unsigned* get_weight, unsigned* set_weight);
bool parse_value_size(std::string_view text, uint32_t* min, uint32_t* max);
bool parse_distribution(std::string_view text, bool* zipf, double* s);
bool parse_protocol(std::string_view text, Protocol* protocol);

// The largest value kioku-bench sends: memcached's default item size limit.
inline constexpr uint32_t kMaxValueSize = 1024 * 1024;
// The most request-buffer memory a run may ask for (connections x pipeline x value size).
inline constexpr uint64_t kMaxBufferBytes = uint64_t{4} << 30;

}  // namespace kioku::client
