// client/kioku_client.cc — see kioku_client.h.
#include "client/kioku_client.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "client/meta_codec.h"
#include "protocol/text_parser.h"

namespace kioku::client {

namespace {

bool parse_u64(std::string_view text, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= protocol::kMaxKeyLength &&
         std::none_of(key.begin(), key.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u <= ' ' || u == 0x7f;
         });
}

std::string_view result_name(Result r) {
  switch (r) {
    case Result::kOk:
      return "OK";
    case Result::kNotStored:
      return "NOT_STORED";
    case Result::kExists:
      return "EXISTS";
    case Result::kNotFound:
      return "NOT_FOUND";
    case Result::kServerError:
      return "SERVER_ERROR";
    case Result::kNoServer:
      return "NO_SERVER";
    case Result::kInvalidKey:
      return "INVALID_KEY";
    case Result::kIoError:
      break;
  }
  return "IO_ERROR";
}

std::string_view wire_protocol_name(WireProtocol protocol) {
  return protocol == WireProtocol::kMeta ? "meta" : "text";
}

std::string_view store_mode_command(StoreMode mode) {
  switch (mode) {
    case StoreMode::kAdd:
      return "add";
    case StoreMode::kReplace:
      return "replace";
    case StoreMode::kAppend:
      return "append";
    case StoreMode::kPrepend:
      return "prepend";
    case StoreMode::kCas:
      return "cas";
    case StoreMode::kSet:
      break;
  }
  return "set";
}

KiokuClient::KiokuClient(std::vector<ServerSpec> servers, ClientOptions options)
    : options_(std::move(options)), failures_(options_.failure, 0) {
  set_nodes(std::move(servers));
}

KiokuClient::~KiokuClient() = default;

std::unique_ptr<KiokuClient> KiokuClient::discover(const ServerSpec& endpoint,
                                                   ClientOptions options, std::string* error) {
  auto client = std::make_unique<KiokuClient>(std::vector<ServerSpec>{}, std::move(options));
  client->endpoint_ = std::make_unique<NodeConnection>(endpoint.connect_host(), endpoint.port,
                                                       client->options_.timeout);
  if (!client->refresh(error)) {
    if (error->empty()) *error = "the configuration endpoint lists no nodes";
    return nullptr;
  }
  return client;
}

TimePoint KiokuClient::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

void KiokuClient::set_nodes(std::vector<ServerSpec> servers) {
  // Keep the open connections of nodes that stay.
  std::map<std::string, std::unique_ptr<NodeConnection>> open;
  for (Node& n : nodes_) open[n.spec.label() + "|" + n.spec.ip] = std::move(n.connection);
  nodes_.clear();
  ring_nodes_.clear();
  for (ServerSpec& spec : servers) {
    Node node;
    auto it = open.find(spec.label() + "|" + spec.ip);
    node.connection =
        it != open.end() && it->second
            ? std::move(it->second)
            : std::make_unique<NodeConnection>(spec.connect_host(), spec.port, options_.timeout);
    ring_nodes_.push_back({spec.host, spec.port, spec.weight});
    node.spec = std::move(spec);
    nodes_.push_back(std::move(node));
  }
  failures_ = FailureTracker(options_.failure, nodes_.size());
  ring_live_.assign(nodes_.size(), true);
  ring_ = std::make_unique<Ring>(options_.distribution, options_.hash, ring_nodes_);
}

bool KiokuClient::refresh(std::string* error) {
  error->clear();
  if (!endpoint_) return false;
  next_poll_ = now() + options_.poll_interval;
  ConfigReply reply;
  if (!endpoint_->send("config get cluster\r\n") || !endpoint_->receive([&](std::string_view in) {
        reply = parse_config_reply(in);
        switch (reply.status) {
          case ConfigReplyStatus::kNeedMore:
            return ReadResult{ReadStatus::kNeedMore, 0};
          case ConfigReplyStatus::kConfig:
          case ConfigReplyStatus::kError:
            break;
        }
        return ReadResult{ReadStatus::kDone, reply.consumed};
      })) {
    *error = endpoint_->last_error();
    return false;
  }
  if (reply.status == ConfigReplyStatus::kError) {
    *error = "config get cluster: " + reply.error;
    return false;
  }
  if (reply.config.version == config_version_ && !nodes_.empty()) return false;
  config_version_ = reply.config.version;
  set_nodes(std::move(reply.config.nodes));
  return true;
}

void KiokuClient::before_operation() {
  const TimePoint t = now();
  if (endpoint_ && t >= next_poll_) {
    std::string error;
    refresh(&error);  // a failed poll keeps the current list; the next interval tries again
  }
  rebuild_ring_if_needed(t);
}

void KiokuClient::rebuild_ring_if_needed(TimePoint t) {
  std::vector<bool> live = failures_.live_set(t);
  if (live == ring_live_) return;
  ring_live_ = std::move(live);
  ring_ = std::make_unique<Ring>(options_.distribution, options_.hash, ring_nodes_, ring_live_);
}

std::optional<std::size_t> KiokuClient::route(std::string_view key) {
  auto node = ring_->node_for(key);
  if (!node) {
    last_error_ = nodes_.empty() ? "no servers" : "every server is ejected";
  } else if (!ring_live_[*node]) {
    // Modula ignores ejection (as libmemcached's does): a dead owner fails fast.
    last_error_ = "the server for this key is ejected: " + nodes_[*node].spec.label();
    node.reset();
  }
  return node;
}

void KiokuClient::node_failed(std::size_t node) {
  last_error_ = nodes_[node].connection->last_error();
  if (failures_.record_failure(node, now())) rebuild_ring_if_needed(now());
}

void KiokuClient::node_answered(std::size_t node) { failures_.record_success(node); }

Result KiokuClient::invalid_key(std::string_view key) {
  last_error_ = "invalid key \"" + std::string(key.substr(0, 64)) + "\"";
  return Result::kInvalidKey;
}

Result KiokuClient::error_result(std::string_view line) {
  last_error_ = std::string(line);
  return Result::kServerError;
}

Result KiokuClient::exchange_line(std::size_t node, std::string_view request, std::string* line) {
  NodeConnection& c = *nodes_[node].connection;
  if (!c.send(request) || !c.receive([&](std::string_view in) { return read_line(in, line); })) {
    node_failed(node);
    return Result::kIoError;
  }
  node_answered(node);
  return Result::kOk;
}

Result KiokuClient::exchange_meta(std::size_t node, std::string_view request, MetaReply* reply) {
  NodeConnection& c = *nodes_[node].connection;
  if (!c.send(request) ||
      !c.receive([&](std::string_view in) { return read_meta_reply(in, reply); })) {
    node_failed(node);
    return Result::kIoError;
  }
  node_answered(node);
  return Result::kOk;
}

Result KiokuClient::meta_result(const MetaReply& reply) {
  switch (reply.code) {
    case MetaCode::kNotStored:
      return Result::kNotStored;
    case MetaCode::kExists:
      return Result::kExists;
    case MetaCode::kNotFound:
    case MetaCode::kEnd:
      return Result::kNotFound;
    case MetaCode::kError:
      return error_result(reply.error_line);
    case MetaCode::kValue:
    case MetaCode::kHeader:
    case MetaCode::kNoop:
      break;
  }
  return error_result("unexpected meta reply");
}

Result KiokuClient::store(StoreMode mode, std::string_view key, std::string_view value,
                          uint32_t flags, int64_t exptime, uint64_t cas) {
  if (!valid_key(key)) return invalid_key(key);
  before_operation();
  auto node = route(key);
  if (!node) return Result::kNoServer;
  std::string request;
  request.reserve(key.size() + value.size() + 64);
  if (meta()) {
    compose_meta_store(&request, mode, key, value, flags, exptime, cas);
    MetaReply reply;
    if (Result r = exchange_meta(*node, request, &reply); r != Result::kOk) return r;
    return reply.code == MetaCode::kHeader ? Result::kOk : meta_result(reply);
  }
  request += store_mode_command(mode);
  request += ' ';
  request += key;
  request += ' ' + std::to_string(flags) + ' ' + std::to_string(exptime) + ' ' +
             std::to_string(value.size());
  if (mode == StoreMode::kCas) request += ' ' + std::to_string(cas);
  request += "\r\n";
  request += value;
  request += "\r\n";
  std::string line;
  if (Result r = exchange_line(*node, request, &line); r != Result::kOk) return r;
  if (line == "STORED") return Result::kOk;
  if (line == "NOT_STORED") return Result::kNotStored;
  if (line == "EXISTS") return Result::kExists;
  if (line == "NOT_FOUND") return Result::kNotFound;
  return error_result(line);
}

Result KiokuClient::retrieve(std::string_view command, std::string_view key, Item* item) {
  std::vector<Item> items;
  std::vector<std::string> keys{std::string(key)};
  Result r = get_multi(keys, &items, command == "gets");
  if (r != Result::kOk) return r;
  for (Item& i : items) {
    if (i.key == key) {
      *item = std::move(i);
      return Result::kOk;
    }
  }
  return Result::kNotFound;
}

Result KiokuClient::get_multi(const std::vector<std::string>& keys, std::vector<Item>* items,
                              bool with_cas) {
  for (const std::string& key : keys) {
    if (!valid_key(key)) return invalid_key(key);
  }
  before_operation();
  std::vector<std::string> requests(nodes_.size());
  Result result = Result::kOk;
  for (const std::string& key : keys) {
    auto node = route(key);
    if (!node) {
      result = Result::kNoServer;
      continue;
    }
    std::string& r = requests[*node];
    if (meta()) {
      compose_meta_get(&r, key, with_cas, /*quiet=*/true);
      continue;
    }
    if (r.empty()) r = with_cas ? "gets" : "get";
    r += ' ';
    r += key;
  }
  if (meta()) return get_multi_meta(requests, items, result);
  // Every request goes out before any reply is read: the nodes work in parallel.
  std::vector<bool> sent(nodes_.size(), false);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (requests[n].empty()) continue;
    requests[n] += "\r\n";
    if (nodes_[n].connection->send(requests[n])) {
      sent[n] = true;
    } else {
      node_failed(n);
      result = Result::kIoError;
    }
  }
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (!sent[n]) continue;
    std::string error_line;
    if (!nodes_[n].connection->receive(
            [&](std::string_view in) { return read_retrieval(in, items, &error_line); })) {
      node_failed(n);
      result = Result::kIoError;
      continue;
    }
    node_answered(n);
    if (!error_line.empty() && result == Result::kOk) result = error_result(error_line);
  }
  return result;
}

Result KiokuClient::get_multi_meta(std::vector<std::string>& requests, std::vector<Item>* items,
                                   Result result) {
  // Every pipeline (quiet mg per key, then mn) goes out before any reply is read.
  std::vector<bool> sent(nodes_.size(), false);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (requests[n].empty()) continue;
    compose_meta_noop(&requests[n]);
    if (nodes_[n].connection->send(requests[n])) {
      sent[n] = true;
    } else {
      node_failed(n);
      result = Result::kIoError;
    }
  }
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (!sent[n]) continue;
    // One reply at a time up to MN: hits come back as VA, misses are silent, errors are not.
    bool failed = false;
    std::string error_line;
    for (MetaReply reply; !failed;) {
      if (!nodes_[n].connection->receive(
              [&](std::string_view in) { return read_meta_reply(in, &reply); })) {
        failed = true;
        break;
      }
      if (reply.code == MetaCode::kNoop) break;
      if (reply.code == MetaCode::kValue && reply.has_key) {
        items->push_back(std::move(reply.item));
      } else if (reply.code == MetaCode::kError) {
        if (error_line.empty()) error_line = reply.error_line;
      } else if (reply.code != MetaCode::kEnd) {
        // Nothing else answers a quiet mg: the stream is out of step, so drop the connection.
        nodes_[n].connection->close();
        error_line = "unexpected meta reply in a multi-get";
        break;
      }
    }
    if (failed) {
      node_failed(n);
      result = Result::kIoError;
      continue;
    }
    node_answered(n);
    if (!error_line.empty() && result == Result::kOk) result = error_result(error_line);
  }
  return result;
}

Result KiokuClient::arithmetic(std::string_view command, std::string_view key, uint64_t delta,
                               uint64_t* value) {
  if (!valid_key(key)) return invalid_key(key);
  before_operation();
  auto node = route(key);
  if (!node) return Result::kNoServer;
  if (meta()) {
    std::string request;
    compose_meta_arithmetic(&request, key, command == "incr", delta);
    MetaReply reply;
    if (Result r = exchange_meta(*node, request, &reply); r != Result::kOk) return r;
    if (reply.code != MetaCode::kValue) return meta_result(reply);
    if (parse_u64(reply.item.value, value)) return Result::kOk;
    return error_result("ma: not a number: " + reply.item.value);
  }
  std::string request(command);
  request += ' ';
  request += key;
  request += ' ' + std::to_string(delta) + "\r\n";
  std::string line;
  if (Result r = exchange_line(*node, request, &line); r != Result::kOk) return r;
  if (line == "NOT_FOUND") return Result::kNotFound;
  if (parse_u64(line, value)) return Result::kOk;
  return error_result(line);
}

Result KiokuClient::incr(std::string_view key, uint64_t delta, uint64_t* value) {
  return arithmetic("incr", key, delta, value);
}

Result KiokuClient::decr(std::string_view key, uint64_t delta, uint64_t* value) {
  return arithmetic("decr", key, delta, value);
}

Result KiokuClient::simple(std::string_view key, const std::string& request,
                           std::string_view success) {
  if (!valid_key(key)) return invalid_key(key);
  before_operation();
  auto node = route(key);
  if (!node) return Result::kNoServer;
  std::string line;
  if (Result r = exchange_line(*node, request, &line); r != Result::kOk) return r;
  if (line == success) return Result::kOk;
  if (line == "NOT_FOUND") return Result::kNotFound;
  return error_result(line);
}

Result KiokuClient::simple_meta(std::string_view key, const std::string& request) {
  if (!valid_key(key)) return invalid_key(key);
  before_operation();
  auto node = route(key);
  if (!node) return Result::kNoServer;
  MetaReply reply;
  if (Result r = exchange_meta(*node, request, &reply); r != Result::kOk) return r;
  return reply.code == MetaCode::kHeader ? Result::kOk : meta_result(reply);
}

Result KiokuClient::touch(std::string_view key, int64_t exptime) {
  if (meta()) {
    std::string request;
    compose_meta_touch(&request, key, exptime);
    return simple_meta(key, request);
  }
  return simple(key, "touch " + std::string(key) + " " + std::to_string(exptime) + "\r\n",
                "TOUCHED");
}

Result KiokuClient::remove(std::string_view key) {
  if (meta()) {
    std::string request;
    compose_meta_delete(&request, key);
    return simple_meta(key, request);
  }
  return simple(key, "delete " + std::string(key) + "\r\n", "DELETED");
}

std::vector<NodeReply> KiokuClient::flush_all(int64_t delay) {
  before_operation();
  std::vector<NodeReply> replies;
  const std::string request =
      delay == 0 ? std::string("flush_all\r\n") : "flush_all " + std::to_string(delay) + "\r\n";
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    NodeReply reply;
    reply.node = nodes_[n].spec;
    std::string line;
    reply.result = exchange_line(n, request, &line);
    if (reply.result == Result::kIoError) {
      reply.text = last_error_;
    } else if (line != "OK") {
      reply.result = Result::kServerError;
      reply.text = line;
    }
    replies.push_back(std::move(reply));
  }
  return replies;
}

std::vector<NodeReply> KiokuClient::version() {
  before_operation();
  std::vector<NodeReply> replies;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    NodeReply reply;
    reply.node = nodes_[n].spec;
    std::string line;
    reply.result = exchange_line(n, "version\r\n", &line);
    if (reply.result == Result::kIoError) {
      reply.text = last_error_;
    } else if (line.starts_with("VERSION ")) {
      reply.text = line.substr(8);
    } else {
      reply.result = Result::kServerError;
      reply.text = line;
    }
    replies.push_back(std::move(reply));
  }
  return replies;
}

std::vector<NodeReply> KiokuClient::stats(std::string_view arguments) {
  before_operation();
  std::vector<NodeReply> replies;
  std::string request = "stats";
  if (!arguments.empty()) {
    request += ' ';
    request += arguments;
  }
  request += "\r\n";
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    NodeReply reply;
    reply.node = nodes_[n].spec;
    NodeConnection& c = *nodes_[n].connection;
    std::string error_line;
    if (!c.send(request) || !c.receive([&](std::string_view in) {
          return read_stats(in, &reply.stats, &error_line);
        })) {
      node_failed(n);
      reply.result = Result::kIoError;
      reply.text = last_error_;
    } else {
      node_answered(n);
      if (!error_line.empty()) {
        reply.result = Result::kServerError;
        reply.text = error_line;
      }
    }
    replies.push_back(std::move(reply));
  }
  return replies;
}

std::optional<std::size_t> KiokuClient::node_for(std::string_view key) {
  before_operation();
  return route(key);
}

std::vector<NodeStatus> KiokuClient::nodes() {
  before_operation();
  std::vector<NodeStatus> out;
  const TimePoint t = now();
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    out.push_back({nodes_[n].spec, failures_.is_live(n, t) ? NodeState::kLive : NodeState::kEjected,
                   failures_.consecutive_failures(n)});
  }
  return out;
}

}  // namespace kioku::client
