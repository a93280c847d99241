// protocol/binary_parser.h — the memcached binary protocol, request side: bytes in, a framed
// BinaryRequest out, plus memcached 1.6.18's per-opcode validity rules.
//
// Owns: the 24-byte request header (big-endian on the wire, host order in BinaryHeader), the
// opcode and status numbers, framing a request up to the end of its key, and deciding which
// malformed requests memcached answers with EINVAL (and closes), UNKNOWN_COMMAND (and skips),
// or drops silently. Must not: do I/O, touch the cache, allocate, or keep state between calls.
// Views in a BinaryRequest point into the caller's buffer.
//
// Framing stops after the key, as memcached's does: the value of a storage command is read
// afterwards (the daemon decides whether it is stored, refused as too large, or skipped), so a
// request split at any byte parses the same as one delivered whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kioku::protocol {

inline constexpr uint8_t kBinaryRequestMagic = 0x80;
inline constexpr uint8_t kBinaryResponseMagic = 0x81;
inline constexpr std::size_t kBinaryHeaderSize = 24;
// memcached keeps 8-bit key lengths internally; a longer binary key is a protocol error.
inline constexpr std::size_t kBinaryMaxKeyLength = 250;
// The longest SASL mechanism name memcached accepts.
inline constexpr std::size_t kSaslMaxMechanismLength = 32;

enum class BinaryOpcode : uint8_t {
  kGet = 0x00,
  kSet = 0x01,
  kAdd = 0x02,
  kReplace = 0x03,
  kDelete = 0x04,
  kIncrement = 0x05,
  kDecrement = 0x06,
  kQuit = 0x07,
  kFlush = 0x08,
  kGetQ = 0x09,
  kNoop = 0x0a,
  kVersion = 0x0b,
  kGetK = 0x0c,
  kGetKQ = 0x0d,
  kAppend = 0x0e,
  kPrepend = 0x0f,
  kStat = 0x10,
  kSetQ = 0x11,
  kAddQ = 0x12,
  kReplaceQ = 0x13,
  kDeleteQ = 0x14,
  kIncrementQ = 0x15,
  kDecrementQ = 0x16,
  kQuitQ = 0x17,
  kFlushQ = 0x18,
  kAppendQ = 0x19,
  kPrependQ = 0x1a,
  kVerbosity = 0x1b,
  kTouch = 0x1c,
  kGat = 0x1d,
  kGatQ = 0x1e,
  kSaslListMechs = 0x20,
  kSaslAuth = 0x21,
  kSaslStep = 0x22,
  kGatK = 0x23,
  kGatKQ = 0x24,
};

enum class BinaryStatus : uint16_t {
  kSuccess = 0x0000,
  kKeyNotFound = 0x0001,
  kKeyExists = 0x0002,
  kTooLarge = 0x0003,
  kInvalidArguments = 0x0004,
  kNotStored = 0x0005,
  kDeltaBadValue = 0x0006,
  kAuthError = 0x0020,
  kAuthContinue = 0x0021,
  kUnknownCommand = 0x0081,
  kOutOfMemory = 0x0082,
};

// A request header in host byte order.
struct BinaryHeader {
  uint8_t magic = 0;
  uint8_t opcode = 0;
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  uint8_t data_type = 0;
  uint16_t vbucket = 0;
  uint32_t body_length = 0;
  uint32_t opaque = 0;  // copied through as raw bytes: echoed, never interpreted
  uint64_t cas = 0;
};

// Decodes the first kBinaryHeaderSize bytes of `bytes` (which must hold at least that many).
BinaryHeader decode_binary_header(std::string_view bytes);

enum class BinaryFrameStatus : uint8_t {
  kNeedMore,      // `need` bytes must be buffered before trying again
  kBadMagic,      // not a request: memcached closes without a word
  kBodyTooShort,  // key or key+extras longer than the body: UNKNOWN_COMMAND, then close
  kReady,
};

struct BinaryRequest {
  BinaryHeader header;
  std::string_view extras;
  std::string_view key;
  // Body bytes after extras and key. For storage and SASL commands this is the value; others
  // either have none or (memcached's rules) leave them to be read as the next request.
  uint32_t value_length = 0;
};

struct BinaryFrame {
  BinaryFrameStatus status = BinaryFrameStatus::kNeedMore;
  std::size_t need = kBinaryHeaderSize;  // kNeedMore: bytes wanted in total
  std::size_t consumed = 0;              // kReady: header + extras + key
  BinaryRequest request;
};

// Frames one request at the start of `pending`, up to the end of its key.
BinaryFrame frame_binary_request(std::string_view pending);

// What memcached does with a framed request once the body-length check passed.
enum class BinaryValidity : uint8_t {
  kValid,
  kInvalid,         // EINVAL, then close (bad extras/key/body shape for the opcode, key > 250)
  kUnknownCommand,  // UNKNOWN_COMMAND, then skip `skip_after_key` bytes
};

struct BinaryCheck {
  BinaryValidity validity = BinaryValidity::kValid;
  // kUnknownCommand: how many bytes after the key memcached discards. For an unknown opcode it
  // is the whole body length again (memcached's own arithmetic), so extras and key count twice.
  uint64_t skip_after_key = 0;
  // kValid: whether the value bytes belong to this request (storage and SASL commands).
  bool reads_value = false;
};

// `sasl_enabled`: without -S the SASL opcodes are unknown commands, as in memcached.
BinaryCheck check_binary_request(const BinaryRequest& request, bool sasl_enabled);

// The quiet forms: success is silent (a GETQ/GETKQ/GATQ/GATKQ miss too); errors still answer.
bool is_quiet(BinaryOpcode opcode);
// The loud opcode a quiet one stands for (kGetQ -> kGet ...); others map to themselves.
BinaryOpcode loud_form(BinaryOpcode opcode);

}  // namespace kioku::protocol
