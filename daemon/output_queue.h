// daemon/output_queue.h — a connection's pending response bytes, written with one sendmsg.
//
// Owns: the response segments of one connection in order, the small bytes it composed, and the
// item pins that keep zero-copy values alive until the kernel has them. Must not: parse, touch
// the cache beyond holding ItemRefs, or allocate per request once warmed up (buffers keep their
// capacity between responses).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/buffer_pool.h"
#include "daemon/transport.h"
#include "slab/cache.h"

namespace kioku::daemon {

enum class WriteStatus : uint8_t { kDone, kWouldBlock, kError };

// One piece of a pending reply: composed bytes (data == nullptr: OutputQueue's buffer at
// offset) or a span of pinned item memory.
struct OutputSegment {
  const char* data;
  std::size_t offset;
  std::size_t length;
};

// A worker's spare memory for its connections' output queues; see VectorPool.
struct OutputPools {
  explicit OutputPools(BufferPool& bytes) : bytes(bytes) {}
  BufferPool& bytes;
  VectorPool<OutputSegment> segments;
  VectorPool<slab::ItemRef> pins;
};

class OutputQueue {
 public:
  // Values at least this long are sent from item memory; shorter ones are copied, which is
  // cheaper than an extra iovec and a pin.
  static constexpr std::size_t kZeroCopyThreshold = 256;

  explicit OutputQueue(OutputPools& pools) : pools_(pools) {}
  ~OutputQueue() { clear(); }  // the buffer goes back to the pool, which counts its size
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  void append(std::string_view bytes);
  // Appends a composed piece of at most `capacity` bytes: returns where to write it; commit()
  // with the length actually written.
  char* reserve(std::size_t capacity);
  void commit(std::size_t length);
  // Appends the item's value, referencing item memory when large enough to be worth it.
  void append_value(slab::ItemRef item);

  bool empty() const { return segments_.size() == next_segment_; }
  std::size_t pending_bytes() const { return pending_bytes_; }
  // Memory this queue holds for its pending replies: composed bytes and per-segment bookkeeping,
  // not the pinned values (those are cache memory). What the connection limits bound.
  std::size_t owned_bytes() const {
    return bytes_used_ + (segments_.size() - next_segment_) * sizeof(Segment) +
           pins_.size() * sizeof(slab::ItemRef);
  }

  // Writes as much as the socket takes; *written gets the byte count. `scratch` holds the
  // iovecs of one sendmsg (a worker-wide array: writes never interleave on one thread).
  // With a transport (TLS) the bytes go through it instead of sendmsg on `fd`.
  WriteStatus write_to(int fd, std::span<iovec> scratch, std::size_t* written,
                       Transport* transport = nullptr);
  // Appends a copy of every pending byte to *out (stats re-framing; not for hot paths).
  void copy_pending(std::string* out) const;
  // Drops everything (connection closing).
  void clear();
  // Appends the pending bytes to *text without consuming them (the metrics endpoint reads
  // "stats" output this way, so /metrics and stats cannot disagree).
  void copy_to(std::string* text) const;

 private:
  using Segment = OutputSegment;
  void reset_if_drained();

  OutputPools& pools_;
  std::vector<char> bytes_;  // borrowed from pools_ while non-empty, as are the two lists
  std::size_t bytes_used_ = 0;
  std::vector<Segment> segments_;
  std::vector<slab::ItemRef> pins_;
  std::size_t next_segment_ = 0;   // first segment not fully written
  std::size_t segment_offset_ = 0; // bytes of it already written
  std::size_t pending_bytes_ = 0;
};

}  // namespace kioku::daemon
