// daemon/command_latency.cc — see command_latency.h.
#include "daemon/command_latency.h"

namespace kioku::daemon {

std::string_view command_label(std::size_t command) {
  using protocol::TextCommand;
  switch (static_cast<TextCommand>(command)) {
    case TextCommand::kGet:
      return "get";
    case TextCommand::kGets:
      return "gets";
    case TextCommand::kGat:
      return "gat";
    case TextCommand::kGats:
      return "gats";
    case TextCommand::kSet:
      return "set";
    case TextCommand::kAdd:
      return "add";
    case TextCommand::kReplace:
      return "replace";
    case TextCommand::kAppend:
      return "append";
    case TextCommand::kPrepend:
      return "prepend";
    case TextCommand::kCas:
      return "cas";
    case TextCommand::kIncr:
      return "incr";
    case TextCommand::kDecr:
      return "decr";
    case TextCommand::kDelete:
      return "delete";
    case TextCommand::kTouch:
      return "touch";
    case TextCommand::kFlushAll:
      return "flush_all";
    case TextCommand::kVersion:
      return "version";
    case TextCommand::kVerbosity:
      return "verbosity";
    case TextCommand::kQuit:
      return "quit";
    case TextCommand::kShutdown:
      return "shutdown";
    case TextCommand::kStats:
      return "stats";
    case TextCommand::kCacheMemlimit:
      return "cache_memlimit";
    case TextCommand::kWatch:
      return "watch";
    default:
      break;
  }
  return "other";
}

}  // namespace kioku::daemon
