"""Many clients at once: atomic incr and no cross-talk between connections."""

import threading

from kioku_harness import Server, run_tests

THREADS = 8
INCRS = 2000
KEYS = ["ctr%d" % i for i in range(4)]


def _run_threads(target, n):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append("thread %d: %r" % (i, e))

    ts = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
        assert not t.is_alive(), "worker thread hung"
    assert not errors, "\n".join(errors[:5])


def test_concurrent_incr_exact_totals():
    with Server(["-t", "4"]) as srv:
        with srv.session() as s:
            for k in KEYS:
                s.call("set %s 0 0 1\r\n0\r\n" % k, "STORED\r\n")

        def worker(i):
            with srv.session(timeout=20) as s:
                # pipelined in chunks of 100 so both cores stay busy
                for base in range(0, INCRS, 100):
                    batch = ["incr %s %d\r\n" % (KEYS[(base + j + i) % 4], 1 + (i % 3))
                             for j in range(100)]
                    s.send("".join(batch))
                    for _ in batch:
                        line = s.readline()
                        assert line[:-2].isdigit(), line

        _run_threads(worker, THREADS)
        # each thread adds (1 + i%3) on every incr, spread evenly over the 4 keys
        want = {k: 0 for k in KEYS}
        for i in range(THREADS):
            for n in range(INCRS):
                want[KEYS[(n + i) % 4]] += 1 + (i % 3)
        with srv.session() as s:
            for k in KEYS:
                v = str(want[k])
                s.call("get %s\r\n" % k, "VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v))


def test_concurrent_decr_and_incr_cancel_out():
    with Server(["-t", "4"]) as srv:
        with srv.session() as s:
            s.call("set c 0 0 4\r\n5000\r\n", "STORED\r\n")  # never reaches the floor at 0

        def worker(i):
            with srv.session(timeout=20) as s:
                op = "incr" if i % 2 else "decr"
                s.send("".join("%s c 1\r\n" % op for _ in range(500)))
                for _ in range(500):
                    s.readline()

        _run_threads(worker, 8)
        with srv.session() as s:
            s.send("get c\r\n")
            s.expect("VALUE c 0 ")
            n = int(s.readline())
            val = s.readline()[:-2].strip()
            s.expect("END\r\n")
            assert n >= len(val) and val == b"5000", (n, val)


def test_concurrent_distinct_keys_no_crosstalk():
    with Server(["-t", "4"]) as srv:
        def value(i, j):
            return (("conn%d-item%d-" % (i, j)) * (1 + (i * 7 + j) % 40)).encode()

        def worker(i):
            with srv.session(timeout=20) as s:
                for round_ in range(4):
                    items = [(("k%d_%d" % (i, j)), value(i, j + round_)) for j in range(100)]
                    s.send(b"".join(b"set %s %d 0 %d\r\n" % (k.encode(), i, len(v)) + v + b"\r\n"
                                    for k, v in items))
                    for _ in items:
                        s.expect("STORED\r\n")
                    want = b"".join(b"VALUE %s %d %d\r\n" % (k.encode(), i, len(v)) + v + b"\r\n"
                                    for k, v in items) + b"END\r\n"
                    s.call("get " + " ".join(k for k, _ in items) + "\r\n", want)
                    for k, v in items[::10]:
                        s.call("get %s\r\n" % k, b"VALUE %s %d %d\r\n" % (k.encode(), i, len(v)) + v + b"\r\nEND\r\n")

        _run_threads(worker, 16)
        assert int(srv.stats()["curr_items"]) == 1600


if __name__ == "__main__":
    run_tests(globals())
