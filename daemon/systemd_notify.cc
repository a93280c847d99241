// daemon/systemd_notify.cc — see systemd_notify.h. libsystemd's sd_notify speaks the datagram
// protocol (NOTIFY_SOCKET, abstract sockets included); we only format the messages.
#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>

namespace kioku::daemon {
namespace {

void send_state(const char* ready, uint64_t connections, uint64_t items) {
  char message[160];
  std::snprintf(message, sizeof message, "%sSTATUS=%llu connections, %llu items", ready,
                static_cast<unsigned long long>(connections),
                static_cast<unsigned long long>(items));
  // unset_environment = 0: children (none today) and later calls keep the socket.
  sd_notify(0, message);
}

}  // namespace

bool notify_enabled() { return std::getenv("NOTIFY_SOCKET") != nullptr; }

void notify_ready(uint64_t connections, uint64_t items) {
  if (notify_enabled()) send_state("READY=1\n", connections, items);
}

void notify_status(uint64_t connections, uint64_t items) {
  if (notify_enabled()) send_state("", connections, items);
}

void notify_stopping() {
  if (notify_enabled()) sd_notify(0, "STOPPING=1\nSTATUS=draining connections");
}

}  // namespace kioku::daemon
