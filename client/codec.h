// client/codec.h — the wire protocol seen from the load generator's side.
//
// Owns: the interface a protocol implements for kioku-bench (compose a get or a set into a
// caller-provided buffer, parse exactly one reply from the front of a byte buffer) and the reply
// vocabulary. Must not: do I/O, allocate per request, or keep state between calls: the bench
// loop owns the buffers, the codec only reads and writes bytes in them. Three implementations:
// text (text_codec.h), meta (meta_bench_codec.h) and binary (binary_codec.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace kioku::client {

enum class Protocol : uint8_t { kText, kMeta, kBinary };

// "text", "meta" or "binary": the --protocol spelling, also used in reports.
std::string_view protocol_name(Protocol protocol) noexcept;

// kVersion is never measured: it only confirms that the server has accepted an idle connection.
enum class OpType : uint8_t { kGet, kSet, kVersion };
// The measured operation types (get and set), the size of per-op tallies.
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
  kVersion,      // version: the server's version reply
};

inline constexpr bool is_error_reply(ReplyKind kind) {
  return kind == ReplyKind::kError || kind == ReplyKind::kClientError ||
         kind == ReplyKind::kServerError;
}

struct Reply {
  ReplyStatus status = ReplyStatus::kNeedMore;
  std::size_t consumed = 0;
  ReplyKind kind = ReplyKind::kMiss;
  uint32_t values = 0;  // get: number of values returned
};

class Codec {
 public:
  virtual ~Codec() = default;
  // Bytes a request adds on top of its key and value; buffers are sized from it.
  virtual std::size_t request_overhead() const noexcept = 0;
  // Bytes a reply adds on top of its key and value.
  virtual std::size_t reply_overhead() const noexcept = 0;
  // Write one request at the start of `out`; return its length, or 0 if it does not fit.
  // `opaque` is the request's number on its connection: a protocol that echoes one (binary)
  // sends it, so parse_reply can check that replies pair with requests; the others ignore it.
  virtual std::size_t compose_get(std::span<char> out, std::string_view key,
                                  uint32_t opaque) const noexcept = 0;
  virtual std::size_t compose_set(std::span<char> out, std::string_view key, std::string_view value,
                                  uint32_t opaque) const noexcept = 0;
  virtual std::size_t compose_version(std::span<char> out, uint32_t opaque) const noexcept = 0;
  // Parse the reply to the request of type `op` sent with `opaque` from the front of `in`.
  virtual Reply parse_reply(std::string_view in, OpType op, uint32_t opaque) const noexcept = 0;
};

std::unique_ptr<Codec> make_codec(Protocol protocol);

}  // namespace kioku::client
