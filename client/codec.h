// client/codec.h — the wire protocol seen from the load generator's side.
//
// Owns: the interface a protocol implements for kioku-bench (compose a get or a set into a
// caller-provided buffer, parse exactly one reply from the front of a byte buffer) and the reply
// vocabulary. Must not: do I/O, allocate per request, or keep state between calls: the bench
// loop owns the buffers, the codec only reads and writes bytes in them. Only the text protocol
// exists today; meta and binary slot in as further Codec implementations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace kioku::client {

enum class Protocol : uint8_t { kText };

enum class OpType : uint8_t { kGet, kSet };
inline constexpr std::size_t kOpTypeCount = 2;

enum class ReplyStatus : uint8_t {
  kNeedMore,       // no complete reply yet; nothing consumed
  kReply,          // `consumed` bytes form one reply of kind `kind`
  kProtocolError,  // the bytes cannot be a reply to this request: the connection is unusable
};

enum class ReplyKind : uint8_t {
  kHit,   // get: at least one VALUE, then END
  kMiss,  // get: END alone
  kStored,
  kNotStored,
  kExists,
  kNotFound,
  kError,        // "ERROR"
  kClientError,  // "CLIENT_ERROR ..."
  kServerError,  // "SERVER_ERROR ..."
};

inline constexpr bool is_error_reply(ReplyKind kind) {
  return kind == ReplyKind::kError || kind == ReplyKind::kClientError ||
         kind == ReplyKind::kServerError;
}

struct Reply {
  ReplyStatus status = ReplyStatus::kNeedMore;
  std::size_t consumed = 0;
  ReplyKind kind = ReplyKind::kMiss;
  uint32_t values = 0;  // get: number of VALUE blocks
};

class Codec {
 public:
  virtual ~Codec() = default;
  // Bytes a request adds on top of its key and value; buffers are sized from it.
  virtual std::size_t request_overhead() const noexcept = 0;
  // Bytes a reply adds on top of its key and value.
  virtual std::size_t reply_overhead() const noexcept = 0;
  // Write one request at the start of `out`; return its length, or 0 if it does not fit.
  virtual std::size_t compose_get(std::span<char> out, std::string_view key) const noexcept = 0;
  virtual std::size_t compose_set(std::span<char> out, std::string_view key,
                                  std::string_view value) const noexcept = 0;
  // Parse the reply to a request of type `op` from the front of `in`.
  virtual Reply parse_reply(std::string_view in, OpType op) const noexcept = 0;
};

std::unique_ptr<Codec> make_codec(Protocol protocol);

}  // namespace kioku::client
