// client/main.cc — kioku-bench: parse the options, run, print the report. Nothing else.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "client/bench_options.h"
#include "client/bench_result.h"
#include "client/bench_runner.h"

int main(int argc, char** argv) {
  using namespace kioku::client;
  BenchOptions options;
  RawBenchOptions raw;
  CLI::App app{"kioku-bench: a load generator for memcached-compatible servers", "kioku-bench"};
  add_bench_options(app, options, raw);
  CLI11_PARSE(app, argc, argv);
  if (auto problem = finish_bench_options(raw, options)) {
    std::fprintf(stderr, "kioku-bench: %s\n", problem->c_str());
    return 2;
  }
  BenchResult result;
  std::string error;
  if (!run_bench(options, &result, &error)) {
    std::fprintf(stderr, "kioku-bench: %s\n", error.c_str());
    return 1;
  }
  const std::string report =
      options.json ? format_json_report(options, result) : format_text_report(options, result);
  std::fputs(report.c_str(), stdout);
  if (options.json) std::fputc('\n', stdout);
  if (result.connections_lost) {
    std::fprintf(stderr, "kioku-bench: every connection was lost; the run ended early\n");
    return 3;
  }
  return 0;
}
