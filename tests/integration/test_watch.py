"""`watch`: live fetchers/mutations/evictions/connevents streams in memcached's logger format.

Every line is "ts=<sec>.<usec> gid=<n> type=<event> ...\\n" as memcached 1.6.18 prints it
(probed; runs against memcached with KIOKU_TARGET=memcached too). memcached also logs its
internal lookups (a set logs an item_get first), so the tests look for the lines they caused
rather than for an exact sequence.
"""

import re
import socket
import time

from kioku_harness import HOST, Server, run_tests

TS = rb"ts=\d+\.\d+ gid=\d+ "


def read_lines(sock, want_pattern, timeout=5.0):
    """Reads watcher lines until one fully matches `want_pattern`; returns all lines read."""
    deadline = time.monotonic() + timeout
    buf = b""
    lines = []
    while time.monotonic() < deadline:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line)
            if re.fullmatch(want_pattern, line):
                return lines
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    raise AssertionError("no line matching %r; got %r" % (want_pattern, lines[-10:]))


def start_watch(srv, args):
    w = srv.session()
    w.call("watch%s\r\n" % ((" " + args) if args else ""), "OK\r\n")
    return w


def test_default_watch_streams_fetchers():
    with Server() as srv:
        w = start_watch(srv, "")
        with srv.session() as c:
            c.call("set foo 0 0 3\r\nbar\r\n", "STORED\r\n")
            c.call("get foo nope\r\n", "VALUE foo 0 3\r\nbar\r\nEND\r\n")
        lines = read_lines(w.sock, TS + rb"type=item_get key=nope status=not_found clsid=0 cfd=\d+ size=0")
        assert any(re.fullmatch(TS + rb"type=item_get key=foo status=found clsid=\d+ cfd=\d+ size=3", l)
                   for l in lines), lines
        assert not any(b"item_store" in l for l in lines), lines
        w.close()


def test_mutations_show_store_outcomes():
    with Server() as srv:
        w = start_watch(srv, "mutations")
        with srv.session() as c:
            c.call("set k 0 100 3\r\nabc\r\n", "STORED\r\n")
            c.call("add k 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
            c.call("cas k 0 0 1 999999\r\ny\r\n", "EXISTS\r\n")
            c.send("get k\r\n")
            c.read_until(b"END\r\n")
        lines = read_lines(w.sock, TS + rb"type=item_store key=k status=exists cmd=cas ttl=0 clsid=\d+ cfd=\d+ size=1")
        text = b"\n".join(lines)
        assert re.search(TS + rb"type=item_store key=k status=stored cmd=set ttl=100 clsid=\d+ cfd=\d+ size=3$", text, re.M), text
        assert re.search(TS + rb"type=item_store key=k status=not_stored cmd=add ttl=0 clsid=\d+ cfd=\d+ size=1$", text, re.M), text
        assert b"item_get" not in text, "fetchers were not asked for"
        w.close()


def test_evictions_are_streamed():
    with Server(["-m", "2"]) as srv:
        w = start_watch(srv, "evictions")
        value = "v" * 50000
        with srv.session() as c:
            for i in range(120):
                c.call("set big%d 0 %d %d\r\n%s\r\n" % (i, 0 if i % 2 else 1000, len(value), value),
                       "STORED\r\n")
        lines = read_lines(w.sock, TS + rb"type=eviction key=big1 fetch=no ttl=-1 la=\d+ clsid=\d+ size=50000")
        assert re.fullmatch(TS + rb"type=eviction key=big0 fetch=no ttl=(1000|999) la=\d+ clsid=\d+ size=50000",
                            lines[0]), lines[:2]
        st = srv.stats()
        assert int(st["evictions"]) > 0
        w.close()


def test_connevents_show_new_and_closed_connections():
    with Server() as srv:
        w = start_watch(srv, "connevents")
        c = srv.session()
        rport = c.sock.getsockname()[1]
        c.call("set open 0 0 1\r\n1\r\n", "STORED\r\n")
        read_lines(w.sock, TS + rb"type=conn_new rip=127\.0\.0\.1 rport=%d transport=tcp cfd=\d+" % rport)
        c.close()
        read_lines(w.sock, TS + rb"type=conn_close rip=127\.0\.0\.1 rport=%d transport=tcp reason=\w+ cfd=\d+" % rport)
        w.close()


def test_unknown_watch_kind_is_an_error_and_the_connection_stays():
    with Server() as srv:
        with srv.session() as s:
            s.call("watch bogus\r\n", "ERROR\r\n")
            s.call("watch fetchers bogus\r\n", "ERROR\r\n")
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")


def test_a_watcher_does_not_run_commands():
    with Server() as srv:
        w = start_watch(srv, "mutations")
        w.send("set x 0 0 1\r\n1\r\nversion\r\n")
        w.expect_nothing(0.3)
        with srv.session() as c:
            c.call("get x\r\n", "END\r\n")
        w.close()


def test_watchers_leaving_stop_the_stream():
    with Server() as srv:
        w = start_watch(srv, "fetchers")
        w.close()
        time.sleep(0.2)
        # The server keeps serving normally once nobody watches.
        with srv.session() as c:
            for _ in range(100):
                c.call("get nothing\r\n", "END\r\n")
        w2 = start_watch(srv, "fetchers")
        with srv.session() as c:
            c.call("get again\r\n", "END\r\n")
        read_lines(w2.sock, TS + rb"type=item_get key=again status=not_found clsid=0 cfd=\d+ size=0")
        w2.close()


if __name__ == "__main__":
    run_tests(globals())
