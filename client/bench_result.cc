// client/bench_result.cc — see bench_result.h.
#include "client/bench_result.h"

#include <cstdio>
#include <string_view>

namespace kioku::client {
namespace {

constexpr std::array<double, 4> kPercentiles = {50.0, 90.0, 99.0, 99.9};
constexpr std::array<std::string_view, 4> kPercentileNames = {"p50", "p90", "p99", "p99_9"};

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void appendf(std::string* out, const char* format, auto... args) {
  char line[512];
  const int n = std::snprintf(line, sizeof line, format, args...);
  if (n > 0) out->append(line, static_cast<std::size_t>(n) < sizeof line ? n : sizeof line - 1);
}

void text_row(std::string* out, const char* name, uint64_t ops, double elapsed,
              const Histogram& h) {
  appendf(out, "%-6s %12.1f %12llu", name, elapsed > 0 ? static_cast<double>(ops) / elapsed : 0.0,
          static_cast<unsigned long long>(ops));
  for (double p : kPercentiles) appendf(out, " %10.1f", us(h.value_at_percentile(p)));
  appendf(out, " %10.1f\n", us(h.max()));
}

void json_latency(std::string* out, const Histogram& h) {
  appendf(out, "\"latency_us\":{");
  for (std::size_t i = 0; i < kPercentiles.size(); ++i) {
    appendf(out, "\"%s\":%.3f,", kPercentileNames[i].data(),
            us(h.value_at_percentile(kPercentiles[i])));
  }
  appendf(out, "\"max\":%.3f,\"mean\":%.3f}", us(h.max()), h.mean() / 1000.0);
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      appendf(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

uint64_t Tally::total_ops() const {
  uint64_t sum = 0;
  for (uint64_t n : ops) sum += n;
  return sum;
}

uint64_t Tally::total_errors() const {
  return error_replies + protocol_errors + timeouts + connection_errors;
}

void Tally::merge(const Tally& other) {
  for (std::size_t i = 0; i < kOpTypeCount; ++i) {
    ops[i] += other.ops[i];
    latency_ns[i].merge(other.latency_ns[i]);
  }
  hits += other.hits;
  misses += other.misses;
  error_replies += other.error_replies;
  protocol_errors += other.protocol_errors;
  timeouts += other.timeouts;
  connection_errors += other.connection_errors;
}

std::string format_text_report(const BenchOptions& o, const BenchResult& r) {
  const Tally& t = r.tally;
  std::string out;
  appendf(&out, "server      %s:%u (%s protocol%s)\n", o.host.c_str(), o.port,
          protocol_name(o.protocol).data(), o.tls ? ", TLS" : "");
  appendf(&out, "load        %u threads, %u connections, pipeline %u, get:set %u:%u, ", o.threads,
          o.connections, o.pipeline, o.get_weight, o.set_weight);
  if (o.rate > 0) {
    appendf(&out, "open loop at %.0f ops/s\n", o.rate);
  } else {
    appendf(&out, "closed loop\n");
  }
  if (o.value_min == o.value_max) {
    appendf(&out, "data        %u-byte values, ", o.value_min);
  } else {
    appendf(&out, "data        %u-%u-byte values, ", o.value_min, o.value_max);
  }
  appendf(&out, "%llu keys, ", static_cast<unsigned long long>(o.keys));
  if (o.zipf) {
    appendf(&out, "zipf %.3g\n", o.zipf_s);
  } else {
    appendf(&out, "uniform\n");
  }
  if (r.prefilled) {
    appendf(&out, "prefill     %llu keys in %.2f s, %llu errors\n",
            static_cast<unsigned long long>(r.prefilled), r.prefill_s,
            static_cast<unsigned long long>(r.prefill_errors));
  }
  if (o.idle_connections) {
    appendf(&out, "idle        %u connections: %llu held at the start, %llu at the end\n",
            o.idle_connections, static_cast<unsigned long long>(r.idle_held_at_start),
            static_cast<unsigned long long>(r.idle_held));
  }
  appendf(&out, "measured    %.3f s\n\n", r.elapsed_s);
  appendf(&out, "%-6s %12s %12s %10s %10s %10s %10s %10s\n", "op", "ops/s", "ops", "p50 us",
          "p90 us", "p99 us", "p99.9 us", "max us");
  Histogram all = t.latency_ns[0];
  all.merge(t.latency_ns[1]);
  text_row(&out, "total", t.total_ops(), r.elapsed_s, all);
  text_row(&out, "get", t.ops[static_cast<std::size_t>(OpType::kGet)], r.elapsed_s,
           t.latency_ns[static_cast<std::size_t>(OpType::kGet)]);
  text_row(&out, "set", t.ops[static_cast<std::size_t>(OpType::kSet)], r.elapsed_s,
           t.latency_ns[static_cast<std::size_t>(OpType::kSet)]);
  const uint64_t lookups = t.hits + t.misses;
  appendf(&out, "\ngets        %llu hits, %llu misses (hit ratio %.2f%%)\n",
          static_cast<unsigned long long>(t.hits), static_cast<unsigned long long>(t.misses),
          lookups ? 100.0 * static_cast<double>(t.hits) / static_cast<double>(lookups) : 0.0);
  appendf(&out,
          "errors      %llu (error replies %llu, protocol %llu, timeouts %llu, "
          "connection %llu)\n",
          static_cast<unsigned long long>(t.total_errors()),
          static_cast<unsigned long long>(t.error_replies),
          static_cast<unsigned long long>(t.protocol_errors),
          static_cast<unsigned long long>(t.timeouts),
          static_cast<unsigned long long>(t.connection_errors));
  return out;
}

std::string format_json_report(const BenchOptions& o, const BenchResult& r) {
  const Tally& t = r.tally;
  const double e = r.elapsed_s > 0 ? r.elapsed_s : 1.0;
  std::string out = "{";
  appendf(&out, "\"server\":\"%s:%u\",\"protocol\":\"%s\",\"tls\":%s,", json_escape(o.host).c_str(),
          o.port, protocol_name(o.protocol).data(), o.tls ? "true" : "false");
  appendf(&out,
          "\"threads\":%u,\"connections\":%u,\"pipeline\":%u,\"ratio\":\"%u:%u\","
          "\"value_size\":[%u,%u],\"keys\":%llu,\"distribution\":\"",
          o.threads, o.connections, o.pipeline, o.get_weight, o.set_weight, o.value_min,
          o.value_max, static_cast<unsigned long long>(o.keys));
  if (o.zipf) {
    appendf(&out, "zipf:%g\",", o.zipf_s);
  } else {
    appendf(&out, "uniform\",");
  }
  appendf(&out, "\"idle_connections\":%u,\"idle_held_at_start\":%llu,\"idle_held\":%llu,",
          o.idle_connections, static_cast<unsigned long long>(r.idle_held_at_start),
          static_cast<unsigned long long>(r.idle_held));
  appendf(&out, "\"rate\":%.3f,\"prefilled\":%llu,\"prefill_errors\":%llu,\"elapsed_s\":%.6f,",
          o.rate, static_cast<unsigned long long>(r.prefilled),
          static_cast<unsigned long long>(r.prefill_errors), r.elapsed_s);
  Histogram all = t.latency_ns[0];
  all.merge(t.latency_ns[1]);
  appendf(&out, "\"ops\":%llu,\"ops_per_sec\":%.3f,",
          static_cast<unsigned long long>(t.total_ops()), static_cast<double>(t.total_ops()) / e);
  json_latency(&out, all);
  constexpr std::array<std::string_view, kOpTypeCount> kNames = {"get", "set"};
  for (std::size_t i = 0; i < kOpTypeCount; ++i) {
    appendf(&out, ",\"%s\":{\"ops\":%llu,\"ops_per_sec\":%.3f,", kNames[i].data(),
            static_cast<unsigned long long>(t.ops[i]), static_cast<double>(t.ops[i]) / e);
    if (i == static_cast<std::size_t>(OpType::kGet)) {
      appendf(&out, "\"hits\":%llu,\"misses\":%llu,", static_cast<unsigned long long>(t.hits),
              static_cast<unsigned long long>(t.misses));
    }
    json_latency(&out, t.latency_ns[i]);
    out += '}';
  }
  appendf(&out,
          ",\"errors\":{\"total\":%llu,\"error_replies\":%llu,\"protocol\":%llu,"
          "\"timeouts\":%llu,\"connection\":%llu}}",
          static_cast<unsigned long long>(t.total_errors()),
          static_cast<unsigned long long>(t.error_replies),
          static_cast<unsigned long long>(t.protocol_errors),
          static_cast<unsigned long long>(t.timeouts),
          static_cast<unsigned long long>(t.connection_errors));
  return out;
}

}  // namespace kioku::client
