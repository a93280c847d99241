// daemon/cluster_config.h — the node list kiokud hands to auto-discovery clients.
//
// Owns: the cluster configuration a managed-memcached configuration endpoint serves: a version
// number and the nodes as "host|ip|port" words, set at start from --cluster-nodes and replaced
// by `config set cluster`, and the bytes of the `config get cluster` reply:
//   CONFIG cluster 0 <len>\r\n<version>\n<host>|<ip>|<port> ...\n\r\nEND\r\n
// Must not: know about connections; it is shared by every worker, so its state sits behind a
// mutex that is held only to copy or replace two small values (never across I/O).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace kioku::daemon {

// Normalises a --cluster-nodes list: entries separated by commas or spaces, each
// "host:port" (given as host|ip|port, with ip = host when host is an IPv4 address) or
// "host|ip|port" as is. False with a message when an entry is malformed.
bool parse_cluster_nodes(std::string_view text, std::string* nodes, std::string* error);

class ClusterConfig {
 public:
  // `nodes` as parse_cluster_nodes gives them; empty: not configured (config get answers END).
  explicit ClusterConfig(std::string nodes);

  // The whole reply to "config get cluster".
  std::string get_reply() const;
  // "config set cluster": `payload` is "<version>\n<nodes>[\n]". False if malformed.
  bool set(std::string_view payload);

 private:
  mutable std::mutex mutex_;
  bool configured_ = false;
  uint64_t version_ = 1;
  std::string nodes_;
};

}  // namespace kioku::daemon
