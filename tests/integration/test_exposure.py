"""The start-up warning when kiokud listens beyond loopback without authentication.

memcached 1.6.18 prints nothing in either case; the warning is Kioku's own (stderr only, the
server still starts and serves).
"""

import socket
import subprocess
import time

from kioku_harness import HOST, Server, free_port, kiokud_binary, kiokud_only, run_tests

WARNING = "without authentication"


def stderr_after_start(args):
    with Server(args) as srv:
        with srv.session() as s:
            s.call("set w 0 0 1\r\nx\r\n", "STORED\r\n")
        time.sleep(0.1)
        return srv.output()


def test_loopback_listener_starts_quietly():
    kiokud_only("the warning is kiokud's own")
    assert WARNING not in stderr_after_start([])  # the harness passes -l 127.0.0.1


def test_all_interfaces_listener_warns_and_still_serves():
    kiokud_only("the warning is kiokud's own")
    # Started by hand: the harness always passes -l 127.0.0.1. Every IPv4 interface, briefly.
    port = free_port()
    proc = subprocess.Popen([kiokud_binary(), "-l", "0.0.0.0", "-p", str(port), "-U", "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection((HOST, port), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "did not start"
                time.sleep(0.05)
        with sock:
            sock.sendall(b"version\r\n")
            assert sock.recv(100).startswith(b"VERSION ")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    err = err.decode()
    assert WARNING in err and "listening on 0.0.0.0" in err, err


run_tests(globals())
