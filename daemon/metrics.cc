// daemon/metrics.cc — see metrics.h.
#include "daemon/metrics.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <string_view>
#include <vector>

#include "daemon/buffer_pool.h"
#include "daemon/command_latency.h"
#include "daemon/output_queue.h"
#include "daemon/server.h"
#include "daemon/worker.h"

namespace kioku::daemon {
namespace {

enum class Type : uint8_t { kCounter, kGauge, kHistogram, kUntyped };

const char* type_name(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
    case Type::kUntyped:
      break;
  }
  return "untyped";
}

// One `stats` field's place in the exposition. Fields not listed become kioku_<name>.
struct StatMetric {
  std::string_view stat;
  std::string_view metric;
  Type type;
  std::string_view labels;  // without braces
  std::string_view help;
};

constexpr std::string_view kCommandsHelp =
    "Requests by command and outcome (memcached stats cmd_*, *_hits, *_misses).";

constexpr StatMetric kStatMetrics[] = {
    {"uptime", "memcached_uptime_seconds", Type::kCounter, "", "Seconds since the server started."},
    {"time", "memcached_time_seconds", Type::kGauge, "", "Current UNIX time of the server."},
    {"rusage_user", "memcached_process_user_cpu_seconds_total", Type::kCounter, "",
     "User CPU time of the process."},
    {"rusage_system", "memcached_process_system_cpu_seconds_total", Type::kCounter, "",
     "System CPU time of the process."},
    {"max_connections", "memcached_max_connections", Type::kGauge, "",
     "Maximum number of clients allowed (-c)."},
    {"curr_connections", "memcached_current_connections", Type::kGauge, "",
     "Open client connections."},
    {"total_connections", "memcached_connections_total", Type::kCounter, "",
     "Connections accepted since start."},
    {"rejected_connections", "memcached_connections_rejected_total", Type::kCounter, "",
     "Connections refused at the -c limit."},
    {"listen_disabled_num", "memcached_connections_listener_disabled_total", Type::kCounter, "",
     "Times the listener was disabled at the connection limit."},
    {"conn_yields", "memcached_connections_yielded_total", Type::kCounter, "",
     "Times a connection yielded at the -R limit."},
    {"accepting_conns", "memcached_accepting_connections", Type::kGauge, "",
     "1 while the server accepts connections."},
    {"cmd_get", "kioku_cmd_get_total", Type::kCounter, "", "Keys requested by retrievals."},
    {"cmd_touch", "kioku_cmd_touch_total", Type::kCounter, "", "Touch requests."},
    {"cmd_meta", "kioku_cmd_meta_total", Type::kCounter, "", "Meta protocol requests."},
    {"cmd_set", "memcached_commands_total", Type::kCounter, "command=\"set\",status=\"hit\"",
     kCommandsHelp},
    {"cmd_flush", "memcached_commands_total", Type::kCounter, "command=\"flush\",status=\"hit\"",
     kCommandsHelp},
    {"get_hits", "memcached_commands_total", Type::kCounter, "command=\"get\",status=\"hit\"",
     kCommandsHelp},
    {"get_misses", "memcached_commands_total", Type::kCounter, "command=\"get\",status=\"miss\"",
     kCommandsHelp},
    {"get_expired", "memcached_commands_total", Type::kCounter,
     "command=\"get\",status=\"expired\"", kCommandsHelp},
    {"get_flushed", "memcached_commands_total", Type::kCounter,
     "command=\"get\",status=\"flushed\"", kCommandsHelp},
    {"delete_hits", "memcached_commands_total", Type::kCounter, "command=\"delete\",status=\"hit\"",
     kCommandsHelp},
    {"delete_misses", "memcached_commands_total", Type::kCounter,
     "command=\"delete\",status=\"miss\"", kCommandsHelp},
    {"incr_hits", "memcached_commands_total", Type::kCounter, "command=\"incr\",status=\"hit\"",
     kCommandsHelp},
    {"incr_misses", "memcached_commands_total", Type::kCounter, "command=\"incr\",status=\"miss\"",
     kCommandsHelp},
    {"decr_hits", "memcached_commands_total", Type::kCounter, "command=\"decr\",status=\"hit\"",
     kCommandsHelp},
    {"decr_misses", "memcached_commands_total", Type::kCounter, "command=\"decr\",status=\"miss\"",
     kCommandsHelp},
    {"cas_hits", "memcached_commands_total", Type::kCounter, "command=\"cas\",status=\"hit\"",
     kCommandsHelp},
    {"cas_misses", "memcached_commands_total", Type::kCounter, "command=\"cas\",status=\"miss\"",
     kCommandsHelp},
    {"cas_badval", "memcached_commands_total", Type::kCounter, "command=\"cas\",status=\"badval\"",
     kCommandsHelp},
    {"touch_hits", "memcached_commands_total", Type::kCounter, "command=\"touch\",status=\"hit\"",
     kCommandsHelp},
    {"touch_misses", "memcached_commands_total", Type::kCounter,
     "command=\"touch\",status=\"miss\"", kCommandsHelp},
    {"store_too_large", "memcached_item_too_large_total", Type::kCounter, "",
     "Stores refused as larger than the item size limit."},
    {"store_no_memory", "memcached_item_no_memory_total", Type::kCounter, "",
     "Stores refused for lack of memory."},
    {"bytes_read", "memcached_read_bytes_total", Type::kCounter, "",
     "Bytes read from the network."},
    {"bytes_written", "memcached_written_bytes_total", Type::kCounter, "",
     "Bytes sent to the network."},
    {"limit_maxbytes", "memcached_limit_bytes", Type::kGauge, "", "Item memory limit (-m)."},
    {"bytes", "memcached_current_bytes", Type::kGauge, "", "Bytes used by stored items."},
    {"curr_items", "memcached_current_items", Type::kGauge, "", "Items stored now."},
    {"total_items", "memcached_items_total", Type::kCounter, "", "Items stored since start."},
    {"evictions", "memcached_items_evicted_total", Type::kCounter, "",
     "Unexpired items evicted to make room."},
    {"reclaimed", "memcached_items_reclaimed_total", Type::kCounter, "",
     "Stores that reused memory of an expired item."},
    {"expired_unfetched", "memcached_items_expired_unfetched_total", Type::kCounter, "",
     "Items that expired without being fetched."},
    {"evicted_unfetched", "memcached_items_evicted_unfetched_total", Type::kCounter, "",
     "Items evicted without being fetched."},
    {"evicted_active", "kioku_items_evicted_active_total", Type::kCounter, "",
     "Evictions of items fetched recently."},
    {"total_malloced", "memcached_malloced_bytes", Type::kGauge, "",
     "Bytes of slab pages allocated."},
};

struct Family {
  Type type = Type::kUntyped;
  std::string help;
  std::string samples;
};

class Exposition {
 public:
  Family& family(std::string_view name, Type type, std::string_view help) {
    auto [it, inserted] = families_.try_emplace(std::string(name));
    if (inserted) {
      order_.push_back(it->first);
      it->second.type = type;
      it->second.help = help;
    }
    return it->second;
  }

  void sample(std::string_view name, Type type, std::string_view help, std::string_view labels,
              std::string_view value, std::string_view suffix = "") {
    Family& f = family(name, type, help);
    f.samples.append(name).append(suffix);
    if (!labels.empty()) f.samples.append("{").append(labels).append("}");
    f.samples.append(" ").append(value).append("\n");
  }

  void sample(std::string_view name, Type type, std::string_view help, std::string_view labels,
              double value, std::string_view suffix = "") {
    char text[64];
    int n = std::snprintf(text, sizeof text, "%.9g", value);
    sample(name, type, help, labels, std::string_view(text, static_cast<std::size_t>(n)), suffix);
  }

  std::string text() const {
    std::string out;
    for (const std::string& name : order_) {
      const Family& f = families_.at(name);
      out.append("# HELP ").append(name).append(" ").append(f.help).append("\n");
      out.append("# TYPE ").append(name).append(" ").append(type_name(f.type)).append("\n");
      out.append(f.samples);
    }
    return out;
  }

 private:
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::string> order_;
};

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool is_number(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

// "STAT name value\r\n" lines, as the stats command would send them.
std::vector<std::pair<std::string, std::string>> general_stats(Server& server) {
  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  server.write_general_stats(queue);
  std::string text;
  queue.copy_to(&text);
  queue.clear();
  std::vector<std::pair<std::string, std::string>> stats;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    if (!line.starts_with("STAT ")) continue;
    line.remove_prefix(5);
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    stats.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  return stats;
}

void add_general(Exposition& out, Server& server) {
  uint64_t hits = 0, misses = 0;
  std::string version, kioku_version, libevent;
  for (const auto& [name, value] : general_stats(server)) {
    if (name == "version") version = value;
    if (name == "kioku_version") kioku_version = value;
    if (name == "libevent") libevent = value;
    if (!is_number(value)) continue;
    if (name == "get_hits") hits = std::stoull(value);
    if (name == "get_misses") misses = std::stoull(value);
    const StatMetric* mapped = nullptr;
    for (const StatMetric& m : kStatMetrics) {
      if (m.stat == name) mapped = &m;
    }
    if (mapped != nullptr) {
      out.sample(mapped->metric, mapped->type, mapped->help, mapped->labels, value);
    } else {
      std::string metric = "kioku_" + name;
      out.sample(metric, Type::kUntyped, "memcached stat " + name, "", value);
    }
  }
  out.sample("memcached_version", Type::kGauge, "The memcached protocol version served.",
             "version=\"" + escape_label(version) + "\"", "1");
  out.sample(
      "kioku_build_info", Type::kGauge, "Kioku's version and its libevent.",
      "version=\"" + escape_label(kioku_version) + "\",libevent=\"" + escape_label(libevent) + "\"",
      "1");
  const double ratio =
      hits + misses == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(hits + misses);
  out.sample("kioku_get_hit_ratio", Type::kGauge,
             "get_hits / (get_hits + get_misses) since start (0 before any get).", "", ratio);
}

void add_slabs(Exposition& out, Server& server) {
  auto u = [](uint64_t v) { return static_cast<double>(v); };
  for (const slab::SlabClassStats& c : server.cache().slab_stats()) {
    const std::string label = "slab=\"" + std::to_string(c.id) + "\"";
    out.sample("memcached_slab_chunk_size_bytes", Type::kGauge, "Bytes per chunk of the class.",
               label, u(c.chunk_size));
    out.sample("memcached_slab_chunks_per_page", Type::kGauge, "Chunks per slab page.", label,
               u(c.chunks_per_page));
    out.sample("memcached_slab_current_pages", Type::kGauge, "Pages given to the class.", label,
               u(c.total_pages));
    out.sample("memcached_slab_current_chunks", Type::kGauge, "Chunks in the class's pages.", label,
               u(c.total_chunks));
    out.sample("memcached_slab_chunks_used", Type::kGauge, "Chunks holding items.", label,
               u(c.used_chunks));
    out.sample("memcached_slab_chunks_free", Type::kGauge, "Chunks free for new items.", label,
               u(c.free_chunks));
    out.sample("memcached_slab_chunks_free_end", Type::kGauge,
               "Free chunks at the end of the last page.", label, u(c.free_chunks_end));
    out.sample("kioku_slab_memory_bytes", Type::kGauge,
               "Memory carved into chunks for the class (chunk size x chunks).", label,
               u(uint64_t{c.chunk_size} * c.total_chunks));
  }
  for (const slab::ItemClassStats& c : server.cache().item_stats()) {
    const std::string label = "slab=\"" + std::to_string(c.id) + "\"";
    out.sample("memcached_slab_current_items", Type::kGauge, "Items stored in the class.", label,
               u(c.number));
    out.sample("memcached_slab_mem_requested_bytes", Type::kGauge,
               "Bytes requested by the items of the class.", label, u(c.mem_requested));
    out.sample("memcached_slab_items_age_seconds", Type::kGauge,
               "Seconds since the class's LRU tail was accessed.", label, u(c.age));
    out.sample("memcached_slab_items_evicted_total", Type::kCounter,
               "Items evicted from the class.", label, u(c.evicted));
    out.sample("memcached_slab_items_outofmemory_total", Type::kCounter,
               "Stores the class could not satisfy.", label, u(c.outofmemory));
    out.sample("memcached_slab_items_reclaimed_total", Type::kCounter,
               "Stores into the class that reused an expired item.", label, u(c.reclaimed));
  }
}

void add_latency(Exposition& out, Server& server) {
  constexpr std::string_view kName = "kioku_command_duration_seconds";
  constexpr std::string_view kHelp =
      "Time a worker spent executing each command (parsed request to queued reply).";
  out.family(kName, Type::kHistogram, kHelp);
  struct Totals {
    std::array<uint64_t, CommandLatency::kBuckets> buckets{};
    uint64_t sum_ns = 0;
  };
  // Labels, not slots: several unknown slots share "other".
  std::map<std::string_view, Totals> by_command;
  for (const auto& worker : server.workers()) {
    const CommandLatency& latency = worker->latency();
    for (std::size_t c = 0; c < CommandLatency::kCommands; ++c) {
      uint64_t count = 0;
      for (std::size_t b = 0; b < CommandLatency::kBuckets; ++b) count += latency.bucket(c, b);
      if (count == 0) continue;
      Totals& t = by_command[command_label(c)];
      for (std::size_t b = 0; b < CommandLatency::kBuckets; ++b) {
        t.buckets[b] += latency.bucket(c, b);
      }
      t.sum_ns += latency.sum_ns(c);
    }
  }
  for (const auto& [command, t] : by_command) {
    const std::string base = "command=\"" + std::string(command) + "\"";
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b < CommandLatency::kBuckets; ++b) {
      cumulative += t.buckets[b];
      char le[32];
      if (b < CommandLatency::kBoundsNs.size()) {
        std::snprintf(le, sizeof le, "%g", static_cast<double>(CommandLatency::kBoundsNs[b]) / 1e9);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      out.sample(kName, Type::kHistogram, kHelp, base + ",le=\"" + le + "\"",
                 static_cast<double>(cumulative), "_bucket");
    }
    out.sample(kName, Type::kHistogram, kHelp, base, static_cast<double>(t.sum_ns) / 1e9, "_sum");
    out.sample(kName, Type::kHistogram, kHelp, base, static_cast<double>(cumulative), "_count");
  }
}

}  // namespace

std::string render_metrics(Server& server) {
  Exposition out;
  out.sample("memcached_up", Type::kGauge, "1: the server answered this scrape.", "", "1");
  add_general(out, server);
  add_slabs(out, server);
  add_latency(out, server);
  return out.text();
}

}  // namespace kioku::daemon
