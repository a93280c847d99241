// daemon/connection_binary.cc — the Connection's protocol choice and its binary-protocol
// framing loop (declared in connection.h; kept apart so the text path stays as it was).
//
// Owns: picking text / binary / ascii-auth framing from -B, -S, -Y and the first byte, and
// walking buffered bytes packet by packet with memcached 1.6.18's treatment of malformed
// headers (probed: which are answered, which skip bytes, which close). Must not: know opcode
// semantics (BinaryExecutor's) or parse header bytes itself (protocol/binary_parser's).
#include <algorithm>
#include <ctime>

#include "daemon/connection.h"
#include "daemon/server.h"
#include "daemon/worker.h"
#include "protocol/binary_parser.h"

namespace kioku::daemon {

using protocol::BinaryFrameStatus;
using protocol::BinaryOpcode;
using protocol::BinaryStatus;
using protocol::BinaryValidity;

namespace {

// memcached's -I boundary: its item header, the key's NUL, the value's CRLF, the CAS and
// (only when non-zero) the client flags all count against it (probed on 1.6.18).
bool fits_item_limit(const Settings& settings, std::size_t key, std::size_t value, uint32_t flags) {
  const std::size_t overhead = 48 + 1 + 2 + (settings.use_cas ? 8 : 0) + (flags != 0 ? 4 : 0);
  return key + value + overhead <= settings.item_size_max;
}

uint32_t client_flags(const protocol::BinaryRequest& request) {
  if (request.extras.size() < 4) return 0;  // append/prepend carry none
  const auto* p = reinterpret_cast<const unsigned char*>(request.extras.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool is_storage(BinaryOpcode op) {
  switch (protocol::loud_form(op)) {
    case BinaryOpcode::kSet:
    case BinaryOpcode::kAdd:
    case BinaryOpcode::kReplace:
    case BinaryOpcode::kAppend:
    case BinaryOpcode::kPrepend:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Connection::choose_framing() {
  if (input_start_ == input_end_) return;
  const Settings& settings = worker_.server().settings();
  if (!settings.auth_file.empty()) {
    framing_ = Framing::kAsciiAuth;
  } else if (settings.protocol == BindingProtocol::kBinary ||
             (settings.protocol == BindingProtocol::kAuto &&
              static_cast<uint8_t>(input_[input_start_]) == protocol::kBinaryRequestMagic)) {
    framing_ = Framing::kBinary;
  } else {
    framing_ = Framing::kText;
  }
  if (framing_ == Framing::kBinary) {
    binary_executor_ = std::make_unique<BinaryExecutor>(
        settings, worker_.server().cache(), worker_.stats(), worker_.server(), worker_.output_pools());
  }
}

void Connection::process_binary_input() {
  const Settings& settings = worker_.server().settings();
  BinaryExecutor& executor = *binary_executor_;
  uint32_t budget = settings.reqs_per_event;
  bool processed_any = false;
  // Answer, then close once the reply is out (memcached's close_after_write).
  auto fail_and_close = [&](const protocol::BinaryHeader& header, BinaryStatus status) {
    executor.reply_error(header, status, output_);
    close_after_write_ = true;
    input_start_ = input_end_ = 0;
  };
  while (input_start_ < input_end_ && !close_after_write_) {
    std::string_view pending(input_.data() + input_start_, input_end_ - input_start_);
    if (swallow_bytes_ > 0) {
      const auto take =
          static_cast<std::size_t>(std::min<uint64_t>(swallow_bytes_, pending.size()));
      input_start_ += take;
      swallow_bytes_ -= take;
      continue;
    }
    if (pending.size() < need_bytes_) break;
    if (budget == 0) {
      worker_.stats().conn_yields.add();
      yielded_ = true;
      event_active(event_, EV_READ, 0);
      break;
    }
    need_bytes_ = 0;
    protocol::BinaryFrame frame = protocol::frame_binary_request(pending);
    if (frame.status == BinaryFrameStatus::kNeedMore) {
      need_bytes_ = frame.need;
      ensure_input_capacity(frame.need);
      break;
    }
    if (frame.status == BinaryFrameStatus::kBadMagic) {
      // memcached closes without a reply; what was already answered still goes out.
      close_after_write_ = true;
      input_start_ = input_end_ = 0;
      break;
    }
    processed_any = true;
    --budget;
    protocol::BinaryRequest& request = frame.request;
    const auto opcode = static_cast<BinaryOpcode>(request.header.opcode);
    if (frame.status == BinaryFrameStatus::kBodyTooShort) {
      fail_and_close(request.header, BinaryStatus::kUnknownCommand);
      break;
    }
    if (settings.sasl && !executor.may_run(opcode)) {
      fail_and_close(request.header, BinaryStatus::kAuthError);
      break;
    }
    const protocol::BinaryCheck check = protocol::check_binary_request(request, settings.sasl);
    if (check.validity == BinaryValidity::kInvalid) {
      fail_and_close(request.header, BinaryStatus::kInvalidArguments);
      break;
    }
    if (check.validity == BinaryValidity::kUnknownCommand) {
      executor.reply_error(request.header, BinaryStatus::kUnknownCommand, output_);
      input_start_ += frame.consumed;
      swallow_bytes_ = check.skip_after_key;
      continue;
    }
    std::string_view value;
    if (check.reads_value) {
      const std::size_t value_length = request.value_length;
      if (is_storage(opcode) &&
          (!fits_item_limit(settings, request.key.size(), value_length, client_flags(request)) ||
           !worker_.server().cache().item_size_ok(request.key.size(), value_length))) {
        executor.reply_too_large(request, output_);
        input_start_ += frame.consumed;
        swallow_bytes_ = value_length;
        continue;
      }
      if (!is_storage(opcode) && (request.key.size() > protocol::kSaslMaxMechanismLength ||
                                  value_length > settings.item_size_max)) {
        // SASL data: memcached refuses a long mechanism name (EINVAL) or data it cannot hold
        // in an item (ENOMEM), and skips the data either way.
        executor.reply_error(request.header,
                             request.key.size() > protocol::kSaslMaxMechanismLength
                                 ? BinaryStatus::kInvalidArguments
                                 : BinaryStatus::kOutOfMemory,
                             output_);
        input_start_ += frame.consumed;
        swallow_bytes_ = value_length;
        continue;
      }
      const std::size_t total = frame.consumed + value_length;
      if (pending.size() < total) {
        need_bytes_ = total;
        ensure_input_capacity(total);
        break;
      }
      value = pending.substr(frame.consumed, value_length);
      input_start_ += total;
    } else {
      input_start_ += frame.consumed;
    }
    if (executor.execute(request, value, output_) == ExecuteOutcome::kCloseAfterWrite) {
      close_after_write_ = true;
      input_start_ = input_end_ = 0;
      break;
    }
  }
  if (processed_any) last_command_time_ = std::time(nullptr);
  if (input_start_ == input_end_ && need_bytes_ == 0) {
    input_start_ = input_end_ = 0;
    if (!input_.empty()) worker_.buffers().give(std::move(input_));
  }
}

}  // namespace kioku::daemon
