// daemon/output_queue.cc — see output_queue.h.
#include "daemon/output_queue.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace kioku::daemon {
namespace {
}  // namespace

char* OutputQueue::reserve(std::size_t capacity) {
  if (bytes_.empty()) bytes_ = pools_.bytes.take();
  if (bytes_used_ + capacity > bytes_.size()) {
    pools_.bytes.grow(bytes_, std::max(bytes_.size() * 2, bytes_used_ + capacity));
  }
  return bytes_.data() + bytes_used_;
}

void OutputQueue::commit(std::size_t length) {
  if (length == 0) return;
  // Extend the last segment when it is the tail of bytes_: consecutive small replies then go
  // out as one iovec.
  if (segments_.size() > next_segment_) {
    Segment& last = segments_.back();
    if (last.data == nullptr && last.offset + last.length == bytes_used_) {
      last.length += length;
      bytes_used_ += length;
      pending_bytes_ += length;
      return;
    }
  }
  pools_.segments.lend(segments_);
  segments_.push_back(Segment{nullptr, bytes_used_, length});
  bytes_used_ += length;
  pending_bytes_ += length;
}

void OutputQueue::append(std::string_view bytes) {
  char* out = reserve(bytes.size());
  std::memcpy(out, bytes.data(), bytes.size());
  commit(bytes.size());
}

void OutputQueue::copy_pending(std::string* out) const {
  for (std::size_t i = next_segment_; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    const char* base = s.data != nullptr ? s.data : bytes_.data() + s.offset;
    const std::size_t skip = i == next_segment_ ? segment_offset_ : 0;
    out->append(base + skip, s.length - skip);
  }
}

void OutputQueue::append_value(slab::ItemRef item) {
  pools_.segments.lend(segments_);
  const slab::ValueSegments value = item.value_segments();
  if (value.contiguous()) {
    const std::string_view bytes = value.front();
    if (bytes.size() < kZeroCopyThreshold) {
      append(bytes);
      return;
    }
    segments_.push_back(Segment{bytes.data(), 0, bytes.size()});
  } else {
    // A chunked item: one segment per chunk, all kept alive by the one pin.
    for (const std::string_view bytes : value) {
      if (!bytes.empty()) segments_.push_back(Segment{bytes.data(), 0, bytes.size()});
    }
  }
  pending_bytes_ += value.size();
  pools_.pins.lend(pins_);
  pins_.push_back(std::move(item));
}

WriteStatus OutputQueue::write_to(int fd, std::span<iovec> iov, std::size_t* written,
                                  Transport* transport) {
  *written = 0;
  while (!empty()) {
    std::size_t count = 0;
    for (std::size_t i = next_segment_; i < segments_.size() && count < iov.size(); ++i) {
      const Segment& s = segments_[i];
      const char* base = s.data != nullptr ? s.data : bytes_.data() + s.offset;
      std::size_t skip = i == next_segment_ ? segment_offset_ : 0;
      iov[count].iov_base = const_cast<char*>(base + skip);
      iov[count].iov_len = s.length - skip;
      ++count;
    }
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    ssize_t n = transport != nullptr ? transport->writev(iov.data(), count)
                                     : ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteStatus::kWouldBlock;
      return WriteStatus::kError;
    }
    std::size_t left = static_cast<std::size_t>(n);
    *written += left;
    pending_bytes_ -= left;
    while (left > 0) {
      std::size_t rest = segments_[next_segment_].length - segment_offset_;
      if (left < rest) {
        segment_offset_ += left;
        left = 0;
      } else {
        left -= rest;
        ++next_segment_;
        segment_offset_ = 0;
      }
    }
  }
  reset_if_drained();
  return WriteStatus::kDone;
}

void OutputQueue::reset_if_drained() {
  if (!empty()) return;
  next_segment_ = 0;
  segment_offset_ = 0;
  bytes_used_ = 0;
  pending_bytes_ = 0;
  if (!bytes_.empty()) pools_.bytes.give(std::move(bytes_));
  pools_.segments.give(segments_);
  pools_.pins.give(pins_);
}

void OutputQueue::clear() {
  next_segment_ = segments_.size();
  reset_if_drained();
}

void OutputQueue::copy_to(std::string* text) const {
  for (std::size_t i = next_segment_; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const char* data = segment.data != nullptr ? segment.data : bytes_.data() + segment.offset;
    const std::size_t skip = i == next_segment_ ? segment_offset_ : 0;
    text->append(data + skip, segment.length - skip);
  }
}

}  // namespace kioku::daemon
