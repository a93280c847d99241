// daemon/log.cc — see log.h.
#include "daemon/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace kioku::daemon {
namespace {

std::mutex log_file_mutex;  // guards log_file_path (set at start, read on SIGHUP)
std::string log_file_path;

// systemd sets JOURNAL_STREAM=dev:inode for a stderr connected to the journal; it still
// applies only if our stderr is that very stream (it may have been redirected since).
bool stderr_is_journal() {
  static const bool journal = [] {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
  }();
  return journal;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

bool open_onto_stderr(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    std::fprintf(stderr, "kiokud: cannot open log file %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  // dup2 swaps the file under stderr atomically: a concurrent writer lands in one or the other.
  bool ok = ::dup2(fd, STDERR_FILENO) >= 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool open_log_file(const std::string& path) {
  if (path.empty()) return true;
  if (!open_onto_stderr(path)) return false;
  std::lock_guard lock(log_file_mutex);
  log_file_path = path;
  return true;
}

bool reopen_log_file() {
  std::string path;
  {
    std::lock_guard lock(log_file_mutex);
    path = log_file_path;
  }
  if (path.empty()) return true;
  bool ok = open_onto_stderr(path);
  if (ok) log_line(LogLevel::kInfo, "log file reopened");
  return ok;
}

void log_line(LogLevel level, const char* format, ...) {
  char line[1024];
  int used = 0;
  if (stderr_is_journal()) {
    // journald stamps time and PID itself and reads the priority from the prefix.
    used = std::snprintf(line, sizeof line, "<%d>", static_cast<int>(level));
  } else {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    used = std::snprintf(line, sizeof line, "%s.%03ldZ kiokud[%ld] %s: ", stamp,
                         now.tv_nsec / 1'000'000, static_cast<long>(getpid()), level_name(level));
  }
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(line + used, sizeof line - used - 1, format, args);
  va_end(args);
  std::size_t length = static_cast<std::size_t>(used) +
                       std::min(static_cast<std::size_t>(std::max(n, 0)), sizeof line - used - 2);
  // One line per event: a newline inside the message would split it in the journal.
  for (std::size_t i = static_cast<std::size_t>(used); i < length; ++i) {
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  }
  line[length++] = '\n';
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line, length);
}

}  // namespace kioku::daemon
