"""Many connections at once, and the -c connection limit.

memcached 1.6.18 facts this encodes (observed, see the report in git history):
- `-c N` also sets RLIMIT_NOFILE to N, so memcached cannot even start with
  `-c 10` (its threads need ~5 fds each); and it reserves fds: with `-t 1`
  it serves N-12 clients at once, with `-t 4` N-24.
- A connection over the limit is accepted, sent exactly
  "ERROR Too many open connections\\r\\n" and closed (counted in
  stats rejected_connections); existing connections keep working, and a new
  one is accepted again as soon as another closes.
kiokud is run with `-c 10` and must serve between 1 and 10 clients; memcached
with `-c 22 -t 1`, which gives it exactly 10 client slots.
"""

import resource
import socket
import time

from kioku_harness import Server, Session, is_memcached, run_tests

REJECT = b"ERROR Too many open connections\r\n"


def limit_server():
    if is_memcached():
        return Server(["-c", "22", "-t", "1"]), 10
    return Server(["-c", "10"]), 10


def try_connect(port):
    """Returns (session, None) if served, (None, reply) if rejected."""
    s = Session(port, timeout=3)
    first = s._drain(0.15)
    if first:
        return None, (s, first)
    s.send("version\r\n")
    s.expect_re(rb"VERSION \S+\r\n", timeout=3)
    return s, None


def test_500_concurrent_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
    with Server(["-c", "1024"]) as srv:
        conns = [srv.session(timeout=10) for _ in range(500)]
        try:
            for i, s in enumerate(conns):
                s.send("set conn%d 0 0 %d\r\n%s\r\n" % (i, len(str(i)), i))
            for s in conns:
                s.expect("STORED\r\n")
            for i, s in enumerate(conns):
                s.send("get conn%d\r\n" % ((i + 1) % 500))
            for i, s in enumerate(conns):
                j = (i + 1) % 500
                s.expect("VALUE conn%d 0 %d\r\n%d\r\nEND\r\n" % (j, len(str(j)), j))
            st = conns[0].stats()
            assert int(st["curr_connections"]) >= 500, st["curr_connections"]
        finally:
            for s in conns:
                s.close()
        # closed connections are noticed and the count drops again
        deadline = time.monotonic() + 5
        while True:
            cur = int(srv.stats()["curr_connections"])
            if cur < 10 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert cur < 10, "curr_connections still %d after closing 500" % cur


def test_connection_limit_rejects_with_error_then_close():
    srv, limit = limit_server()
    with srv:
        served, rejected = [], []
        try:
            for _ in range(limit + 3):
                s, rej = try_connect(srv.port)
                if s:
                    assert not rejected, "a connection was served after one had been rejected"
                    served.append(s)
                else:
                    rejected.append(rej)
            print("served %d connections with -c, rejected %d" % (len(served), len(rejected)))
            assert 1 <= len(served) <= limit, len(served)
            if is_memcached():
                assert len(served) == 10, len(served)
            assert rejected, "no connection was rejected"
            for sess, first in rejected:
                # reply shape: exactly the one line, then close
                sess.buf = first
                sess.expect(REJECT)
                sess.expect_closed(3)
                sess.close()
            # existing connections keep being served
            for i, s in enumerate(served):
                s.call("set held%d 0 0 1\r\nx\r\n" % i, "STORED\r\n")
                s.call("get held%d\r\n" % i, "VALUE held%d 0 1\r\nx\r\nEND\r\n" % i)
            st = served[0].stats()
            assert int(st["rejected_connections"]) >= len(rejected), st.get("rejected_connections")
            # after one closes, a new one is accepted again
            served.pop().close()
            deadline = time.monotonic() + 5
            while True:
                s, rej = try_connect(srv.port)
                if s:
                    served.append(s)
                    break
                rej[0].close()
                assert time.monotonic() < deadline, "no connection accepted after one closed"
                time.sleep(0.1)
            served[-1].call("get held0\r\n", "VALUE held0 0 1\r\nx\r\nEND\r\n")
            # and the one after that is rejected again
            s, rej = try_connect(srv.port)
            assert s is None, "limit no longer enforced"
            rej[0].close()
        finally:
            for s in served:
                s.close()


def test_client_closing_mid_command_does_not_hurt_others():
    with Server() as srv, srv.session() as keeper:
        for i in range(50):
            raw = socket.create_connection(("127.0.0.1", srv.port), timeout=3)
            raw.sendall([b"set x 0 0 100\r\nabc", b"get a b c", b"gets", b"set y 0 0 5\r\nhello\r\nget y\r\n"][i % 4])
            if i % 2:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            raw.close()
        keeper.call("set k 0 0 1\r\nv\r\n", "STORED\r\n")
        keeper.call("get x k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")


if __name__ == "__main__":
    run_tests(globals())
