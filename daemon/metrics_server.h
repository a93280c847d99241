// daemon/metrics_server.h — the --metrics-listen HTTP endpoint (GET /metrics) on its own thread.
//
// Owns: one listening TCP socket, one thread that serves scrapes one at a time (a scrape is
// rare and short; a client that stalls is cut off after a timeout), and its stop signal. Must
// not: touch the workers' event loops; rendering reads counters with relaxed loads only.
#pragma once

#include <string>
#include <thread>

namespace kioku::daemon {

class Server;

class MetricsServer {
 public:
  explicit MetricsServer(Server& server) : server_(server) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds "HOST:PORT" ("[::1]:9150", ":9150" for every interface). Prints why on failure.
  bool listen(const std::string& address);
  void start();
  void stop();

 private:
  void serve();
  void answer(int fd);

  Server& server_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: wakes serve() to return
  std::thread thread_;
};

}  // namespace kioku::daemon
