"""Values near and over the item size limit (-I)."""

from kioku_harness import Server, run_tests

TOO_LARGE = "SERVER_ERROR object too large for cache\r\n"


def pattern(n, seed=0):
    block = bytes((i * 7 + seed) % 251 for i in range(1000))
    return (block * (n // 1000 + 1))[:n]


def test_one_megabyte_value_roundtrip():
    with Server() as srv, srv.session(timeout=15) as s:
        v = pattern(1000000)
        s.call(b"set big 1 0 %d\r\n" % len(v) + v + b"\r\n", "STORED\r\n")
        s.call("get big\r\n", b"VALUE big 1 1000000\r\n" + v + b"\r\nEND\r\n")
        s.send("gets big\r\n")
        s.expect_re(rb"VALUE big 1 1000000 \d+\r\n")
        s.expect(v + b"\r\nEND\r\n")


def test_append_past_limit_is_not_stored():
    with Server() as srv, srv.session(timeout=15) as s:
        v = pattern(1000000)
        s.call(b"set big 0 0 %d\r\n" % len(v) + v + b"\r\n", "STORED\r\n")
        tail = b"t" * 100000
        s.call(b"append big 0 0 %d\r\n" % len(tail) + tail + b"\r\n", "NOT_STORED\r\n")
        s.call(b"prepend big 0 0 %d\r\n" % len(tail) + tail + b"\r\n", "NOT_STORED\r\n")
        s.call("get big\r\n", b"VALUE big 0 1000000\r\n" + v + b"\r\nEND\r\n")
        small = b"s" * 1000
        s.call(b"append big 0 0 %d\r\n" % len(small) + small + b"\r\n", "STORED\r\n")
        s.call("get big\r\n", b"VALUE big 0 1001000\r\n" + v + small + b"\r\nEND\r\n")


def test_item_size_max_2m_allows_1_5mb():
    with Server(["-I", "2m"]) as srv, srv.session(timeout=15) as s:
        v = pattern(1500000, 3)
        s.call(b"set big 0 0 %d\r\n" % len(v) + v + b"\r\n", "STORED\r\n")
        s.call("get big\r\n", b"VALUE big 0 1500000\r\n" + v + b"\r\nEND\r\n")


def test_item_size_max_1m_refuses_1_1mb_and_stays_usable():
    with Server(["-I", "1m"]) as srv, srv.session(timeout=15) as s:
        v = pattern(1100000, 5)
        s.call(b"set big 0 0 %d\r\n" % len(v) + v + b"\r\n", TOO_LARGE)
        s.call("get big\r\n", "END\r\n")
        s.call(b"add big 0 0 %d\r\n" % len(v) + v + b"\r\n", TOO_LARGE)
        s.call(b"set big 0 0 %d noreply\r\n" % len(v) + v + b"\r\n", "")
        s.call("set small 0 0 2\r\nok\r\n", "STORED\r\n")
        s.call("get big small\r\n", "VALUE small 0 2\r\nok\r\nEND\r\n")
        # an existing item is replaced by nothing: a refused set leaves the old value gone
        s.call("set keep 0 0 3\r\nold\r\n", "STORED\r\n")
        s.call(b"set keep 0 0 %d\r\n" % len(v) + v + b"\r\n", TOO_LARGE)
        s.call("get keep\r\n", "END\r\n")


def test_item_size_boundary_counts_client_flags():
    # memcached 1.6.18 with -I 1m: key + value + 59 bytes must fit, and non-zero flags take
    # 4 bytes more. The refused value is swallowed and the connection stays usable.
    with Server(["-I", "1m"]) as srv, srv.session(timeout=15) as s:
        for flags, n, reply in ((0, 1048516, "STORED\r\n"),
                                (0, 1048517, "SERVER_ERROR object too large for cache\r\n"),
                                (5, 1048512, "STORED\r\n"),
                                (5, 1048513, "SERVER_ERROR object too large for cache\r\n")):
            s.call(b"set k %d 0 %d\r\n" % (flags, n) + b"x" * n + b"\r\n", reply)
        # The refused set also dropped the value stored just before it, as memcached does.
        s.call("get k\r\n", "END\r\n")


def test_many_mid_size_values():
    with Server(["-m", "64"]) as srv, srv.session(timeout=15) as s:
        vals = [pattern(5000 + i * 977, i) for i in range(40)]
        s.send(b"".join(b"set v%d 0 0 %d noreply\r\n" % (i, len(v)) + v + b"\r\n" for i, v in enumerate(vals)))
        want = b"".join(b"VALUE v%d 0 %d\r\n" % (i, len(v)) + v + b"\r\n" for i, v in enumerate(vals)) + b"END\r\n"
        s.call("get " + " ".join("v%d" % i for i in range(40)) + "\r\n", want)


if __name__ == "__main__":
    run_tests(globals())
