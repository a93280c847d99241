// client/cli.cc — see cli.h. Exit status: 0 success, 1 a miss or a refused store/cas/delete,
// 2 a usage error, 3 a node failed or no node was reachable.
#include "client/cli.h"
#include "client/words.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/kioku_client.h"

namespace kioku::client {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitMiss = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailure = 3;

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

struct CliOptions {
  std::string servers;
  std::string discover;
  std::string distribution = "ketama-weighted";
  std::string hash = "md5";
  std::string protocol = "text";
  uint32_t timeout_ms = 1000;
  uint32_t failure_limit = 2;
  uint32_t retry_timeout_ms = 2000;
  uint32_t poll_interval_ms = 60000;
  bool no_auto_eject = false;
  bool json = false;
  uint32_t flags = 0;
  int64_t exptime = 0;
  std::vector<std::string> command;
};

int exit_for(Result r) {
  switch (r) {
    case Result::kOk:
      return kExitOk;
    case Result::kNotStored:
    case Result::kExists:
    case Result::kNotFound:
      return kExitMiss;
    case Result::kInvalidKey:
      return kExitUsage;
    case Result::kServerError:
    case Result::kNoServer:
    case Result::kIoError:
      break;
  }
  return kExitFailure;
}

class Runner {
 public:
  Runner(KiokuClient& client, const CliOptions& options, std::ostream& out)
      : client_(client), o_(options), out_(out) {}

  // Runs one command (its words); returns the exit status.
  int run(const std::vector<std::string>& words);

 private:
  int usage(const std::string& message) {
    std::cerr << "kioku-cli: " << message << "\n";
    return kExitUsage;
  }
  int result(std::string_view command, Result r, const std::string& extra_json = {},
             const std::string& human = {});
  int get(const std::vector<std::string>& keys, bool with_cas);
  int store(StoreMode mode, const std::vector<std::string>& args);
  int per_node(std::string_view command, const std::vector<NodeReply>& replies);
  int ring(const std::vector<std::string>& keys);
  int nodes();
  int load(const std::vector<std::string>& args);
  int verify(const std::vector<std::string>& args);
  int watch(const std::vector<std::string>& args);

  KiokuClient& client_;
  const CliOptions& o_;
  std::ostream& out_;
};

int Runner::result(std::string_view command, Result r, const std::string& extra_json,
                   const std::string& human) {
  if (o_.json) {
    out_ << "{\"command\":" << json_string(command)
         << ",\"result\":" << json_string(result_name(r));
    if (r != Result::kOk && r != Result::kNotStored && r != Result::kExists &&
        r != Result::kNotFound) {
      out_ << ",\"error\":" << json_string(client_.last_error());
    }
    out_ << extra_json << "}\n";
  } else if (r == Result::kOk) {
    out_ << (human.empty() ? std::string(result_name(r)) : human) << "\n";
  } else {
    out_ << result_name(r);
    if (r != Result::kNotStored && r != Result::kExists && r != Result::kNotFound) {
      out_ << ": " << client_.last_error();
    }
    out_ << "\n";
  }
  return exit_for(r);
}

int Runner::get(const std::vector<std::string>& keys, bool with_cas) {
  if (keys.empty()) return usage("get needs at least one key");
  std::vector<Item> items;
  const Result r = client_.get_multi(keys, &items, with_cas);
  std::map<std::string, const Item*> found;
  for (const Item& i : items) found[i.key] = &i;
  if (o_.json) {
    std::string hits = ",\"hits\":{";
    std::string misses = ",\"misses\":[";
    bool first_hit = true;
    bool first_miss = true;
    for (const std::string& k : keys) {
      auto it = found.find(k);
      if (it == found.end()) {
        misses += (first_miss ? "" : ",") + json_string(k);
        first_miss = false;
        continue;
      }
      hits += (first_hit ? "" : ",") + json_string(k) +
              ":{\"value\":" + json_string(it->second->value) +
              ",\"flags\":" + std::to_string(it->second->flags);
      if (with_cas) hits += ",\"cas\":" + std::to_string(it->second->cas);
      hits += "}";
      first_hit = false;
    }
    result(with_cas ? "gets" : "get", r, hits + "}" + misses + "]");
  } else {
    if (r != Result::kOk) result(with_cas ? "gets" : "get", r);
    for (const std::string& k : keys) {
      auto it = found.find(k);
      if (it == found.end()) {
        std::cerr << k << ": not found\n";
        continue;
      }
      out_ << k << " " << it->second->value;
      if (with_cas) out_ << " (flags " << it->second->flags << ", cas " << it->second->cas << ")";
      out_ << "\n";
    }
  }
  if (r != Result::kOk) return exit_for(r);
  return found.size() == std::set<std::string>(keys.begin(), keys.end()).size() ? kExitOk
                                                                                : kExitMiss;
}

int Runner::store(StoreMode mode, const std::vector<std::string>& args) {
  const std::string_view name = store_mode_command(mode);
  const std::size_t need = mode == StoreMode::kCas ? 3 : 2;
  if (args.size() != need) {
    return usage(std::string(name) + " needs KEY VALUE" + (mode == StoreMode::kCas ? " CAS" : ""));
  }
  uint64_t cas = 0;
  if (mode == StoreMode::kCas && !parse_number(args[2], &cas)) return usage("invalid CAS value");
  return result(name, client_.store(mode, args[0], args[1], o_.flags, o_.exptime, cas), {},
                "STORED");
}

int Runner::per_node(std::string_view command, const std::vector<NodeReply>& replies) {
  int status = kExitOk;
  if (o_.json) out_ << "{\"command\":" << json_string(command) << ",\"nodes\":{";
  bool first = true;
  for (const NodeReply& r : replies) {
    if (r.result != Result::kOk) status = kExitFailure;
    if (o_.json) {
      out_ << (first ? "" : ",") << json_string(r.node.label())
           << ":{\"result\":" << json_string(result_name(r.result));
      if (!r.text.empty()) out_ << ",\"text\":" << json_string(r.text);
      if (!r.stats.empty()) {
        out_ << ",\"stats\":{";
        for (std::size_t i = 0; i < r.stats.size(); ++i) {
          out_ << (i ? "," : "") << json_string(r.stats[i].first) << ":"
               << json_string(r.stats[i].second);
        }
        out_ << "}";
      }
      out_ << "}";
      first = false;
      continue;
    }
    if (r.result != Result::kOk) {
      out_ << r.node.label() << " " << result_name(r.result) << ": " << r.text << "\n";
    } else if (!r.stats.empty()) {
      for (const auto& [name, value] : r.stats) {
        out_ << r.node.label() << " " << name << " " << value << "\n";
      }
    } else {
      out_ << r.node.label() << " " << (r.text.empty() ? "OK" : r.text) << "\n";
    }
  }
  if (o_.json) out_ << "}}\n";
  return status;
}

int Runner::ring(const std::vector<std::string>& keys) {
  if (keys.empty()) return usage("ring needs at least one key");
  const std::vector<NodeStatus> nodes = client_.nodes();
  int status = kExitOk;
  if (o_.json) out_ << "{\"command\":\"ring\",\"keys\":{";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto node = client_.node_for(keys[i]);
    if (!node) status = kExitFailure;
    const std::string label = node ? nodes[*node].spec.label() : std::string();
    if (o_.json) {
      out_ << (i ? "," : "") << json_string(keys[i]) << ":"
           << (node ? json_string(label) : std::string("null"));
    } else {
      out_ << keys[i] << " " << (node ? label : "(no live node)") << "\n";
    }
  }
  if (o_.json) out_ << "}}\n";
  return status;
}

int Runner::nodes() {
  const std::vector<NodeStatus> nodes = client_.nodes();
  if (o_.json) {
    out_ << "{\"command\":\"nodes\"";
    if (client_.discovering()) out_ << ",\"version\":" << client_.config_version();
    out_ << ",\"nodes\":[";
  } else if (client_.discovering()) {
    out_ << "config version " << client_.config_version() << "\n";
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const NodeStatus& n = nodes[i];
    const char* state = n.state == NodeState::kLive ? "live" : "ejected";
    if (o_.json) {
      out_ << (i ? "," : "") << "{\"node\":" << json_string(n.spec.label())
           << ",\"ip\":" << json_string(n.spec.ip) << ",\"weight\":" << n.spec.weight
           << ",\"state\":\"" << state << "\",\"failures\":" << n.consecutive_failures << "}";
    } else {
      out_ << n.spec.label() << " " << state << " weight " << n.spec.weight << " failures "
           << n.consecutive_failures << "\n";
    }
  }
  if (o_.json) out_ << "]}\n";
  return kExitOk;
}

// load COUNT [PREFIX]: stores PREFIX<i> = "value-<i>" for i in [0, COUNT).
int Runner::load(const std::vector<std::string>& args) {
  uint64_t count = 0;
  if (args.empty() || args.size() > 2 || !parse_number(args[0], &count)) {
    return usage("load needs COUNT [PREFIX]");
  }
  const std::string prefix = args.size() == 2 ? args[1] : "key:";
  const std::vector<NodeStatus> nodes = client_.nodes();
  std::map<std::string, uint64_t> per_node;
  uint64_t stored = 0;
  uint64_t failed = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string key = prefix + std::to_string(i);
    auto node = client_.node_for(key);
    if (client_.set(key, "value-" + std::to_string(i), o_.flags, o_.exptime) == Result::kOk) {
      ++stored;
      if (node) ++per_node[nodes[*node].spec.label()];
    } else {
      ++failed;
    }
  }
  if (o_.json) {
    out_ << "{\"command\":\"load\",\"stored\":" << stored << ",\"failed\":" << failed
         << ",\"per_node\":{";
    bool first = true;
    for (const auto& [label, n] : per_node) {
      out_ << (first ? "" : ",") << json_string(label) << ":" << n;
      first = false;
    }
    out_ << "}}\n";
  } else {
    out_ << "stored " << stored << " of " << count << " keys\n";
    for (const auto& [label, n] : per_node) out_ << "  " << label << " " << n << "\n";
  }
  return failed == 0 ? kExitOk : kExitFailure;
}

// verify COUNT [PREFIX]: reads back what load stored, 100 keys per multi-get.
int Runner::verify(const std::vector<std::string>& args) {
  uint64_t count = 0;
  if (args.empty() || args.size() > 2 || !parse_number(args[0], &count)) {
    return usage("verify needs COUNT [PREFIX]");
  }
  const std::string prefix = args.size() == 2 ? args[1] : "key:";
  uint64_t found = 0;
  uint64_t wrong = 0;
  uint64_t failed_batches = 0;
  for (uint64_t start = 0; start < count; start += 100) {
    std::vector<std::string> keys;
    for (uint64_t i = start; i < std::min(count, start + 100); ++i) {
      keys.push_back(prefix + std::to_string(i));
    }
    std::vector<Item> items;
    if (client_.get_multi(keys, &items) != Result::kOk) ++failed_batches;
    for (const Item& item : items) {
      uint64_t i = 0;
      const bool ok = item.key.starts_with(prefix) &&
                      parse_number(std::string_view(item.key).substr(prefix.size()), &i) &&
                      item.value == "value-" + std::to_string(i);
      ok ? ++found : ++wrong;
    }
  }
  const uint64_t missing = count - found - wrong;
  if (o_.json) {
    out_ << "{\"command\":\"verify\",\"found\":" << found << ",\"missing\":" << missing
         << ",\"wrong\":" << wrong << ",\"failed_batches\":" << failed_batches << "}\n";
  } else {
    out_ << "found " << found << " of " << count << " keys (" << missing << " missing, " << wrong
         << " wrong, " << failed_batches << " batches with a node error)\n";
  }
  return found == count ? kExitOk : (failed_batches ? kExitFailure : kExitMiss);
}

// watch SECONDS: polls the configuration endpoint every poll interval for SECONDS, printing
// the node list whenever its version changes.
int Runner::watch(const std::vector<std::string>& args) {
  uint64_t seconds = 0;
  if (args.size() != 1 || !parse_number(args[0], &seconds)) return usage("watch needs SECONDS");
  if (!client_.discovering()) return usage("watch needs --discover");
  nodes();
  out_.flush();
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o_.poll_interval_ms));
    std::string error;
    if (client_.refresh(&error)) {
      nodes();
      out_.flush();
    } else if (!error.empty()) {
      std::cerr << "kioku-cli: " << error << "\n";
    }
  }
  return kExitOk;
}

int Runner::run(const std::vector<std::string>& words) {
  if (words.empty()) return usage("no command given (see --help)");
  const std::string& cmd = words[0];
  const std::vector<std::string> args(words.begin() + 1, words.end());
  if (cmd == "get") return get(args, false);
  if (cmd == "gets") return get(args, true);
  if (cmd == "set") return store(StoreMode::kSet, args);
  if (cmd == "add") return store(StoreMode::kAdd, args);
  if (cmd == "replace") return store(StoreMode::kReplace, args);
  if (cmd == "append") return store(StoreMode::kAppend, args);
  if (cmd == "prepend") return store(StoreMode::kPrepend, args);
  if (cmd == "cas") return store(StoreMode::kCas, args);
  if (cmd == "incr" || cmd == "decr") {
    uint64_t delta = 0;
    if (args.size() != 2 || !parse_number(args[1], &delta)) {
      return usage(cmd + " needs KEY DELTA");
    }
    uint64_t value = 0;
    const Result r =
        cmd == "incr" ? client_.incr(args[0], delta, &value) : client_.decr(args[0], delta, &value);
    return result(cmd, r, ",\"value\":" + std::to_string(value), std::to_string(value));
  }
  if (cmd == "touch") {
    int64_t exptime = 0;
    if (args.size() != 2 || !parse_number(args[1], &exptime)) {
      return usage("touch needs KEY EXPTIME");
    }
    return result(cmd, client_.touch(args[0], exptime), {}, "TOUCHED");
  }
  if (cmd == "delete") {
    if (args.size() != 1) return usage("delete needs KEY");
    return result(cmd, client_.remove(args[0]), {}, "DELETED");
  }
  if (cmd == "stats") {
    std::string arguments;
    for (const std::string& a : args) arguments += (arguments.empty() ? "" : " ") + a;
    return per_node(cmd, client_.stats(arguments));
  }
  if (cmd == "flush") {
    int64_t delay = 0;
    if (args.size() > 1 || (args.size() == 1 && !parse_number(args[0], &delay))) {
      return usage("flush takes an optional DELAY");
    }
    return per_node(cmd, client_.flush_all(delay));
  }
  if (cmd == "version") return per_node(cmd, client_.version());
  if (cmd == "ring") return ring(args);
  if (cmd == "nodes") return nodes();
  if (cmd == "load") return load(args);
  if (cmd == "verify") return verify(args);
  if (cmd == "watch") return watch(args);
  if (cmd == "sleep") {
    uint64_t ms = 0;
    if (args.size() != 1 || !parse_number(args[0], &ms)) return usage("sleep needs MILLISECONDS");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return kExitOk;
  }
  return usage("unknown command \"" + cmd + "\" (see --help)");
}

constexpr const char* kCommandsHelp = R"(Commands:
  get KEY...             fetch keys (one pipelined request per node, merged)
  gets KEY...            as get, with flags and CAS values
  set|add|replace|append|prepend KEY VALUE
                         store (with --flags and --exptime)
  cas KEY VALUE CAS      store if the CAS value still matches
  incr|decr KEY DELTA    arithmetic; prints the new value
  touch KEY EXPTIME      change an item's expiry
  delete KEY             remove a key
  stats [ARGS...]        stats of every node
  flush [DELAY]          flush_all on every node
  version                version of every node
  ring KEY...            the node that owns each key
  nodes                  the node list, with each node's live/ejected state
  load COUNT [PREFIX]    store PREFIX0.. (default "key:") = "value-<i>", count per node
  verify COUNT [PREFIX]  read those keys back, 100 per multi-get
  watch SECONDS          (--discover) poll the node list, print it when its version changes
  sleep MS               pause (for scripts driving "shell")
  shell                  read commands from stdin, one per line, on one client (its eject
                         and discovery state carry from line to line)
Exit status: 0 success, 1 a miss or refused store, 2 usage error, 3 a node failed.)";

}  // namespace

int run_cli(int argc, char** argv) {
  CliOptions o;
  CLI::App app{
      "kioku-cli - a memcached cluster client: libmemcached-compatible ketama placement,\n"
      "auto-eject of failing nodes, node auto-discovery (config get cluster)",
      "kioku-cli"};
  app.footer(kCommandsHelp);
  app.option_defaults()->always_capture_default();
  auto* servers =
      app.add_option("-s,--servers", o.servers, "nodes: host[:port[:weight]], comma separated");
  auto* discover = app.add_option("-d,--discover", o.discover,
                                  "configuration endpoint host:port: read the node list with "
                                  "\"config get cluster\"");
  servers->excludes(discover);
  app.add_option("--distribution", o.distribution,
                 "ketama-weighted (libmemcached's KETAMA_WEIGHTED), ketama or modula");
  app.add_option("--hash", o.hash, "key hash: md5 or one-at-a-time (libmemcached's default)");
  app.add_option("--protocol", o.protocol,
                 "text, or meta (mg/ms/md/ma; flush, stats and version stay text)");
  app.add_option("--timeout-ms", o.timeout_ms, "connect, send and receive timeout");
  app.add_option("--failure-limit", o.failure_limit, "consecutive failures that eject a node");
  app.add_option("--retry-timeout-ms", o.retry_timeout_ms,
                 "how long an ejected node stays off the ring");
  app.add_flag("--no-auto-eject", o.no_auto_eject, "keep failing nodes on the ring");
  app.add_option("--poll-interval-ms", o.poll_interval_ms,
                 "auto-discovery: how often the node list is read again");
  app.add_option("--flags", o.flags, "client flags for stores");
  app.add_option("--exptime", o.exptime, "expiry for stores");
  app.add_flag("--json", o.json, "print JSON (one object per command) instead of text");
  app.add_option("command", o.command, "command and its arguments (see below)");
  app.allow_extras(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? kExitOk : kExitUsage;
  }

  ClientOptions options;
  auto distribution = parse_distribution(o.distribution);
  auto hash = parse_key_hash(o.hash);
  if (!distribution) {
    std::cerr << "kioku-cli: unknown distribution \"" << o.distribution << "\"\n";
    return kExitUsage;
  }
  if (!hash) {
    std::cerr << "kioku-cli: unknown hash \"" << o.hash << "\"\n";
    return kExitUsage;
  }
  if (o.protocol != "text" && o.protocol != "meta") {
    std::cerr << "kioku-cli: unknown protocol \"" << o.protocol << "\"\n";
    return kExitUsage;
  }
  if (o.failure_limit == 0) {
    std::cerr << "kioku-cli: --failure-limit must be at least 1\n";
    return kExitUsage;
  }
  options.protocol = o.protocol == "meta" ? WireProtocol::kMeta : WireProtocol::kText;
  options.distribution = *distribution;
  options.hash = *hash;
  options.timeout = std::chrono::milliseconds(o.timeout_ms);
  options.failure = FailurePolicy{!o.no_auto_eject, o.failure_limit,
                                  std::chrono::milliseconds(o.retry_timeout_ms)};
  options.poll_interval = std::chrono::milliseconds(o.poll_interval_ms);

  std::unique_ptr<KiokuClient> client;
  std::string error;
  if (!o.discover.empty()) {
    auto endpoint = parse_server(o.discover);
    if (!endpoint) {
      std::cerr << "kioku-cli: invalid --discover endpoint \"" << o.discover << "\"\n";
      return kExitUsage;
    }
    client = KiokuClient::discover(*endpoint, options, &error);
    if (!client) {
      std::cerr << "kioku-cli: auto-discovery failed: " << error << "\n";
      return kExitFailure;
    }
  } else {
    auto list = parse_server_list(o.servers.empty() ? "127.0.0.1:11211" : o.servers, &error);
    if (!list) {
      std::cerr << "kioku-cli: --servers: " << error << "\n";
      return kExitUsage;
    }
    client = std::make_unique<KiokuClient>(std::move(*list), options);
  }

  Runner runner(*client, o, std::cout);
  if (o.command.size() == 1 && o.command[0] == "shell") {
    int status = kExitOk;
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream words_in(line);
      std::vector<std::string> words;
      for (std::string w; words_in >> w;) words.push_back(w);
      if (words.empty()) continue;
      status = runner.run(words);
      std::cout.flush();
    }
    return status;
  }
  const int status = runner.run(o.command);
  std::cout.flush();
  return status;
}

}  // namespace kioku::client
