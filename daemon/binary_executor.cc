// daemon/binary_executor.cc — see binary_executor.h. Replies, statuses and counters follow
// memcached 1.6.18's proto_bin.c as observed on the wire.
#include "daemon/binary_executor.h"

#include <charconv>
#include <cstring>
#include <string>

#include "daemon/version.h"
#include "protocol/binary_composer.h"
#include "protocol/text_parser.h"

namespace kioku::daemon {

using protocol::BinaryHeader;
using protocol::BinaryOpcode;
using protocol::BinaryRequest;
using protocol::BinaryStatus;
using protocol::kBinaryHeaderSize;

namespace {

uint32_t load_be32(std::string_view bytes, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t load_be64(std::string_view bytes, std::size_t at) {
  return (uint64_t{load_be32(bytes, at)} << 32) | load_be32(bytes, at + 4);
}

constexpr uint32_t kNoAutoCreate = 0xffffffff;

}  // namespace

BinaryExecutor::BinaryExecutor(const Settings& settings, slab::Cache& cache, ThreadStats& stats,
                               ServerControl& control, OutputPools& buffers)
    : settings_(settings), cache_(cache), stats_(stats), control_(control),
      prefixes_(control.prefix_stats()), buffers_(buffers) {}

void BinaryExecutor::reply(const BinaryHeader& request, OutputQueue& out, uint64_t cas,
                           std::string_view extras, std::string_view key, std::string_view body,
                           BinaryStatus status) {
  protocol::BinaryResponseHeader header;
  header.opcode = request.opcode;
  header.key_length = static_cast<uint16_t>(key.size());
  header.extras_length = static_cast<uint8_t>(extras.size());
  header.status = status;
  header.body_length = static_cast<uint32_t>(extras.size() + key.size() + body.size());
  header.opaque = request.opaque;
  header.cas = cas;
  const std::size_t size = kBinaryHeaderSize + header.body_length;
  char* at = out.reserve(size);
  protocol::encode_binary_response_header(
      header, std::span<char, kBinaryHeaderSize>(at, kBinaryHeaderSize));
  char* p = at + kBinaryHeaderSize;
  for (std::string_view part : {extras, key, body}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  out.commit(size);
}

void BinaryExecutor::reply_error(const BinaryHeader& header, BinaryStatus status, OutputQueue& out,
                                 std::string_view text) {
  char* at = out.reserve(protocol::kMaxBinaryErrorSize);
  out.commit(protocol::compose_binary_error(
      std::span<char, protocol::kMaxBinaryErrorSize>(at, protocol::kMaxBinaryErrorSize),
      header.opcode, header.opaque, status, text));
}

void BinaryExecutor::reply_too_large(const BinaryRequest& request, OutputQueue& out) {
  stats_.store_too_large.add();
  if (prefixes_ != nullptr) prefixes_->record_set(request.key);
  if (protocol::loud_form(static_cast<BinaryOpcode>(request.header.opcode)) == BinaryOpcode::kSet) {
    cache_.remove(request.key);
  }
  reply_error(request.header, BinaryStatus::kTooLarge, out);
}

bool BinaryExecutor::may_run(BinaryOpcode opcode) const {
  switch (opcode) {
    case BinaryOpcode::kSaslListMechs:
    case BinaryOpcode::kSaslAuth:
    case BinaryOpcode::kSaslStep:
    case BinaryOpcode::kVersion:
      return true;
    default:
      return authenticated_;
  }
}

ExecuteOutcome BinaryExecutor::execute(const BinaryRequest& request, std::string_view value,
                                       OutputQueue& out) {
  const auto opcode = static_cast<BinaryOpcode>(request.header.opcode);
  const BinaryOpcode op = protocol::loud_form(opcode);
  switch (op) {
    case BinaryOpcode::kGet:
    case BinaryOpcode::kGetK:
    case BinaryOpcode::kGat:
    case BinaryOpcode::kGatK:
    case BinaryOpcode::kTouch:
      retrieve(request, op, out);
      break;
    case BinaryOpcode::kSet:
    case BinaryOpcode::kAdd:
    case BinaryOpcode::kReplace:
    case BinaryOpcode::kAppend:
    case BinaryOpcode::kPrepend:
      store(request, op, value, out);
      break;
    case BinaryOpcode::kIncrement:
    case BinaryOpcode::kDecrement:
      arithmetic(request, op, out);
      break;
    case BinaryOpcode::kDelete:
      remove(request, out);
      break;
    case BinaryOpcode::kFlush:
      flush(request, out);
      break;
    case BinaryOpcode::kNoop:
      reply(request.header, out, 0);
      break;
    case BinaryOpcode::kVersion:
      reply(request.header, out, 0, {}, {}, kMemcachedVersion);
      break;
    case BinaryOpcode::kQuit:
      if (!protocol::is_quiet(opcode)) reply(request.header, out, 0);
      return ExecuteOutcome::kCloseAfterWrite;
    case BinaryOpcode::kStat:
      stats(request, out);
      break;
    case BinaryOpcode::kSaslListMechs:
    case BinaryOpcode::kSaslAuth:
    case BinaryOpcode::kSaslStep:
      sasl(request, op, value, out);
      break;
    default:
      // check_binary_request() turns every other opcode away before execution.
      reply_error(request.header, BinaryStatus::kUnknownCommand, out);
      break;
  }
  return ExecuteOutcome::kContinue;
}

void BinaryExecutor::retrieve(const BinaryRequest& request, BinaryOpcode op, OutputQueue& out) {
  const bool touch =
      op == BinaryOpcode::kTouch || op == BinaryOpcode::kGat || op == BinaryOpcode::kGatK;
  const bool with_key = op == BinaryOpcode::kGetK || op == BinaryOpcode::kGatK;
  const bool quiet = protocol::is_quiet(static_cast<BinaryOpcode>(request.header.opcode));
  slab::ItemRef item;
  if (touch) {
    stats_.touch_cmds.add();
    item = cache_.get_and_touch(request.key, load_be32(request.extras, 0));
    (item ? stats_.touch_hits : stats_.touch_misses).add();
  } else {
    stats_.get_cmds.add();
    item = cache_.get(request.key);
    (item ? stats_.get_hits : stats_.get_misses).add();
  }
  // memcached counts binary touch and gat as gets of the prefix too.
  if (prefixes_ != nullptr) prefixes_->record_get(request.key, static_cast<bool>(item));
  if (!item) {
    if (quiet) return;
    if (with_key) {
      reply(request.header, out, 0, {}, request.key, {}, BinaryStatus::kKeyNotFound);
    } else {
      reply_error(request.header, BinaryStatus::kKeyNotFound, out);
    }
    return;
  }
  char flags[4];
  protocol::store_be32(flags, item.flags());
  const std::string_view key = with_key ? request.key : std::string_view{};
  if (op == BinaryOpcode::kTouch) {
    reply(request.header, out, item.cas(), std::string_view(flags, 4));
    return;
  }
  protocol::BinaryResponseHeader header;
  header.opcode = request.header.opcode;
  header.key_length = static_cast<uint16_t>(key.size());
  header.extras_length = 4;
  header.body_length = static_cast<uint32_t>(4 + key.size() + item.value_size());
  header.opaque = request.header.opaque;
  header.cas = item.cas();
  const std::size_t head = kBinaryHeaderSize + 4 + key.size();
  char* at = out.reserve(head);
  protocol::encode_binary_response_header(
      header, std::span<char, kBinaryHeaderSize>(at, kBinaryHeaderSize));
  std::memcpy(at + kBinaryHeaderSize, flags, 4);
  if (!key.empty()) std::memcpy(at + kBinaryHeaderSize + 4, key.data(), key.size());
  out.commit(head);
  out.append_value(std::move(item));
}

void BinaryExecutor::store(const BinaryRequest& request, BinaryOpcode op, std::string_view value,
                           OutputQueue& out) {
  stats_.set_cmds.add();
  if (prefixes_ != nullptr) prefixes_->record_set(request.key);
  const uint64_t cas_in = request.header.cas;
  const bool concat = op == BinaryOpcode::kAppend || op == BinaryOpcode::kPrepend;
  uint32_t flags = 0;
  int64_t exptime = 0;
  if (!concat) {
    flags = load_be32(request.extras, 0);
    exptime = load_be32(request.extras, 4);
  }
  // memcached: a non-zero CAS turns set/add/replace into a compare-and-swap.
  slab::StoreMode mode = slab::StoreMode::kSet;
  switch (op) {
    case BinaryOpcode::kAdd:
      mode = slab::StoreMode::kAdd;
      break;
    case BinaryOpcode::kReplace:
      mode = slab::StoreMode::kReplace;
      break;
    case BinaryOpcode::kAppend:
      mode = slab::StoreMode::kAppend;
      break;
    case BinaryOpcode::kPrepend:
      mode = slab::StoreMode::kPrepend;
      break;
    default:
      break;
  }
  if (!concat && cas_in != 0) mode = slab::StoreMode::kCas;
  uint64_t cas_out = 0;
  const slab::StoreResult result =
      cache_.store(mode, request.key, flags, exptime, value, cas_in, &cas_out);
  BinaryStatus status = BinaryStatus::kSuccess;
  std::string_view text;
  switch (result) {
    case slab::StoreResult::kStored:
      if (mode == slab::StoreMode::kCas) stats_.cas_hits.add();
      if (!protocol::is_quiet(static_cast<BinaryOpcode>(request.header.opcode))) {
        reply(request.header, out, cas_out);
      }
      return;
    case slab::StoreResult::kExists:
      if (mode == slab::StoreMode::kCas) stats_.cas_badval.add();
      status = BinaryStatus::kKeyExists;
      break;
    case slab::StoreResult::kNotFound:
      stats_.cas_misses.add();
      status = BinaryStatus::kKeyNotFound;
      break;
    case slab::StoreResult::kTooLarge:
      stats_.store_too_large.add();
      status = BinaryStatus::kTooLarge;
      break;
    case slab::StoreResult::kNoMemory:
      stats_.store_no_memory.add();
      status = BinaryStatus::kOutOfMemory;
      text = protocol::kNoMemoryForItem;
      break;
    case slab::StoreResult::kNotStored:
      status = op == BinaryOpcode::kAdd       ? BinaryStatus::kKeyExists
               : op == BinaryOpcode::kReplace ? BinaryStatus::kKeyNotFound
                                              : BinaryStatus::kNotStored;
      break;
  }
  reply_error(request.header, status, out, text);
}

void BinaryExecutor::arithmetic(const BinaryRequest& request, BinaryOpcode op, OutputQueue& out) {
  const bool increment = op == BinaryOpcode::kIncrement;
  const bool quiet = protocol::is_quiet(static_cast<BinaryOpcode>(request.header.opcode));
  const uint64_t delta = load_be64(request.extras, 0);
  const uint64_t initial = load_be64(request.extras, 8);
  const uint32_t expiration = load_be32(request.extras, 16);
  bool cas_mismatch = false;
  uint64_t cas_out = 0;
  slab::DeltaResult result = cache_.delta_if_cas(request.key, increment, delta, request.header.cas,
                                                 &cas_mismatch, &cas_out);
  if (cas_mismatch) {
    reply_error(request.header, BinaryStatus::kKeyExists, out);
    return;
  }
  uint64_t value = result.value;
  switch (result.status) {
    case slab::DeltaStatus::kOk:
      (increment ? stats_.incr_hits : stats_.decr_hits).add();
      break;
    case slab::DeltaStatus::kNonNumeric:
      reply_error(request.header, BinaryStatus::kDeltaBadValue, out);
      return;
    case slab::DeltaStatus::kNoMemory:
      reply_error(request.header, BinaryStatus::kOutOfMemory, out, protocol::kNoMemoryForIncrement);
      return;
    case slab::DeltaStatus::kNotFound: {
      if (expiration == kNoAutoCreate) {
        (increment ? stats_.incr_misses : stats_.decr_misses).add();
        reply_error(request.header, BinaryStatus::kKeyNotFound, out);
        return;
      }
      // Create with the initial value, as memcached does: an add, so a racing creator wins.
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, initial).ptr;
      const slab::StoreResult stored = cache_.store(
          slab::StoreMode::kAdd, request.key, 0, expiration,
          std::string_view(digits, static_cast<std::size_t>(end - digits)), 0, &cas_out);
      if (stored == slab::StoreResult::kNoMemory || stored == slab::StoreResult::kTooLarge) {
        reply_error(request.header, BinaryStatus::kOutOfMemory, out, protocol::kNoMemoryForNewItem);
        return;
      }
      if (stored != slab::StoreResult::kStored) {
        reply_error(request.header, BinaryStatus::kNotStored, out);
        return;
      }
      value = initial;
      break;
    }
  }
  if (quiet) return;
  char body[8];
  protocol::store_be64(body, value);
  reply(request.header, out, cas_out, {}, {}, std::string_view(body, 8));
}

void BinaryExecutor::remove(const BinaryRequest& request, OutputQueue& out) {
  if (prefixes_ != nullptr) prefixes_->record_delete(request.key);
  switch (cache_.remove_if_cas(request.key, request.header.cas)) {
    case slab::RemoveResult::kRemoved:
      stats_.delete_hits.add();
      if (!protocol::is_quiet(static_cast<BinaryOpcode>(request.header.opcode))) {
        reply(request.header, out, 0);
      }
      break;
    case slab::RemoveResult::kCasMismatch:
      reply_error(request.header, BinaryStatus::kKeyExists, out);
      break;
    case slab::RemoveResult::kNotFound:
      stats_.delete_misses.add();
      reply_error(request.header, BinaryStatus::kKeyNotFound, out);
      break;
  }
}

void BinaryExecutor::flush(const BinaryRequest& request, OutputQueue& out) {
  if (!settings_.flush_enabled) {
    // memcached answers a disabled flush with AUTH_ERROR, quiet or not.
    reply_error(request.header, BinaryStatus::kAuthError, out);
    return;
  }
  const int64_t delay = request.extras.size() == 4 ? load_be32(request.extras, 0) : 0;
  stats_.flush_cmds.add();
  cache_.flush_all(delay);
  if (!protocol::is_quiet(static_cast<BinaryOpcode>(request.header.opcode))) {
    reply(request.header, out, 0);
  }
}

void BinaryExecutor::stats(const BinaryRequest& request, OutputQueue& out) {
  // The text protocol's stats code renders the lines; each "STAT name value" becomes one
  // packet. Stats are rare, so a scratch copy here costs nothing that matters.
  std::string_view group = request.key;
  std::string_view text_group;
  bool terminator_only = false;
  if (group.empty()) {
    text_group = {};
  } else if (group.starts_with("reset")) {
    control_.reset_stats();
    terminator_only = true;
  } else if (group.starts_with("settings")) {
    text_group = "settings";
  } else if (group == "detail" || group.starts_with("detail ")) {
    // As memcached: "detail" alone or "detail dump" sends the dump as one stat named
    // "detailed"; "detail on|off" switches it; any other word is not found.
    const std::string_view word = group.substr(6);
    if (prefixes_ != nullptr && (word.empty() || word.starts_with(" dump"))) {
      reply(request.header, out, 0, {}, "detailed", prefixes_->dump());
    } else if (prefixes_ != nullptr && (word.starts_with(" on") || word.starts_with(" off"))) {
      prefixes_->set_enabled(word.starts_with(" on"));
    } else {
      reply_error(request.header, BinaryStatus::kKeyNotFound, out);
      return;
    }
    terminator_only = true;
  } else if (group == "items" || group == "slabs" || group == "sizes") {
    text_group = group;
  } else {
    reply_error(request.header, BinaryStatus::kKeyNotFound, out);
    return;
  }
  if (!terminator_only) {
    OutputQueue scratch(buffers_);
    Executor text(settings_, cache_, stats_, control_);
    protocol::TextRequest stats_request;
    stats_request.command = protocol::TextCommand::kStats;
    stats_request.arguments = text_group;
    text.execute(stats_request, scratch);
    std::string lines;
    scratch.copy_pending(&lines);
    scratch.clear();
    std::string_view rest = lines;
    while (!rest.empty()) {
      const std::size_t eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
      if (!line.starts_with("STAT ")) continue;
      line.remove_prefix(5);
      const std::size_t space = line.find(' ');
      const std::string_view name = line.substr(0, space);
      const std::string_view value =
          space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
      reply(request.header, out, 0, {}, name, value);
    }
  }
  reply(request.header, out, 0);
}

void BinaryExecutor::sasl(const BinaryRequest& request, BinaryOpcode op, std::string_view value,
                          OutputQueue& out) {
  if (!sasl_) sasl_ = std::make_unique<SaslSession>();
  if (op == BinaryOpcode::kSaslListMechs) {
    std::string_view names;
    if (!sasl_->list_mechanisms(&names)) {
      reply_error(request.header, BinaryStatus::kAuthError, out);
      return;
    }
    reply(request.header, out, 0, {}, {}, names);
    return;
  }
  std::string_view challenge;
  const SaslOutcome outcome = op == BinaryOpcode::kSaslAuth
                                  ? sasl_->start(request.key, value, &challenge)
                                  : sasl_->step(value, &challenge);
  switch (outcome) {
    case SaslOutcome::kAuthenticated:
      authenticated_ = true;
      stats_.auth_cmds.add();
      reply(request.header, out, 0, {}, {}, "Authenticated");
      break;
    case SaslOutcome::kContinue:
      reply(request.header, out, 0, {}, {}, challenge, BinaryStatus::kAuthContinue);
      break;
    case SaslOutcome::kFailed:
      stats_.auth_cmds.add();
      stats_.auth_errors.add();
      reply_error(request.header, BinaryStatus::kAuthError, out);
      break;
  }
}

}  // namespace kioku::daemon
