// protocol/text_composer.cc — memcached text protocol reply lines, formatted without allocating.
//
// Owns: error reply strings and the VALUE / number / STAT line formats. Must not: know about
// items, sockets or the cache; every function writes into a caller-provided span and checks its
// bounds.
#include "protocol/text_composer.h"

#include <charconv>
#include <cstring>

namespace kioku::protocol {
namespace {

// Appends into a fixed span; once anything does not fit, the writer is spoiled and reports 0.
class SpanWriter {
 public:
  explicit SpanWriter(std::span<char> out) : out_(out) {}

  void put(std::string_view s) {
    if (!ok_ || s.size() > out_.size() - pos_) {
      ok_ = false;
      return;
    }
    std::memcpy(out_.data() + pos_, s.data(), s.size());
    pos_ += s.size();
  }

  void put(uint64_t v) {
    if (!ok_) return;
    const auto [ptr, ec] = std::to_chars(out_.data() + pos_, out_.data() + out_.size(), v);
    if (ec != std::errc{}) {
      ok_ = false;
      return;
    }
    pos_ = static_cast<std::size_t>(ptr - out_.data());
  }

  std::size_t written() const { return ok_ ? pos_ : 0; }

 private:
  std::span<char> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string_view error_reply(TextError error) {
  switch (error) {
    case TextError::kNone:
    case TextError::kLineTooLong:
      return {};
    case TextError::kUnknownCommand:
      return kError;
    case TextError::kBadCommandLineFormat:
      return "CLIENT_ERROR bad command line format\r\n";
    case TextError::kBadDataChunk:
      return "CLIENT_ERROR bad data chunk\r\n";
    case TextError::kInvalidExptime:
      return "CLIENT_ERROR invalid exptime argument\r\n";
    case TextError::kInvalidDelta:
      return "CLIENT_ERROR invalid numeric delta argument\r\n";
    case TextError::kTooLarge:
      return kTooLarge;
    case TextError::kBadDeleteFormat:
      return "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
  }
  return {};
}

std::size_t compose_value_header(std::span<char, kMaxValueHeader> out, std::string_view key,
                                 uint32_t flags, uint32_t bytes, bool with_cas, uint64_t cas) {
  if (key.size() > kMaxKeyLength) return 0;
  SpanWriter w(out);
  w.put("VALUE ");
  w.put(key);
  w.put(" ");
  w.put(uint64_t{flags});
  w.put(" ");
  w.put(uint64_t{bytes});
  if (with_cas) {
    w.put(" ");
    w.put(cas);
  }
  w.put(kCrlf);
  return w.written();
}

std::size_t compose_number(std::span<char> out, uint64_t value) {
  SpanWriter w(out);
  w.put(value);
  w.put(kCrlf);
  return w.written();
}

std::size_t compose_stat(std::span<char> out, std::string_view name, std::string_view value) {
  SpanWriter w(out);
  w.put("STAT ");
  w.put(name);
  w.put(" ");
  w.put(value);
  w.put(kCrlf);
  return w.written();
}

std::size_t compose_stat(std::span<char> out, std::string_view name, uint64_t value) {
  SpanWriter w(out);
  w.put("STAT ");
  w.put(name);
  w.put(" ");
  w.put(value);
  w.put(kCrlf);
  return w.written();
}

}  // namespace kioku::protocol
