// client/server_list.h — naming the nodes of a cluster: "host:port[:weight]" lists and the
// managed-memcached auto-discovery reply.
//
// Owns: parsing a user's server list ("a:11211,b:11212:2" or space separated) and parsing
// and composing the `config get cluster` payload:
//   CONFIG cluster 0 <len>\r\n<version>\n<host>|<ip>|<port> <host>|<ip>|<port>...\n\r\nEND\r\n
// Must not: resolve names or do I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/ketama.h"

namespace kioku::client {

struct ServerSpec {
  std::string host;  // the name the ring hashes
  std::string ip;    // where to connect when set (auto-discovery gives both); else `host`
  uint16_t port = kDefaultPort;
  uint32_t weight = 1;

  const std::string& connect_host() const { return ip.empty() ? host : ip; }
  // "host:port" (the port always shown): how nodes are named in output.
  std::string label() const;
  friend bool operator==(const ServerSpec&, const ServerSpec&) = default;
};

// One "host[:port[:weight]]"; "[v6addr]:port" brackets an IPv6 address. nullopt if malformed.
std::optional<ServerSpec> parse_server(std::string_view text);
// A list separated by commas and/or spaces. Empty or any malformed entry: nullopt, and
// `error` (when given) names the entry.
std::optional<std::vector<ServerSpec>> parse_server_list(std::string_view text,
                                                         std::string* error = nullptr);

struct ClusterConfig {
  uint64_t version = 0;
  std::vector<ServerSpec> nodes;
  friend bool operator==(const ClusterConfig&, const ClusterConfig&) = default;
};

// The payload between "CONFIG cluster 0 <len>\r\n" and "\r\nEND\r\n": "<version>\n<nodes>\n".
// Nodes are "host|ip|port" separated by spaces; an empty ip is allowed.
std::optional<ClusterConfig> parse_cluster_payload(std::string_view payload);
std::string compose_cluster_payload(const ClusterConfig& config);

enum class ConfigReplyStatus : uint8_t { kNeedMore, kConfig, kError };
struct ConfigReply {
  ConfigReplyStatus status = ConfigReplyStatus::kNeedMore;
  std::size_t consumed = 0;
  ClusterConfig config;
  std::string error;  // kError: the server's line or what was malformed
};

// Parses a reply to "config get cluster" from the front of `in`; split at any byte it answers
// kNeedMore until whole. "END" alone, "ERROR" and friends are kError.
ConfigReply parse_config_reply(std::string_view in);

}  // namespace kioku::client
