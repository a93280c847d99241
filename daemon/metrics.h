// daemon/metrics.h — the Prometheus text exposition of kiokud's stats.
//
// Owns: the mapping from memcached stat names to Prometheus metric names (the public
// memcached_exporter's names where it has one, kioku_<stat> otherwise), the derived hit ratio,
// the per-command latency histograms and the per-slab-class series. Must not: keep its own
// counters; it reads what `stats` reports, so the two cannot disagree.
#pragma once

#include <string>

namespace kioku::daemon {

class Server;

// Renders every metric (text format 0.0.4). Safe from any thread once server.serving().
std::string render_metrics(Server& server);

}  // namespace kioku::daemon
