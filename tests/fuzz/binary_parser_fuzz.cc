// tests/fuzz/binary_parser_fuzz.cc — libFuzzer target for protocol/binary_parser.
//
// Feeds arbitrary bytes to frame_binary_request and check_binary_request as a stream of
// packets, moving on as daemon/connection_binary.cc does (past header, extras and key; past the
// value a storage or SASL command reads; past the bytes an unknown command skips; stopping where
// the daemon closes), with and without SASL. Checks: the parser reads only the bytes it was given
// (every parse runs on an exactly sized heap copy, so ASan sees an over-read); a frame's views
// and lengths agree with its header and lie in the buffer; a header whose body is shorter than
// extras plus key is refused, as memcached does; a complete frame parses identically when the
// buffer ends right after it (split invariance) and every shorter prefix needs more, asking for
// no more than the frame's size. Must not: touch anything outside protocol/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "protocol/binary_parser.h"

namespace {

using kioku::protocol::BinaryCheck;
using kioku::protocol::BinaryFrame;
using kioku::protocol::BinaryFrameStatus;
using kioku::protocol::BinaryHeader;
using kioku::protocol::BinaryOpcode;
using kioku::protocol::BinaryValidity;
using kioku::protocol::kBinaryHeaderSize;

void check(bool ok) {
  if (!ok) std::abort();
}

// An exactly sized heap copy of `from` (see the file comment).
struct ExactCopy {
  std::unique_ptr<char[]> bytes;
  std::string_view view;
  explicit ExactCopy(std::string_view from) : bytes(new char[from.size()]) {
    if (!from.empty()) std::memcpy(bytes.get(), from.data(), from.size());
    view = std::string_view(bytes.get(), from.size());
  }
};

uint64_t big_endian(std::string_view bytes, std::size_t at, std::size_t width) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

bool same_header(const BinaryHeader& a, const BinaryHeader& b) {
  return a.magic == b.magic && a.opcode == b.opcode && a.key_length == b.key_length &&
         a.extras_length == b.extras_length && a.data_type == b.data_type &&
         a.vbucket == b.vbucket && a.body_length == b.body_length && a.opaque == b.opaque &&
         a.cas == b.cas;
}

bool same_frame(const BinaryFrame& a, std::string_view a_buffer, const BinaryFrame& b,
                std::string_view b_buffer) {
  if (a.status != b.status) return false;
  if (a.status == BinaryFrameStatus::kNeedMore) return a.need == b.need;
  if (a.status == BinaryFrameStatus::kBadMagic) {
    return a.request.header.magic == b.request.header.magic;
  }
  return a.consumed == b.consumed && same_header(a.request.header, b.request.header) &&
         a.request.extras == b.request.extras && a.request.key == b.request.key &&
         a.request.extras.data() - a_buffer.data() == b.request.extras.data() - b_buffer.data() &&
         a.request.key.data() - a_buffer.data() == b.request.key.data() - b_buffer.data() &&
         a.request.value_length == b.request.value_length;
}

// Frames `pending` from an exact copy and checks what the frame promises.
BinaryFrame frame_checked(std::string_view pending) {
  const ExactCopy copy(pending);
  const std::string_view buffer = copy.view;
  BinaryFrame frame = kioku::protocol::frame_binary_request(buffer);
  if (buffer.size() < kBinaryHeaderSize) {
    check(frame.status == BinaryFrameStatus::kNeedMore && frame.need == kBinaryHeaderSize);
    return frame;
  }
  const BinaryHeader& h = frame.request.header;
  // The header decodes big-endian, field by field.
  check(h.magic == static_cast<unsigned char>(buffer[0]) &&
        h.opcode == static_cast<unsigned char>(buffer[1]) &&
        h.key_length == big_endian(buffer, 2, 2) &&
        h.extras_length == static_cast<unsigned char>(buffer[4]) &&
        h.data_type == static_cast<unsigned char>(buffer[5]) &&
        h.vbucket == big_endian(buffer, 6, 2) && h.body_length == big_endian(buffer, 8, 4) &&
        h.opaque == big_endian(buffer, 12, 4) && h.cas == big_endian(buffer, 16, 8));
  check(same_header(h, kioku::protocol::decode_binary_header(buffer)));
  if (h.magic != kioku::protocol::kBinaryRequestMagic) {
    check(frame.status == BinaryFrameStatus::kBadMagic);
    return frame;
  }
  const std::size_t head = kBinaryHeaderSize + h.extras_length + h.key_length;
  if (buffer.size() < head) {
    check(frame.status == BinaryFrameStatus::kNeedMore && frame.need == head);
    return frame;
  }
  // Extras and key are present: the frame covers exactly them.
  check(frame.status == BinaryFrameStatus::kReady ||
        frame.status == BinaryFrameStatus::kBodyTooShort);
  check(frame.consumed == head && frame.consumed <= buffer.size());
  check(frame.request.extras.size() == h.extras_length &&
        frame.request.extras.data() == buffer.data() + kBinaryHeaderSize);
  check(frame.request.key.size() == h.key_length &&
        frame.request.key.data() == buffer.data() + kBinaryHeaderSize + h.extras_length);
  const uint64_t ext_and_key = uint64_t{h.extras_length} + h.key_length;
  // memcached refuses a body shorter than extras plus key (UNKNOWN_COMMAND, then close).
  check((frame.status == BinaryFrameStatus::kBodyTooShort) == (ext_and_key > h.body_length));
  if (frame.status == BinaryFrameStatus::kReady) {
    check(uint64_t{frame.request.value_length} + ext_and_key == h.body_length);
  }

  // Split invariance: the frame alone parses the same; every shorter prefix needs more, and
  // never asks for more than the frame holds.
  const ExactCopy alone(buffer.substr(0, frame.consumed));
  check(same_frame(frame, buffer, kioku::protocol::frame_binary_request(alone.view), alone.view));
  for (const std::size_t cut : {std::size_t{0}, kBinaryHeaderSize - 1, kBinaryHeaderSize,
                                frame.consumed / 2, frame.consumed - 1}) {
    if (cut >= frame.consumed) continue;
    const ExactCopy prefix(buffer.substr(0, cut));
    const BinaryFrame early = kioku::protocol::frame_binary_request(prefix.view);
    check(early.status == BinaryFrameStatus::kNeedMore && early.need > cut &&
          early.need <= frame.consumed);
  }
  return frame;
}

bool leaves_body_unread(BinaryOpcode opcode) {
  switch (kioku::protocol::loud_form(opcode)) {
    case BinaryOpcode::kStat:
    case BinaryOpcode::kTouch:
    case BinaryOpcode::kGat:
    case BinaryOpcode::kGatK:
      return true;
    default:
      return false;
  }
}

// memcached's per-opcode rules, as far as they bound what the daemon then reads.
void check_validity(const BinaryFrame& frame, const BinaryCheck& c) {
  const BinaryHeader& h = frame.request.header;
  if (c.validity == BinaryValidity::kValid) {
    check(h.key_length <= kioku::protocol::kBinaryMaxKeyLength);
    // Only a request that reads a value may carry body bytes beyond extras and key, except
    // STAT, TOUCH and the GATs, whose extra bytes memcached reads as the next request.
    if (!c.reads_value && !leaves_body_unread(static_cast<BinaryOpcode>(h.opcode))) {
      check(frame.request.value_length == 0);
    }
  } else {
    check(!c.reads_value);
  }
  if (c.validity == BinaryValidity::kUnknownCommand) {
    check(c.skip_after_key <= h.body_length);
  } else {
    check(c.skip_after_key == 0);
  }
}

// Walks the stream as a daemon with or without -S would; returns when the daemon would wait or
// close.
void walk(std::string_view rest, bool sasl) {
  for (int guard = 0; guard < 10000 && !rest.empty(); ++guard) {
    const BinaryFrame frame = frame_checked(rest);
    if (frame.status != BinaryFrameStatus::kReady) return;  // needs more, or the daemon closes
    const BinaryCheck c = kioku::protocol::check_binary_request(frame.request, sasl);
    check_validity(frame, c);
    // Both SASL settings agree on everything that is not a SASL opcode.
    const BinaryCheck other = kioku::protocol::check_binary_request(frame.request, !sasl);
    if (frame.request.header.opcode < 0x20 || frame.request.header.opcode > 0x22) {
      check(other.validity == c.validity && other.reads_value == c.reads_value &&
            other.skip_after_key == c.skip_after_key);
    }
    uint64_t advance = frame.consumed;
    switch (c.validity) {
      case BinaryValidity::kInvalid:
        return;  // EINVAL, then close
      case BinaryValidity::kUnknownCommand:
        advance += c.skip_after_key;
        break;
      case BinaryValidity::kValid:
        if (c.reads_value) advance += frame.request.value_length;
        break;
    }
    if (advance > rest.size()) return;
    check(advance > 0);
    rest.remove_prefix(static_cast<std::size_t>(advance));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  walk(input, false);
  walk(input, true);
  return 0;
}
