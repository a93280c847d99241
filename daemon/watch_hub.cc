// daemon/watch_hub.cc — see watch_hub.h. Line formats follow what memcached 1.6.18 prints for
// `watch` (probed): "ts=<sec>.<usec> gid=<n> type=... key=value ...\n". memcached prints the
// microseconds without zero padding (ts=1795622229.33604 is .033604), and so does Kioku, so
// tools parsing one parse the other.
#include "daemon/watch_hub.h"

#include "daemon/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

namespace kioku::daemon {

WatchHub::WatchHub() { wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

WatchHub::~WatchHub() {
  stopping_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  for (Watcher& w : watchers_) ::close(w.fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool WatchHub::parse_flags(std::string_view arguments, uint32_t* flags) {
  uint32_t result = 0;
  while (!arguments.empty()) {
    std::size_t start = arguments.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    arguments.remove_prefix(start);
    std::string_view word = arguments.substr(0, arguments.find(' '));
    arguments.remove_prefix(word.size());
    if (word == "fetchers") {
      result |= kWatchFetchers;
    } else if (word == "mutations") {
      result |= kWatchMutations;
    } else if (word == "evictions") {
      result |= kWatchEvictions;
    } else if (word == "connevents") {
      result |= kWatchConnEvents;
    } else {
      return false;
    }
  }
  *flags = result == 0 ? kWatchFetchers : result;
  return true;
}

bool WatchHub::add_watcher_of(int client_fd, uint32_t flags, std::unique_ptr<Transport> transport,
                              std::string_view earlier) {
  int fd = fcntl(client_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return false;
  if (transport && !transport->rebind(fd)) {
    ::close(fd);
    return false;
  }
  std::call_once(started_, [this] {
    thread_ = std::thread([this] { run(); });
    pthread_setname_np(thread_.native_handle(), "kiokud-watch");
  });
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  {
    std::lock_guard lock(mutex_);
    Watcher w;
    w.fd = fd;
    w.transport = std::move(transport);
    w.flags = flags;
    w.pending.assign(earlier);
    w.pending.append("OK\r\n");
    watchers_.push_back(std::move(w));
    recompute_mask_locked();
  }
  wake();
  return true;
}

void WatchHub::recompute_mask_locked() {
  uint32_t mask = 0;
  for (const Watcher& w : watchers_) mask |= w.flags;
  mask_.store(mask, std::memory_order_relaxed);
}

void WatchHub::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void WatchHub::emit(WatchFlag kind, std::string_view body) {
  timeval now{};
  gettimeofday(&now, nullptr);
  char head[64];
  int n = std::snprintf(head, sizeof head, "ts=%lld.%ld gid=%" PRIu64 " ",
                        static_cast<long long>(now.tv_sec), static_cast<long>(now.tv_usec),
                        next_gid_.fetch_add(1, std::memory_order_relaxed));
  std::string_view prefix(head, static_cast<std::size_t>(n));
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    for (Watcher& w : watchers_) {
      if ((w.flags & kind) == 0) continue;
      if (w.pending.size() + prefix.size() + body.size() + 1 > kMaxPending) {
        ++w.skipped;
        continue;
      }
      if (w.skipped != 0) {
        // Tell the watcher how much it missed, once it has room again.
        char skipped[64];
        int k = std::snprintf(skipped, sizeof skipped, "skipped=%" PRIu64 "\n", w.skipped);
        w.pending.append(skipped, static_cast<std::size_t>(k));
        w.skipped = 0;
      }
      w.pending.append(prefix).append(body).push_back('\n');
      queued = true;
    }
  }
  if (queued) wake();
}

void WatchHub::item_get(std::string_view key, const char* status, unsigned clsid, int cfd,
                        uint64_t size) {
  char line[400];
  int n = std::snprintf(line, sizeof line,
                        "type=item_get key=%.*s status=%s clsid=%u cfd=%d size=%" PRIu64,
                        static_cast<int>(key.size()), key.data(), status, clsid, cfd, size);
  emit(kWatchFetchers, std::string_view(line, static_cast<std::size_t>(n)));
}

void WatchHub::item_store(std::string_view key, const char* status, const char* command,
                          int64_t ttl, unsigned clsid, int cfd, uint64_t size) {
  char line[400];
  int n = std::snprintf(
      line, sizeof line,
      "type=item_store key=%.*s status=%s cmd=%s ttl=%" PRId64 " clsid=%u cfd=%d size=%" PRIu64,
      static_cast<int>(key.size()), key.data(), status, command, ttl, clsid, cfd, size);
  emit(kWatchMutations, std::string_view(line, static_cast<std::size_t>(n)));
}

void WatchHub::eviction(std::string_view key, bool fetched, int64_t ttl, int64_t last_access,
                        unsigned clsid, uint64_t size) {
  char line[400];
  int n = std::snprintf(line, sizeof line,
                        "type=eviction key=%.*s fetch=%s ttl=%" PRId64 " la=%" PRId64
                        " clsid=%u size=%" PRIu64,
                        static_cast<int>(key.size()), key.data(), fetched ? "yes" : "no", ttl,
                        last_access, clsid, size);
  emit(kWatchEvictions, std::string_view(line, static_cast<std::size_t>(n)));
}

void WatchHub::conn_event(const char* type, std::string_view peer, const char* reason, int cfd) {
  std::string_view transport = "tcp";
  std::string_view host;
  std::string_view port = "0";
  if (peer.starts_with("unix:")) {
    transport = "local";
  } else {
    std::string_view rest = peer.substr(peer.find(':') + 1);  // after "tcp:" / "tcp6:"
    std::size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  char line[256];
  int n =
      reason[0] == '\0'
          ? std::snprintf(line, sizeof line, "type=%s rip=%.*s rport=%.*s transport=%.*s cfd=%d",
                          type, static_cast<int>(host.size()), host.data(),
                          static_cast<int>(port.size()), port.data(),
                          static_cast<int>(transport.size()), transport.data(), cfd)
          : std::snprintf(
                line, sizeof line, "type=%s rip=%.*s rport=%.*s transport=%.*s reason=%s cfd=%d",
                type, static_cast<int>(host.size()), host.data(), static_cast<int>(port.size()),
                port.data(), static_cast<int>(transport.size()), transport.data(), reason, cfd);
  emit(kWatchConnEvents, std::string_view(line, static_cast<std::size_t>(n)));
}

void WatchHub::run() {
  std::vector<pollfd> fds;
  std::vector<int> owners;
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    {
      std::lock_guard lock(mutex_);
      for (const Watcher& w : watchers_) {
        // POLLIN: a watcher that sends anything is ignored, as memcached does; EOF ends it.
        fds.push_back({w.fd, static_cast<short>(POLLIN | (w.pending.empty() ? 0 : POLLOUT)), 0});
      }
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) {
      uint64_t drained = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &drained, sizeof drained);
    }
    std::lock_guard lock(mutex_);
    bool removed = false;
    for (std::size_t i = 1; i < fds.size(); ++i) {
      // Watchers are only removed here, so index i - 1 still names the same watcher.
      Watcher& w = watchers_[i - 1];
      bool dead = (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
      if (!dead && (fds[i].revents & POLLIN) != 0) {
        char sink[512];
        ssize_t n = w.transport ? w.transport->read(sink, sizeof sink)
                                : ::recv(w.fd, sink, sizeof sink, MSG_DONTWAIT);
        dead = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
      }
      if (!dead && !w.pending.empty()) {
        iovec piece{w.pending.data(), w.pending.size()};
        ssize_t n = w.transport
                        ? w.transport->writev(&piece, 1)
                        : ::send(w.fd, w.pending.data(), w.pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
          w.pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          dead = true;
        }
      }
      if (dead) {
        ::close(w.fd);
        w.fd = -1;
        removed = true;
      }
    }
    if (removed) {
      std::erase_if(watchers_, [](const Watcher& w) { return w.fd < 0; });
      recompute_mask_locked();
    }
  }
}

}  // namespace kioku::daemon
