// daemon/connection_ascii_auth.cc — memcached's -Y ascii authentication, the Connection's
// framing before a text connection has authenticated (declared in connection.h).
//
// Owns: the one command an unauthenticated -Y connection may send, "set <key> <flags> <exptime>
// <bytes>\r\n<user> <password>\r\n" (key, flags and exptime ignored), and memcached 1.6.18's
// replies to everything else. Must not: run any other command; once authenticated the
// connection becomes an ordinary text connection.
//
// Differences from memcached, on purpose: memcached answers only one request per read while
// unauthenticated (a pipelined second command waits for more bytes to arrive); Kioku answers
// every buffered request in order. An announced data length over -I closes the connection
// instead of waiting for gigabytes.
#include <charconv>
#include <ctime>

#include "daemon/connection.h"
#include "daemon/server.h"
#include "daemon/worker.h"
#include "protocol/text_parser.h"

namespace kioku::daemon {

namespace {

constexpr std::string_view kUnauthenticated = "CLIENT_ERROR unauthenticated\r\n";
constexpr std::string_view kBadTermination = "CLIENT_ERROR bad command line termination\r\n";
constexpr std::string_view kBadTokenFormat = "CLIENT_ERROR bad authentication token format\r\n";
constexpr std::string_view kAuthFailure = "CLIENT_ERROR authentication failure\r\n";
constexpr std::string_view kStored = "STORED\r\n";

// Splits on spaces, skipping empty tokens (memcached's tokenizer); returns how many it found,
// filling at most `max`.
std::size_t split_words(std::string_view text, std::string_view* words, std::size_t max) {
  std::size_t count = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    if (at == text.size()) break;
    std::size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    if (count < max) words[count] = text.substr(at, end - at);
    ++count;
    at = end;
  }
  return count;
}

bool parse_u32(std::string_view text, uint32_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

bool Connection::process_ascii_auth_input() {
  const Settings& settings = worker_.server().settings();
  while (input_start_ < input_end_) {
    std::string_view pending(input_.data() + input_start_, input_end_ - input_start_);
    if (pending.size() < 2) return false;  // memcached waits for two bytes before looking
    const std::size_t newline = pending.find('\n');
    if (newline == std::string_view::npos) {
      if (pending.size() > protocol::kMaxLineWithoutNewline) state_ = State::kClosing;
      return false;
    }
    last_command_time_ = std::time(nullptr);
    std::string_view line = pending.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view words[5];
    uint32_t size = 0;
    if (split_words(line, words, 5) < 5 || words[0] != "set" || !parse_u32(words[4], &size)) {
      output_.append(kUnauthenticated);
      input_start_ += newline + 1;
      continue;
    }
    if (size > settings.item_size_max) {
      state_ = State::kClosing;
      return false;
    }
    const std::size_t total = newline + 1 + std::size_t{size} + 2;
    if (pending.size() < total) {
      need_bytes_ = total;
      ensure_input_capacity(total);
      return false;
    }
    need_bytes_ = 0;
    const std::string_view data = pending.substr(newline + 1, std::size_t{size} + 2);
    input_start_ += total;
    if (!data.ends_with("\r\n")) {
      output_.append(kBadTermination);
      continue;
    }
    std::string_view credentials[2];
    if (split_words(data.substr(0, size), credentials, 2) < 2) {
      output_.append(kBadTokenFormat);
      continue;
    }
    bool known = false;
    for (const AuthUser& entry : settings.auth_users) {
      if (entry.user == credentials[0] && entry.password == credentials[1]) known = true;
    }
    worker_.stats().auth_cmds.add();
    if (!known) {
      worker_.stats().auth_errors.add();
      output_.append(kAuthFailure);
      continue;
    }
    output_.append(kStored);
    framing_ = Framing::kText;
    return true;
  }
  return false;
}

}  // namespace kioku::daemon
