// daemon/main.cc — kiokud's entry point: settings, process setup, then the server.
//
// Owns: what happens to the process itself (rlimits, daemonizing, pid file, dropping
// privileges, SIGPIPE). Everything about serving lives in Server.
#include <event2/thread.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "daemon/log.h"
#include "daemon/metrics_server.h"
#include "daemon/sasl_server.h"
#include "daemon/exposure_warning.h"
#include "daemon/server.h"
#include "daemon/settings.h"

namespace {

using kioku::daemon::Settings;

bool raise_file_limit(const Settings& settings) {
  // Every connection is a descriptor; leave room for listeners, log and eventfds as memcached
  // does (its "reserved_fds").
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  rlim_t wanted = settings.max_connections + 64 + 2 * settings.threads;
  if (limit.rlim_cur >= wanted) return true;
  limit.rlim_cur = wanted;
  if (limit.rlim_max < wanted) limit.rlim_max = wanted;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::fprintf(stderr,
                 "kiokud: failed to ensure corefile/fd limits for -c %u; raise the open-files "
                 "limit (ulimit -n) or lower -c\n",
                 settings.max_connections);
    return false;
  }
  return true;
}

bool drop_privileges(const Settings& settings) {
  if (getuid() != 0 && geteuid() != 0) return true;
  if (settings.user.empty()) return true;  // Unlike memcached, root without -u is allowed.
  passwd* pw = getpwnam(settings.user.c_str());
  if (pw == nullptr) {
    std::fprintf(stderr, "kiokud: can't find the user %s to switch to\n", settings.user.c_str());
    return false;
  }
  if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    std::fprintf(stderr, "kiokud: failed to assume identity of user %s\n",
                 settings.user.c_str());
    return false;
  }
  return true;
}

bool write_pid_file(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "kiokud: could not open the pid file %s for writing: %s\n",
                 path.c_str(), std::strerror(errno));
    return false;
  }
  std::fprintf(file, "%ld\n", static_cast<long>(getpid()));
  return std::fclose(file) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  switch (kioku::daemon::parse_settings(argc, argv, &settings)) {
    case kioku::daemon::ParseOutcome::kExitSuccess: return EXIT_SUCCESS;
    case kioku::daemon::ParseOutcome::kExitFailure: return EXIT_FAILURE;
    case kioku::daemon::ParseOutcome::kExitUsage:
      return 64;  // EX_USAGE, as memcached
    case kioku::daemon::ParseOutcome::kRun: break;
  }

  if (settings.enable_coredumps) {
    rlimit core{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &core) != 0) {
      std::fprintf(stderr, "kiokud: failed to ensure corefile creation\n");
      return EXIT_FAILURE;
    }
  }
  if (!raise_file_limit(settings)) return EXIT_FAILURE;
  if (!kioku::daemon::open_log_file(settings.log_file)) return EXIT_FAILURE;
  std::signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();

  // -d: fork before anything starts a thread; the parent waits on a pipe until the child has
  // bound its listeners, so that "kiokud -d" still fails loudly on a bad address.
  int ready_pipe[2] = {-1, -1};
  if (settings.daemonize) {
    if (pipe(ready_pipe) != 0) return EXIT_FAILURE;
    pid_t child = fork();
    if (child < 0) return EXIT_FAILURE;
    if (child > 0) {
      close(ready_pipe[1]);
      char ok = 0;
      ssize_t n = read(ready_pipe[0], &ok, 1);
      return n == 1 && ok == 1 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    close(ready_pipe[0]);
    setsid();
  }

  if (settings.sasl && !kioku::daemon::start_sasl_server()) {
    std::fprintf(stderr, "Error initializing sasl.\n");
    return EXIT_FAILURE;
  }

  // A stop signal that arrives while we start up (clients may connect as soon as the port is
  // bound; -k can take a while) waits until the event loop handles it, instead of killing
  // the process. Threads started from here on inherit the mask, so only main gets signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signo : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&stop_signals, signo);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  kioku::daemon::Server server(settings);
  // Bind before dropping privileges (ports below 1024 need root). The metrics port first:
  // whoever waits for the cache port to accept (scripts, tests) may scrape right after.
  kioku::daemon::MetricsServer metrics(server);
  if (!settings.metrics_listen.empty() && !metrics.listen(settings.metrics_listen)) {
    return EXIT_FAILURE;
  }
  if (!server.listen()) return EXIT_FAILURE;
  if (std::string warning = kioku::daemon::exposure_warning(settings); !warning.empty()) {
    std::fputs(warning.c_str(), stderr);
  }
  if (!drop_privileges(settings)) return EXIT_FAILURE;
  // Before -d's parent exits, so that "kiokud -d -P FILE && cat FILE" finds it.
  if (!settings.pid_file.empty() && !write_pid_file(settings.pid_file)) return EXIT_FAILURE;
  if (settings.daemonize) {
    if (chdir("/") != 0) return EXIT_FAILURE;
    if (settings.verbose == 0 && settings.log_file.empty()) {
      int null_fd = open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        if (null_fd > STDERR_FILENO) close(null_fd);
      }
    }
    char ok = 1;
    [[maybe_unused]] ssize_t n = write(ready_pipe[1], &ok, 1);
    close(ready_pipe[1]);
  }
  if (settings.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::fprintf(stderr, "kiokud: warning: -k failed to lock down all paged memory\n");
  }
  metrics.start();
  int status = server.run();
  metrics.stop();
  if (!settings.pid_file.empty()) unlink(settings.pid_file.c_str());
  return status;
}
