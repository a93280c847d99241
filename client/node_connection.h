// client/node_connection.h — one blocking TCP connection to one memcached node.
//
// Owns: the socket (opened on first use, closed on any error so the next use reconnects), the
// connect/send/receive timeouts, and the bytes received but not yet parsed. Must not: know the
// protocol beyond "a parser tells me when a reply is whole".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "client/reply_reader.h"

namespace kioku::client {

class NodeConnection {
 public:
  NodeConnection(std::string host, uint16_t port, std::chrono::milliseconds timeout);
  ~NodeConnection();
  NodeConnection(const NodeConnection&) = delete;
  NodeConnection& operator=(const NodeConnection&) = delete;

  // Sends every byte (connecting first when needed). False on failure; see last_error().
  bool send(std::string_view bytes);
  // Reads until `parse` (called on all unparsed bytes) says kDone, then drops the bytes it
  // consumed. False on a timeout, a closed connection or a malformed reply (which closes).
  bool receive(const std::function<ReadResult(std::string_view)>& parse);
  void close();
  bool connected() const { return fd_ >= 0; }
  const std::string& last_error() const { return last_error_; }

 private:
  bool connect();
  bool fail(std::string message);

  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string input_;
  std::string last_error_;
};

}  // namespace kioku::client
