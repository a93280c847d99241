// daemon/buffer_pool.h — a worker's free list of I/O buffers.
//
// An idle connection holds no buffer: it borrows one when bytes arrive or replies are composed
// and gives it back once drained, so thousands of idle connections cost almost nothing and the
// busy ones reuse warm memory instead of allocating per request. Single-threaded: each worker
// owns one pool and only its connections use it.
#pragma once

#include <cstddef>
#include <vector>

namespace kioku::daemon {

class BufferPool {
 public:
  static constexpr std::size_t kBufferSize = 16 * 1024;
  // Beyond this many spare buffers a worker frees them (bounded after a burst of connections).
  static constexpr std::size_t kMaxSpare = 256;

  std::vector<char> take() {
    if (free_.empty()) return std::vector<char>(kBufferSize);
    std::vector<char> buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }

  // Buffers that grew for one large request are freed rather than kept.
  void give(std::vector<char>&& buffer) {
    if (buffer.size() == kBufferSize && free_.size() < kMaxSpare) {
      free_.push_back(std::move(buffer));
    }
    buffer = std::vector<char>();
  }

 private:
  std::vector<std::vector<char>> free_;
};

}  // namespace kioku::daemon
