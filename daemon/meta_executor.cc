// daemon/meta_executor.cc — see meta_executor.h. Status codes, which of them "q" hides, and the
// counters each command moves were all checked against memcached 1.6.18.
#include "daemon/meta_executor.h"

#include <algorithm>
#include <charconv>

#include "protocol/meta_composer.h"

namespace kioku::daemon {

using protocol::MetaCommand;
using protocol::MetaReplyLine;
using protocol::MetaRequest;

namespace {

constexpr std::string_view kCrlf = "\r\n";

// The T/N/R flags in request order, as the engine applies them.
slab::MetaTtlSteps ttl_steps(const MetaRequest& request, bool with_recache) {
  slab::MetaTtlSteps steps;
  steps.ttl = request.ttl;
  steps.vivify = request.vivify_ttl;
  steps.recache = request.recache_ttl;
  for (std::size_t i = 0; i < request.flag_count; ++i) {
    switch (request.flags[i].letter) {
      case 'T':
        steps.add(slab::MetaTtlStep::kSetTtl);
        break;
      case 'N':
        steps.add(slab::MetaTtlStep::kVivify);
        break;
      case 'R':
        if (with_recache) steps.add(slab::MetaTtlStep::kRecache);
        break;
      default:
        break;
    }
  }
  return steps;
}

bool is_ttl_step(char letter, bool with_recache) {
  return letter == 'T' || letter == 'N' || (with_recache && letter == 'R');
}

// The O and k flags, which every reply carries, hit or miss.
void echo_opaque_and_key(const MetaRequest& request, MetaReplyLine& line) {
  for (std::size_t i = 0; i < request.flag_count; ++i) {
    const protocol::MetaFlag& flag = request.flags[i];
    if (flag.letter == 'O') line.token(flag.token);
    if (flag.letter == 'k') line.key_flag(request.key(), request.base64_key);
  }
}

}  // namespace

void MetaExecutor::execute(const MetaRequest& request, OutputQueue& out) {
  // memcached 1.6.18 counts only "me" in cmd_meta; mg/ms/md/ma move the classic counters.
  if (request.command == MetaCommand::kDebug) stats_.meta_cmds.add();
  switch (request.command) {
    case MetaCommand::kGet:
      get(request, out);
      break;
    case MetaCommand::kSet:
      set(request, out);
      break;
    case MetaCommand::kDelete:
      remove(request, out);
      break;
    case MetaCommand::kArithmetic:
      arithmetic(request, out);
      break;
    case MetaCommand::kDebug:
      debug(request, out);
      break;
    case MetaCommand::kNoop:
      out.append(protocol::kMetaNoop);
      break;
  }
}

void MetaExecutor::get(const MetaRequest& request, OutputQueue& out) {
  slab::MetaGetOptions options;
  options.vivify = request.vivify;
  options.no_bump = request.no_bump;
  // memcached 1.6.18 does not mark a vivified item's key as binary: "k" then echoes raw bytes.
  options.new_cas = request.has_new_cas ? request.new_cas : 0;
  options.ttl = ttl_steps(request, true);
  slab::ItemRef item;
  const slab::MetaItemInfo info = cache_.meta_get(request.key(), options, &item);
  // As memcached: a hit with T counts as a touch, a miss always as a get.
  if (request.has_ttl && item) {
    stats_.touch_cmds.add();
    stats_.touch_hits.add();
  } else {
    stats_.get_cmds.add();
    (item ? stats_.get_hits : stats_.get_misses).add();
  }
  if (!item) {
    if (request.quiet) return;
    char* at = out.reserve(protocol::kMaxMetaReplyLine);
    MetaReplyLine line(std::span<char>(at, protocol::kMaxMetaReplyLine));
    line.status("EN");
    echo_opaque_and_key(request, line);
    out.commit(line.finish());
    return;
  }
  char* at = out.reserve(protocol::kMaxMetaReplyLine);
  MetaReplyLine line(std::span<char>(at, protocol::kMaxMetaReplyLine));
  const std::size_t value_size = item.value_size();
  if (request.return_value) {
    line.value_status(static_cast<uint32_t>(value_size));
  } else {
    line.status("HD");
  }
  std::size_t step = 0;
  for (std::size_t i = 0; i < request.flag_count; ++i) {
    const protocol::MetaFlag& flag = request.flags[i];
    if (is_ttl_step(flag.letter, true)) ++step;
    switch (flag.letter) {
      case 's':
        line.number_flag('s', value_size);
        break;
      case 't':
        line.ttl_flag(info.ttl_after[step]);
        break;
      case 'c':
        line.number_flag('c', item.cas());
        break;
      case 'f':
        line.number_flag('f', item.flags());
        break;
      case 'l':
        line.number_flag('l', info.last_access);
        break;
      case 'h':
        line.number_flag('h', info.fetched ? 1 : 0);
        break;
      case 'O':
        line.token(flag.token);
        break;
      case 'k':
        line.key_flag(item.key(), item.key_is_binary());
        break;
      default:
        break;
    }
  }
  if (info.token_was_sent) line.letter('Z');
  if (info.stale) line.letter('X');
  if (info.won) line.letter('W');
  out.commit(line.finish());
  if (request.return_value) {
    out.append_value(std::move(item));
    out.append(kCrlf);
  }
}

void MetaExecutor::set(const MetaRequest& request, OutputQueue& out) {
  stats_.set_cmds.add();
  slab::MetaStoreOptions options;
  switch (request.mode) {
    case 'E':
      options.mode = slab::StoreMode::kAdd;
      break;
    case 'A':
      options.mode = slab::StoreMode::kAppend;
      break;
    case 'P':
      options.mode = slab::StoreMode::kPrepend;
      break;
    case 'R':
      options.mode = slab::StoreMode::kReplace;
      break;
    default:
      options.mode = slab::StoreMode::kSet;
      break;
  }
  // A C flag turns set and replace into a CAS store; add ignores it, append/prepend compare.
  if (request.has_cas) {
    if (options.mode == slab::StoreMode::kSet || options.mode == slab::StoreMode::kReplace) {
      options.mode = slab::StoreMode::kCas;
    }
    options.cas = request.cas;
  }
  options.invalidate = request.invalidate && options.mode == slab::StoreMode::kCas;
  options.new_cas = request.has_new_cas ? request.new_cas : 0;
  options.vivify = request.vivify;
  options.vivify_ttl = request.vivify_ttl;
  options.key_binary = request.base64_key;

  uint64_t cas = 0;
  uint32_t stored_length = 0;
  slab::ItemRef item;
  slab::StoreResult result =
      cache_.allocate(slab::StoreMode::kSet, request.key(), request.client_flags,
                      request.has_ttl ? request.ttl : 0, request.value_length, &item);
  if (result == slab::StoreResult::kStored) {
    if (!request.value.empty()) {
      item.write_value(0, request.value);
    }
    result = cache_.meta_commit(item, options, &cas, &stored_length);
  }
  std::string_view code;
  switch (result) {
    case slab::StoreResult::kStored:
      if (options.mode == slab::StoreMode::kCas) stats_.cas_hits.add();
      if (request.quiet) return;
      code = "HD";
      break;
    case slab::StoreResult::kNotStored:
      code = "NS";
      break;
    case slab::StoreResult::kExists:
      stats_.cas_badval.add();
      code = "EX";
      break;
    case slab::StoreResult::kNotFound:
      stats_.cas_misses.add();
      code = "NF";
      break;
    case slab::StoreResult::kTooLarge:
      stats_.store_too_large.add();
      out.append("SERVER_ERROR object too large for cache\r\n");
      return;
    case slab::StoreResult::kNoMemory:
      stats_.store_no_memory.add();
      out.append("SERVER_ERROR out of memory storing object\r\n");
      return;
  }
  char* at = out.reserve(protocol::kMaxMetaReplyLine);
  MetaReplyLine line(std::span<char>(at, protocol::kMaxMetaReplyLine));
  line.status(code);
  for (std::size_t i = 0; i < request.flag_count; ++i) {
    const protocol::MetaFlag& flag = request.flags[i];
    if (flag.letter == 'O') line.token(flag.token);
    if (flag.letter == 'k') line.key_flag(request.key(), request.base64_key);
    if (flag.letter == 'c') line.number_flag('c', cas);
    // s (newer than 1.6.18, which ignores it): the stored length, after any append; the
    // request's own length when nothing was stored (as current memcached).
    if (flag.letter == 's') {
      line.number_flag('s',
                       result == slab::StoreResult::kStored ? stored_length : request.value_length);
    }
  }
  out.commit(line.finish());
}

void MetaExecutor::reply_too_large(const MetaRequest& request, OutputQueue& out) {
  stats_.set_cmds.add();
  stats_.store_too_large.add();
  // As memcached: a value that cannot be stored must not leave the old one to be served.
  cache_.remove(request.key());
  out.append("SERVER_ERROR object too large for cache\r\n");
}

void MetaExecutor::remove(const MetaRequest& request, OutputQueue& out) {
  slab::MetaDeleteOptions options;
  options.has_cas = request.has_cas;
  options.cas = request.cas;
  options.invalidate = request.invalidate;
  options.has_ttl = request.has_ttl;
  options.ttl = request.ttl;
  options.new_cas = request.has_new_cas ? request.new_cas : 0;
  options.remove_value = request.remove_value;
  options.tombstone_flags = request.client_flags;
  options.tombstone_ttl = request.has_ttl ? request.ttl : 0;
  std::string_view code;
  switch (cache_.meta_delete(request.key(), options)) {
    case slab::MetaDeleteResult::kDeleted:
      stats_.delete_hits.add();
      [[fallthrough]];
    case slab::MetaDeleteResult::kInvalidated:
      if (request.quiet) return;
      code = "HD";
      break;
    case slab::MetaDeleteResult::kNotFound:
      stats_.delete_misses.add();
      code = "NF";
      break;
    case slab::MetaDeleteResult::kExists:
      stats_.delete_misses.add();
      code = "EX";
      break;
    case slab::MetaDeleteResult::kNoMemory:
      out.append("SERVER_ERROR out of memory\r\n");
      return;
  }
  char* at = out.reserve(protocol::kMaxMetaReplyLine);
  MetaReplyLine line(std::span<char>(at, protocol::kMaxMetaReplyLine));
  line.status(code);
  echo_opaque_and_key(request, line);
  out.commit(line.finish());
}

void MetaExecutor::arithmetic(const MetaRequest& request, OutputQueue& out) {
  slab::MetaDeltaOptions options;
  options.increment = !(request.mode == 'D' || request.mode == '-');
  options.delta = request.delta;
  options.has_cas = request.has_cas;
  options.cas = request.cas;
  options.vivify = request.vivify;
  options.initial = request.initial;
  options.new_cas = request.has_new_cas ? request.new_cas : 0;
  options.ttl = ttl_steps(request, false);
  const slab::MetaDeltaResult result =
      cache_.meta_delta(request.key(), options, request.base64_key);
  std::string_view code;
  bool with_item = true;
  switch (result.status) {
    case slab::MetaDeltaStatus::kOk:
      (options.increment ? stats_.incr_hits : stats_.decr_hits).add();
      if (request.quiet) return;  // memcached hides even a "VA" here
      break;
    case slab::MetaDeltaStatus::kCreated:
      break;  // and shows this one despite q
    case slab::MetaDeltaStatus::kNotFound:
      (options.increment ? stats_.incr_misses : stats_.decr_misses).add();
      code = "NF";
      with_item = false;
      break;
    case slab::MetaDeltaStatus::kExists:
      code = "EX";
      with_item = false;
      break;
    case slab::MetaDeltaStatus::kNonNumeric:
      out.append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      return;
    case slab::MetaDeltaStatus::kNoMemory:
      out.append("SERVER_ERROR out of memory\r\n");
      return;
  }
  char* at = out.reserve(protocol::kMaxMetaReplyLine + 24);
  MetaReplyLine line(std::span<char>(at, protocol::kMaxMetaReplyLine));
  if (!with_item) {
    line.status(code);
    echo_opaque_and_key(request, line);
    out.commit(line.finish());
    return;
  }
  char number[24];
  const std::size_t number_length = static_cast<std::size_t>(
      std::to_chars(number, number + sizeof number, result.value).ptr - number);
  if (request.return_value) {
    line.value_status(static_cast<uint32_t>(number_length));
  } else {
    line.status("HD");
  }
  std::size_t step = 0;
  for (std::size_t i = 0; i < request.flag_count; ++i) {
    const protocol::MetaFlag& flag = request.flags[i];
    if (is_ttl_step(flag.letter, false)) ++step;
    switch (flag.letter) {
      case 'c':
        line.number_flag('c', result.cas);
        break;
      case 't':
        line.ttl_flag(result.ttl_after[step]);
        break;
      case 'O':
        line.token(flag.token);
        break;
      case 'k':
        line.key_flag(request.key(), request.base64_key);
        break;
      default:
        break;
    }
  }
  std::size_t length = line.finish();
  if (request.return_value) {
    std::copy(number, number + number_length, at + length);
    length += number_length;
    at[length++] = '\r';
    at[length++] = '\n';
  }
  out.commit(length);
}

void MetaExecutor::debug(const MetaRequest& request, OutputQueue& out) {
  const slab::MetaDebugInfo info = cache_.meta_debug(request.key());
  if (!info.found) {
    out.append("EN\r\n");
    return;
  }
  // memcached reports its own item footprint: 48-byte header, CAS, key + NUL, value + CRLF and
  // non-zero flags. Kioku's items are smaller; the memcached figure keeps replies comparable.
  const uint64_t size = 48 + (settings_.use_cas ? 8 : 0) + request.key().size() + 1 +
                        info.value_length + 2 + (info.flags != 0 ? 4 : 0);
  constexpr std::size_t kMax = protocol::kMaxMetaReplyLine;
  char* at = out.reserve(kMax);
  out.commit(protocol::compose_meta_debug(std::span<char>(at, kMax), request.key(), info.key_binary,
                                          info.exp, info.last_access, info.cas, info.fetched,
                                          info.slab_class, size));
}

}  // namespace kioku::daemon
