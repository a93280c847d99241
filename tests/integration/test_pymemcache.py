"""Debian's python3-pymemcache (3.5.2) as a real client of the server."""

import sys

from kioku_harness import Server, run_tests

try:
    from pymemcache.client.base import Client
    from pymemcache.exceptions import MemcacheIllegalInputError
except ImportError:  # pragma: no cover - deps.sh installs it
    Client = None

_server = None  # one per test: the runner kills leftovers after each test


def client(**kw):
    global _server
    if Client is None:
        raise AssertionError("python3-pymemcache is not importable by %s (scripts/deps.sh installs it)" % sys.executable)
    if _server is None or not _server.alive():
        _server = Server().start()
    c = Client(("127.0.0.1", _server.port), connect_timeout=5, timeout=5, **kw)
    # Wait for the reply: a noreply flush on this connection could otherwise reach the server
    # after the next client's commands on another connection (another worker) and flush them.
    assert c.flush_all(noreply=False) is True
    return c


def test_set_get_delete():
    c = client()
    assert c.set("k", b"v", noreply=False) is True
    assert c.get("k") == b"v"
    assert c.get("missing") is None
    assert c.delete("k", noreply=False) is True
    assert c.delete("k", noreply=False) is False
    assert c.get("k") is None


def test_get_many_and_set_many():
    c = client()
    data = {"a%d" % i: ("v%d" % i).encode() for i in range(100)}
    assert c.set_many(data, noreply=False) == []
    got = c.get_many(list(data) + ["nope1", "nope2"])
    assert got == data


def test_gets_and_cas():
    c = client()
    c.set("k", b"1", noreply=False)
    value, cas = c.gets("k")
    assert value == b"1" and cas
    assert c.cas("k", b"2", b"999999", noreply=False) is False
    assert c.cas("k", b"2", cas, noreply=False) is True
    assert c.cas("k", b"3", cas, noreply=False) is False
    assert c.get("k") == b"2"
    assert c.cas("nope", b"x", cas, noreply=False) is None
    assert c.gets("nope") == (None, None)


def test_add_replace_append_prepend():
    c = client()
    assert c.add("k", b"a", noreply=False) is True
    assert c.add("k", b"b", noreply=False) is False
    assert c.replace("k", b"c", noreply=False) is True
    assert c.replace("nope", b"c", noreply=False) is False
    assert c.append("k", b"z", noreply=False) is True
    assert c.prepend("k", b"y", noreply=False) is True
    assert c.get("k") == b"ycz"
    assert c.append("nope", b"z", noreply=False) is False


def test_incr_decr():
    c = client()
    assert c.incr("n", 1, noreply=False) is None
    c.set("n", b"10", noreply=False)
    assert c.incr("n", 5, noreply=False) == 15
    assert c.decr("n", 20, noreply=False) == 0
    assert c.incr("n", 2 ** 64 - 1, noreply=False) == 2 ** 64 - 1
    assert c.incr("n", 2, noreply=False) == 1


def test_touch_and_expire():
    c = client()
    c.set("k", b"v", expire=100, noreply=False)
    assert c.touch("k", expire=200, noreply=False) is True
    assert c.touch("nope", expire=200, noreply=False) is False
    assert c.touch("k", expire=-1, noreply=False) is True
    assert c.get("k") is None


def test_flush_all_stats_version():
    c = client()
    c.set("k", b"v", noreply=False)
    assert c.flush_all(noreply=False) is True
    assert c.get("k") is None
    st = c.stats()
    assert b"curr_connections" in st and b"cmd_get" in st, sorted(st)
    settings = c.stats("settings")
    assert b"maxbytes" in settings
    v = c.version()
    assert v.count(b".") == 2, v


def test_binary_safe_values():
    c = client()
    every_byte = bytes(range(256))
    c.set("bin", every_byte, noreply=False)
    assert c.get("bin") == every_byte
    tricky = b"\r\nEND\r\nVALUE x 0 1\r\n\x00" * 50
    c.set("tricky", tricky, noreply=False)
    assert c.get("tricky") == tricky
    c.set("empty", b"", noreply=False)
    assert c.get("empty") == b""


def test_noreply_default_client():
    c = client(default_noreply=True)
    c.set("k", b"v")
    c.set_many({"x": b"1", "y": b"2"})
    assert c.get_many(["k", "x", "y"]) == {"k": b"v", "x": b"1", "y": b"2"}


def test_unicode_keys_rejected_client_side():
    # Aside: pymemcache refuses non-ASCII keys itself; nothing reaches the server.
    c = client()
    try:
        c.set("ключ", b"v")
    except MemcacheIllegalInputError:
        pass
    else:
        raise AssertionError("pymemcache accepted a non-ASCII key")
    c2 = client(allow_unicode_keys=True)
    c2.set("ключ", b"v", noreply=False)
    assert c2.get("ключ") == b"v"


if __name__ == "__main__":
    run_tests(globals())
