// client/bench_runner.cc — see bench_runner.h.
//
// One Worker per thread owns its connections and an epoll instance; nothing is shared between
// workers but read-only configuration, the phase flag and relaxed progress counters. Latency is
// measured from each request's *scheduled* time: in closed loop that is when it was queued for
// sending, in open loop the slot the rate schedule gave it, so a slow server cannot hide its
// stalls by delaying the requests that would have measured them (coordinated omission).
#include "client/bench_runner.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "client/bench_transport.h"
#include "client/key_sampler.h"

namespace kioku::client {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint64_t kNsPerMs = 1'000'000;
constexpr std::size_t kPrefillDepth = 32;          // sets in flight per connection while prefilling
constexpr std::size_t kPrefillBytes = 256 * 1024;  // ...unless that many bytes are reached
constexpr uint64_t kReconnectDelayNs = 100 * kNsPerMs;
constexpr int kMaxEpollWaitMs = 10;  // how late a worker may notice a phase change or timeout

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

bool resolve(const std::string& host, uint16_t port, Address* address, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&address->storage, found->ai_addr, found->ai_addrlen);
  address->length = found->ai_addrlen;
  freeaddrinfo(found);
  return true;
}

// A non-blocking TCP connection with Nagle off, or an empty fd and errno-style `*err`.
UniqueFd connect_with_timeout(const Address& address, int timeout_ms, int* err) {
  UniqueFd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *err = errno;
    return {};
  }
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) !=
      0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      return {};
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
      *err = ready == 0 ? ETIMEDOUT : errno;
      return {};
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      *err = so_error;
      return {};
    }
  }
  return fd;
}

enum class Phase : int { kPrefill, kWarmup, kMeasure, kStop };

// Relaxed counters the main thread reads once a second for the progress line. Only the owning
// worker writes them, so a load and a store (not a locked add) suffice.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> lookups{0};
};

void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

struct Shared {
  Shared(const BenchOptions& o, unsigned participants)
      : options(o),
        codec(make_codec(o.protocol)),
        sampler(o.zipf ? KeySampler::zipf(o.keys, o.zipf_s) : KeySampler::uniform(o.keys)),
        barrier(participants) {}

  const BenchOptions& options;
  std::unique_ptr<Codec> codec;
  std::unique_ptr<TlsContext> tls;  // set with --tls
  KeySampler sampler;
  std::string values;  // value bytes; a set of N bytes sends the first N
  Address address;
  std::atomic<Phase> phase{Phase::kPrefill};
  std::atomic<unsigned> finished{0};
  bool abort = false;          // written before the verdict barrier, read after it
  uint64_t load_start_ns = 0;  // written before the start barrier, read after it
  std::barrier<> barrier;
};

struct InFlight {
  uint64_t scheduled_ns;  // latency counts from here
  uint64_t sent_ns;       // timeouts count from here
  uint32_t opaque;        // the request's number on its connection
  OpType op;
  bool measured;  // issued inside the measured window
};

struct Connection {
  Transport link;
  std::vector<char> in;
  std::size_t in_len = 0;
  std::vector<char> out;
  std::size_t out_start = 0;
  std::size_t out_len = 0;
  std::vector<InFlight> ring;  // requests awaiting replies, oldest at head
  std::size_t head = 0;
  std::size_t count = 0;
  uint32_t next_opaque = 0;
  uint64_t next_due_ns = 0;  // open loop: the next scheduled send
  uint64_t connected_ns = 0;  // a TLS handshake times out from here
  uint64_t down_since_ns = 0;
  uint64_t retry_at_ns = 0;
  bool alive = false;
  bool abandoned = false;
  bool want_write = false;
};

// --idle-connections: opened, (TLS handshake,) one version request and its reply, then silence.
// Its buffers are fixed arrays: a version exchange is a few dozen bytes in each direction.
struct IdleConnection {
  enum class State : uint8_t { kHandshake, kVersion, kHeld, kLost };
  Transport link;
  State state = State::kLost;
  bool want_write = false;
  uint8_t out_start = 0;
  uint8_t out_len = 0;
  uint16_t in_len = 0;
  char out[64];
  char in[512];
};

enum class Mode : uint8_t { kSetup, kPrefill, kLoad };
enum class Failure : uint8_t { kConnection, kProtocol, kTimeout };

class Worker {
 public:
  Worker(Shared& shared, unsigned index, std::vector<UniqueFd> fds, std::vector<UniqueFd> idle,
         unsigned first_connection, uint64_t request_share)
      : shared_(shared),
        o_(shared.options),
        codec_(*shared.codec),
        index_(index),
        rng_(o_.seed + index),
        request_share_(request_share),
        prefill_cursor_(index) {
    const std::size_t max_key = o_.key_prefix.size() + 20;
    const std::size_t max_request = codec_.request_overhead() + max_key + o_.value_max;
    const std::size_t max_reply = codec_.reply_overhead() + max_key + o_.value_max;
    // Prefill keeps up to kPrefillDepth sets in flight, fewer for big values so the buffers
    // stay small; without --prefill the deepest pipeline is --pipeline.
    prefill_depth_ = std::max<std::size_t>(
        o_.pipeline, std::clamp<std::size_t>(kPrefillBytes / max_request, 1, kPrefillDepth));
    const std::size_t depth = o_.prefill ? prefill_depth_ : o_.pipeline;
    // Rate mode: connection i of the whole run sends at offset i / rate, then every
    // connections / rate seconds, so the total schedule is evenly spaced.
    if (o_.rate > 0) {
      interval_ns_ = static_cast<uint64_t>(static_cast<double>(o_.connections) / o_.rate * 1e9);
      if (interval_ns_ == 0) interval_ns_ = 1;
    }
    std::memcpy(key_, o_.key_prefix.data(), o_.key_prefix.size());
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    timer_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = kTimerTag;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &ev);
    const uint64_t now = now_ns();
    connections_.resize(fds.size());
    for (std::size_t i = 0; i < fds.size(); ++i) {
      Connection& c = connections_[i];
      c.in.resize(std::max<std::size_t>(64 * 1024, 2 * max_reply));
      c.out.resize(depth * max_request);
      c.ring.resize(depth);
      if (o_.rate > 0) {
        c.next_due_ns =
            static_cast<uint64_t>(static_cast<double>(first_connection + i) / o_.rate * 1e9);
      }
      attach(c, i, std::move(fds[i]), now);
    }
    idle_ = std::vector<IdleConnection>(idle.size());
    for (std::size_t j = 0; j < idle.size(); ++j) idle_attach(j, std::move(idle[j]));
  }

  void run() {
    event_loop(Mode::kSetup);
    shared_.barrier.arrive_and_wait();  // connections set up everywhere
    shared_.barrier.arrive_and_wait();  // the main thread has checked them
    if (shared_.abort) return;
    if (o_.prefill) {
      const uint64_t start = now_ns();
      event_loop(Mode::kPrefill);
      prefill_ns_ = now_ns() - start;
    }
    shared_.barrier.arrive_and_wait();  // prefill done everywhere
    shared_.barrier.arrive_and_wait();  // load start time and phase are set
    for (Connection& c : connections_) c.next_due_ns += shared_.load_start_ns;
    event_loop(Mode::kLoad);
    finish_ns_ = now_ns();
    shared_.finished.fetch_add(1, std::memory_order_release);
  }

  // After setup: why a busy connection could not be used (empty when all are ready).
  std::string setup_error() const {
    for (const Connection& c : connections_) {
      if (!c.alive || !c.link.established()) {
        return first_error_.empty() ? "TLS handshake timed out" : first_error_;
      }
    }
    return {};
  }
  std::size_t idle_held() const {
    return static_cast<std::size_t>(std::count_if(idle_.begin(), idle_.end(), [](const auto& c) {
      return c.state == IdleConnection::State::kHeld;
    }));
  }
  const std::string& idle_error() const { return idle_error_; }

  const Tally& tally() const { return tally_; }
  const LiveCounters& live() const { return live_; }
  uint64_t prefilled() const { return prefilled_; }
  uint64_t prefill_errors() const { return prefill_errors_; }
  uint64_t prefill_ns() const { return prefill_ns_; }
  uint64_t finish_ns() const { return finish_ns_; }
  bool completed_share() const { return completed_share_; }
  bool connections_lost() const { return connections_lost_; }

 private:
  static constexpr uint32_t kTimerTag = UINT32_MAX;
  static constexpr uint32_t kIdleTag = uint32_t{1} << 31;  // | index into idle_

  Transport make_transport(UniqueFd fd) {
    SslPtr ssl;
    if (shared_.tls) ssl = shared_.tls->new_ssl(fd.get());
    if (shared_.tls && !ssl) return {};  // out of memory, or a host OpenSSL cannot check
    return Transport(std::move(fd), std::move(ssl));
  }

  void watch(int fd, uint32_t tag, bool want_write, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
    ev.data.u32 = tag;
    epoll_ctl(epoll_.get(), op, fd, &ev);
  }

  void note_error(const std::string& why) {
    if (first_error_.empty()) first_error_ = why;
  }

  void attach(Connection& c, std::size_t index, UniqueFd fd, uint64_t now) {
    c.link = make_transport(std::move(fd));
    c.alive = static_cast<bool>(c.link);
    c.want_write = false;
    c.connected_ns = now;
    if (!c.alive) {
      note_error("cannot set up TLS for " + o_.host);
      c.down_since_ns = now;
      c.retry_at_ns = now + kReconnectDelayNs;
      return;
    }
    watch(c.link.fd(), static_cast<uint32_t>(index), false, EPOLL_CTL_ADD);
    if (!c.link.established()) advance_handshake(c, index, now);
  }

  void set_want_write(Connection& c, std::size_t index, bool want) {
    if (c.want_write == want) return;
    c.want_write = want;
    watch(c.link.fd(), static_cast<uint32_t>(index), want, EPOLL_CTL_MOD);
  }

  void advance_handshake(Connection& c, std::size_t index, uint64_t now) {
    const IoResult r = c.link.handshake();
    switch (r.status) {
      case IoStatus::kDone:
      case IoStatus::kWantRead:
        set_want_write(c, index, false);
        return;
      case IoStatus::kWantWrite:
        set_want_write(c, index, true);
        return;
      case IoStatus::kClosed:
      case IoStatus::kFailed:
        note_error("TLS handshake with " + o_.host + ":" + std::to_string(o_.port) +
                   " failed: " + c.link.last_error());
        fail(c, Failure::kConnection, now);
        return;
    }
  }

  std::string_view format_key(uint64_t index) {
    char* begin = key_ + o_.key_prefix.size();
    auto [end, ec] = std::to_chars(begin, key_ + sizeof key_, index);
    return {key_, static_cast<std::size_t>(end - key_)};
  }

  void issue(Connection& c, OpType op, uint64_t key_index, uint64_t scheduled, uint64_t now,
             bool measured) {
    const std::string_view key = format_key(key_index);
    const std::span<char> space(c.out.data() + c.out_len, c.out.size() - c.out_len);
    const uint32_t opaque = c.next_opaque++;
    std::size_t n;
    if (op == OpType::kGet) {
      n = codec_.compose_get(space, key, opaque);
    } else {
      const uint32_t size =
          o_.value_min +
          static_cast<uint32_t>(rng_.below(uint64_t{o_.value_max} - o_.value_min + 1));
      n = codec_.compose_set(space, key, std::string_view(shared_.values.data(), size), opaque);
    }
    c.out_len += n;  // buffers are sized for the deepest pipeline, so n is never 0
    c.ring[(c.head + c.count) % c.ring.size()] = InFlight{scheduled, now, opaque, op, measured};
    ++c.count;
    ++in_flight_;
  }

  OpType pick_op() {
    return rng_.below(uint64_t{o_.get_weight} + o_.set_weight) < o_.get_weight ? OpType::kGet
                                                                               : OpType::kSet;
  }

  bool may_issue(bool measuring) const {
    return !(o_.requests && measuring && issued_measured_ >= request_share_);
  }

  void fill(Connection& c, Mode mode, uint64_t now, bool measuring) {
    if (!c.alive || !c.link.established()) return;
    if (c.out_start > 0) {
      std::memmove(c.out.data(), c.out.data() + c.out_start, c.out_len - c.out_start);
      c.out_len -= c.out_start;
      c.out_start = 0;
    }
    if (mode == Mode::kPrefill) {
      while (c.count < prefill_depth_ && prefill_cursor_ < o_.keys) {
        issue(c, OpType::kSet, prefill_cursor_, now, now, false);
        prefill_cursor_ += o_.threads;
      }
      return;
    }
    while (c.count < o_.pipeline && may_issue(measuring)) {
      uint64_t scheduled = now;
      if (interval_ns_) {
        if (c.next_due_ns > now) break;
        scheduled = c.next_due_ns;
        c.next_due_ns += interval_ns_;
      }
      issue(c, pick_op(), shared_.sampler.sample(rng_), scheduled, now, measuring);
      if (measuring) ++issued_measured_;
    }
  }

  void flush(Connection& c, std::size_t index, uint64_t now) {
    if (!c.alive || !c.link.established()) return;
    while (c.alive && c.out_start < c.out_len) {
      const IoResult r = c.link.write(c.out.data() + c.out_start, c.out_len - c.out_start);
      switch (r.status) {
        case IoStatus::kDone:
          c.out_start += r.bytes;
          continue;
        case IoStatus::kWantWrite:
          set_want_write(c, index, true);
          return;
        case IoStatus::kWantRead:  // TLS wants the peer's bytes first; retried every loop turn
          return;
        case IoStatus::kClosed:
        case IoStatus::kFailed:
          fail(c, Failure::kConnection, now);
          return;
      }
    }
    if (c.alive) {
      c.out_start = c.out_len = 0;
      set_want_write(c, index, false);
    }
  }

  void complete(const InFlight& f, const Reply& reply, Mode mode, uint64_t now) {
    bump(live_.completed);
    const bool is_get = f.op == OpType::kGet;
    const bool error = is_error_reply(reply.kind) || (!is_get && reply.kind != ReplyKind::kStored);
    if (mode == Mode::kPrefill) {
      if (error) {
        ++prefill_errors_;
      } else {
        ++prefilled_;
      }
      return;
    }
    if (error) bump(live_.errors);
    if (is_get && !error) {
      bump(live_.lookups);
      if (reply.kind == ReplyKind::kHit) bump(live_.hits);
    }
    if (!f.measured) return;
    const auto op = static_cast<std::size_t>(f.op);
    ++tally_.ops[op];
    tally_.latency_ns[op].record(now > f.scheduled_ns ? now - f.scheduled_ns : 0);
    if (error) {
      ++tally_.error_replies;
    } else if (is_get) {
      ++(reply.kind == ReplyKind::kHit ? tally_.hits : tally_.misses);
    }
  }

  void parse_replies(Connection& c, Mode mode, uint64_t now) {
    std::size_t pos = 0;
    while (pos < c.in_len) {
      if (c.count == 0) {  // bytes nobody asked for
        fail(c, Failure::kProtocol, now);
        return;
      }
      const InFlight& f = c.ring[c.head];
      const Reply reply =
          codec_.parse_reply(std::string_view(c.in.data() + pos, c.in_len - pos), f.op, f.opaque);
      if (reply.status == ReplyStatus::kNeedMore) break;
      if (reply.status == ReplyStatus::kProtocolError) {
        fail(c, Failure::kProtocol, now);
        return;
      }
      complete(f, reply, mode, now);
      c.head = (c.head + 1) % c.ring.size();
      --c.count;
      --in_flight_;
      pos += reply.consumed;
    }
    if (pos > 0) {
      std::memmove(c.in.data(), c.in.data() + pos, c.in_len - pos);
      c.in_len -= pos;
    }
  }

  void on_readable(Connection& c, std::size_t index, Mode mode, uint64_t now) {
    while (c.alive) {
      const std::size_t space = c.in.size() - c.in_len;
      if (space == 0) {  // one reply larger than any the options allow
        fail(c, Failure::kProtocol, now);
        return;
      }
      const IoResult r = c.link.read(c.in.data() + c.in_len, space);
      switch (r.status) {
        case IoStatus::kDone:
          c.in_len += r.bytes;
          parse_replies(c, mode, now);
          // A short plain read drained the socket; TLS hands out one record per read, so it
          // reads on until OpenSSL asks for more bytes.
          if (!c.link.tls() && r.bytes < space) return;
          continue;
        case IoStatus::kWantRead:
          return;
        case IoStatus::kWantWrite:  // TLS must send (a key update) before it can read on
          set_want_write(c, index, true);
          return;
        case IoStatus::kClosed:
        case IoStatus::kFailed:
          fail(c, Failure::kConnection, now);
          return;
      }
    }
  }

  void fail(Connection& c, Failure why, uint64_t now) {
    uint64_t measured = 0;
    for (std::size_t i = 0; i < c.count; ++i)
      measured += c.ring[(c.head + i) % c.ring.size()].measured;
    bump(live_.errors, c.count);
    if (prefilling_) prefill_errors_ += c.count;
    switch (why) {
      case Failure::kConnection:
        tally_.connection_errors += measured;
        break;
      case Failure::kProtocol:
        tally_.protocol_errors += measured;
        break;
      case Failure::kTimeout:
        tally_.timeouts += measured;
        break;
    }
    in_flight_ -= c.count;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.link.fd(), nullptr);
    c.link.reset();
    c.alive = false;
    c.head = c.count = 0;
    c.in_len = c.out_start = c.out_len = 0;
    c.down_since_ns = now;
    c.retry_at_ns = now + kReconnectDelayNs;
  }

  // Timeouts and reconnects; returns the number of connections still in use.
  std::size_t maintain(uint64_t now) {
    const uint64_t timeout_ns = static_cast<uint64_t>(o_.timeout_s * 1e9);
    std::size_t usable = 0;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      Connection& c = connections_[i];
      if (c.alive && c.count > 0 && now - c.ring[c.head].sent_ns > timeout_ns) {
        fail(c, Failure::kTimeout, now);
      }
      if (c.alive && !c.link.established() && now - c.connected_ns > timeout_ns) {
        fail(c, Failure::kTimeout, now);
      }
      if (!c.alive && !c.abandoned && now >= c.retry_at_ns) {
        int err = 0;
        UniqueFd fd = connect_with_timeout(shared_.address, 100, &err);
        if (fd) {
          attach(c, i, std::move(fd), now);
        } else if (now - c.down_since_ns > timeout_ns) {
          c.abandoned = true;  // the server is gone; stop rather than spin
        } else {
          c.retry_at_ns = now_ns() + kReconnectDelayNs;
        }
      }
      usable += !c.abandoned;
    }
    return usable;
  }

  void idle_attach(std::size_t j, UniqueFd fd) {
    IdleConnection& c = idle_[j];
    c.link = make_transport(std::move(fd));
    if (!c.link) {
      c.state = IdleConnection::State::kHandshake;  // not settled yet: idle_lose settles it
      idle_lose(j, "cannot set up TLS");
      return;
    }
    c.state =
        c.link.established() ? IdleConnection::State::kVersion : IdleConnection::State::kHandshake;
    c.out_len = static_cast<uint8_t>(codec_.compose_version(c.out, 0));
    watch(c.link.fd(), kIdleTag | static_cast<uint32_t>(j), false, EPOLL_CTL_ADD);
    idle_advance(j);
  }

  void idle_lose(std::size_t j, std::string_view why) {
    IdleConnection& c = idle_[j];
    if (idle_error_.empty()) {
      idle_error_ = std::string(why);
      if (c.link) idle_error_ += ": " + c.link.last_error();
    }
    if (c.link) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.link.fd(), nullptr);
    c.link.reset();
    if (c.state != IdleConnection::State::kHeld) ++settled_;  // it never got to hold
    c.state = IdleConnection::State::kLost;
  }

  void idle_want_write(std::size_t j, bool want) {
    IdleConnection& c = idle_[j];
    if (c.want_write == want) return;
    c.want_write = want;
    watch(c.link.fd(), kIdleTag | static_cast<uint32_t>(j), want, EPOLL_CTL_MOD);
  }

  // Moves an idle connection on as far as it goes without blocking.
  void idle_advance(std::size_t j) {
    IdleConnection& c = idle_[j];
    using State = IdleConnection::State;
    for (;;) {
      IoResult r{IoStatus::kWantRead};
      switch (c.state) {
        case State::kLost:
          return;
        case State::kHandshake:
          r = c.link.handshake();
          if (r.status == IoStatus::kDone) {
            c.state = State::kVersion;
            continue;
          }
          break;
        case State::kVersion:
          if (c.out_start < c.out_len) {
            r = c.link.write(c.out + c.out_start, c.out_len - c.out_start);
            if (r.status == IoStatus::kDone) {
              c.out_start = static_cast<uint8_t>(c.out_start + r.bytes);
              continue;
            }
            break;
          }
          r = c.link.read(c.in + c.in_len, sizeof c.in - c.in_len);
          if (r.status == IoStatus::kDone) {
            c.in_len = static_cast<uint16_t>(c.in_len + r.bytes);
            const Reply reply = codec_.parse_reply({c.in, c.in_len}, OpType::kVersion, 0);
            if (reply.status == ReplyStatus::kReply && reply.kind == ReplyKind::kVersion &&
                reply.consumed == c.in_len) {
              c.state = State::kHeld;
              ++settled_;
              idle_want_write(j, false);
              continue;
            }
            if (reply.status == ReplyStatus::kNeedMore && c.in_len < sizeof c.in) continue;
            idle_lose(j, "an idle connection's version request was refused");
            return;
          }
          break;
        case State::kHeld:
          // Nothing is expected; TLS may still process a session ticket here. Stray bytes are
          // dropped, a close or an error ends the hold.
          r = c.link.read(c.in, sizeof c.in);
          if (r.status == IoStatus::kDone) continue;
          break;
      }
      switch (r.status) {
        case IoStatus::kDone:
        case IoStatus::kWantRead:
          idle_want_write(j, false);
          return;
        case IoStatus::kWantWrite:
          idle_want_write(j, true);
          return;
        case IoStatus::kClosed:
        case IoStatus::kFailed:
          idle_lose(j, c.state == State::kHeld ? "the server closed an idle connection"
                                               : "an idle connection failed to set up");
          return;
      }
    }
  }

  // Setup is over when every busy connection is established or failed and every idle one
  // holds or is lost.
  bool setup_done() const {
    if (settled_ < idle_.size()) return false;
    for (const Connection& c : connections_) {
      if (c.alive && !c.link.established()) return false;
    }
    return true;
  }

  // Open loop: wake when the earliest connection that may send is due.
  void arm_timer(uint64_t now) {
    uint64_t earliest = UINT64_MAX;
    for (const Connection& c : connections_) {
      if (c.alive && c.count < o_.pipeline) earliest = std::min(earliest, c.next_due_ns);
    }
    if (earliest == armed_ns_ || earliest == UINT64_MAX) return;
    armed_ns_ = earliest;
    const uint64_t at = std::max(earliest, now + 1);
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(at / kNsPerSec);
    spec.it_value.tv_nsec = static_cast<long>(at % kNsPerSec);
    timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void handle_event(const epoll_event& event, Mode mode, uint64_t now) {
    const uint32_t tag = event.data.u32;
    if (tag == kTimerTag) {
      uint64_t expirations;
      [[maybe_unused]] ssize_t r = ::read(timer_.get(), &expirations, sizeof expirations);
      armed_ns_ = 0;
      return;
    }
    if (tag & kIdleTag) {
      idle_advance(tag & ~kIdleTag);
      return;
    }
    Connection& c = connections_[tag];
    if (!c.alive) return;
    if (!c.link.established()) {
      advance_handshake(c, tag, now);
      return;  // requests go out on the next turn of the loop
    }
    if (event.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, tag, mode, now);
    if (c.alive && (event.events & EPOLLOUT)) {
      flush(c, tag, now);
      if (c.alive && c.link.tls()) on_readable(c, tag, mode, now);  // a read that wanted write
    }
  }

  void event_loop(Mode mode) {
    prefilling_ = mode == Mode::kPrefill;
    epoll_event events[64];
    uint64_t now = now_ns();
    uint64_t last_maintain = now;
    // Setup gives up after --timeout without progress (a handshake or an idle connection
    // settling); thousands of TLS handshakes may take longer than that in all.
    const uint64_t stall_ns = static_cast<uint64_t>(o_.timeout_s * 1e9);
    uint64_t last_progress = now;
    std::size_t last_settled = settled_;
    for (;;) {
      const Phase phase = shared_.phase.load(std::memory_order_acquire);
      const bool measuring = phase == Phase::kMeasure;
      if (mode == Mode::kSetup) {
        if (setup_done()) return;
        if (settled_ != last_settled) {
          last_settled = settled_;
          last_progress = now;
        } else if (now - last_progress > stall_ns) {
          return;
        }
      }
      if (mode == Mode::kLoad && phase == Phase::kStop) return;
      if (mode != Mode::kSetup) {
        for (std::size_t i = 0; i < connections_.size(); ++i) {
          fill(connections_[i], mode, now, measuring);
          flush(connections_[i], i, now);
        }
      }
      if (mode == Mode::kPrefill && prefill_cursor_ >= o_.keys && in_flight_ == 0) return;
      if (mode == Mode::kLoad && o_.requests && measuring && issued_measured_ >= request_share_ &&
          in_flight_ == 0) {
        completed_share_ = true;
        return;
      }
      if (interval_ns_ && mode == Mode::kLoad) arm_timer(now);
      const int n = epoll_wait(epoll_.get(), events, 64, kMaxEpollWaitMs);
      now = now_ns();
      for (int e = 0; e < n; ++e) handle_event(events[e], mode, now);
      if (mode != Mode::kSetup && now - last_maintain >= kNsPerMs * kMaxEpollWaitMs) {
        last_maintain = now;
        if (maintain(now) == 0) {
          connections_lost_ = true;
          return;
        }
      }
      if (mode == Mode::kSetup) {
        // A busy connection's handshake counts as progress too.
        std::size_t established = 0;
        for (const Connection& c : connections_) established += c.alive && c.link.established();
        if (established != last_established_) {
          last_established_ = established;
          last_progress = now;
        }
      }
    }
  }

  Shared& shared_;
  const BenchOptions& o_;
  const Codec& codec_;
  [[maybe_unused]] unsigned index_;
  Rng rng_;
  UniqueFd epoll_;
  UniqueFd timer_;
  std::vector<Connection> connections_;
  std::vector<IdleConnection> idle_;
  std::size_t settled_ = 0;  // idle connections that hold or are lost
  std::size_t last_established_ = 0;
  std::string first_error_;  // the first busy connection's TLS failure
  std::string idle_error_;   // the first idle connection's failure
  uint64_t interval_ns_ = 0;
  uint64_t armed_ns_ = 0;
  std::size_t prefill_depth_ = 0;
  uint64_t request_share_;
  uint64_t issued_measured_ = 0;
  uint64_t in_flight_ = 0;
  uint64_t prefill_cursor_;
  bool prefilling_ = false;
  bool completed_share_ = false;
  bool connections_lost_ = false;
  char key_[256];  // the prefix, then each request's index (prefix + 20 digits fit)

  Tally tally_;
  LiveCounters live_;
  uint64_t prefilled_ = 0;
  uint64_t prefill_errors_ = 0;
  uint64_t prefill_ns_ = 0;
  uint64_t finish_ns_ = 0;
};

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true, std::memory_order_relaxed); }

void sleep_until_ns(uint64_t deadline) {
  timespec ts{static_cast<time_t>(deadline / kNsPerSec), static_cast<long>(deadline % kNsPerSec)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    if (g_interrupted.load(std::memory_order_relaxed)) return;
  }
}

// Raises the soft limit on open files to what the run needs, as far as the hard limit allows.
bool raise_fd_limit(uint64_t needed, std::string* error) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    *error = "the run needs " + std::to_string(needed) + " file descriptors; the hard limit is " +
             std::to_string(limit.rlim_max) + " (ulimit -Hn)";
    return false;
  }
  limit.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    *error = "cannot raise the open-file limit to " + std::to_string(needed) + ": " +
             std::strerror(errno);
    return false;
  }
  return true;
}

unsigned share_of(uint64_t total, unsigned parts, unsigned part) {
  return static_cast<unsigned>(total / parts + (part < total % parts ? 1 : 0));
}

}  // namespace

bool run_bench(const BenchOptions& o, BenchResult* result, std::string* error) {
  Shared shared(o, o.threads + 1);
  if (!resolve(o.host, o.port, &shared.address, error)) return false;
  // Each thread's epoll and timer, the standard streams, and some room.
  const uint64_t fds_needed = uint64_t{o.connections} + o.idle_connections + 2 * o.threads + 64;
  if (!raise_fd_limit(fds_needed, error)) return false;
  if (o.tls && !(shared.tls = TlsContext::create(o, error))) return false;
  shared.values.resize(o.value_max);
  Rng value_rng(o.seed ^ 0x5eedULL);
  for (char& ch : shared.values) ch = static_cast<char>('a' + value_rng.below(26));

  // Connect everything up front so a wrong address fails fast with one clear line.
  auto connect_many = [&](unsigned count, const char* what, std::vector<UniqueFd>* fds) {
    for (unsigned i = 0; i < count; ++i) {
      int err = 0;
      UniqueFd fd =
          connect_with_timeout(shared.address, static_cast<int>(o.timeout_s * 1000), &err);
      if (!fd) {
        *error = std::string("cannot open ") + what + " to " + o.host + ":" +
                 std::to_string(o.port) + ": " + std::strerror(err);
        return false;
      }
      fds->push_back(std::move(fd));
    }
    return true;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  unsigned next_connection = 0;
  for (unsigned t = 0; t < o.threads; ++t) {
    const unsigned count = share_of(o.connections, o.threads, t);
    std::vector<UniqueFd> fds;
    std::vector<UniqueFd> idle;
    if (!connect_many(count, "a connection", &fds) ||
        !connect_many(share_of(o.idle_connections, o.threads, t), "an idle connection", &idle)) {
      return false;
    }
    const uint64_t share = share_of(o.requests, o.threads, t);
    workers.push_back(std::make_unique<Worker>(shared, t, std::move(fds), std::move(idle),
                                               next_connection, share));
    next_connection += count;
  }

  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  auto restore_signals = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  };

  std::vector<std::jthread> threads;
  for (auto& w : workers) threads.emplace_back([&worker = *w] { worker.run(); });

  shared.barrier.arrive_and_wait();  // setup (TLS handshakes, idle connections) done
  for (const auto& w : workers) {
    if (std::string why = w->setup_error(); !why.empty()) {
      *error = why;
      shared.abort = true;
      break;
    }
  }
  shared.barrier.arrive_and_wait();  // the verdict is out
  if (shared.abort) {
    threads.clear();
    restore_signals();
    return false;
  }
  std::size_t idle_held = 0;
  std::string idle_error;
  for (const auto& w : workers) {
    idle_held += w->idle_held();
    if (idle_error.empty()) idle_error = w->idle_error();
  }
  if (o.idle_connections && !o.quiet) {
    std::fprintf(stderr, "holding %zu of %u idle connections%s%s\n", idle_held, o.idle_connections,
                 idle_error.empty() ? "" : "; first failure: ", idle_error.c_str());
  }

  if (o.prefill && !o.quiet) {
    std::fprintf(stderr, "prefilling %llu keys...\n", static_cast<unsigned long long>(o.keys));
  }
  shared.barrier.arrive_and_wait();  // prefill done
  const uint64_t load_start = now_ns();
  uint64_t measure_start = load_start;
  shared.load_start_ns = load_start;
  shared.phase.store(o.warmup_s > 0 ? Phase::kWarmup : Phase::kMeasure, std::memory_order_release);
  shared.barrier.arrive_and_wait();  // go
  const uint64_t warmup_end = load_start + static_cast<uint64_t>(o.warmup_s * 1e9);
  uint64_t next_tick = load_start + kNsPerSec;
  uint64_t last_completed = 0;
  uint64_t last_tick = load_start;
  uint64_t measure_end = 0;
  for (;;) {
    uint64_t now = now_ns();
    Phase phase = shared.phase.load(std::memory_order_relaxed);
    if (phase == Phase::kWarmup && now >= warmup_end) {
      measure_start = now;
      phase = Phase::kMeasure;
      shared.phase.store(phase, std::memory_order_release);
    }
    if (phase == Phase::kMeasure && !o.requests &&
        now >= measure_start + static_cast<uint64_t>(o.duration_s * 1e9)) {
      measure_end = now;
      break;
    }
    if (g_interrupted.load(std::memory_order_relaxed)) {
      measure_end = now;
      break;
    }
    if (shared.finished.load(std::memory_order_acquire) == o.threads) {
      // Workers finish early only when done with --requests or when every connection is gone.
      measure_end = now;
      break;
    }
    if (now >= next_tick) {
      uint64_t completed = 0, errors = 0, hits = 0, lookups = 0;
      for (const auto& w : workers) {
        completed += w->live().completed.load(std::memory_order_relaxed);
        errors += w->live().errors.load(std::memory_order_relaxed);
        hits += w->live().hits.load(std::memory_order_relaxed);
        lookups += w->live().lookups.load(std::memory_order_relaxed);
      }
      if (!o.quiet) {
        const double secs = static_cast<double>(now - last_tick) / 1e9;
        std::fprintf(
            stderr, "[%5.0fs] %-7s %12.0f ops/s  hit %6.2f%%  errors %llu\n",
            static_cast<double>(now - load_start) / 1e9, phase == Phase::kWarmup ? "warmup" : "run",
            static_cast<double>(completed - last_completed) / secs,
            lookups ? 100.0 * static_cast<double>(hits) / static_cast<double>(lookups) : 0.0,
            static_cast<unsigned long long>(errors));
      }
      last_completed = completed;
      last_tick = now;
      next_tick += kNsPerSec;
    }
    sleep_until_ns(std::min(now + 20 * kNsPerMs, next_tick));
  }
  shared.phase.store(Phase::kStop, std::memory_order_release);
  threads.clear();  // joins
  restore_signals();

  if (o.requests) {
    // The window ends when the last worker's last measured reply arrived.
    bool all_done = true;
    uint64_t last = measure_start;
    for (const auto& w : workers) {
      all_done = all_done && w->completed_share();
      last = std::max(last, w->finish_ns());
    }
    if (all_done) measure_end = last;
  }
  *result = BenchResult{};
  for (const auto& w : workers) {
    if (w->connections_lost()) result->connections_lost = true;
    result->tally.merge(w->tally());
    result->prefilled += w->prefilled();
    result->prefill_errors += w->prefill_errors();
    result->prefill_s = std::max(result->prefill_s, static_cast<double>(w->prefill_ns()) / 1e9);
    result->idle_held += w->idle_held();
  }
  result->idle_held_at_start = idle_held;
  result->elapsed_s = static_cast<double>(measure_end - measure_start) / 1e9;
  return true;
}

}  // namespace kioku::client
