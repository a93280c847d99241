// client/bench_options.cc — see bench_options.h.
#include "client/bench_options.h"
#include "client/words.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>

#include "protocol/text_parser.h"

namespace kioku::client {
void add_bench_options(CLI::App& app, BenchOptions& o, RawBenchOptions& raw) {
  app.add_option("-s,--server", raw.server, "Server to load, HOST:PORT")->capture_default_str();
  app.add_option("-t,--threads", o.threads, "Load threads, each with its own event loop")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  app.add_option("-c,--connections", o.connections,
                 "Connections in total, spread evenly over the threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  app.add_option("-P,--pipeline", o.pipeline,
                 "Requests in flight per connection (with --rate: the most in flight)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  app.add_option("-r,--ratio", raw.ratio, "Weights of get and set requests, GET:SET")
      ->capture_default_str();
  app.add_option("-d,--value-size", raw.value_size,
                 "Value bytes for sets: N, or MIN-MAX drawn uniformly per request")
      ->capture_default_str();
  app.add_option("-k,--keys", o.keys, "Size of the key space")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 48));
  app.add_option("--key-prefix", o.key_prefix, "Text before each key's decimal index")
      ->capture_default_str();
  app.add_option("--distribution", raw.distribution,
                 "Key popularity: uniform, or zipf:S (Zipf with exponent S, e.g. zipf:0.99)")
      ->capture_default_str();
  auto* duration =
      app.add_option("-D,--duration", o.duration_s, "Seconds to measure (after --warmup)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
  app.add_option("-n,--requests", o.requests,
                 "Measure this many requests in total instead of a duration")
      ->excludes(duration)
      ->check(CLI::PositiveNumber);
  app.add_option("-R,--rate", o.rate,
                 "Open loop: total requests per second on a fixed schedule; latency counts "
                 "from each request's scheduled time (0: closed loop)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--protocol", raw.protocol, "Wire protocol: text, meta or binary")
      ->capture_default_str();
  auto* tls = app.add_flag("--tls", o.tls,
                           "Connect with TLS; the server's certificate and name are verified");
  app.add_option("--tls-ca", o.tls_ca,
                 "CA certificates (PEM) to verify the server with (default: the system's)")
      ->needs(tls);
  auto* cert = app.add_option("--tls-cert", o.tls_cert, "Client certificate (PEM) for mutual TLS")
                   ->needs(tls);
  app.add_option("--tls-key", o.tls_key, "Private key (PEM) of --tls-cert (default: its file)")
      ->needs(cert);
  app.add_flag("--tls-insecure", o.tls_insecure, "Do not verify the server's certificate or name")
      ->needs(tls);
  app.add_option("--idle-connections", o.idle_connections,
                 "Extra connections that connect, ask once for the version, then stay silent")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000000u));
  app.add_option("-w,--warmup", o.warmup_s, "Seconds of load before measuring starts")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--prefill", o.prefill, "Set every key once before the warmup");
  app.add_option("--timeout", o.timeout_s,
                 "Seconds a connect or a request may take before it counts as an error")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "Seed of the random streams (thread i uses SEED + i)")
      ->capture_default_str();
  app.add_flag("--json", o.json, "Print the report as one line of JSON on stdout");
  app.add_flag("-q,--quiet", o.quiet, "No progress line on stderr");
}

bool parse_server(std::string_view text, std::string* host, uint16_t* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host_part = text.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' && host_part.back() == ']') {
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  if (host_part.empty() || !parse_number(text.substr(colon + 1), port) || *port == 0) {
    return false;
  }
  *host = std::string(host_part);
  return true;
}

bool parse_ratio(std::string_view text, unsigned* get_weight, unsigned* set_weight) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned gets = 0;
  unsigned sets = 0;
  if (!parse_number(text.substr(0, colon), &gets) || !parse_number(text.substr(colon + 1), &sets) ||
      gets + sets == 0 || gets > 1000000 || sets > 1000000) {
    return false;
  }
  *get_weight = gets;
  *set_weight = sets;
  return true;
}

bool parse_value_size(std::string_view text, uint32_t* min, uint32_t* max) {
  const std::size_t dash = text.find('-');
  uint32_t low = 0;
  uint32_t high = 0;
  if (dash == std::string_view::npos) {
    if (!parse_number(text, &low)) return false;
    high = low;
  } else if (!parse_number(text.substr(0, dash), &low) ||
             !parse_number(text.substr(dash + 1), &high)) {
    return false;
  }
  if (low > high || high > kMaxValueSize) return false;
  *min = low;
  *max = high;
  return true;
}

bool parse_distribution(std::string_view text, bool* zipf, double* s) {
  if (text == "uniform") {
    *zipf = false;
    return true;
  }
  constexpr std::string_view kZipf = "zipf:";
  if (!text.starts_with(kZipf)) return false;
  double exponent = 0;
  if (!parse_number(text.substr(kZipf.size()), &exponent) || !std::isfinite(exponent) ||
      exponent <= 0 || exponent > 10) {
    return false;
  }
  *zipf = true;
  *s = exponent;
  return true;
}

bool parse_protocol(std::string_view text, Protocol* protocol) {
  for (Protocol p : {Protocol::kText, Protocol::kMeta, Protocol::kBinary}) {
    if (text == protocol_name(p)) {
      *protocol = p;
      return true;
    }
  }
  return false;
}

std::optional<std::string> finish_bench_options(const RawBenchOptions& raw, BenchOptions& o) {
  if (!parse_server(raw.server, &o.host, &o.port)) {
    return "--server: expected HOST:PORT, got '" + raw.server + "'";
  }
  if (!parse_ratio(raw.ratio, &o.get_weight, &o.set_weight)) {
    return "--ratio: expected GET:SET weights such as 90:10, got '" + raw.ratio + "'";
  }
  if (!parse_value_size(raw.value_size, &o.value_min, &o.value_max)) {
    return "--value-size: expected N or MIN-MAX with MIN <= MAX <= " +
           std::to_string(kMaxValueSize) + ", got '" + raw.value_size + "'";
  }
  if (!parse_distribution(raw.distribution, &o.zipf, &o.zipf_s)) {
    return "--distribution: expected uniform or zipf:S with 0 < S <= 10, got '" + raw.distribution +
           "'";
  }
  if (!parse_protocol(raw.protocol, &o.protocol)) {
    return "--protocol: expected text, meta or binary, got '" + raw.protocol + "'";
  }
  // The longest index has 15 digits (keys <= 2^48); the key must stay a valid memcached key.
  if (o.key_prefix.size() + 15 > protocol::kMaxKeyLength) {
    return "--key-prefix: at most " + std::to_string(protocol::kMaxKeyLength - 15) + " bytes";
  }
  for (char c : o.key_prefix) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return "--key-prefix: must not contain spaces or control characters";
    }
  }
  if (o.connections < o.threads) {
    return "--connections (" + std::to_string(o.connections) + ") must be at least --threads (" +
           std::to_string(o.threads) + ")";
  }
  if (o.rate > 0 && o.rate < 1e-3) return "--rate: too low";
  // Every connection holds --pipeline requests (and room for their replies) in memory.
  const double buffer_bytes =
      static_cast<double>(o.connections) * o.pipeline * (static_cast<double>(o.value_max) + 512);
  if (buffer_bytes > kMaxBufferBytes) {
    return "--connections x --pipeline x --value-size needs " +
           std::to_string(static_cast<uint64_t>(buffer_bytes / (1 << 20))) +
           " MiB of buffers; the limit is " + std::to_string(kMaxBufferBytes / (1 << 20)) + " MiB";
  }
  return std::nullopt;
}

}  // namespace kioku::client
