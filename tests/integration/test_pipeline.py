"""1,000 pipelined commands in one write, checked against a Python model.

The model is a few lines of memcached semantics (as observed on 1.6.18).
Two memcached details shape the generator:
- incr/decr that makes a number shorter MAY leave it space-padded ("100" decr 1
  -> "99 "), and whether memcached pads depends on whether a pending reply
  still references the item (timing). protocol.txt says not to rely on it, so
  the generator never emits an incr/decr that would shorten a value.
- memcached's number check is strtoull's: " abc" or "12 x" count as numbers.
  Values here are either all digits or all letters, so "numeric" is plain.
- a stored number >= 2^63 makes memcached look for a '-' sign with strchr over
  the unterminated item data, so its incr/decr may answer "non-numeric"
  depending on bytes past the value. The generator never does arithmetic on
  such a stored value (it may still produce one, and get it).
"""

import random
import re

from kioku_harness import Server, run_tests

NUMERIC = re.compile(rb"^[0-9]+$")


class Model:
    def __init__(self):
        self.items = {}  # key -> [flags, value]

    def store(self, mode, key, flags, value):
        have = key in self.items
        if mode == "set" or (mode == "add" and not have) or (mode == "replace" and have):
            self.items[key] = [flags, value]
            return b"STORED\r\n"
        if mode in ("append", "prepend") and have:
            old = self.items[key]
            old[1] = old[1] + value if mode == "append" else value + old[1]
            return b"STORED\r\n"
        return b"NOT_STORED\r\n"

    def get(self, keys):
        out = b""
        for k in keys:
            if k in self.items:
                f, v = self.items[k]
                out += b"VALUE %s %d %d\r\n%s\r\n" % (k, f, len(v), v)
        return out + b"END\r\n"

    def arith(self, op, key, delta):
        if key not in self.items:
            return b"NOT_FOUND\r\n"
        item = self.items[key]
        if not NUMERIC.match(item[1]) or int(item[1]) >= 2 ** 64:
            return b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        n = int(item[1])
        n = (n + delta) % 2 ** 64 if op == "incr" else max(0, n - delta)
        text = b"%d" % n
        item[1] = text.ljust(len(item[1])) if len(text) <= len(item[1]) else text
        return text + b"\r\n"

    def would_shrink(self, op, key, delta):
        item = self.items.get(key)
        if item is None or not NUMERIC.match(item[1]) or int(item[1]) >= 2 ** 64:
            return False
        n = int(item[1])
        if n >= 2 ** 63:
            return True  # see below
        n = (n + delta) % 2 ** 64 if op == "incr" else max(0, n - delta)
        return len(b"%d" % n) < len(item[1])

    def delete(self, key):
        return b"DELETED\r\n" if self.items.pop(key, None) is not None else b"NOT_FOUND\r\n"

    def touch(self, key):
        return b"TOUCHED\r\n" if key in self.items else b"NOT_FOUND\r\n"


def generate(rng, model, count):
    keys = [b"p%d" % i for i in range(12)]
    req, rep = [], []
    for _ in range(count):
        k = rng.choice(keys)
        noreply = rng.random() < 0.2
        nr = b" noreply" if noreply else b""
        r = rng.random()
        if r < 0.35:
            mode = rng.choice(["set", "set", "add", "replace", "append", "prepend"])
            flags = rng.choice([0, 1, 42, 4294967295])
            if rng.random() < 0.5:
                value = b"%d" % rng.choice([0, 1, 9, 99, 100, 12345, 2 ** 64 - 2, 2 ** 64 - 1])
            else:
                value = bytes(rng.choice(b"abcxyz") for _ in range(rng.randint(0, 30)))
            req.append(b"%s %s %d %d %d%s\r\n%s\r\n" % (mode.encode(), k, flags, rng.choice([0, 100000]),
                                                       len(value), nr, value))
            out = model.store(mode, k, flags, value)
        elif r < 0.55:
            ks = [rng.choice(keys) for _ in range(rng.randint(1, 5))]
            req.append(b"get %s\r\n" % b" ".join(ks))
            out = model.get(ks)
            noreply = False
        elif r < 0.75:
            op = rng.choice(["incr", "decr"])
            delta = rng.choice([0, 1, 5, 100, 2 ** 64 - 1, 2 ** 63])
            if model.would_shrink(op, k, delta):
                req.append(b"get %s\r\n" % k)
                rep.append(model.get([k]))
                continue
            req.append(b"%s %s %d%s\r\n" % (op.encode(), k, delta, nr))
            out = model.arith(op, k, delta)
        elif r < 0.87:
            req.append(b"delete %s%s\r\n" % (k, nr))
            out = model.delete(k)
        else:
            req.append(b"touch %s 100000%s\r\n" % (k, nr))
            out = model.touch(k)
        rep.append(b"" if noreply else out)
    return req, rep


def _run_seed(seed):
    rng = random.Random(seed)
    model = Model()
    req, rep = generate(rng, model, 1000)
    with Server() as srv, srv.session(timeout=15) as s:
        s.send(b"".join(req))
        want = b"".join(rep)
        try:
            s.expect(want)
        except AssertionError:
            # Replay one by one on a fresh connection state to name the first bad command.
            with Server() as again, again.session() as s2:
                for i, (q, a) in enumerate(zip(req, rep)):
                    s2.send(q)
                    try:
                        s2.expect(a, timeout=2) if a else s2.expect_nothing(0.05)
                    except AssertionError as e:
                        raise AssertionError("seed %d: command #%d %r\n%s" % (seed, i, q, e))
            raise
        # the model's final state matches too
        keys = sorted(model.items)
        if keys:
            s.call(b"get %s\r\n" % b" ".join(keys), model.get(keys))


def test_pipeline_seed_1():
    _run_seed(1)


def test_pipeline_seed_2():
    _run_seed(2)


def test_pipeline_seed_3():
    _run_seed(3)


def test_pipeline_split_at_every_boundary():
    # the same stream, written in small odd-sized pieces
    rng = random.Random(7)
    req, rep = generate(rng, Model(), 300)
    data = b"".join(req)
    with Server() as srv, srv.session(timeout=15) as s:
        i = 0
        while i < len(data):
            n = rng.choice([1, 2, 3, 7, 64, 333])
            s.send(data[i:i + n])
            i += n
        s.expect(b"".join(rep))


if __name__ == "__main__":
    run_tests(globals())
