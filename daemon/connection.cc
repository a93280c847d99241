// daemon/connection.cc — see connection.h.
#include "daemon/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "daemon/log.h"
#include "daemon/connection_limits.h"
#include "daemon/server.h"
#include "daemon/tls.h"
#include "daemon/worker.h"
#include "protocol/text_composer.h"
#include "protocol/text_parser.h"

namespace kioku::daemon {

using protocol::ParseStatus;
using protocol::TextParseResult;

namespace {

// memcached 1.6.18's own limit on key + value: its 48-byte header, an 8-byte CAS, the key's
// terminating NUL and the value's CRLF all count against -I, and non-zero client flags take 4
// more bytes. Kioku's items are smaller, but refusing at the same boundary keeps the two
// servers' replies identical.
bool fits_memcached_item_limit(const Settings& settings, std::size_t key, std::size_t value,
                               uint32_t flags) {
  const std::size_t overhead = 48 + 1 + 2 + (settings.use_cas ? 8 : 0) + (flags != 0 ? 4 : 0);
  return key + value + overhead <= settings.item_size_max;
}

// Memory one worker's connections may hold in buffers beyond the standard size (values being
// received): a share of -m, at least kMinValueBufferBudget and two maximal items.
std::size_t value_buffer_budget(const Settings& settings) {
  return std::max({settings.memory_limit / std::max<uint32_t>(1, settings.threads),
                   kMinValueBufferBudget, 2 * settings.item_size_max});
}
}  // namespace

Connection::Connection(Worker& worker, int fd, std::string peer)
    : worker_(worker),
      fd_(fd),
      peer_(std::move(peer)),
      output_(worker.output_pools()) {
  last_command_time_ = std::time(nullptr);
  plain_ = worker.server().plain_listener(fd_);  // "-l notls:": no TLS on this one
  if (TlsContext* tls = worker.server().tls(); tls != nullptr && !plain_) {
    transport_ = tls->new_transport(fd_);
  }
}

Connection::~Connection() {
  if (event_ != nullptr) event_free(event_);
  output_.clear();
  if (!input_.empty()) worker_.buffers().give(std::move(input_));
  ::close(fd_);
  worker_.server().connection_closed();
}

bool Connection::start() {
  if (worker_.server().tls() != nullptr && !plain_ && transport_ == nullptr) return false;
  event_ = event_new(worker_.base(), fd_, EV_READ | EV_PERSIST, &Connection::on_event, this);
  if (event_ == nullptr) return false;
  interest_ = EV_READ;
  return event_add(event_, nullptr) == 0;
}

const char* Connection::state_name() const {
  switch (state_.load(std::memory_order_relaxed)) {
    case State::kReading: return "conn_parse_cmd";
    case State::kWriting: return "conn_mwrite";
    case State::kClosing: return "conn_closing";
  }
  return "conn_parse_cmd";
}

void Connection::set_interest(short events) {
  if (interest_ == events) return;
  event_del(event_);
  event_assign(event_, worker_.base(), fd_, events | EV_PERSIST, &Connection::on_event, this);
  event_add(event_, nullptr);
  interest_ = events;
}

void Connection::on_event(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  bool alive = true;
  if (what & EV_WRITE) alive = self->on_writable();
  if (alive && (what & EV_READ)) alive = self->on_readable();
  if (!alive) self->worker_.destroy(self);
}

void Connection::drain() {
  draining_ = true;
  close_after_write_ = true;
  if (output_.empty()) {
    state_ = State::kClosing;
    worker_.destroy(this);
    return;
  }
  if (state_ == State::kReading) {
    state_ = State::kWriting;
    set_interest(EV_WRITE);
  }
}

bool Connection::on_readable() {
  if (state_ != State::kReading || draining_) return true;
  // After a -R yield the buffered requests are served before reading more.
  if (!yielded_ && !read_from_socket()) return false;
  yielded_ = false;
  process_input();
  if (state_ == State::kClosing) return false;
  // TLS may hold decrypted input the socket will not announce again.
  if (transport_ && transport_->has_buffered_input()) event_active(event_, EV_READ, 0);
  return flush_output();
}

bool Connection::on_writable() { return flush_output(); }

Executor& Connection::executor() {
  Executor& executor = worker_.executor();
  executor.set_client_fd(fd_);
  executor.set_client_transport(&transport_);
  return executor;
}

void Connection::compact_input() {
  if (input_start_ == 0) return;
  std::size_t left = input_end_ - input_start_;
  if (left > 0) std::memmove(input_.data(), input_.data() + input_start_, left);
  input_start_ = 0;
  input_end_ = left;
}

void Connection::ensure_input_capacity(std::size_t bytes) {
  if (input_.empty()) input_ = worker_.buffers().take();
  if (input_.size() - input_start_ >= bytes) return;
  compact_input();
  if (input_.size() < bytes) worker_.buffers().grow(input_, bytes);
}

bool Connection::read_from_socket() {
  if (input_.empty()) input_ = worker_.buffers().take();
  if (input_end_ == input_.size()) {
    compact_input();
    // Still full: one request is larger than the buffer (a long multi-get line).
    if (input_end_ == input_.size()) {
      if (input_.size() >= kMaxRequestLineBytes) return false;
      worker_.buffers().grow(input_, std::min(input_.size() * 2, kMaxRequestLineBytes));
    }
  }
  for (;;) {
    char* into = input_.data() + input_end_;
    const std::size_t room = input_.size() - input_end_;
    ssize_t n = transport_ ? transport_->read(into, room) : ::read(fd_, into, room);
    if (n > 0) {
      input_end_ += static_cast<std::size_t>(n);
      worker_.stats().bytes_read.add(static_cast<uint64_t>(n));
      return true;
    }
    if (n == 0) return false;  // peer closed
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

void Connection::process_input() {
  if (framing_ == Framing::kUndecided) choose_framing();
  if (framing_ == Framing::kBinary) return process_binary_input();
  if (framing_ == Framing::kAsciiAuth && !process_ascii_auth_input()) return;
  uint32_t budget = worker_.server().settings().reqs_per_event;
  bool processed_any = false;
  while (input_start_ < input_end_) {
    std::string_view pending(input_.data() + input_start_, input_end_ - input_start_);
    if (swallow_bytes_ > 0) {
      std::size_t take = static_cast<std::size_t>(
          std::min<uint64_t>(swallow_bytes_, pending.size()));
      input_start_ += take;
      swallow_bytes_ -= take;
      continue;
    }
    if (pending.size() < need_bytes_) break;
    if (budget == 0 || output_.owned_bytes() >= kOutputPauseBytes) {
      // -R: yield to the worker's other connections and come back on the next loop turn. Also
      // when enough replies are queued: they go out first, so a client that pipelines without
      // reading is held to kOutputPauseBytes (flush_output stops reading while it blocks).
      if (budget == 0) worker_.stats().conn_yields.add();
      yielded_ = true;
      event_active(event_, EV_READ, 0);
      break;
    }
    need_bytes_ = 0;
    if (const MetaStep step = process_meta_input(pending); step != MetaStep::kNotMeta) {
      if (step == MetaStep::kNeedMore) break;
      processed_any = true;
      --budget;
      if (step == MetaStep::kClose) {
        state_ = State::kClosing;
        return;
      }
      continue;
    }
    TextParseResult parsed = protocol::parse_command_line(pending);
    if (parsed.status == ParseStatus::kNeedMore) break;
    processed_any = true;
    --budget;
    if (parsed.status == ParseStatus::kError) {
      if (parsed.close_connection) {
        state_ = State::kClosing;
        return;
      }
      if (!parsed.request.noreply) output_.append(protocol::error_reply(parsed.error));
      input_start_ += parsed.consumed;
      continue;
    }
    protocol::TextRequest& request = parsed.request;
    std::size_t consumed = parsed.consumed;
    if (protocol::is_storage_command(request.command)) {
      const std::size_t value_length = request.value_length;
      if (!fits_memcached_item_limit(worker_.server().settings(), request.key.size(),
                                     value_length, request.flags) ||
          !worker_.server().cache().item_size_ok(request.key.size(), value_length)) {
        executor().reply_too_large(request, output_);
        input_start_ += consumed;
        swallow_bytes_ = uint64_t{value_length} + 2;
        continue;
      }
      const std::size_t total = consumed + value_length + 2;
      if (pending.size() < total && total > input_.size() &&
          worker_.buffers().oversize_bytes() + total >
              value_buffer_budget(worker_.server().settings())) {
        // memcached allocates the item before reading its value and, when -m cannot hold it,
        // answers this and swallows the value; Kioku buffers values outside -m, so it bounds
        // what one worker's connections may hold in flight the same way.
        if (!request.noreply) output_.append("SERVER_ERROR out of memory storing object\r\n");
        executor().count_prefix_set(request.key);
        if (request.command == protocol::TextCommand::kSet) {
          worker_.server().cache().remove(request.key);  // as memcached: no stale value
        }
        input_start_ += consumed;
        swallow_bytes_ = uint64_t{value_length} + 2;
        continue;
      }
      if (pending.size() < total) {
        need_bytes_ = total;
        ensure_input_capacity(total);
        break;
      }
      auto block = protocol::parse_data_block(pending.substr(consumed), request.value_length,
                                              &request.value);
      input_start_ += total;
      if (block == protocol::DataBlockStatus::kBadDataChunk) {
        if (!request.noreply) {
          output_.append(protocol::error_reply(protocol::TextError::kBadDataChunk));
        }
        executor().count_prefix_set(request.key);
        continue;
      }
    } else {
      input_start_ += consumed;
    }
    if (worker_.server().verbosity() > 2) {  // -vvv: every command, as memcached -vv
      std::string_view label = command_label(static_cast<std::size_t>(request.command));
      std::string_view key =
          protocol::is_retrieval_command(request.command) ? request.keys : request.key;
      log_line(LogLevel::kDebug, "<%d %.*s %.*s", fd_, static_cast<int>(label.size()),
               label.data(), static_cast<int>(key.size()), key.data());
    }
    const uint64_t started_ns = CommandLatency::now_ns();
    const ExecuteOutcome outcome = executor().execute(request, output_);
    worker_.latency().record(request.command, CommandLatency::now_ns() - started_ns);
    if (outcome == ExecuteOutcome::kCloseAfterWrite) {
      close_after_write_ = true;
      input_start_ = input_end_ = 0;
      break;
    }
    if (outcome == ExecuteOutcome::kStreamDump) {
      dump_ = executor().take_dump();
      break;  // the rest waits until the dump is out (flush_output resumes it)
    }
  }
  if (processed_any) last_command_time_ = std::time(nullptr);
  if (input_start_ == input_end_ && need_bytes_ == 0) {
    // Nothing buffered: an idle connection holds no input memory.
    input_start_ = input_end_ = 0;
    if (!input_.empty()) worker_.buffers().give(std::move(input_));
  }
}

bool Connection::flush_output() {
  bool dump_ended = false;
  for (;;) {
    if (dump_ && !close_after_write_ &&
        dump_->produce(worker_.server().cache(), output_, kDumpStepBytes)) {
      dump_.reset();
      dump_ended = true;
    }
    if (!output_.empty()) {
      std::size_t written = 0;
      WriteStatus status =
          output_.write_to(fd_, worker_.iov_scratch(), &written, transport_.get());
      worker_.stats().bytes_written.add(written);
      if (status == WriteStatus::kError) return false;
      if (status == WriteStatus::kWouldBlock) {
        // Stop reading until the client takes its replies: backpressure bounds our memory.
        state_ = State::kWriting;
        set_interest(EV_WRITE);
        return true;
      }
    }
    if (!dump_ || close_after_write_) break;
  }
  if (close_after_write_) return false;
  if (dump_ended && state_ == State::kReading && input_end_ > input_start_) {
    event_active(event_, EV_READ, 0);  // requests that came after the metadump
  }
  if (state_ == State::kWriting) {
    state_ = State::kReading;
    set_interest(EV_READ);
    // Requests that arrived while we were blocked are already buffered.
    if (input_end_ > input_start_ || (transport_ && transport_->has_buffered_input())) {
      event_active(event_, EV_READ, 0);
    }
  }
  return true;
}

}  // namespace kioku::daemon
