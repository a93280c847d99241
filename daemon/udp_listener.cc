// daemon/udp_listener.cc — see udp_listener.h.
//
// memcached 1.6.18's UDP behaviour, probed: a datagram shorter than the 8-byte header, or one
// whose "total datagrams" is not 1, is dropped without a reply (memcached does not reassemble
// multi-datagram requests); the sequence number and reserved word of a request are ignored.
// Every command in a datagram gets its own framed reply (seq 0..n-1 of n, the request's id),
// in datagrams of at most 1400 bytes with the header; a multi-key get is framed per key. A command
// left incomplete at the end of the datagram (no newline, a short data block) gets no reply. "quit"
// answers with a bare header whose total is 0.
#include "daemon/udp_listener.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "daemon/server.h"
#include "protocol/meta_parser.h"
#include "protocol/text_composer.h"
#include "protocol/text_parser.h"
#include "protocol/udp_frame.h"

namespace kioku::daemon {
namespace {

// Datagrams one worker reads per wake-up before giving its TCP connections a turn.
constexpr int kDatagramsPerEvent = 64;

// memcached's item limit (key + value + its item overhead within -I), as the TCP path applies.
bool fits_item_limit(const Settings& settings, std::size_t key, std::size_t value, uint32_t flags) {
  const std::size_t overhead = 48 + 1 + 2 + (settings.use_cas ? 8 : 0) + (flags != 0 ? 4 : 0);
  return key + value + overhead <= settings.item_size_max;
}

std::string describe_udp(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "udp6:[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
  inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
  return "udp:" + std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
}

// The host part of a -l entry ("h", "h:port", "[v6]", "[v6]:port"); UDP uses -U's port.
std::string host_of(const std::string& spec) {
  if (!spec.empty() && spec.front() == '[') {
    const auto close = spec.find(']');
    return close == std::string::npos ? spec : spec.substr(1, close - 1);
  }
  if (std::count(spec.begin(), spec.end(), ':') == 1) return spec.substr(0, spec.find(':'));
  return spec;
}

}  // namespace

UdpListener::WorkerSide::WorkerSide(Server& server, Worker& worker)
    : worker(worker),
      executor(server.settings(), server.cache(), worker.stats(), server),
      meta_executor(server.settings(), server.cache(), worker.stats()),
      output(worker.output_pools()) {}

UdpListener::~UdpListener() {
  sides_.clear();  // the events first, then the sockets they poll
  for (int fd : fds_) ::close(fd);
}

bool UdpListener::bind(const std::vector<std::string>& listen_specs, uint16_t port) {
  if (listen_specs.empty()) return bind_host("", port);
  for (const std::string& spec : listen_specs) {
    if (!bind_host(host_of(spec), port)) return false;
  }
  return true;
}

bool UdpListener::bind_host(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    std::fprintf(stderr, "kiokud: getaddrinfo(%s): %s\n", host.c_str(), gai_strerror(rc));
    return false;
  }
  bool bound_any = false;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EADDRNOTAVAIL || error == EAFNOSUPPORT) continue;
      std::fprintf(stderr, "kiokud: failed to listen on UDP port %u: %s\n", port,
                   std::strerror(error));
      freeaddrinfo(found);
      return false;
    }
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    fds_.push_back(fd);
    names_.push_back(describe_udp(local));
    bound_any = true;
  }
  freeaddrinfo(found);
  if (!bound_any) std::fprintf(stderr, "kiokud: could not bind UDP on \"%s\"\n", host.c_str());
  return bound_any;
}

void UdpListener::attach(Worker& worker) {
  auto side = std::make_unique<WorkerSide>(server_, worker);
  for (int fd : fds_) {
    auto callback = std::make_unique<Callback>(Callback{side.get(), fd});
    EventPtr event(
        event_new(worker.base(), fd, EV_READ | EV_PERSIST, &UdpListener::on_read, callback.get()));
    event_add(event.get(), nullptr);
    side->events.push_back(std::move(event));
    callbacks_.push_back(std::move(callback));
  }
  sides_.push_back(std::move(side));
}

void UdpListener::on_read(evutil_socket_t fd, short, void* arg) {
  WorkerSide& side = *static_cast<Callback*>(arg)->side;
  for (int i = 0; i < kDatagramsPerEvent; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    const ssize_t n = ::recvfrom(fd, side.datagram.data(), side.datagram.size(), 0,
                                 reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (n < 0) return;  // EAGAIN: another worker took it, or nothing left
    side.worker.stats().bytes_read.add(static_cast<uint64_t>(n));
    serve_datagram(side, fd, std::string_view(side.datagram.data(), static_cast<std::size_t>(n)),
                   peer, peer_length);
  }
}

void UdpListener::serve_datagram(WorkerSide& side, int fd, std::string_view datagram,
                                 const sockaddr_storage& peer, socklen_t peer_length) {
  const auto header = protocol::decode_udp_header(datagram);
  if (!header || header->total != 1) return;  // memcached drops these silently
  const Settings& settings = side.worker.server().settings();
  slab::Cache& cache = side.worker.server().cache();
  std::string_view rest = datagram.substr(protocol::kUdpHeaderSize);
  while (!rest.empty()) {
    const std::size_t first = rest.find_first_not_of(' ');
    if (first != std::string_view::npos && rest[first] == 'm') {
      protocol::MetaParseResult meta = protocol::parse_meta_command_line(rest);
      if (meta.status == protocol::MetaStatus::kNeedMore) return;
      if (meta.status == protocol::MetaStatus::kError) {
        if (meta.close_connection) return;
        side.output.append(meta.error);
        side.output.append("\r\n");
        rest.remove_prefix(std::min<std::size_t>(rest.size(), meta.consumed + meta.swallow));
        send_reply(side, fd, header->request_id, peer, peer_length);
        continue;
      }
      if (meta.status == protocol::MetaStatus::kRequest) {
        protocol::MetaRequest& request = meta.request;
        std::size_t consumed = meta.consumed;
        if (request.command == protocol::MetaCommand::kSet) {
          const std::size_t key_length = request.key().size();
          if (!fits_item_limit(settings, key_length, request.value_length, 0) ||
              !cache.item_size_ok(key_length, request.value_length)) {
            side.meta_executor.reply_too_large(request, side.output);
            send_reply(side, fd, header->request_id, peer, peer_length);
            return;  // the value cannot follow in this datagram's remaining bytes anyway
          }
          if (rest.size() < consumed + request.value_length + 2) return;
          const auto block = protocol::parse_data_block(rest.substr(consumed), request.value_length,
                                                        &request.value);
          consumed += request.value_length + 2;
          if (block == protocol::DataBlockStatus::kBadDataChunk) {
            side.output.append("CLIENT_ERROR bad data chunk\r\n");
            rest.remove_prefix(consumed);
            send_reply(side, fd, header->request_id, peer, peer_length);
            continue;
          }
        }
        side.meta_executor.execute(request, side.output);
        rest.remove_prefix(consumed);
        send_reply(side, fd, header->request_id, peer, peer_length);
        continue;
      }
      // kNotMeta: a text command that happens to start with 'm'.
    }
    protocol::TextParseResult parsed = protocol::parse_command_line(rest);
    if (parsed.status == protocol::ParseStatus::kNeedMore) return;
    if (parsed.status == protocol::ParseStatus::kError) {
      if (parsed.close_connection) return;
      if (!parsed.request.noreply) side.output.append(protocol::error_reply(parsed.error));
      rest.remove_prefix(parsed.consumed);
      send_reply(side, fd, header->request_id, peer, peer_length);
      continue;
    }
    protocol::TextRequest& request = parsed.request;
    std::size_t consumed = parsed.consumed;
    if (protocol::is_storage_command(request.command)) {
      if (!fits_item_limit(settings, request.key.size(), request.value_length, request.flags) ||
          !cache.item_size_ok(request.key.size(), request.value_length)) {
        side.executor.reply_too_large(request, side.output);
        send_reply(side, fd, header->request_id, peer, peer_length);
        return;
      }
      if (rest.size() < consumed + request.value_length + 2) return;
      const auto block =
          protocol::parse_data_block(rest.substr(consumed), request.value_length, &request.value);
      consumed += request.value_length + 2;
      if (block == protocol::DataBlockStatus::kBadDataChunk) {
        if (!request.noreply) {
          side.output.append(protocol::error_reply(protocol::TextError::kBadDataChunk));
        }
        side.executor.count_prefix_set(request.key);
        rest.remove_prefix(consumed);
        send_reply(side, fd, header->request_id, peer, peer_length);
        continue;
      }
    }
    rest.remove_prefix(consumed);
    if (protocol::is_retrieval_command(request.command) &&
        serve_keys_apart(side, fd, request, *header, peer, peer_length)) {
      continue;
    }
    const uint64_t started_ns = CommandLatency::now_ns();
    const ExecuteOutcome outcome = side.executor.execute(request, side.output);
    if (outcome == ExecuteOutcome::kStreamDump) {
      // memcached 1.6.18 sends nothing back for a metadump over UDP (probed). Kioku does the
      // same rather than build a reply of the whole table in memory at once, megabytes for
      // one datagram that anyone can send with a forged source address.
      side.executor.take_dump();
    }
    side.worker.latency().record(request.command, CommandLatency::now_ns() - started_ns);
    if (request.command == protocol::TextCommand::kQuit) {
      // memcached answers a UDP quit with a header announcing zero datagrams.
      char bare[protocol::kUdpHeaderSize];
      protocol::encode_udp_header({header->request_id, 0, 0, 0}, bare);
      ::sendto(fd, bare, sizeof bare, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&peer),
               peer_length);
      side.output.clear();
      return;
    }
    send_reply(side, fd, header->request_id, peer, peer_length);
    if (outcome == ExecuteOutcome::kCloseAfterWrite) return;
  }
}

bool UdpListener::serve_keys_apart(WorkerSide& side, int fd, const protocol::TextRequest& request,
                                   const protocol::UdpFrameHeader& header,
                                   const sockaddr_storage& peer, socklen_t peer_length) {
  // memcached 1.6.18 frames each key's VALUE block of a multi-key get as its own run of
  // datagrams (seq from 0 again), a miss sends nothing, and "END" travels with the last
  // key's block or alone. Running the keys one by one and dropping all but the last "END"
  // gives the same datagrams.
  protocol::KeyIterator count(request.keys);
  std::string_view key;
  int keys = 0;
  while (keys < 2 && count.next(&key)) ++keys;
  if (keys < 2) return false;  // one key: the ordinary path
  protocol::KeyIterator walk(request.keys);
  std::string_view current;
  bool more = walk.next(&current);
  while (more) {
    protocol::TextRequest one = request;
    one.keys = current;
    more = walk.next(&current);
    const uint64_t started_ns = CommandLatency::now_ns();
    side.executor.execute(one, side.output);
    side.worker.latency().record(one.command, CommandLatency::now_ns() - started_ns);
    send_reply(side, fd, header.request_id, peer, peer_length, /*drop_end=*/more);
  }
  return true;
}

void UdpListener::send_reply(WorkerSide& side, int fd, uint16_t request_id,
                             const sockaddr_storage& peer, socklen_t peer_length, bool drop_end) {
  if (side.output.empty()) return;  // noreply: nothing at all goes back
  side.reply.clear();
  side.output.copy_pending(&side.reply);
  side.output.clear();
  constexpr std::string_view kEnd = "END\r\n";
  if (drop_end && side.reply.ends_with(kEnd)) side.reply.resize(side.reply.size() - kEnd.size());
  if (side.reply.empty()) return;
  const std::size_t count = protocol::udp_datagram_count(side.reply.size());
  if (count > 0xffff) return;  // cannot be numbered; memcached's replies never get here
  char frame[protocol::kUdpMaxDatagram];
  std::string_view remaining = side.reply;
  for (std::size_t seq = 0; seq < count; ++seq) {
    const std::size_t length = std::min(remaining.size(), protocol::kUdpMaxPayload);
    protocol::encode_udp_header(
        {request_id, static_cast<uint16_t>(seq), static_cast<uint16_t>(count), 0}, frame);
    std::memcpy(frame + protocol::kUdpHeaderSize, remaining.data(), length);
    remaining.remove_prefix(length);
    const ssize_t sent = ::sendto(fd, frame, protocol::kUdpHeaderSize + length, MSG_DONTWAIT,
                                  reinterpret_cast<const sockaddr*>(&peer), peer_length);
    if (sent < 0) return;  // UDP gives no delivery promise; a full socket buffer drops it
    side.worker.stats().bytes_written.add(static_cast<uint64_t>(sent));
  }
}

}  // namespace kioku::daemon
