"""Logging: -v levels on stderr in one-line format, --log-file, SIGHUP reopens it, journald."""

import os
import re
import signal
import subprocess
import tempfile
import time

from kioku_harness import HOST, Server, free_port, kiokud_binary, kiokud_only, run_tests

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z kiokud\[\d+\] (error|warning|notice|info|debug): \S.*$")


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def log_lines(srv):
    return [l for l in srv.output().splitlines() if l]


def test_verbose_levels_and_format():
    kiokud_only("kiokud's log format")
    with Server([]) as quiet:
        with quiet.session() as s:
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        assert log_lines(quiet) == [], log_lines(quiet)
    with Server(["-v"]) as srv:
        with srv.session() as s:
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        lines = log_lines(srv)
        assert any(l.endswith("info: listening on tcp:%s:%d" % (HOST, srv.port)) for l in lines), lines
        assert not any("new client connection" in l for l in lines), lines
        for l in lines:
            assert LINE.match(l), l
    with Server(["-vvv"]) as srv:
        with srv.session() as s:
            s.call("set mykey 0 0 1\r\n1\r\n", "STORED\r\n")
            s.call("get mykey other\r\n", "VALUE mykey 0 1\r\n1\r\nEND\r\n")
        assert wait_for(lambda: any("connection closed." in l for l in log_lines(srv)))
        lines = log_lines(srv)
        for l in lines:
            assert LINE.match(l), l
        text = "\n".join(lines)
        assert re.search(r"debug: <\d+ new client connection", text), text
        assert re.search(r"debug: <\d+ set mykey$", text, re.M), text
        assert re.search(r"debug: <\d+ get mykey other$", text, re.M), text


def test_log_file_and_sighup_reopen():
    kiokud_only("kiokud's --log-file")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kiokud.log")
        with Server(["-vvv", "--log-file", path]) as srv:
            assert srv.output() == "", srv.output()  # nothing on stderr
            # The port accepts (the harness's readiness) a moment before the loop logs.
            assert wait_for(lambda: "info: listening on tcp:" in open(path).read()), \
                open(path).read()
            # logrotate's move-then-HUP.
            os.rename(path, path + ".1")
            srv.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: os.path.exists(path)), "SIGHUP did not reopen the log file"
            with srv.session() as s:
                s.call("version\r\n", "VERSION 1.6.18\r\n")
            assert wait_for(lambda: "connection closed." in open(path).read())
            with open(path) as f:
                fresh = f.read()
            assert "log file reopened" in fresh, fresh
            assert re.search(r"debug: <\d+ version $", fresh, re.M), fresh
            with open(path + ".1") as f:
                old = f.read()
            assert "version" not in old, old
            assert srv.alive(), "SIGHUP must not stop the server"


def test_journal_stream_gets_priority_prefixes():
    kiokud_only("kiokud's journald format")
    read_end, write_end = os.pipe()
    st = os.fstat(write_end)
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    port = free_port()
    proc = subprocess.Popen([kiokud_binary(), "-l", HOST, "-p", str(port), "-U", "0", "-v"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=write_end)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as r:
            first = r.readline().decode()
            assert first == "<6>listening on tcp:%s:%d\n" % (HOST, port), repr(first)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            rest = r.read().decode()
            assert "<5>shutting down" in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    run_tests(globals())
