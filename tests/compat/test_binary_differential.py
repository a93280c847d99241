"""Binary differential test: the same seeded streams of binary requests to
kiokud and memcached 1.6.18, replies compared byte for byte.

Only the CAS field of response headers is normalised (each server numbers its
own items), plus the trailing spaces memcached MAY leave after a shrinking
incr/decr rewrote a counter in place (protocol.txt: do not rely on it; whether
it happens depends on whether a reply still references the item). Requests that carry a CAS use, per server, the CAS that server
last reported for the key, or a value no item has, so both servers take the
same branch. Streams avoid what memcached answers non-deterministically or
what depends on timing: short TTLs, flush delays, arithmetic on numbers >=
2^63, append/prepend onto counters, stats, and requests that make memcached
skip bytes (unknown opcodes), whose replies it holds until the skip ends, and
incr/decr on blank values (memcached's strtoull reads past the value there).

With KIOKU_TARGET=memcached both sides are memcached: a self-check.
"""

import os
import random
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from kioku_harness import Server, run_tests
import kioku_binary as b

FLAGS = ["-m", "64", "-I", "1m"]
WORD_KEYS = [b"w%d" % i for i in range(5)]
NUM_KEYS = [b"n%d" % i for i in range(4)]
ALL_KEYS = WORD_KEYS + NUM_KEYS
NO_SUCH_CAS = 0x7fffffffffff
LAST_CAS = "last"


class Gen:
    """Builds requests as (opcode, key, extras, value, cas-choice)."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def value_for(self, key):
        r = self.r
        if key in NUM_KEYS:
            if r.random() < 0.85:
                return b"%d" % r.choice([0, 1, 7, 9, 10, 99, 100, 999, 123456, 2 ** 32, 2 ** 40])
            # Letters only: memcached's strtoull() runs past a blank value's end into
            # whatever memory follows, so incr on "  " answers at random there.
            return bytes(r.choice(b"abcxyz") for _ in range(r.randint(1, 12)))
        return bytes(r.choice(b"abcxyz ") for _ in range(r.choice([0, 1, 5, 30, 300])))

    def cas_choice(self, p_last=0.2, p_bogus=0.1):
        x = self.r.random()
        return LAST_CAS if x < p_last else NO_SUCH_CAS if x < p_last + p_bogus else 0

    def request(self):
        r = self.r
        k = r.choice(ALL_KEYS)
        x = r.random()
        if x < 0.30:
            op = r.choice(["SET", "SET", "ADD", "REPLACE", "SETQ", "ADDQ", "REPLACEQ"])
            extras = b.set_extras(r.choice([0, 3, 0xffffffff]), r.choice([0, 0, 100000]))
            return (op, k, extras, self.value_for(k), self.cas_choice())
        if x < 0.50:
            op = r.choice(["GET", "GETQ", "GETK", "GETKQ"])
            return (op, k, b"", b"", 0)
        if x < 0.60:
            k = r.choice(WORD_KEYS)
            op = r.choice(["APPEND", "PREPEND", "APPENDQ", "PREPENDQ"])
            return (op, k, b"", self.value_for(k), self.cas_choice(0.1, 0.1))
        if x < 0.75:
            k = r.choice(NUM_KEYS)
            op = r.choice(["INCR", "DECR", "INCRQ", "DECRQ"])
            extras = b.incr_extras(r.choice([0, 1, 3, 50, 1000]), r.choice([0, 5, 100]),
                                   r.choice([0, 0xffffffff, 100000]))
            return (op, k, extras, b"", self.cas_choice(0.1, 0.1))
        if x < 0.83:
            return (r.choice(["DELETE", "DELETEQ"]), k, b"", b"", self.cas_choice())
        if x < 0.93:
            op = r.choice(["TOUCH", "GAT", "GATQ", "GATK", "GATKQ"])
            return (op, k, b.touch_extras(r.choice([0, 100000])), b"", 0)
        if x < 0.95:
            return (r.choice(["FLUSH", "FLUSHQ"]), b"", b"", b"", 0)
        return (r.choice(["NOOP", "VERSION"]), b"", b"", b"", 0)


class Side:
    def __init__(self, srv):
        self.sess = srv.session(timeout=10)
        self.cas = {}
        self.sync = 0x40000000

    def render(self, req, opaque):
        op, key, extras, value, cas = req
        if cas == LAST_CAS:
            cas = self.cas.get(key, NO_SUCH_CAS)
        return b.request(op, key, extras, value, opaque=opaque, cas=cas)

    def exchange(self, reqs):
        """Sends the batch and a NOOP; returns the response packets before the NOOP's."""
        self.sync += 1
        self.sess.send(b"".join(self.render(q, i) for i, q in enumerate(reqs))
                       + b.request("NOOP", opaque=self.sync))
        out = []
        while True:
            resp = b.read_response(self.sess, timeout=15)
            if resp.opcode == b.OP["NOOP"] and resp.opaque == self.sync:
                return out
            if resp.status == 0 and resp.cas and resp.opaque < len(reqs):
                key = reqs[resp.opaque][1]
                op = reqs[resp.opaque][0]
                if op not in ("DELETE",):
                    self.cas[key] = resp.cas
            out.append(resp.raw)


def normalise(packets):
    out = []
    for p in packets:
        r = b.Response(p)
        value = r.value
        if re.fullmatch(rb"\d+ +", value):
            value = value.rstrip(b" ")
        body = len(r.extras) + len(r.key) + len(value)
        out.append(p[:8] + struct.pack(">I", body) + p[12:16] + bytes(8) + r.extras + r.key + value)
    return out


def run_stream(seed, batches, batch_size):
    gen = Gen(seed)
    with Server(FLAGS) as a, Server(FLAGS, kind="memcached") as m:
        left, right = Side(a), Side(m)
        for bi in range(batches):
            reqs = [gen.request() for _ in range(batch_size)]
            ra, rm = left.exchange(reqs), right.exchange(reqs)
            na, nm = normalise(ra), normalise(rm)
            if na != nm:
                first = next((i for i, (x, y) in enumerate(zip(na, nm)) if x != y), min(len(na), len(nm)))
                raise AssertionError(
                    "seed %d batch %d: replies differ at packet %d\nrequests: %r\n%s: %r\nmemcached: %r"
                    % (seed, bi, first, reqs[max(0, first - 5):first + 5], a.kind,
                       [b.Response(p) for p in ra[first:first + 3]],
                       [b.Response(p) for p in rm[first:first + 3]]))
        # Both end with the same items.
        probe = [("GETK", k, b"", b"", 0) for k in ALL_KEYS]
        final_a, final_m = normalise(left.exchange(probe)), normalise(right.exchange(probe))
        assert final_a == final_m, "final contents differ:\n%r\n%r" % (
            [b.Response(p) for p in final_a], [b.Response(p) for p in final_m])


def test_one_by_one_seed_31():
    run_stream(31, 300, 1)


def test_batched_seed_41():
    run_stream(41, 40, 40)


def test_batched_seed_42():
    run_stream(42, 40, 40)


def test_batched_seed_43():
    run_stream(43, 10, 200)


def test_normaliser_touches_only_cas():
    packet = b.HEADER.pack(b.RES, 1, 0, 0, 0, 0, 3, 7, 12345) + b"abc"
    (got,) = normalise([packet])
    assert got[:16] == packet[:16] and got[16:24] == bytes(8) and got[24:] == b"abc"
    padded = b.HEADER.pack(b.RES, 0, 0, 4, 0, 0, 7, 1, 9) + b"\0\0\0\0" + b"12 "
    (got,) = normalise([padded])
    assert got == b.HEADER.pack(b.RES, 0, 0, 4, 0, 0, 6, 1, 0) + b"\0\0\0\0" + b"12"


if __name__ == "__main__":
    run_tests(globals())
