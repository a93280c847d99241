// client/reply_reader.cc — see reply_reader.h.
#include "client/reply_reader.h"
#include "client/words.h"

#include <charconv>

namespace kioku::client {

namespace {

// Replies other than a value's data never carry lines longer than this.
constexpr std::size_t kMaxLine = 4096;

// Finds the next line at `at`: its text (without "\r\n") and where the following byte is.
bool line_at(std::string_view in, std::size_t at, std::string_view* line, std::size_t* next,
             bool* too_long) {
  const auto nl = in.find('\n', at);
  if (nl == std::string_view::npos) {
    *too_long = in.size() - at > kMaxLine;
    return false;
  }
  std::string_view l = in.substr(at, nl - at);
  if (l.ends_with('\r')) l.remove_suffix(1);
  *line = l;
  *next = nl + 1;
  return true;
}

}  // namespace

bool is_error_line(std::string_view line) {
  return line == "ERROR" || line.starts_with("ERROR ") || line.starts_with("CLIENT_ERROR") ||
         line.starts_with("SERVER_ERROR");
}

ReadResult read_line(std::string_view in, std::string* line) {
  std::string_view l;
  std::size_t next = 0;
  bool too_long = false;
  if (!line_at(in, 0, &l, &next, &too_long)) {
    return {too_long ? ReadStatus::kMalformed : ReadStatus::kNeedMore, 0};
  }
  line->assign(l);
  return {ReadStatus::kDone, next};
}

ReadResult read_retrieval(std::string_view in, std::vector<Item>* items, std::string* error_line) {
  const std::size_t first_item = items->size();
  std::size_t at = 0;
  auto need_more = [&]() {
    items->resize(first_item);  // parsed again, whole, next time
    return ReadResult{ReadStatus::kNeedMore, 0};
  };
  for (;;) {
    std::string_view line;
    std::size_t next = 0;
    bool too_long = false;
    if (!line_at(in, at, &line, &next, &too_long)) {
      if (too_long) return {ReadStatus::kMalformed, 0};
      return need_more();
    }
    if (line == "END") return {ReadStatus::kDone, next};
    if (at == 0 && is_error_line(line)) {
      error_line->assign(line);
      return {ReadStatus::kDone, next};
    }
    if (!line.starts_with("VALUE ")) return {ReadStatus::kMalformed, 0};
    std::string_view rest = line.substr(6);
    Item item;
    const std::string_view key = next_word(&rest);
    const std::string_view flags = next_word(&rest);
    const std::string_view length_word = next_word(&rest);
    const std::string_view cas = next_word(&rest);
    std::size_t length = 0;
    if (key.empty() || !parse_number(flags, &item.flags) || !parse_number(length_word, &length) ||
        (!cas.empty() && !parse_number(cas, &item.cas))) {
      return {ReadStatus::kMalformed, 0};
    }
    if (in.size() < next + length + 2) return need_more();
    if (in.substr(next + length, 2) != "\r\n") return {ReadStatus::kMalformed, 0};
    item.key.assign(key);
    item.value.assign(in.substr(next, length));
    items->push_back(std::move(item));
    at = next + length + 2;
  }
}

ReadResult read_stats(std::string_view in, std::vector<std::pair<std::string, std::string>>* stats,
                      std::string* error_line) {
  std::vector<std::pair<std::string, std::string>> found;
  std::size_t at = 0;
  for (;;) {
    std::string_view line;
    std::size_t next = 0;
    bool too_long = false;
    if (!line_at(in, at, &line, &next, &too_long)) {
      return {too_long ? ReadStatus::kMalformed : ReadStatus::kNeedMore, 0};
    }
    if (line == "END") {
      for (auto& s : found) stats->push_back(std::move(s));
      return {ReadStatus::kDone, next};
    }
    if (at == 0 && is_error_line(line)) {
      error_line->assign(line);
      return {ReadStatus::kDone, next};
    }
    if (!line.starts_with("STAT ")) return {ReadStatus::kMalformed, 0};
    std::string_view rest = line.substr(5);
    const auto space = rest.find(' ');
    found.emplace_back(
        std::string(rest.substr(0, space)),
        space == std::string_view::npos ? std::string() : std::string(rest.substr(space + 1)));
    at = next;
  }
}

}  // namespace kioku::client
