// daemon/connection_meta.cc — the connection's meta-command path: framing mg/ms/md/ma/mn/me
// requests (ms with its data block) out of the input buffer and handing them to MetaExecutor.
//
// Owns: only framing, as connection.cc does for text commands. Must not: know command semantics.
#include "daemon/connection.h"
#include "daemon/server.h"
#include "daemon/worker.h"
#include "protocol/meta_parser.h"
#include "protocol/text_parser.h"

namespace kioku::daemon {
namespace {

// memcached 1.6.18's limit on key + value (see connection.cc): refusing at the same boundary
// keeps replies identical.
bool fits_memcached_item_limit(const Settings& settings, std::size_t key, std::size_t value) {
  const std::size_t overhead = 48 + 1 + 2 + (settings.use_cas ? 8 : 0);
  return key + value + overhead <= settings.item_size_max;
}

}  // namespace

Connection::MetaStep Connection::process_meta_input(std::string_view pending) {
  // Every meta command starts with 'm': text commands skip building a MetaParseResult.
  const std::size_t first = pending.find_first_not_of(' ');
  if (first == std::string_view::npos || pending[first] != 'm') return MetaStep::kNotMeta;
  protocol::MetaParseResult parsed = protocol::parse_meta_command_line(pending);
  switch (parsed.status) {
    case protocol::MetaStatus::kNotMeta:
      return MetaStep::kNotMeta;
    case protocol::MetaStatus::kNeedMore:
      return MetaStep::kNeedMore;
    case protocol::MetaStatus::kError:
      if (parsed.close_connection) return MetaStep::kClose;
      output_.append(parsed.error);
      output_.append("\r\n");
      input_start_ += parsed.consumed;
      swallow_bytes_ = parsed.swallow;
      return MetaStep::kDone;
    case protocol::MetaStatus::kRequest:
      break;
  }
  protocol::MetaRequest& request = parsed.request;
  if (request.command != protocol::MetaCommand::kSet) {
    input_start_ += parsed.consumed;
    worker_.meta_executor().execute(request, output_);
    return MetaStep::kDone;
  }
  const std::size_t value_length = request.value_length;
  const std::size_t key_length = request.key().size();
  if (!fits_memcached_item_limit(worker_.server().settings(), key_length, value_length) ||
      !worker_.server().cache().item_size_ok(key_length, value_length)) {
    worker_.meta_executor().reply_too_large(request, output_);
    input_start_ += parsed.consumed;
    swallow_bytes_ = uint64_t{value_length} + 2;
    return MetaStep::kDone;
  }
  const std::size_t total = parsed.consumed + value_length + 2;
  if (pending.size() < total) {
    need_bytes_ = total;
    ensure_input_capacity(total);
    return MetaStep::kNeedMore;
  }
  const auto block = protocol::parse_data_block(pending.substr(parsed.consumed),
                                                request.value_length, &request.value);
  input_start_ += total;
  if (block == protocol::DataBlockStatus::kBadDataChunk) {
    output_.append("CLIENT_ERROR bad data chunk\r\n");
    return MetaStep::kDone;
  }
  worker_.meta_executor().execute(request, output_);
  return MetaStep::kDone;
}

}  // namespace kioku::daemon
