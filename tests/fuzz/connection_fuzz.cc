// tests/fuzz/connection_fuzz.cc — libFuzzer target for a whole kiokud connection.
//
// Owns: a Server (cache and settings, never listening) and one Worker whose event loop this
// thread runs by hand. Each input becomes one client on a socketpair: its bytes arrive in
// pieces, the real daemon/connection.cc frames them, the executor runs them against the slab
// cache, and the replies are read and dropped. The cache persists across inputs, so stores made
// by one input meet reads of the next. Must not: start threads or listen on a socket.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "daemon/server.h"
#include "daemon/settings.h"
#include "daemon/worker.h"

namespace {

using kioku::daemon::Server;
using kioku::daemon::Settings;
using kioku::daemon::Worker;

struct Harness {
  Settings settings;
  Server* server;
  Worker* worker;
  Harness() {
    settings.memory_limit = std::size_t{8} << 20;
    settings.threads = 1;
    settings.item_size_max = std::size_t{64} << 10;
    settings.slab_chunk_max = std::size_t{32} << 10;
    // Leaked on purpose: libFuzzer exits without unwinding, and a static destructor order
    // between the worker and the server is not worth getting right here.
    server = new Server(settings);
    worker = new Worker(*server, 0);
  }
};

Harness& harness() {
  static Harness h;
  return h;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads and drops whatever the server sent; false once the server closed its end.
bool drain(int fd) {
  char sink[65536];
  for (;;) {
    ssize_t n = ::read(fd, sink, sizeof sink);
    if (n > 0) continue;
    if (n == 0) return false;
    return !(errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Harness& h = harness();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
  set_nonblocking(fds[0]);
  set_nonblocking(fds[1]);
  h.worker->dispatch(fds[1], "fuzz");  // the connection owns fds[1] from here

  // The first byte picks the piece size, so inputs also explore how requests are split.
  const std::size_t piece = size > 0 ? std::size_t{data[0]} % 64 + 1 : 1;
  std::size_t sent = 0;
  bool open = true;
  int idle_turns = 0;
  while (open && idle_turns < 64) {
    if (sent < size) {
      const std::size_t want = std::min(piece * 37, size - sent);
      ssize_t n = ::write(fds[0], data + sent, want);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (sent == size) ::shutdown(fds[0], SHUT_WR);
    } else if (size == 0 && idle_turns == 0) {
      ::shutdown(fds[0], SHUT_WR);
    }
    event_base_loop(h.worker->base(), EVLOOP_NONBLOCK);
    open = drain(fds[0]);
    if (sent == size) ++idle_turns;
  }
  if (open) {
    // Still open after its input ended and was answered: a request waiting for more bytes the
    // client will never send ... which EOF must have ended. Keep running the loop until closed.
    // Wall time, not a turn count: after "watch" the socket belongs to the watch hub's own
    // thread, which notices the EOF only once it is scheduled.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (open && std::chrono::steady_clock::now() < deadline) {
      event_base_loop(h.worker->base(), EVLOOP_NONBLOCK);
      open = drain(fds[0]);
      if (open) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (open) std::abort();  // the connection outlived its peer's EOF: a leak
  }
  ::close(fds[0]);
  return 0;
}
