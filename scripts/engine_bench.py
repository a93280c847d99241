#!/usr/bin/env python3
"""scripts/engine_bench.py — memory-engine benchmarks, kiokud and memcached side by side.

Scenarios (each starts a fresh pair of servers with the same flags, one after the other):
  items    -m 64, 100-byte values, 10-20-byte keys, set until the first eviction:
           curr_items per MB, and RSS after the fill (target: <= m * 1.1 + 16 MB)
  zipf     -m 64, look-aside (get; set on miss) over a key space ~10x what fits, keys drawn
           Zipf(0.99): hit ratio after a warm-up
  expiry   -m 128, 1M items with a 2 s TTL and no reads: seconds until curr_items < 1%, then
           1M fresh sets: evictions they cause (should be 0: the memory was reused)
Prints one table with the kiokud / memcached ratio. Loopback only; single client thread.
Usage: engine_bench.py [items] [zipf] [expiry]   (env: KIOKUD, MEMCACHED, ZIPF_OPS)
"""
import array
import bisect
import itertools
import os
import random
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KIOKUD = os.environ.get("KIOKUD", os.path.join(ROOT, "build", "daemon", "kiokud"))
MEMCACHED = os.environ.get("MEMCACHED", "/usr/bin/memcached")
ZIPF_OPS = int(os.environ.get("ZIPF_OPS", "2000000"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind, args):
        self.kind = kind
        self.port = free_port()
        binary = KIOKUD if kind == "kiokud" else MEMCACHED
        argv = [binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0"] + args
        if kind == "memcached" and os.geteuid() == 0:
            argv += ["-u", "nobody"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port))
                self.sock.settimeout(60)
                # Small writes back to back (sets, then the next get): without this, Nagle and
                # delayed ACKs stall every batch for ~40 ms.
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""

    def close(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait()

    def send(self, data):
        self.sock.sendall(data)

    def read_until(self, term):
        while term not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk
        i = self.buf.index(term) + len(term)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def stats(self, arg=""):
        self.send(("stats %s\r\n" % arg).replace(" \r", "\r").encode())
        out = {}
        for line in self.read_until(b"END\r\n").split(b"\r\n"):
            p = line.split(b" ")
            if len(p) == 3 and p[0] == b"STAT":
                out[p[1].decode()] = p[2].decode()
        return out

    def sync(self):
        self.send(b"version\r\n")
        self.read_until(b"\r\n")

    def rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0


def key_of(i):
    """10..20 bytes, deterministic per index."""
    base = "k%d" % i
    return base + ":" * (10 + (i * 7919) % 11 - len(base))


def items_per_mb(kind):
    srv = Server(kind, ["-m", "64"])
    value = b"v" * 100
    n = 0
    try:
        while True:
            batch = b"".join(b"set %s 0 0 100 noreply\r\n%s\r\n" % (key_of(n + i).encode(), value)
                             for i in range(1000))
            srv.send(batch)
            n += 1000
            st = srv.stats()
            if int(st["evictions"]) > 0:
                break
        srv.sync()
        st = srv.stats()
        return {"items": int(st["curr_items"]), "items_per_mb": int(st["curr_items"]) / 64.0,
                "rss_mb": srv.rss_mb()}
    finally:
        srv.close()


def zipf_cdf(n, s):
    weights = (1.0 / (i ** s) for i in range(1, n + 1))
    cdf = array.array("d", itertools.accumulate(weights))
    total = cdf[-1]
    return cdf, total


def zipf_hit_ratio(kind, keyspace, cdf_total, ops):
    cdf, total = cdf_total
    rnd = random.Random(42)
    srv = Server(kind, ["-m", "64"])
    value = b"z" * 100
    try:
        def run(count):
            hits = 0
            done = 0
            while done < count:
                idx = [bisect.bisect_left(cdf, rnd.random() * total) for _ in range(100)]
                keys = [b"z%d" % i for i in idx]
                srv.send(b"get " + b" ".join(keys) + b"\r\n")
                resp = srv.read_until(b"END\r\n")
                found = set()
                for line in resp.split(b"\r\n"):
                    if line.startswith(b"VALUE "):
                        found.add(line.split(b" ")[1])
                hits += sum(1 for k in keys if k in found)
                missing = [k for k in dict.fromkeys(keys) if k not in found]
                if missing:
                    srv.send(b"".join(b"set %s 0 0 100 noreply\r\n%s\r\n" % (k, value) for k in missing))
                done += len(keys)
            return hits / done
        run(ops)  # warm-up
        return {"hit_ratio": run(ops), "items": int(srv.stats()["curr_items"])}
    finally:
        srv.close()


def expiry(kind):
    srv = Server(kind, ["-m", "128"])
    try:
        total = 1_000_000
        for start in range(0, total, 2000):
            srv.send(b"".join(b"set e%d 0 2 10 noreply\r\n0123456789\r\n" % i
                              for i in range(start, start + 2000)))
        srv.sync()
        set_done = time.time()
        stored = int(srv.stats()["curr_items"])
        reached = None
        while time.time() - set_done < 12:
            if int(srv.stats()["curr_items"]) < total // 100:
                reached = time.time() - set_done
                break
            time.sleep(0.25)
        left = int(srv.stats()["curr_items"])
        ev0 = int(srv.stats()["evictions"])
        for start in range(0, total, 2000):
            srv.send(b"".join(b"set f%d 0 0 10 noreply\r\n0123456789\r\n" % i
                              for i in range(start, start + 2000)))
        srv.sync()
        return {"stored": stored, "seconds_to_1pct": reached, "left_after": left,
                "evictions_refill": int(srv.stats()["evictions"]) - ev0}
    finally:
        srv.close()


def ratio(a, b):
    try:
        return "%.2f" % (a / b)
    except (TypeError, ZeroDivisionError):
        return "-"


def main(argv):
    which = argv or ["items", "zipf", "expiry"]
    rows = []
    if "items" in which:
        k, m = items_per_mb("kiokud"), items_per_mb("memcached")
        rows.append(("items/MB (-m 64, 100 B values)", "%.0f" % k["items_per_mb"], "%.0f" % m["items_per_mb"],
                     ratio(k["items_per_mb"], m["items_per_mb"])))
        rows.append(("RSS after fill, MB (limit 86.4)", "%.1f" % k["rss_mb"], "%.1f" % m["rss_mb"],
                     ratio(k["rss_mb"], m["rss_mb"])))
        capacity = k["items"]
    else:
        capacity = 430000
    if "zipf" in which:
        keyspace = capacity * 10
        cdf = zipf_cdf(keyspace, 0.99)
        k = zipf_hit_ratio("kiokud", keyspace, cdf, ZIPF_OPS)
        m = zipf_hit_ratio("memcached", keyspace, cdf, ZIPF_OPS)
        rows.append(("zipf 0.99 hit ratio, %d keys" % keyspace, "%.4f" % k["hit_ratio"],
                     "%.4f" % m["hit_ratio"], "%+.2f pts" % (100 * (k["hit_ratio"] - m["hit_ratio"]))))
    if "expiry" in which:
        k, m = expiry("kiokud"), expiry("memcached")
        fmt = lambda r: ("%.1f s" % r["seconds_to_1pct"]) if r["seconds_to_1pct"] is not None else ">12 s (%d left)" % r["left_after"]
        rows.append(("expiry: 1M items 2 s TTL -> <1% left", fmt(k), fmt(m), "-"))
        rows.append(("expiry: evictions on 1M refill", str(k["evictions_refill"]), str(m["evictions_refill"]), "-"))
    print("| metric | kiokud | memcached 1.6.18 | kiokud/memcached |")
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s |" % r)


if __name__ == "__main__":
    main(sys.argv[1:])
