"""Hostile and broken clients: after each attack the server still answers a fresh set/get and its
resident memory stays bounded.

memcached 1.6.18 is the reference for what is answered and when a connection is closed (run with
KIOKU_TARGET=memcached). Observed there, and expected here byte for byte:
- garbage lines (any bytes, NULs included, up to '\\n') answer "ERROR" and the connection lives;
- a declared length of 2^31 or more, or a negative one, is "CLIENT_ERROR bad command line format"
  (nothing swallowed); 2^31-1 too, because the length plus its CRLF must fit an int;
  4294967296 wraps to 0 (memcached reads a long, then keeps 32 bits), so the data that follows is
  a "bad data chunk" and its remainder a command;
- more than 2048 bytes without '\\n' close the connection, unless the line is a get/gets, which
  memcached reads without bound.
Where Kioku deliberately differs (kiokud-only tests): a get line still without '\\n' after 8 MiB
closes the connection, and a multi-get whose reply would hold more than 64 MiB of composed bytes
ends with "SERVER_ERROR out of memory writing get response" and a close (memcached serves it).
A client that pipelines without ever reading is not closed by either server: both stop reading
from it once its replies back up, so its cost is bounded (checked through RSS).
"""

import random
import select
import socket
import struct
import threading
import time

from kioku_harness import (CHECK_RSS, Server, Session, assert_rss_within, is_memcached,
                           kiokud_only, rss_bytes, run_tests)

HOST = "127.0.0.1"


def assert_serves(srv, tag):
    """A fresh connection can store and read back a value."""
    with srv.session() as s:
        value = "v-%s-%d" % (tag, random.randrange(1 << 30))
        s.call("set fresh_%s 0 0 %d\r\n%s\r\n" % (tag, len(value), value), "STORED\r\n")
        s.call("get fresh_%s\r\n" % tag,
               "VALUE fresh_%s 0 %d\r\n%s\r\nEND\r\n" % (tag, len(value), value))


def raw_connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    return s


def abort(sock):
    """Closes with a RST, as a crashed client or a dropped network would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def wait_for_connections_reclaimed(srv, most=20, within=10.0):
    """Waits until the server has noticed every dropped connection; returns the count."""
    deadline = time.monotonic() + within
    with srv.session() as s:
        while True:
            current = int(s.stats()["curr_connections"])
            if current < most or time.monotonic() > deadline:
                return current
            time.sleep(0.1)


def warmed_server(args=()):
    srv = Server(list(args)).start()
    assert_serves(srv, "warm")
    return srv


def test_garbage_lines_answer_error_and_keep_the_connection():
    with warmed_server() as srv:
        rng = random.Random(8)
        with srv.session() as s:
            for _ in range(200):
                # Any bytes but '\n' and the binary protocol's magic first byte; words stay
                # under 2048 bytes so the line is garbage, not "too long".
                n = rng.randrange(2, 200)
                junk = bytes(rng.choice([b for b in range(256) if b not in (0x0A, 0x80)])
                             for _ in range(n))
                junk = b"\x01" + junk  # never a real command word
                s.send(junk + b"\r\n")
                s.expect("ERROR\r\n")
            s.call(b"\x00\x00\r\n", "ERROR\r\n")
            s.send("version\r\n")
            s.expect_re(rb"VERSION \S+\r\n")
        assert_serves(srv, "garbage")


def test_declared_lengths_of_2_31_and_more():
    with warmed_server() as srv:
        base = rss_bytes(srv)
        with srv.session() as s:
            for length in ("2147483648", "2147483647", "99999999999999999999", "-1",
                           "18446744073709551616"):
                s.call("set big 0 0 %s\r\n" % length, "CLIENT_ERROR bad command line format\r\n")
            # 2^32 wraps to a zero-length value: "ab" is then a bad data chunk, and what follows
            # it on the line is read as a command.
            s.call("set big 0 0 4294967296\r\nab\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
            s.call("get big\r\n", "END\r\n")
        assert_serves(srv, "lengths")
        assert_rss_within(srv, base, 16, "declared huge lengths")


def test_value_over_item_limit_is_refused_without_buffering_it():
    # -I bounds what is read into memory: a 32 MB value against a 1 MB limit is swallowed as it
    # streams in, never buffered whole.
    with warmed_server() as srv:
        base = rss_bytes(srv)
        with srv.session(timeout=30) as s:
            size = 32 << 20
            s.send("set huge 0 0 %d\r\n" % size)
            chunk = b"z" * (1 << 20)
            for _ in range(size >> 20):
                s.send(chunk)
            s.send(b"\r\n")
            s.expect("SERVER_ERROR object too large for cache\r\n")
            s.call("get huge\r\n", "END\r\n")
        assert_serves(srv, "item_limit")
        assert_rss_within(srv, base, 16, "oversized value")


def test_two_megabytes_without_newline_close_the_connection():
    with warmed_server() as srv:
        base = rss_bytes(srv)
        for filler in (b"x", b"\xff", b"set "):
            with srv.session(timeout=10) as s:
                try:
                    s.send(filler * ((2 << 20) // len(filler)))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # closed while we were still writing: that is the point
                s.expect_closed(timeout=10)
        assert_serves(srv, "noline")
        assert_rss_within(srv, base, 16, "2 MB lines")


def test_two_megabyte_get_line_is_answered():
    # memcached reads a multi-get line of any length; 2 MB (50,000 keys of 40 bytes) must work.
    with warmed_server() as srv:
        key = b"k" * 40
        with srv.session(timeout=60) as s:
            s.call(b"set " + key + b" 0 0 2\r\nhi\r\n", "STORED\r\n")
            line = b"get " + (key + b" ") * 50000
            s.send(line)
            time.sleep(0.2)
            s.send(b"\r\n")
            reply = s.read_until(b"END\r\n", timeout=60)
            assert reply == (b"VALUE " + key + b" 0 2\r\nhi\r\n") * 50000 + b"END\r\n", len(reply)
        assert_serves(srv, "longget")


def test_get_line_over_the_cap_closes_the_connection():
    kiokud_only("memcached reads a get line without bound")
    with warmed_server() as srv:
        base = rss_bytes(srv)
        with srv.session(timeout=20) as s:
            try:
                s.send(b"get " + b"kkkkkkkkk " * (1 << 20))  # 10 MiB, no newline
            except (BrokenPipeError, ConnectionResetError):
                pass
            s.expect_closed(timeout=20)
        assert_serves(srv, "getcap")
        assert_rss_within(srv, base, 48, "over-long get line")


def test_huge_multiget_reply():
    # 400,000 hits of a 200-byte value: about 90 MB of copied replies.
    with warmed_server() as srv:
        value = "s" * 200
        with srv.session(timeout=60) as s:
            s.call("set s 0 0 200\r\n%s\r\n" % value, "STORED\r\n")
            s.send(b"get " + b"s " * 400000 + b"\r\n")
            hit = ("VALUE s 0 200\r\n%s\r\n" % value).encode()
            got = bytearray()
            deadline = time.monotonic() + 60
            closed = False
            while time.monotonic() < deadline:
                s.sock.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = s.sock.recv(1 << 20)
                if not chunk:
                    closed = True
                    break
                got += chunk
                if got.endswith(b"END\r\n"):
                    break
            if is_memcached():
                # memcached 1.6.18 answers only about 60,000 hits of a multi-get (59,998 or
                # 59,999 observed), then END; it counts the remaining keys as misses.
                assert not closed and got.endswith(b"END\r\n"), (closed, bytes(got[-80:]))
                hits = (len(got) - 5) // len(hit)
                assert 50000 < hits < 61000 and got[:-5] == hit * hits, len(got)
            else:
                tail = b"SERVER_ERROR out of memory writing get response\r\n"
                assert closed and got.endswith(tail), (closed, bytes(got[-80:]))
                body = bytes(got[:-len(tail)])
                assert len(body) % len(hit) == 0 and body == hit * (len(body) // len(hit))
                assert len(body) > (32 << 20), len(body)  # cut at the cap, not earlier
        assert_serves(srv, "multiget")


def test_5000_connections_opened_and_dropped_abruptly():
    with warmed_server() as srv:
        base = rss_bytes(srv)
        rng = random.Random(5000)
        for _batch in range(10):
            socks = [raw_connect(srv.port) for _ in range(500)]
            for i, sock in enumerate(socks):
                what = rng.randrange(4)
                try:
                    if what == 1:
                        sock.sendall(b"get k")  # half a command
                    elif what == 2:
                        sock.sendall(b"set k 0 0 100\r\nabc")  # half a value
                    elif what == 3:
                        sock.sendall(b"version\r\n")
                except OSError:
                    pass
            for sock in socks:
                abort(sock) if rng.randrange(2) else sock.close()
        assert_serves(srv, "flood")
        current = wait_for_connections_reclaimed(srv)
        assert current < 20, "connections not reclaimed: %d" % current
        assert_rss_within(srv, base, 32, "5000 dropped connections")


def test_slow_loris_writers_do_not_block_others():
    with warmed_server() as srv:
        value = b"0123456789"
        requests = [b"set slow%d 0 0 10\r\n%s\r\n" % (i, value) for i in range(20)]
        slow = [raw_connect(srv.port) for _ in requests]
        stop = threading.Event()
        worst = [0.0]

        def fast_client():
            with srv.session() as s:
                while not stop.is_set():
                    t0 = time.monotonic()
                    s.send("version\r\n")
                    s.readline()
                    worst[0] = max(worst[0], time.monotonic() - t0)
                    time.sleep(0.01)

        fast = threading.Thread(target=fast_client)
        fast.start()
        try:
            # One byte per connection per round, 20 ms apart: about 0.7 s per request byte
            # stream, the whole thing around 2.5 s.
            for pos in range(max(len(r) for r in requests)):
                for sock, req in zip(slow, requests):
                    sock.sendall(req[pos:pos + 1])
                time.sleep(0.02 if pos % 4 else 0.06)
        finally:
            stop.set()
            fast.join()
        for sock in slow:
            sock.settimeout(5)
            assert sock.recv(64) == b"STORED\r\n"
            sock.close()
        # Generous for a loaded CI machine; a server serialised behind them would wait ~2.5 s+.
        assert worst[0] < 2.0, "a fast client waited %.2fs behind slow writers" % worst[0]
        with srv.session() as s:
            s.call("get slow19\r\n", b"VALUE slow19 0 10\r\n" + value + b"\r\nEND\r\n")
        assert_serves(srv, "loris")


def test_connections_dropped_mid_value():
    # Each round leaves 200 half-read 500 KB values behind. The first round's buffers may stay
    # cached by the allocator; further rounds must not add to them (no leak).
    with warmed_server() as srv:
        base = rss_bytes(srv)
        part = b"p" * 250000
        after_round = []
        for _round in range(3):
            for i in range(200):
                sock = raw_connect(srv.port)
                sock.sendall(b"set mid%d 0 0 500000\r\n" % (i % 10) + part)
                abort(sock) if i % 2 else sock.close()
            assert wait_for_connections_reclaimed(srv) < 20
            after_round.append(rss_bytes(srv))
        with srv.session() as s:
            for i in range(10):
                s.call("get mid%d\r\n" % i, "END\r\n")
        assert_serves(srv, "midvalue")
        assert_rss_within(srv, base, 96, "dropped mid-value")
        if CHECK_RSS:
            # A leak would add ~100 MB every round (200 x 500 KB). Up to a round's worth of freed
            # buffers may stay cached by the allocator for the other worker, and whether that
            # shows after the first round or the second depends on timing (seen in CI: 12 MB,
            # then 85, then 85), so the last round is compared with the one before it.
            assert after_round[2] - after_round[1] < 64 << 20, "RSS grows: %r" % after_round


def test_many_large_values_in_flight_are_bounded():
    # Twelve clients each start an 8 MB set and stall half-way: 96 MB in flight against -m 64.
    # Kioku bounds the buffers it receives values into (per worker: max(-m / threads, 64 MiB,
    # 2 x -I)) and refuses the rest with memcached's out-of-memory reply; a value it accepted is
    # stored once it is complete.
    size = 8000000  # under -I 8m with the key and memcached's item overhead
    with warmed_server(["-m", "64", "-I", "8m", "-t", "1"]) as srv:
        base = rss_bytes(srv)
        half = b"h" * (size // 2)
        socks = []
        for i in range(12):
            sock = raw_connect(srv.port, timeout=10)
            sock.sendall(b"set inflight%d 0 0 %d\r\n" % (i, size) + half)
            socks.append(sock)
        # 8 values of 8,000,000 bytes fit Kioku's 64 MiB budget; the other 4 are refused.
        # Wait for the refusals (a sanitized server is slow), at most a few seconds.
        refused = set()
        deadline = time.monotonic() + (2 if is_memcached() else 10)
        while time.monotonic() < deadline and len(refused) < 4:
            ready, _, _ = select.select([x for x in socks if socks.index(x) not in refused],
                                        [], [], 0.2)
            for sock in ready:
                early = sock.recv(100)
                assert early == b"SERVER_ERROR out of memory storing object\r\n", early
                refused.add(socks.index(sock))
        refused = sorted(refused)
        accepted = [i for i in range(12) if i not in refused]
        if is_memcached():
            # Observed: memcached 1.6.18 took all twelve (its chunked large items are not held
            # to -m while they are being received).
            assert accepted == list(range(12)), refused
        else:
            assert len(refused) == 4, (refused, accepted)
        peak = rss_bytes(srv)
        first = accepted[0]
        for i, sock in enumerate(socks):
            if i != first:
                abort(sock)
        socks[first].settimeout(10)
        socks[first].sendall(half + b"\r\n")
        assert socks[first].recv(100) == b"STORED\r\n"
        socks[first].close()
        with srv.session(timeout=10) as s:
            s.send("get inflight%d\r\n" % first)
            reply = s.read_until(b"END\r\n", timeout=10)
            assert reply.startswith(b"VALUE inflight%d 0 %d\r\n" % (first, size)), reply[:80]
        if CHECK_RSS:
            assert peak - base < 100 << 20, "RSS grew %.1f MB" % ((peak - base) / 1048576.0)
        assert_serves(srv, "inflight")


def test_client_that_never_reads_its_replies_is_bounded():
    with warmed_server() as srv:
        with srv.session() as s:
            s.call("set small 0 0 200\r\n%s\r\n" % ("q" * 200), "STORED\r\n")
        base = rss_bytes(srv)
        reader = raw_connect(srv.port)
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        batch = b"get small\r\n" * 10000  # about 2.2 MB of replies per 110 KB sent
        sent = 0
        reader.settimeout(2.0)
        try:
            while sent < 200 * len(batch):  # would be 440 MB of replies
                sent += reader.send(batch)
        except socket.timeout:
            pass  # the server stopped reading from us: backpressure
        assert sent < 200 * len(batch), "the server read 22 MB of requests it cannot answer"
        assert_serves(srv, "noread")
        assert_rss_within(srv, base, 48, "client that never reads")
        abort(reader)
        assert_serves(srv, "noread_after")


def test_memory_pressure_with_mixed_sizes():
    # Fill far beyond -m 16 with sizes from 10 bytes to 600 KB for about 10 s, pipelined.
    with warmed_server(["-m", "16"]) as srv:
        rng = random.Random(16)
        sizes = [10, 100, 700, 3000, 20000, 120000, 600000]
        errors = {}
        stored = 0
        peak = 0
        deadline = time.monotonic() + 10
        with srv.session(timeout=30) as s:
            n = 0
            while time.monotonic() < deadline:
                batch = []
                for _ in range(32):
                    size = rng.choice(sizes) + rng.randrange(8)
                    batch.append((n, size))
                    n += 1
                s.send(b"".join(b"set p%d 0 0 %d\r\n%s\r\n" % (i, size, b"m" * size)
                                for i, size in batch))
                for i, size in batch:
                    line = s.readline()
                    if line == b"STORED\r\n":
                        stored += 1
                    else:
                        errors[size] = line
                peak = max(peak, rss_bytes(srv))
            st = s.stats()
        assert not errors, "errors under memory pressure: %r" % errors
        assert int(st["evictions"]) > 0, "never filled the cache"
        assert stored > 1000, stored
        if CHECK_RSS:
            assert peak < (16 + 48) << 20, "RSS %.1f MB with -m 16" % (peak / 1048576.0)
        assert_serves(srv, "pressure")


run_tests(globals())
