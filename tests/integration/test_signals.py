"""Signals: SIGTERM and SIGINT stop the server promptly with exit status 0."""

import signal
import time

from kioku_harness import Server, run_tests


def _stop_with(signum, busy):
    srv = Server().start()
    try:
        sessions = []
        if busy:
            # open connections, one mid-command, must not delay the exit
            for i in range(20):
                s = srv.session()
                s.call("set k%d 0 0 1\r\nx\r\n" % i, "STORED\r\n")
                sessions.append(s)
            sessions[0].send("set partial 0 0 100\r\nabc")
        start = time.monotonic()
        rc = srv.signal(signum, timeout=5)
        took = time.monotonic() - start
        assert rc == 0, "exit status %s after signal %d\n%s" % (rc, signum, srv.output())
        assert took < 5, took
        for s in sessions:
            s.close()
    finally:
        srv.kill()


def test_sigterm_idle_exits_zero():
    _stop_with(signal.SIGTERM, busy=False)


def test_sigint_idle_exits_zero():
    _stop_with(signal.SIGINT, busy=False)


def test_sigterm_with_open_connections_exits_zero():
    _stop_with(signal.SIGTERM, busy=True)


def test_sigint_with_open_connections_exits_zero():
    _stop_with(signal.SIGINT, busy=True)


def test_port_is_free_again_after_stop():
    srv = Server().start()
    port = srv.port
    srv.stop()
    again = Server()
    again.start_timeout = 10
    # reuse the exact port: the listener must have been closed (SO_REUSEADDR lets TIME_WAIT pass)
    import kioku_harness
    orig = kioku_harness.free_port
    kioku_harness.free_port = lambda: port
    try:
        again.start()
        with again.session() as s:
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        again.stop()
    finally:
        kioku_harness.free_port = orig
        again.kill()


if __name__ == "__main__":
    run_tests(globals())
