// client/binary_codec.cc — see binary_codec.h.
#include "client/binary_codec.h"

#include <cstring>

#include "protocol/binary_parser.h"

namespace kioku::client {
namespace {

using protocol::BinaryOpcode;
using protocol::BinaryStatus;
using protocol::kBinaryHeaderSize;

constexpr std::size_t kSetExtras = 8;  // flags, expiration

// Header field offsets (the same in requests and responses; byte 6 is the vbucket in a request
// and the status in a response).
constexpr std::size_t kOpcodeAt = 1;
constexpr std::size_t kKeyLengthAt = 2;
constexpr std::size_t kExtrasLengthAt = 4;
constexpr std::size_t kStatusAt = 6;
constexpr std::size_t kBodyLengthAt = 8;
constexpr std::size_t kOpaqueAt = 12;

void store16(char* at, uint16_t v) {
  at[0] = static_cast<char>(v >> 8);
  at[1] = static_cast<char>(v);
}
void store32(char* at, uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(v >> (24 - 8 * i));
}
uint16_t load16(const char* at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(at[0]) << 8 | static_cast<uint8_t>(at[1]));
}
uint32_t load32(const char* at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(at[i]);
  return v;
}

// Writes a request header, extras of `extras` zero bytes, `key` and `value`; 0 if it does not fit.
std::size_t compose(std::span<char> out, BinaryOpcode opcode, std::size_t extras,
                    std::string_view key, std::string_view value, uint32_t opaque) {
  const std::size_t body = extras + key.size() + value.size();
  if (key.size() > UINT16_MAX || body > UINT32_MAX || out.size() < kBinaryHeaderSize + body) {
    return 0;
  }
  char* p = out.data();
  std::memset(p, 0, kBinaryHeaderSize + extras);
  p[0] = static_cast<char>(protocol::kBinaryRequestMagic);
  p[kOpcodeAt] = static_cast<char>(opcode);
  store16(p + kKeyLengthAt, static_cast<uint16_t>(key.size()));
  p[kExtrasLengthAt] = static_cast<char>(extras);
  store32(p + kBodyLengthAt, static_cast<uint32_t>(body));
  store32(p + kOpaqueAt, opaque);
  p += kBinaryHeaderSize + extras;  // extras stay zero: flags 0, no expiry
  // A VERSION has no key and a GET no value: their views may be null, which memcpy must not get.
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + key.size(), value.data(), value.size());
  return kBinaryHeaderSize + body;
}

BinaryOpcode opcode_of(OpType op) {
  switch (op) {
    case OpType::kGet:
      return BinaryOpcode::kGet;
    case OpType::kSet:
      return BinaryOpcode::kSet;
    case OpType::kVersion:
      break;
  }
  return BinaryOpcode::kVersion;
}

Reply protocol_error() { return Reply{ReplyStatus::kProtocolError, 0, ReplyKind::kError, 0}; }

ReplyKind failure_kind(uint16_t status, OpType op) {
  switch (static_cast<BinaryStatus>(status)) {
    case BinaryStatus::kKeyNotFound:
      return op == OpType::kGet ? ReplyKind::kMiss : ReplyKind::kNotFound;
    case BinaryStatus::kKeyExists:
      return ReplyKind::kExists;
    case BinaryStatus::kNotStored:
      return ReplyKind::kNotStored;
    case BinaryStatus::kUnknownCommand:
      return ReplyKind::kError;
    case BinaryStatus::kTooLarge:
    case BinaryStatus::kInvalidArguments:
      return ReplyKind::kClientError;
    default:
      return ReplyKind::kServerError;
  }
}

}  // namespace

Reply parse_binary_reply(std::string_view in, OpType op, uint32_t opaque) noexcept {
  // Reject a wrong magic or opcode as soon as it is visible rather than waiting for a header.
  if (!in.empty() && static_cast<uint8_t>(in[0]) != protocol::kBinaryResponseMagic) {
    return protocol_error();
  }
  if (in.size() > kOpcodeAt &&
      static_cast<uint8_t>(in[kOpcodeAt]) != static_cast<uint8_t>(opcode_of(op))) {
    return protocol_error();
  }
  if (in.size() < kBinaryHeaderSize) return Reply{};
  const uint16_t key_length = load16(in.data() + kKeyLengthAt);
  const uint8_t extras_length = static_cast<uint8_t>(in[kExtrasLengthAt]);
  const uint16_t status = load16(in.data() + kStatusAt);
  const uint32_t body = load32(in.data() + kBodyLengthAt);
  if (load32(in.data() + kOpaqueAt) != opaque || std::size_t{key_length} + extras_length > body) {
    return protocol_error();
  }
  const std::size_t total = kBinaryHeaderSize + std::size_t{body};
  if (in.size() < total) return Reply{};
  if (status != static_cast<uint16_t>(BinaryStatus::kSuccess)) {
    return Reply{ReplyStatus::kReply, total, failure_kind(status, op), 0};
  }
  switch (op) {
    case OpType::kGet:
      return Reply{ReplyStatus::kReply, total, ReplyKind::kHit, 1};
    case OpType::kSet:
      return Reply{ReplyStatus::kReply, total, ReplyKind::kStored, 0};
    case OpType::kVersion:
      break;
  }
  return Reply{ReplyStatus::kReply, total, ReplyKind::kVersion, 0};
}

std::size_t compose_binary_get(std::span<char> out, std::string_view key,
                               uint32_t opaque) noexcept {
  return compose(out, BinaryOpcode::kGet, 0, key, {}, opaque);
}

std::size_t compose_binary_set(std::span<char> out, std::string_view key, std::string_view value,
                               uint32_t opaque) noexcept {
  return compose(out, BinaryOpcode::kSet, kSetExtras, key, value, opaque);
}

std::size_t compose_binary_version(std::span<char> out, uint32_t opaque) noexcept {
  return compose(out, BinaryOpcode::kVersion, 0, {}, {}, opaque);
}

// The header, SET's 8 bytes of extras, rounded up.
std::size_t BinaryCodec::request_overhead() const noexcept { return 64; }
// The header, GET's 4 bytes of flags, rounded up (a miss's "Not found" body fits too).
std::size_t BinaryCodec::reply_overhead() const noexcept { return 64; }

}  // namespace kioku::client
