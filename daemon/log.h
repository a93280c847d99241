// daemon/log.h — kiokud's log lines: one line per event, on stderr or in --log-file.
//
// Owns: the line format (journald's "<N>" priority prefix when stderr is the journal,
// "timestamp kiokud[pid] level: message" otherwise), --log-file (opened onto stderr, so that
// every diagnostic lands there) and reopening it on SIGHUP. Must not: be called per request
// unless the verbosity asks for it (callers check Server::verbosity(), a relaxed load, first).
#pragma once

#include <string>

namespace kioku::daemon {

// syslog priorities, as journald reads them.
enum class LogLevel : int { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// Opens `path` for appending and makes it the process's stderr. Prints why and returns false
// on failure. An empty path keeps stderr.
bool open_log_file(const std::string& path);
// SIGHUP: reopen the log file by name (after logrotate moved it). No-op without --log-file.
bool reopen_log_file();
// Writes one line (no trailing newline in `format`) with a single write(2).
void log_line(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace kioku::daemon
