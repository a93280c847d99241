// daemon/worker.cc — see worker.h.
#include "daemon/worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "daemon/connection.h"
#include "daemon/log.h"
#include "daemon/server.h"

namespace kioku::daemon {

Worker::Worker(Server& server, unsigned id)
    : server_(server),
      id_(id),
      executor_(server.settings(), server.cache(), stats_, server),
      meta_executor_(server.settings(), server.cache(), stats_) {
  // Only this worker's thread touches its base once start() runs (other threads reach it through
  // the eventfd), so the base needs no lock: evthread_use_pthreads() would otherwise make every
  // event_add/del and dispatch take a mutex on the request path.
  event_config* config = event_config_new();
  event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
  base_.reset(event_base_new_with_config(config));
  event_config_free(config);
  notify_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  notify_event_.reset(
      event_new(base_.get(), notify_fd_, EV_READ | EV_PERSIST, &Worker::on_notify, this));
  event_add(notify_event_.get(), nullptr);
  if (server.settings().idle_timeout > 0) {
    idle_event_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::on_idle_check, this));
    timeval second{1, 0};
    event_add(idle_event_.get(), &second);
  }
}

void Worker::on_idle_check(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->close_idle_connections();
}

void Worker::close_idle_connections() {
  const int64_t now = std::time(nullptr);
  const int64_t limit = server_.settings().idle_timeout;
  std::vector<Connection*> idle;
  {
    std::lock_guard lock(connections_mutex_);
    for (auto& owned : connections_) {
      if (owned->idle_for(now) > limit) idle.push_back(owned.get());
    }
  }
  for (Connection* c : idle) destroy(c);
}

Worker::~Worker() {
  join();
  idle_event_.reset();
  {
    std::lock_guard lock(connections_mutex_);
    connections_.clear();
  }
  for (auto& [fd, peer] : pending_) {
    ::close(fd);
    server_.connection_closed();
  }
  notify_event_.reset();
  if (notify_fd_ >= 0) ::close(notify_fd_);
}

void Worker::start() {
  thread_ = std::thread([this] { event_base_loop(base_.get(), 0); });
  pthread_setname_np(thread_.native_handle(), "kiokud-worker");  // as top -H and perf show it
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::dispatch(int fd, std::string peer) {
  {
    std::lock_guard lock(pending_mutex_);
    pending_.emplace_back(fd, std::move(peer));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(notify_fd_, &one, sizeof one);
}

void Worker::request_stop() {
  stop_requested_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(notify_fd_, &one, sizeof one);
}

void Worker::on_notify(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
  self->accept_pending();
  if (self->stop_requested_.load() && !self->stopping_) self->begin_stop();
}

void Worker::accept_pending() {
  std::vector<std::pair<int, std::string>> batch;
  {
    std::lock_guard lock(pending_mutex_);
    batch.swap(pending_);
  }
  for (auto& [fd, peer] : batch) {
    auto connection = std::make_unique<Connection>(*this, fd, std::move(peer));
    if (stopping_ || !connection->start()) continue;  // destructor closes the socket
    if (server_.verbosity() > 1) {
      log_line(LogLevel::kDebug, "<%d new client connection", fd);
    }
    if ((server_.watch_hub()->mask() & kWatchConnEvents) != 0) {
      server_.watch_hub()->conn_event("conn_new", connection->peer(), "", fd);
    }
    Connection* raw = connection.get();
    std::lock_guard lock(connections_mutex_);
    raw->set_registry_slot(static_cast<uint32_t>(connections_.size()));
    connections_.push_back(std::move(connection));
  }
}

void Worker::begin_stop() {
  stopping_ = true;
  notify_event_.reset();
  idle_event_.reset();
  std::vector<Connection*> live;
  {
    std::lock_guard lock(connections_mutex_);
    for (auto& owned : connections_) live.push_back(owned.get());
  }
  for (Connection* c : live) c->drain();
  // Clients that never read their replies cannot hold the process forever.
  timeval grace{5, 0};
  event_base_loopexit(base_.get(), connections_.empty() ? nullptr : &grace);
}

void Worker::destroy(Connection* connection) {
  std::unique_ptr<Connection> owned;
  {
    std::lock_guard lock(connections_mutex_);
    const uint32_t slot = connection->registry_slot();
    if (slot >= connections_.size() || connections_[slot].get() != connection) return;
    owned = std::move(connections_[slot]);
    if (slot + 1 != connections_.size()) {
      connections_[slot] = std::move(connections_.back());
      connections_[slot]->set_registry_slot(slot);
    }
    connections_.pop_back();
  }
  if (server_.verbosity() > 1) {
    log_line(LogLevel::kDebug, "<%d connection closed.", owned->fd());
  }
  if ((server_.watch_hub()->mask() & kWatchConnEvents) != 0) {
    server_.watch_hub()->conn_event("conn_close", owned->peer(), "normal", owned->fd());
  }
  owned.reset();
  if (stopping_ && connections_.empty()) event_base_loopexit(base_.get(), nullptr);
}

void Worker::write_conns_stats(OutputQueue& out) {
  std::lock_guard lock(connections_mutex_);
  const int64_t now = std::time(nullptr);
  char name[64];
  for (auto& entry : connections_) {
    const Connection* raw = entry.get();
    auto row = [&](const char* field, std::string_view value) {
      int n = std::snprintf(name, sizeof name, "%d:%s", raw->fd(), field);
      append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), value);
    };
    row("addr", raw->peer());
    row("state", raw->state_name());
    int n = std::snprintf(name, sizeof name, "%d:secs_since_last_cmd", raw->fd());
    append_stat(out, std::string_view(name, static_cast<std::size_t>(n)),
                static_cast<uint64_t>(now - raw->last_command_time()));
  }
}

}  // namespace kioku::daemon
