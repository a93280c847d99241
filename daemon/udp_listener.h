// daemon/udp_listener.h — memcached's UDP text protocol (-U PORT).
//
// Owns: the UDP sockets (one per address of -l) and, per worker, the event that reads them
// plus that worker's Executor and reply buffers. Every worker polls every UDP socket; whoever
// reads a datagram answers it, on its own thread with its own counters, so no lock is taken.
// Must not: parse bytes itself (protocol/ does) or outlive the workers' event bases (Server
// destroys it before the workers).
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/executor.h"
#include "daemon/meta_executor.h"
#include "daemon/output_queue.h"
#include "daemon/worker.h"
#include "protocol/udp_frame.h"

namespace kioku::daemon {

class Server;

class UdpListener {
 public:
  explicit UdpListener(Server& server) : server_(server) {}
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Binds -U's port on each -l address (all addresses without -l). False after printing why.
  bool bind(const std::vector<std::string>& listen_specs, uint16_t port);
  // Before the worker starts: it polls every UDP socket from now on.
  void attach(Worker& worker);
  // "udp:127.0.0.1:11211" per socket, for -v.
  const std::vector<std::string>& names() const { return names_; }

 private:
  // One worker's share: its event per socket, its executors and its reusable buffers.
  struct WorkerSide {
    WorkerSide(Server& server, Worker& worker);
    Worker& worker;
    Executor executor;
    MetaExecutor meta_executor;
    OutputQueue output;
    std::vector<EventPtr> events;
    std::vector<char> datagram = std::vector<char>(65536);  // largest UDP payload
    std::string reply;  // the framed reply's bytes, capacity kept between datagrams
  };
  struct Callback {
    WorkerSide* side;
    int fd;
  };

  bool bind_host(const std::string& host, uint16_t port);
  static void on_read(evutil_socket_t fd, short what, void* arg);
  static void serve_datagram(WorkerSide& side, int fd, std::string_view datagram,
                             const sockaddr_storage& peer, socklen_t peer_length);
  // A multi-key get, one key at a time as memcached frames it; false for a single key.
  static bool serve_keys_apart(WorkerSide& side, int fd, const protocol::TextRequest& request,
                               const protocol::UdpFrameHeader& header, const sockaddr_storage& peer,
                               socklen_t peer_length);
  // Frames and sends what the output queue holds (nothing for an empty one: noreply);
  // drop_end removes a trailing "END\r\n" first.
  static void send_reply(WorkerSide& side, int fd, uint16_t request_id,
                         const sockaddr_storage& peer, socklen_t peer_length,
                         bool drop_end = false);

  Server& server_;
  std::vector<int> fds_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<WorkerSide>> sides_;
  std::vector<std::unique_ptr<Callback>> callbacks_;
};

}  // namespace kioku::daemon
