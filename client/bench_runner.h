// client/bench_runner.h — runs one benchmark: connections, load threads, phases, tallies.
//
// Owns: resolving and connecting to the server, the per-thread epoll loops that drive TLS
// handshakes (through client/bench_transport.h), hold the --idle-connections open and keep
// requests in flight (closed loop) or send them on a fixed schedule (open loop, --rate),
// prefill, warmup, the measured window, the progress line, and merging the threads' tallies.
// Must not: format bytes on the wire (client/codec.h does) or allocate per request: every
// buffer is sized once from the options before the first request.
#pragma once

#include <string>

#include "client/bench_options.h"
#include "client/bench_result.h"

namespace kioku::client {

// Runs the benchmark described by `options`. Returns false with a one-line `error` when the
// run could not start (unresolvable host, refused connection); errors during the run are
// counted in the result instead.
bool run_bench(const BenchOptions& options, BenchResult* result, std::string* error);

}  // namespace kioku::client
