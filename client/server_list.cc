// client/server_list.cc — see server_list.h.
#include "client/server_list.h"
#include "client/words.h"

#include <charconv>

namespace kioku::client {

namespace {

bool parse_port(std::string_view text, uint16_t* port) {
  return parse_number(text, port) && *port != 0;
}

constexpr std::string_view kConfigPrefix = "CONFIG cluster ";
constexpr std::string_view kEnd = "END\r\n";

}  // namespace

std::string ServerSpec::label() const { return host + ":" + std::to_string(port); }

std::optional<ServerSpec> parse_server(std::string_view text) {
  ServerSpec spec;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    spec.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
    if (!rest.empty()) rest.remove_prefix(1);
  } else {
    const auto colon = text.find(':');
    spec.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    if (colon != std::string_view::npos && rest.empty()) return std::nullopt;
  }
  if (spec.host.empty()) return std::nullopt;
  if (!rest.empty()) {
    const auto colon = rest.find(':');
    if (!parse_port(rest.substr(0, colon), &spec.port)) return std::nullopt;
    if (colon != std::string_view::npos &&
        (!parse_number(rest.substr(colon + 1), &spec.weight) || spec.weight == 0)) {
      return std::nullopt;
    }
  }
  return spec;
}

std::optional<std::vector<ServerSpec>> parse_server_list(std::string_view text,
                                                         std::string* error) {
  std::vector<ServerSpec> out;
  while (!text.empty()) {
    const auto start = text.find_first_not_of(", ");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const auto end = std::min(text.find_first_of(", "), text.size());
    const std::string_view one = text.substr(0, end);
    auto spec = parse_server(one);
    if (!spec) {
      if (error) *error = "invalid server \"" + std::string(one) + "\"";
      return std::nullopt;
    }
    out.push_back(std::move(*spec));
    text.remove_prefix(end);
  }
  if (out.empty()) {
    if (error) *error = "empty server list";
    return std::nullopt;
  }
  return out;
}

std::optional<ClusterConfig> parse_cluster_payload(std::string_view payload) {
  ClusterConfig config;
  const auto nl = payload.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view version = payload.substr(0, nl);
  if (version.ends_with('\r')) version.remove_suffix(1);
  if (!parse_number(version, &config.version)) return std::nullopt;
  std::string_view nodes = payload.substr(nl + 1);
  while (!nodes.empty()) {
    const auto start = nodes.find_first_not_of(" \r\n");
    if (start == std::string_view::npos) break;
    nodes.remove_prefix(start);
    const auto end = std::min(nodes.find_first_of(" \r\n"), nodes.size());
    const std::string_view node = nodes.substr(0, end);
    nodes.remove_prefix(end);
    const auto bar1 = node.find('|');
    const auto bar2 = bar1 == std::string_view::npos ? bar1 : node.find('|', bar1 + 1);
    if (bar2 == std::string_view::npos) return std::nullopt;
    ServerSpec spec;
    spec.host = std::string(node.substr(0, bar1));
    spec.ip = std::string(node.substr(bar1 + 1, bar2 - bar1 - 1));
    if (spec.host.empty() && spec.ip.empty()) return std::nullopt;
    if (spec.host.empty()) spec.host = spec.ip;
    if (!parse_port(node.substr(bar2 + 1), &spec.port)) return std::nullopt;
    config.nodes.push_back(std::move(spec));
  }
  return config;
}

std::string compose_cluster_payload(const ClusterConfig& config) {
  std::string out = std::to_string(config.version);
  out += '\n';
  for (std::size_t i = 0; i < config.nodes.size(); ++i) {
    const ServerSpec& n = config.nodes[i];
    if (i != 0) out += ' ';
    out += n.host;
    out += '|';
    out += n.ip;
    out += '|';
    out += std::to_string(n.port);
  }
  out += '\n';
  return out;
}

ConfigReply parse_config_reply(std::string_view in) {
  ConfigReply reply;
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos) {
    // Nothing a server sends here is longer than this without a newline.
    if (in.size() > 1024) {
      reply.status = ConfigReplyStatus::kError;
      reply.error = "reply line too long";
    }
    return reply;
  }
  std::string_view line = in.substr(0, nl);
  if (line.ends_with('\r')) line.remove_suffix(1);
  auto fail = [&](std::string message) {
    reply.status = ConfigReplyStatus::kError;
    reply.consumed = nl + 1;
    reply.error = std::move(message);
    return reply;
  };
  if (!line.starts_with(kConfigPrefix)) {
    return fail(line == "END" ? std::string("no cluster configuration") : std::string(line));
  }
  // "CONFIG cluster <flags> <bytes>"
  std::string_view words = line.substr(kConfigPrefix.size());
  const auto space = words.find(' ');
  uint32_t flags = 0;
  std::size_t length = 0;
  if (space == std::string_view::npos || !parse_number(words.substr(0, space), &flags) ||
      !parse_number(words.substr(space + 1), &length)) {
    return fail("malformed CONFIG line: " + std::string(line));
  }
  const std::size_t data_start = nl + 1;
  const std::size_t total = data_start + length + 2 + kEnd.size();
  if (in.size() < total) return reply;
  if (in.substr(data_start + length, 2) != "\r\n" ||
      in.substr(data_start + length + 2, kEnd.size()) != kEnd) {
    return fail("malformed CONFIG data block");
  }
  auto config = parse_cluster_payload(in.substr(data_start, length));
  if (!config) return fail("malformed cluster node list");
  reply.status = ConfigReplyStatus::kConfig;
  reply.consumed = total;
  reply.config = std::move(*config);
  return reply;
}

}  // namespace kioku::client
