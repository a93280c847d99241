// daemon/buffer_pool.h — a worker's free list of I/O buffers.
//
// An idle connection holds no buffer: it borrows one when bytes arrive or replies are composed
// and gives it back once drained, so thousands of idle connections cost almost nothing and the
// busy ones reuse warm memory instead of allocating per request. Single-threaded: each worker
// owns one pool and only its connections use it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace kioku::daemon {

// Spare std::vectors of one element type, handed out with their capacity: a connection borrows
// one while it has something queued and gives it back empty, so an idle connection holds none
// and a busy one never allocates once warm. Single-threaded, like BufferPool.
template <typename T>
class VectorPool {
 public:
  static constexpr std::size_t kMaxSpare = 256;
  // Gives *vector spare capacity if it has none (it must be empty).
  void lend(std::vector<T>& vector) {
    if (vector.capacity() != 0 || free_.empty()) return;
    vector = std::move(free_.back());
    free_.pop_back();
  }
  // Takes *vector's storage back (its elements are destroyed first); leaves it without any.
  void give(std::vector<T>& vector) {
    vector.clear();
    if (vector.capacity() != 0 && vector.capacity() <= kMaxCapacity &&
        free_.size() < kMaxSpare) {
      free_.push_back(std::move(vector));
    }
    vector = std::vector<T>();
  }

 private:
  // Lists that grew for one huge reply are freed rather than kept.
  static constexpr std::size_t kMaxCapacity = 4096;
  std::vector<std::vector<T>> free_;
};

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
    if (buffer.size() > kBufferSize) {
      oversize_bytes_ -= std::min(oversize_bytes_, buffer.size() - kBufferSize);
    }
    if (buffer.size() == kBufferSize && free_.size() < kMaxSpare) {
      free_.push_back(std::move(buffer));
    }
    buffer = std::vector<char>();
  }

  // Grows a buffer taken from this pool; every growth goes through here so that the worker
  // knows how much memory its connections hold beyond the standard buffers (large values being
  // received, long get lines, big replies being composed): the connections bound it.
  void grow(std::vector<char>& buffer, std::size_t size) {
    const std::size_t before = std::max(buffer.size(), kBufferSize);
    if (size > before) oversize_bytes_ += size - before;
    buffer.resize(size);
  }
  std::size_t oversize_bytes() const { return oversize_bytes_; }

 private:
  std::vector<std::vector<char>> free_;
  std::size_t oversize_bytes_ = 0;
};

}  // namespace kioku::daemon
