// daemon/cluster_config.cc — see cluster_config.h.
#include "daemon/cluster_config.h"

#include <arpa/inet.h>

#include <charconv>

namespace kioku::daemon {

namespace {

bool parse_u64(std::string_view text, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

bool valid_port(std::string_view text) {
  uint64_t port = 0;
  return parse_u64(text, &port) && port > 0 && port <= 65535;
}

// One node word, normalised to "host|ip|port".
bool normalise(std::string_view entry, std::string* out) {
  if (entry.find('|') != std::string_view::npos) {
    const auto bar1 = entry.find('|');
    const auto bar2 = entry.find('|', bar1 + 1);
    if (bar2 == std::string_view::npos || entry.find('|', bar2 + 1) != std::string_view::npos) {
      return false;
    }
    if (bar1 == 0 && bar2 == 1) return false;  // neither a host nor an ip
    if (!valid_port(entry.substr(bar2 + 1))) return false;
    out->assign(entry);
    return true;
  }
  const auto colon = entry.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || !valid_port(entry.substr(colon + 1))) {
    return false;
  }
  const std::string host(entry.substr(0, colon));
  in_addr ignored{};
  const bool is_ipv4 = inet_pton(AF_INET, host.c_str(), &ignored) == 1;
  *out = host + "|" + (is_ipv4 ? host : std::string()) + "|" + std::string(entry.substr(colon + 1));
  return true;
}

// Words separated by any of `separators`, normalised and joined by single spaces.
bool normalise_list(std::string_view text, std::string_view separators, std::string* nodes,
                    std::string* error) {
  nodes->clear();
  while (!text.empty()) {
    const auto start = text.find_first_not_of(separators);
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const auto end = std::min(text.find_first_of(separators), text.size());
    std::string node;
    if (!normalise(text.substr(0, end), &node)) {
      if (error) *error = "invalid cluster node \"" + std::string(text.substr(0, end)) + "\"";
      return false;
    }
    if (!nodes->empty()) *nodes += ' ';
    *nodes += node;
    text.remove_prefix(end);
  }
  return true;
}

}  // namespace

bool parse_cluster_nodes(std::string_view text, std::string* nodes, std::string* error) {
  return normalise_list(text, ", ", nodes, error);
}

ClusterConfig::ClusterConfig(std::string nodes)
    : configured_(!nodes.empty()), nodes_(std::move(nodes)) {}

std::string ClusterConfig::get_reply() const {
  uint64_t version = 0;
  std::string nodes;
  {
    std::lock_guard lock(mutex_);
    if (!configured_) return "END\r\n";
    version = version_;
    nodes = nodes_;
  }
  const std::string payload = std::to_string(version) + "\n" + nodes + "\n";
  return "CONFIG cluster 0 " + std::to_string(payload.size()) + "\r\n" + payload + "\r\nEND\r\n";
}

bool ClusterConfig::set(std::string_view payload) {
  const auto nl = payload.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view version_text = payload.substr(0, nl);
  if (version_text.ends_with('\r')) version_text.remove_suffix(1);
  uint64_t version = 0;
  std::string nodes;
  if (!parse_u64(version_text, &version) ||
      !normalise_list(payload.substr(nl + 1), " \r\n", &nodes, nullptr)) {
    return false;
  }
  std::lock_guard lock(mutex_);
  configured_ = true;
  version_ = version;
  nodes_ = std::move(nodes);
  return true;
}

}  // namespace kioku::daemon
