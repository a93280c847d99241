// daemon/engine_admin.cc — see engine_admin.h. Reply texts checked against memcached 1.6.18.
#include "daemon/engine_admin.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <utility>
#include <vector>

#include "daemon/executor.h"

namespace kioku::daemon {
namespace {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool parse_int(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// memcached refuses ids from 64 up; Kioku's finer table has up to 255 classes.
int largest_class_id(const slab::Cache& cache) {
  (void)cache;
  return 255;
}

// "all" or a comma-separated list of class ids; false if any id is bad.
bool parse_classes(std::string_view list, const slab::Cache& cache, std::vector<bool>* classes) {
  if (list == "all") {
    classes->clear();
    return true;
  }
  classes->assign(static_cast<std::size_t>(largest_class_id(cache)) + 1, false);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    int64_t id = 0;
    if (!parse_int(list.substr(start, comma - start), &id) || id < 1 ||
        id > largest_class_id(cache))
      return false;
    (*classes)[static_cast<std::size_t>(id)] = true;
    start = comma + 1;
  }
  return true;
}

// memcached's uriencode: everything but unreserved characters as %XX.
void append_uri_encoded(std::string& out, std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

void append_metadump_row(const slab::ItemMetadata& m, std::string& line, OutputQueue& out) {
  line.assign("key=");
  append_uri_encoded(line, m.key);
  char rest[160];
  const int n =
      std::snprintf(rest, sizeof rest, " exp=%lld la=%lld cas=%llu fetch=%s cls=%u size=%llu\n",
                    static_cast<long long>(m.exptime), static_cast<long long>(m.last_access),
                    static_cast<unsigned long long>(m.cas), m.fetched ? "yes" : "no",
                    m.slab_class, static_cast<unsigned long long>(m.size));
  line.append(rest, static_cast<std::size_t>(n));
  out.append(line);
}

}  // namespace

bool MetadumpCursor::produce(slab::Cache& cache, OutputQueue& out, std::size_t budget) {
  constexpr uint64_t kStripesPerStep = 16;  // a few hundred rows at most with a full table
  std::string line;
  const uint64_t stripes = cache.item_stripes();
  while (next_stripe_ < stripes && out.pending_bytes() < budget) {
    const uint64_t last = std::min(stripes, next_stripe_ + kStripesPerStep);
    cache.for_each_item_in_stripes(classes_, next_stripe_, last,
                                   [&](const slab::ItemMetadata& m) {
                                     append_metadump_row(m, line, out);
                                   });
    next_stripe_ = last;
  }
  if (next_stripe_ < stripes) return false;
  out.append("END\r\n");
  return true;
}

bool apply_engine_option(std::string_view key, std::string_view value, slab::CacheConfig* e,
                         std::string* error) {
  int64_t n = 0;
  double d = 0;
  auto bad = [&]() {
    *error = "Invalid value for -o " + std::string(key) + ": \"" + std::string(value) + "\"";
    return false;
  };
  if (key == "lru_maintainer" || key == "lru_segmented") {
    e->lru_maintainer = true;
  } else if (key == "no_lru_maintainer" || key == "no_lru_segmented") {
    e->lru_maintainer = false;
  } else if (key == "lru_crawler") {
    e->lru_crawler = true;
  } else if (key == "no_lru_crawler") {
    e->lru_crawler = false;
  } else if (key == "slab_reassign") {
    e->slab_reassign = true;
  } else if (key == "no_slab_reassign") {
    e->slab_reassign = false;
  } else if (key == "temp_lru") {
    e->temp_lru = true;
  } else if (key == "slab_automove") {
    if (value.empty()) {
      e->slab_automove = 1;
    } else {
      if (!parse_int(value, &n) || n < 0 || n > 2) return bad();
      e->slab_automove = static_cast<uint32_t>(n);
    }
  } else if (key == "hot_lru_pct" || key == "warm_lru_pct") {
    if (!parse_int(value, &n) || n < 1 || n > 80) return bad();
    (key == "hot_lru_pct" ? e->hot_lru_pct : e->warm_lru_pct) = static_cast<uint32_t>(n);
  } else if (key == "temporary_ttl") {
    if (!parse_int(value, &n) || n < 0 || n > UINT32_MAX) return bad();
    e->temporary_ttl = static_cast<uint32_t>(n);
    e->temp_lru = true;  // memcached 1.6: setting temporary_ttl is what turns TEMP on
  } else if (key == "hot_max_factor" || key == "warm_max_factor") {
    if (!parse_double(value, &d) || d <= 0) return bad();
    (key == "hot_max_factor" ? e->hot_max_factor : e->warm_max_factor) = d;
  }
  if (e->hot_lru_pct + e->warm_lru_pct > 80) {
    *error = "hot_lru_pct + warm_lru_pct cannot be more than 80% combined";
    return false;
  }
  return true;
}

void copy_engine_options(const slab::CacheConfig& f, slab::CacheConfig* t) {
  t->lru_maintainer = f.lru_maintainer;
  t->hot_lru_pct = f.hot_lru_pct;
  t->warm_lru_pct = f.warm_lru_pct;
  t->hot_max_factor = f.hot_max_factor;
  t->warm_max_factor = f.warm_max_factor;
  t->temp_lru = f.temp_lru;
  t->temporary_ttl = f.temporary_ttl;
  t->lru_crawler = f.lru_crawler;
  t->slab_reassign = f.slab_reassign;
  t->slab_automove = f.slab_automove;
}

void execute_lru_crawler(slab::Cache& cache, std::string_view args, OutputQueue& out,
                         std::optional<MetadumpCursor>* dump) {
  const std::vector<std::string_view> w = split_words(args);
  if (w.empty()) {
    out.append("ERROR\r\n");
    return;
  }
  std::vector<bool> classes;
  if (w[0] == "enable" && w.size() == 1) {
    if (cache.lru_crawler_enabled()) {
      out.append("ERROR failed to start lru crawler thread\r\n");
      return;
    }
    cache.set_lru_crawler(true);
    out.append("OK\r\n");
  } else if (w[0] == "disable" && w.size() == 1) {
    cache.set_lru_crawler(false);
    out.append("OK\r\n");
  } else if ((w[0] == "sleep" || w[0] == "tocrawl") && w.size() == 2) {
    int64_t n = 0;
    if (!parse_int(w[1], &n) || n < 0) {
      out.append("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    if (w[0] == "sleep" && n > 1000000) {  // microseconds, as memcached bounds it
      out.append("CLIENT_ERROR sleep must be one second or less\r\n");
      return;
    }
    out.append("OK\r\n");  // pacing is automatic in Kioku (background_work.cc)
  } else if (w[0] == "crawl" && w.size() == 2) {
    if (!cache.lru_crawler_enabled()) {
      out.append("CLIENT_ERROR lru crawler disabled\r\n");
    } else if (!parse_classes(w[1], cache, &classes)) {
      out.append("BADCLASS invalid class id\r\n");
    } else if (cache.request_crawl(classes)) {
      out.append("OK\r\n");  // as memcached: the crawl runs in the background
    } else {
      out.append("BUSY currently processing crawler request\r\n");
    }
  } else if (w[0] == "metadump" && w.size() == 2) {
    if (!cache.lru_crawler_enabled()) {
      out.append("CLIENT_ERROR lru crawler disabled\r\n");
    } else if (w[1] == "hash") {
      dump->emplace(std::vector<bool>{});
    } else if (!parse_classes(w[1], cache, &classes)) {
      out.append("BADCLASS invalid class id\r\n");
    } else {
      dump->emplace(std::move(classes));
    }
  } else {
    out.append("ERROR\r\n");
  }
}

void execute_slabs(slab::Cache& cache, std::string_view args, OutputQueue& out) {
  const std::vector<std::string_view> w = split_words(args);
  if (w.size() == 3 && w[0] == "reassign") {
    int64_t src = 0;
    int64_t dst = 0;
    if (!parse_int(w[1], &src) || !parse_int(w[2], &dst)) {
      out.append("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    if (!cache.config().slab_reassign) {
      out.append("CLIENT_ERROR slab reassignment disabled\r\n");
      return;
    }
    if (src < -1 || src > 255 || dst < 0 || dst > 255) {
      out.append("BADCLASS invalid src or dst class id\r\n");
      return;
    }
    switch (cache.slabs_reassign(static_cast<int>(src), static_cast<int>(dst))) {
      case slab::ReassignResult::kOk:
        out.append("OK\r\n");
        break;
      case slab::ReassignResult::kBusy:
        out.append("BUSY currently processing reassign request\r\n");
        break;
      case slab::ReassignResult::kBadClass:
        out.append("BADCLASS invalid src or dst class id\r\n");
        break;
      case slab::ReassignResult::kNoSpare:
        out.append("NOSPARE source class has no spare pages\r\n");
        break;
      case slab::ReassignResult::kSame:
        out.append("SAME src and dst class are identical\r\n");
        break;
    }
  } else if (w.size() >= 2 && w[0] == "automove") {  // memcached ignores words after the mode
    int64_t mode = 0;
    if (!parse_int(w[1], &mode) || mode < 0) {
      out.append("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    if (mode > 2) {
      out.append("ERROR\r\n");
      return;
    }
    cache.set_slab_automove(static_cast<uint32_t>(mode));
    out.append("OK\r\n");
  } else {
    out.append("ERROR\r\n");
  }
}

void execute_lru(slab::Cache& cache, std::string_view args, OutputQueue& out) {
  const std::vector<std::string_view> w = split_words(args);
  slab::LruPolicy policy = cache.lru_policy();
  // As memcached: words after the arguments are ignored; mode and temp_ttl need the
  // maintainer (-o no_lru_maintainer runs the classic LRU with none).
  const bool maintained = cache.config().lru_maintainer;
  if (w.size() >= 5 && w[0] == "tune") {
    int64_t hot = 0;
    int64_t warm = 0;
    double hot_factor = 0;
    double warm_factor = 0;
    if (!parse_int(w[1], &hot) || !parse_int(w[2], &warm) || hot < 0 || warm < 0 ||
        hot > UINT32_MAX || warm > UINT32_MAX || !parse_double(w[3], &hot_factor) ||
        !parse_double(w[4], &warm_factor)) {
      out.append("ERROR\r\n");
    } else if (hot + warm > 80) {
      out.append("ERROR hot and warm pcts must not exceed 80\r\n");
    } else if (!(hot_factor > 0) || !(warm_factor > 0)) {
      out.append("ERROR hot/warm age factors must be greater than 0\r\n");
    } else {
      policy.hot_pct = static_cast<uint32_t>(hot);
      policy.warm_pct = static_cast<uint32_t>(warm);
      policy.hot_max_factor = hot_factor;
      policy.warm_max_factor = warm_factor;
      cache.set_lru_policy(policy);
      out.append("OK\r\n");
    }
  } else if (w.size() >= 2 && w[0] == "mode" && maintained) {
    if (w[1] == "flat" || w[1] == "segmented") {
      policy.segmented = w[1] == "segmented";
      cache.set_lru_policy(policy);
      out.append("OK\r\n");
    } else {
      out.append("ERROR\r\n");
    }
  } else if (w.size() >= 2 && w[0] == "temp_ttl" && maintained) {
    int64_t ttl = 0;
    if (!parse_int(w[1], &ttl)) {
      out.append("ERROR\r\n");
      return;
    }
    policy.temp_lru = ttl >= 0;
    if (ttl >= 0) policy.temporary_ttl = static_cast<uint32_t>(std::min<int64_t>(ttl, INT32_MAX));
    cache.set_lru_policy(policy);
    out.append("OK\r\n");
  } else {
    out.append("ERROR\r\n");
  }
}

void execute_cachedump(slab::Cache& cache, std::string_view args, OutputQueue& out) {
  const std::vector<std::string_view> w = split_words(args);
  int64_t id = 0;
  int64_t limit = 0;
  // As memcached: words after the limit are ignored; a missing one is "bad command line", a
  // bad (or negative) number "bad command line format".
  if (w.size() < 3) {
    out.append("CLIENT_ERROR bad command line\r\n");
    return;
  }
  if (!parse_int(w[1], &id) || !parse_int(w[2], &limit) || id < 0 || limit < 0) {
    out.append("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  if (id < 1 || id > largest_class_id(cache)) {
    out.append("CLIENT_ERROR Illegal slab id\r\n");
    return;
  }
  std::vector<bool> classes(static_cast<std::size_t>(id) + 1, false);
  classes[static_cast<std::size_t>(id)] = true;
  int64_t listed = 0;
  std::size_t bytes = 0;
  std::string line;
  cache.for_each_item(classes, [&](const slab::ItemMetadata& m) {
    // memcached stops at the limit (0 = none) or at 2 MB of output.
    if ((limit > 0 && listed >= limit) || bytes > (std::size_t{2} << 20)) return;
    char rest[64];
    const int n = std::snprintf(rest, sizeof rest, " [%llu b; %lld s]\r\n",
                                static_cast<unsigned long long>(m.value_length),
                                static_cast<long long>(m.exptime < 0 ? 0 : m.exptime));
    line.assign("ITEM ");
    line.append(m.key);
    line.append(rest, static_cast<std::size_t>(n));
    bytes += line.size();
    ++listed;
    out.append(line);
  });
  out.append("END\r\n");
}

void append_engine_thread_stats(const slab::Cache& cache, OutputQueue& out) {
  const slab::EngineStats e = cache.engine_stats();
  append_stat(out, "slab_reassign_rescues", e.slab_reassign_rescues);
  append_stat(out, "slab_reassign_chunk_rescues", e.slab_reassign_chunk_rescues);
  append_stat(out, "slab_reassign_evictions_nomem", e.slab_reassign_evictions_nomem);
  append_stat(out, "slab_reassign_inline_reclaim", e.slab_reassign_inline_reclaim);
  append_stat(out, "slab_reassign_busy_items", e.slab_reassign_busy_items);
  append_stat(out, "slab_reassign_busy_deletes", 0);
  append_stat(out, "slab_reassign_running", e.slab_reassign_running ? 1 : 0);
  append_stat(out, "slabs_moved", e.slabs_moved);
  append_stat(out, "lru_crawler_running", e.lru_crawler_running ? 1 : 0);
  append_stat(out, "lru_crawler_starts", e.lru_crawler_starts);
  append_stat(out, "lru_maintainer_juggles", e.lru_maintainer_juggles);
}

void append_engine_item_stats(const slab::Cache& cache, OutputQueue& out) {
  const slab::EngineStats e = cache.engine_stats();
  append_stat(out, "crawler_reclaimed", e.crawler_reclaimed);
  append_stat(out, "crawler_items_checked", e.crawler_items_checked);
  append_stat(out, "lrutail_reflocked", 0);
  append_stat(out, "moves_to_cold", e.moves_to_cold);
  append_stat(out, "moves_to_warm", e.moves_to_warm);
  append_stat(out, "moves_within_lru", e.moves_within_lru);
  append_stat(out, "direct_reclaims", e.direct_reclaims);
  append_stat(out, "lru_bumps_dropped", 0);
}

void append_engine_settings(const slab::Cache& cache, OutputQueue& out) {
  const slab::CacheConfig& c = cache.config();
  char text[32];
  auto fixed2 = [&](std::string_view name, double v) {
    const int n = std::snprintf(text, sizeof text, "%.2f", v);
    append_stat(out, name, std::string_view(text, static_cast<std::size_t>(n)));
  };
  append_stat(out, "slab_reassign", c.slab_reassign ? "yes" : "no");
  append_stat(out, "slab_automove", cache.slab_automove());
  append_stat(out, "lru_crawler", cache.lru_crawler_enabled() ? "yes" : "no");
  append_stat(out, "lru_maintainer_thread", c.lru_maintainer ? "yes" : "no");
  const slab::LruPolicy lru = cache.lru_policy();  // "lru tune|mode|temp_ttl" change it
  append_stat(out, "lru_segmented", lru.segmented ? "yes" : "no");
  append_stat(out, "hot_lru_pct", lru.hot_pct);
  append_stat(out, "warm_lru_pct", lru.warm_pct);
  fixed2("hot_max_factor", lru.hot_max_factor);
  fixed2("warm_max_factor", lru.warm_max_factor);
  append_stat(out, "temp_lru", lru.temp_lru ? "yes" : "no");
  append_stat(out, "temporary_ttl", lru.temporary_ttl);
}

}  // namespace kioku::daemon
