// daemon/executor.cc — see executor.h. Replies and counters follow memcached 1.6.18.
#include "daemon/executor.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "daemon/connection_limits.h"
#include "daemon/engine_admin.h"
#include "daemon/version.h"
#include "protocol/text_composer.h"

namespace kioku::daemon {

using protocol::TextCommand;
using protocol::TextRequest;

namespace {

// Appends a reply unless the request asked for none.
void reply(const TextRequest& request, OutputQueue& out, std::string_view bytes) {
  if (!request.noreply) out.append(bytes);
}

slab::StoreMode store_mode(TextCommand command) {
  switch (command) {
    case TextCommand::kAdd: return slab::StoreMode::kAdd;
    case TextCommand::kReplace: return slab::StoreMode::kReplace;
    case TextCommand::kAppend: return slab::StoreMode::kAppend;
    case TextCommand::kPrepend: return slab::StoreMode::kPrepend;
    case TextCommand::kCas: return slab::StoreMode::kCas;
    default: return slab::StoreMode::kSet;
  }
}

constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";

}  // namespace

void append_stat(OutputQueue& out, std::string_view name, uint64_t value) {
  constexpr std::size_t kMax = 400;
  char* at = out.reserve(kMax);
  out.commit(protocol::compose_stat(std::span<char>(at, kMax), name, value));
}

void append_stat(OutputQueue& out, std::string_view name, std::string_view value) {
  std::size_t max = name.size() + value.size() + 16;
  char* at = out.reserve(max);
  out.commit(protocol::compose_stat(std::span<char>(at, max), name, value));
}

ExecuteOutcome Executor::execute(const TextRequest& request, OutputQueue& out) {
  switch (request.command) {
    case TextCommand::kGet:
    case TextCommand::kGets:
    case TextCommand::kGat:
    case TextCommand::kGats:
      if (!retrieve(request, out)) return ExecuteOutcome::kCloseAfterWrite;
      break;
    case TextCommand::kSet:
    case TextCommand::kAdd:
    case TextCommand::kReplace:
    case TextCommand::kAppend:
    case TextCommand::kPrepend:
    case TextCommand::kCas:
      store(request, out);
      break;
    case TextCommand::kIncr:
    case TextCommand::kDecr:
      arithmetic(request, out);
      break;
    case TextCommand::kDelete:
      if (prefixes_ != nullptr) prefixes_->record_delete(request.key);
      if (cache_.remove(request.key)) {
        stats_.delete_hits.add();
        reply(request, out, protocol::kDeleted);
      } else {
        stats_.delete_misses.add();
        reply(request, out, protocol::kNotFound);
      }
      break;
    case TextCommand::kTouch:
      stats_.touch_cmds.add();
      if (cache_.touch(request.key, request.exptime)) {
        stats_.touch_hits.add();
        reply(request, out, protocol::kTouched);
      } else {
        stats_.touch_misses.add();
        reply(request, out, protocol::kNotFound);
      }
      break;
    case TextCommand::kFlushAll:
      if (!settings_.flush_enabled) {
        // memcached sends this one even with noreply.
        out.append("CLIENT_ERROR flush_all not allowed\r\n");
        break;
      }
      stats_.flush_cmds.add();
      cache_.flush_all(request.has_argument ? request.exptime : 0);
      reply(request, out, protocol::kOk);
      break;
    case TextCommand::kVersion: {
      char line[64];
      int n = std::snprintf(line, sizeof line, "VERSION %s\r\n", kMemcachedVersion);
      out.append(std::string_view(line, static_cast<std::size_t>(n)));
      break;
    }
    case TextCommand::kVerbosity:
      control_.set_verbosity(static_cast<int>(request.delta));
      reply(request, out, protocol::kOk);
      break;
    case TextCommand::kQuit:
      return ExecuteOutcome::kCloseAfterWrite;
    case TextCommand::kConfigGet:
      out.append(request.key == "cluster" ? control_.cluster_config().get_reply()
                                          : std::string("END\r\n"));
      break;
    case TextCommand::kConfigSet:
      if (request.key != "cluster") {
        reply(request, out, "ERROR\r\n");
      } else if (control_.cluster_config().set(request.value)) {
        reply(request, out, protocol::kStored);
      } else {
        reply(request, out, "CLIENT_ERROR bad cluster configuration\r\n");
      }
      break;
    case TextCommand::kShutdown:
      if (!settings_.shutdown_command) {
        out.append("ERROR: shutdown not enabled\r\n");
        break;
      }
      if (!request.arguments.empty() && request.arguments != "graceful") {
        out.append("CLIENT_ERROR invalid shutdown mode\r\n");
        break;
      }
      // Both modes finish in-flight replies before exiting: Kioku's stop is always graceful.
      control_.request_shutdown();
      return ExecuteOutcome::kCloseAfterWrite;
    case TextCommand::kStats:
      stats(request, out);
      break;
    case TextCommand::kCacheMemlimit:
      cache_memlimit(request, out);
      break;
    case TextCommand::kLruCrawler:
      execute_lru_crawler(cache_, request.arguments, out, &dump_);
      if (dump_) return ExecuteOutcome::kStreamDump;
      break;
    case TextCommand::kSlabs:
      execute_slabs(cache_, request.arguments, out);
      break;
    case TextCommand::kLru:
      execute_lru(cache_, request.arguments, out);
      break;
    case TextCommand::kWatch: {
      // The connection turns into an event stream: the hub takes a duplicate of the socket
      // (and answers OK on it); this connection then closes its own descriptor.
      uint32_t flags = 0;
      if (watch_ == nullptr || client_fd_ < 0 ||
          !WatchHub::parse_flags(request.arguments, &flags)) {
        out.append(protocol::kError);
        break;
      }
      // Replies still queued for earlier pipelined requests go out first, through the hub (and
      // through TLS when the client has it): this connection writes nothing more.
      std::string earlier;
      out.copy_pending(&earlier);
      std::unique_ptr<Transport> transport;
      if (client_transport_ != nullptr) transport = std::move(*client_transport_);
      const bool tls = transport != nullptr;
      if (!watch_->add_watcher_of(client_fd_, flags, std::move(transport), earlier)) {
        if (tls) {
          // Its TLS session went with the failed hand-over: the connection can only close.
          out.clear();
          return ExecuteOutcome::kCloseAfterWrite;
        }
        out.append("SERVER_ERROR cannot watch\r\n");
        break;
      }
      out.clear();
      return ExecuteOutcome::kCloseAfterWrite;
    }
    case TextCommand::kRefreshCerts:
      control_.refresh_certs(out);
      break;
  }
  return ExecuteOutcome::kContinue;
}

bool Executor::retrieve(const TextRequest& request, OutputQueue& out) {
  const bool touch = request.command == TextCommand::kGat || request.command == TextCommand::kGats;
  const bool with_cas =
      request.command == TextCommand::kGets || request.command == TextCommand::kGats;
  protocol::KeyIterator keys(request.keys);
  std::string_view key;
  while (keys.next(&key)) {
    if (out.owned_bytes() > kMaxReplyOwnedBytes) {
      out.append("SERVER_ERROR out of memory writing get response\r\n");
      return false;
    }
    slab::ItemRef item = touch ? cache_.get_and_touch(key, request.exptime) : cache_.get(key);
    if (touch) {
      stats_.touch_cmds.add();
      (item ? stats_.touch_hits : stats_.touch_misses).add();
    }
    stats_.get_cmds.add();
    if (prefixes_ != nullptr) prefixes_->record_get(key, static_cast<bool>(item));
    if (watched(kWatchFetchers)) [[unlikely]] {
      watch_->item_get(key, item ? "found" : "not_found", item ? item.slab_class() : 0, client_fd_,
                       item ? item.value_size() : 0);
    }
    if (!item) {
      stats_.get_misses.add();
      continue;
    }
    stats_.get_hits.add();
    char* header = out.reserve(protocol::kMaxValueHeader);
    out.commit(protocol::compose_value_header(
        std::span<char, protocol::kMaxValueHeader>(header, protocol::kMaxValueHeader), item.key(),
        item.flags(), static_cast<uint32_t>(item.value_size()), with_cas, item.cas()));
    out.append_value(std::move(item));
    out.append(protocol::kCrlf);
  }
  out.append(protocol::kEnd);
  return true;
}

void Executor::store(const TextRequest& request, OutputQueue& out) {
  stats_.set_cmds.add();
  count_prefix_set(request.key);
  const slab::StoreMode mode = store_mode(request.command);
  slab::StoreResult result = cache_.store(mode, request.key, request.flags, request.exptime,
                                          request.value, request.cas_unique);
  if (watched(kWatchMutations)) [[unlikely]] log_mutation(request, result);
  switch (result) {
    case slab::StoreResult::kStored:
      if (mode == slab::StoreMode::kCas) stats_.cas_hits.add();
      reply(request, out, protocol::kStored);
      break;
    case slab::StoreResult::kNotStored:
      reply(request, out, protocol::kNotStored);
      break;
    case slab::StoreResult::kExists:
      stats_.cas_badval.add();
      reply(request, out, protocol::kExists);
      break;
    case slab::StoreResult::kNotFound:
      stats_.cas_misses.add();
      reply(request, out, protocol::kNotFound);
      break;
    case slab::StoreResult::kTooLarge:
      stats_.store_too_large.add();
      reply(request, out, kTooLarge);
      break;
    case slab::StoreResult::kNoMemory:
      stats_.store_no_memory.add();
      reply(request, out, protocol::kOutOfMemory);
      break;
  }
}

void Executor::log_mutation(const TextRequest& request, slab::StoreResult result) {
  static constexpr const char* kStatus[] = {"stored",    "not_stored", "exists",
                                            "not_found", "too_large",  "no_memory"};
  static constexpr const char* kCommand[] = {"set",    "add",     "replace",
                                             "append", "prepend", "cas"};
  constexpr int64_t kRelativeLimit = 60 * 60 * 24 * 30;  // memcached: larger is a unix time
  int64_t ttl = request.exptime;
  if (ttl < 0) ttl = -1;
  if (ttl > kRelativeLimit) ttl = std::max<int64_t>(ttl - std::time(nullptr), -1);
  // clsid is 0: the cache does not report which class took the item.
  watch_->item_store(request.key, kStatus[static_cast<int>(result)],
                     kCommand[static_cast<int>(store_mode(request.command))], ttl, 0,
                     client_fd_, request.value.size());
}

void Executor::reply_too_large(const TextRequest& request, OutputQueue& out) {
  stats_.set_cmds.add();
  count_prefix_set(request.key);
  stats_.store_too_large.add();
  // As memcached: the old value of a set that could not be stored is not kept around.
  if (request.command == TextCommand::kSet) cache_.remove(request.key);
  reply(request, out, kTooLarge);
}

void Executor::arithmetic(const TextRequest& request, OutputQueue& out) {
  const bool increment = request.command == TextCommand::kIncr;
  slab::DeltaResult result = cache_.delta(request.key, increment, request.delta);
  switch (result.status) {
    case slab::DeltaStatus::kOk: {
      (increment ? stats_.incr_hits : stats_.decr_hits).add();
      if (!request.noreply) {
        char* at = out.reserve(24);
        out.commit(protocol::compose_number(std::span<char>(at, 24), result.value));
      }
      break;
    }
    case slab::DeltaStatus::kNotFound:
      (increment ? stats_.incr_misses : stats_.decr_misses).add();
      reply(request, out, protocol::kNotFound);
      break;
    case slab::DeltaStatus::kNonNumeric:
      reply(request, out, protocol::kNonNumeric);
      break;
    case slab::DeltaStatus::kNoMemory:
      reply(request, out, "SERVER_ERROR out of memory\r\n");
      break;
  }
}

void Executor::stats(const TextRequest& request, OutputQueue& out) {
  std::string_view what = request.arguments;
  while (!what.empty() && what.back() == ' ') what.remove_suffix(1);
  if (what.empty()) {
    control_.write_general_stats(out);
  } else if (what == "reset") {
    control_.reset_stats();
    out.append(protocol::kReset);
    return;
  } else if (what == "settings") {
    control_.write_settings_stats(out);
  } else if (what == "conns") {
    control_.write_conns_stats(out);
  } else if (what == "sizes") {
    std::vector<slab::SizeBucket> buckets;
    if (!cache_.size_histogram(&buckets)) append_stat(out, "sizes_status", "disabled");
    char name[24];
    for (const slab::SizeBucket& b : buckets) {
      const int n =
          std::snprintf(name, sizeof name, "%llu", static_cast<unsigned long long>(b.size));
      append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), b.count);
    }
  } else if (what == "sizes_enable") {
    // memcached 1.6.18 answers these two without a closing END.
    if (cache_.enable_size_histogram() == slab::SizesEnable::kEnabled) {
      append_stat(out, "sizes_status", "enabled");
    } else {
      append_stat(out, "sizes_status", "error");
      append_stat(out, "sizes_error", "cas_support_disabled");
    }
    return;
  } else if (what == "sizes_disable") {
    cache_.disable_size_histogram();
    append_stat(out, "sizes_status", "disabled");
    return;
  } else if (what == "items") {
    char name[64];
    const bool temp_lru = cache_.lru_policy().temp_lru;  // memcached lists TEMP only when on
    for (const slab::ItemClassStats& c : cache_.item_stats()) {
      if (c.number == 0) continue;
      auto row = [&](const char* field, uint64_t value) {
        int n = std::snprintf(name, sizeof name, "items:%u:%s", c.id, field);
        append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), value);
      };
      row("number", c.number);
      row("number_hot", c.number_hot);
      row("number_warm", c.number_warm);
      row("number_cold", c.number_cold);
      if (temp_lru) row("number_temp", c.number_temp);
      row("age_hot", c.age_hot);
      row("age_warm", c.age_warm);
      row("age", c.age);
      row("mem_requested", c.mem_requested);
      row("evicted", c.evicted);
      row("evicted_nonzero", c.evicted_nonzero);
      row("evicted_time", c.evicted_time);
      row("outofmemory", c.outofmemory);
      row("tailrepairs", c.tailrepairs);
      row("reclaimed", c.reclaimed);
      row("expired_unfetched", c.expired_unfetched);
      row("evicted_unfetched", c.evicted_unfetched);
      row("evicted_active", c.evicted_active);
      row("crawler_reclaimed", c.crawler_reclaimed);
      row("crawler_items_checked", c.crawler_items_checked);
      row("lrutail_reflocked", 0);
      row("moves_to_cold", c.moves_to_cold);
      row("moves_to_warm", c.moves_to_warm);
      row("moves_within_lru", c.moves_within_lru);
      row("direct_reclaims", c.direct_reclaims);
      row("hits_to_hot", c.hits_to_hot);
      row("hits_to_warm", c.hits_to_warm);
      row("hits_to_cold", c.hits_to_cold);
      row("hits_to_temp", c.hits_to_temp);
    }
  } else if (what == "slabs") {
    char name[64];
    uint64_t active = 0;
    for (const slab::SlabClassStats& c : cache_.slab_stats()) {
      if (c.total_pages == 0) continue;
      ++active;
      auto row = [&](const char* field, uint64_t value) {
        int n = std::snprintf(name, sizeof name, "%u:%s", c.id, field);
        append_stat(out, std::string_view(name, static_cast<std::size_t>(n)), value);
      };
      row("chunk_size", c.chunk_size);
      row("chunks_per_page", c.chunks_per_page);
      row("total_pages", c.total_pages);
      row("total_chunks", c.total_chunks);
      row("used_chunks", c.used_chunks);
      row("free_chunks", c.free_chunks);
      row("free_chunks_end", c.free_chunks_end);
    }
    append_stat(out, "active_slabs", active);
    append_stat(out, "total_malloced", cache_.stats().total_malloced);
  } else if (what == "cachedump" || what.starts_with("cachedump ")) {
    execute_cachedump(cache_, what, out);
    return;
  } else if (what == "detail" || what.starts_with("detail ")) {
    stats_detail(what, out);
    return;
  } else {
    out.append(protocol::kError);
    return;
  }
  out.append(protocol::kEnd);
}

void Executor::stats_detail(std::string_view args, OutputQueue& out) {
  // memcached looks at the word after "detail" only.
  args.remove_prefix(std::min(args.size(), std::string_view("detail").size()));
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  const std::string_view word = args.substr(0, args.find(' '));
  if (prefixes_ != nullptr && word == "on") {
    prefixes_->set_enabled(true);
    out.append(protocol::kOk);
  } else if (prefixes_ != nullptr && word == "off") {
    prefixes_->set_enabled(false);
    out.append(protocol::kOk);
  } else if (prefixes_ != nullptr && word == "dump") {
    out.append(prefixes_->dump());
  } else {
    out.append("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  }
}

void Executor::cache_memlimit(const TextRequest& request, OutputQueue& out) {
  const uint64_t megabytes = request.delta;
  if (megabytes < 8) {
    reply(request, out, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  } else if (megabytes > 1000000000) {
    reply(request, out, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
  } else {
    cache_.set_memory_limit(static_cast<std::size_t>(megabytes) << 20);
    reply(request, out, protocol::kOk);
  }
}

}  // namespace kioku::daemon
