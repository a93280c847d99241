// daemon/systemd_notify.h — tells the service manager about kiokud's life (sd_notify).
//
// Owns: READY=1 once every listener is bound and the workers run, periodic STATUS= lines,
// STOPPING=1 when a graceful stop begins. Must not: fail the daemon; without NOTIFY_SOCKET
// (not started by systemd) every call is a cheap no-op.
#pragma once

#include <cstdint>

namespace kioku::daemon {

// True when the process was started with NOTIFY_SOCKET set (Type=notify).
bool notify_enabled();
void notify_ready(uint64_t connections, uint64_t items);
void notify_status(uint64_t connections, uint64_t items);
void notify_stopping();

}  // namespace kioku::daemon
