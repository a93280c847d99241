"""The binary protocol end to end: memccapable -b, pylibmc (binary=True), the
libmemcached tools with --binary, and raw packets whose replies (statuses,
texts, quiet rules, which malformed headers close the connection) were taken
from memcached 1.6.18. KIOKU_TARGET=memcached runs the same expectations
against memcached itself.
"""

import os
import re
import shutil
import subprocess
import tempfile

from kioku_harness import Server, run_tests, skip, is_memcached
import kioku_binary as b

MEMCCAPABLE = shutil.which("memccapable") or "/usr/bin/memccapable"

BINARY_TESTS = [
    "noop", "quit", "quitq", "set", "setq", "flush", "flushq", "add", "addq", "replace",
    "replaceq", "delete", "deleteq", "get", "getq", "getk", "getkq", "incr", "incrq", "decr",
    "decrq", "version", "append", "appendq", "prepend", "prependq", "stat",
]


def test_memccapable_binary_all_pass():
    if not os.path.exists(MEMCCAPABLE):
        skip("memccapable not installed (libmemcached-tools)")
    with Server() as srv:
        proc = subprocess.run([MEMCCAPABLE, "-b", "-t", "5", "-h", "127.0.0.1", "-p", str(srv.port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        print(out)
        results = dict(re.findall(r"^binary ([\w ]+?)\s+\[(\w+)\]\s*$", out, re.M))
        assert proc.returncode == 0, "memccapable exited %d" % proc.returncode
        assert [n for n in BINARY_TESTS if results.get(n) != "pass"] == [], results
        assert "All tests passed" in out


def pylibmc_client(port, **kw):
    import pylibmc
    return pylibmc.Client(["127.0.0.1:%d" % port], binary=True, **kw)


def test_pylibmc_binary_operations():
    try:
        import pylibmc
    except ImportError:
        skip("python3-pylibmc not installed")
    with Server() as srv:
        c = pylibmc_client(srv.port, behaviors={"cas": True})
        assert c.set("k", "v1")
        assert c.get("k") == "v1"
        assert c.add("k", "x") is False
        assert c.add("new", b"n") is True
        assert c.replace("k", "v2") is True
        try:  # the binary protocol's KEY_ENOENT surfaces as NotFound in libmemcached
            c.replace("missing", "v")
        except pylibmc.NotFound:
            pass
        else:
            raise AssertionError("replace on a missing key did not raise NotFound")
        assert c.append("k", "+a") and c.prepend("k", "p+")
        assert c.get("k") == "p+v2+a"
        value, cas = c.gets("k")
        assert value == "p+v2+a" and cas > 0
        assert c.cas("k", "v3", cas) is True
        assert c.cas("k", "v4", cas) is False  # stale CAS
        assert c.get("k") == "v3"
        assert c.set("n", 10)
        assert c.incr("n", 5) == 15
        assert c.decr("n", 20) == 0
        try:
            c.incr("missing-counter")
        except pylibmc.NotFound:
            pass
        else:
            raise AssertionError("incr on a missing key did not raise NotFound")
        assert c.touch("k", 100) is True
        assert c.touch("missing", 100) is False
        assert c.set_multi({"a": "1", "b": "2", "c": "3"}) == []
        assert c.get_multi(["a", "b", "c", "zz"]) == {"a": "1", "b": "2", "c": "3"}
        assert c.delete("a") is True
        assert c.delete("a") is False
        assert c.delete_multi(["b", "c"]) is True
        assert c.get_multi(["a", "b", "c"]) == {}
        big = b"x" * 500000
        assert c.set("big", big)
        assert c.get("big") == big
        stats = c.get_stats()
        assert stats and "curr_items" in stats[0][1]
        assert c.flush_all()
        assert c.get("k") is None
    with Server() as srv:
        # And the server's own counters saw binary traffic.
        c = pylibmc_client(srv.port)
        c.set("s", "1")
        c.get("s")
        c.get("nope")
        with srv.session() as s:
            st = s.stats()
        assert st["cmd_set"] == "1" and st["get_hits"] == "1" and st["get_misses"] == "1"


def test_libmemcached_tools_binary():
    memccp, memccat = shutil.which("memccp"), shutil.which("memccat")
    if not memccp or not memccat:
        skip("libmemcached-tools not installed")
    with Server() as srv, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "payload.txt")
        data = b"binary tools " * 1000
        with open(path, "wb") as f:
            f.write(data)
        servers = "--servers=127.0.0.1:%d" % srv.port
        subprocess.run([memccp, servers, "--binary", path], check=True, timeout=30,
                       cwd=tmp, stdin=subprocess.DEVNULL)
        got = subprocess.run([memccat, servers, "--binary", "payload.txt"], check=True,
                             timeout=30, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL).stdout
        assert got == data + b"\n", "memccat returned %d bytes" % len(got)  # it adds a newline
        with srv.session() as s:  # the same item, seen through the text protocol
            s.send("get payload.txt\r\n")
            s.expect_re(rb"VALUE payload.txt \d+ %d\r\n" % len(data))


def test_opaque_echoed_and_cas_in_header():
    with Server() as srv, srv.session() as s:
        r = b.call(s, "SET", "k", b.set_extras(0xdeadbeef, 0), "val", opaque=0x01020304)
        assert (r.magic, r.opcode, r.status, r.opaque) == (b.RES, b.OP["SET"], 0, 0x01020304)
        assert r.cas > 0 and r.raw[24:] == b""
        g = b.call(s, "GETK", "k", opaque=7)
        assert (g.status, g.opaque, g.cas, g.extras, g.key, g.value) == (0, 7, r.cas, b"\xde\xad\xbe\xef", b"k", b"val")
        # A stale CAS: KEY_EEXISTS; a matching one replaces and returns a new CAS.
        s.send(b.request("SET", "k", b.set_extras(), "x", cas=r.cas + 1000))
        s.expect(b.error_packet("SET", b.EEXISTS, "Data exists for key."))
        r2 = b.call(s, "SET", "k", b.set_extras(), "y", cas=r.cas)
        assert r2.status == 0 and r2.cas not in (0, r.cas)
        # CAS on a missing key: KEY_ENOENT. DELETE with a stale CAS: KEY_EEXISTS.
        s.send(b.request("REPLACE", "gone", b.set_extras(), "x", cas=5))
        s.expect(b.error_packet("REPLACE", b.ENOENT, "Not found"))
        s.send(b.request("DELETE", "k", cas=r.cas))
        s.expect(b.error_packet("DELETE", b.EEXISTS, "Data exists for key."))
        assert b.call(s, "DELETE", "k", cas=r2.cas).status == 0


def test_quiet_commands_silent_on_success_errors_before_noop():
    with Server() as srv, srv.session() as s:
        s.send(b.request("SETQ", "a", b.set_extras(), "1", opaque=1)
               + b.request("ADDQ", "a", b.set_extras(), "2", opaque=2)        # exists: error
               + b.request("GETQ", "nope", opaque=3)                           # miss: silent
               + b.request("GETKQ", "a", opaque=4)                             # hit: answered
               + b.request("DELETEQ", "nope", opaque=5)                        # miss: error
               + b.request("INCRQ", "a", b.incr_extras(1), opaque=6)          # 1 -> 2, silent
               + b.request("APPENDQ", "nope", value="x", opaque=7)             # error
               + b.request("REPLACEQ", "nope", b.set_extras(), "x", opaque=8)  # error
               + b.request("FLUSHQ", opaque=9)                                 # silent
               + b.request("NOOP", opaque=10))
        got = [b.read_response(s) for _ in range(6)]
        assert [(r.opcode, r.status, r.opaque) for r in got] == [
            (b.OP["ADDQ"], b.EEXISTS, 2), (b.OP["GETKQ"], 0, 4), (b.OP["DELETEQ"], b.ENOENT, 5),
            (b.OP["APPENDQ"], b.NOT_STORED, 7), (b.OP["REPLACEQ"], b.ENOENT, 8),
            (b.OP["NOOP"], 0, 10)], got
        assert got[1].value == b"1" and got[1].key == b"a"
        s.expect_nothing()
        s.send(b.request("GET", "a"))
        s.expect(b.error_packet("GET", b.ENOENT, "Not found"))


def test_incr_decr_initial_value_and_expiration():
    with Server() as srv, srv.session() as s:
        s.send(b.request("INCR", "c", b.incr_extras(5, 0, 0xffffffff)))
        s.expect(b.error_packet("INCR", b.ENOENT, "Not found"))
        r = b.call(s, "INCR", "c", b.incr_extras(5, 42, 0))
        assert r.status == 0 and r.value == (42).to_bytes(8, "big") and r.cas > 0
        r = b.call(s, "INCR", "c", b.incr_extras(8, 0, 0))
        assert r.value == (50).to_bytes(8, "big")
        r = b.call(s, "DECR", "c", b.incr_extras(100, 0, 0))
        assert r.value == (0).to_bytes(8, "big")
        r = b.call(s, "DECR", "d", b.incr_extras(1, 7, 0))  # created at initial, not decremented
        assert r.value == (7).to_bytes(8, "big")
        assert b.call(s, "GET", "d").value == b"7"
        s.send(b.request("INCR", "d", b.incr_extras(1), cas=r.cas + 99))
        s.expect(b.error_packet("INCR", b.EEXISTS, "Data exists for key."))
        assert b.call(s, "SET", "s", b.set_extras(), "abc").status == 0
        s.send(b.request("INCR", "s", b.incr_extras(1, 0, 0)))
        s.expect(b.error_packet("INCR", b.DELTA_BADVAL, "Non-numeric server-side value for incr or decr"))
        # 2^64 - 1 + 1 wraps, as memcached.
        assert b.call(s, "SET", "w", b.set_extras(), str(2 ** 64 - 1)).status == 0
        assert b.call(s, "INCR", "w", b.incr_extras(1)).value == bytes(8)


def test_stats_detail_counts_binary_commands():
    # As memcached 1.6.18 (probed): binary get, gat and touch count as gets, set as a set,
    # delete as a delete.
    with Server() as srv, srv.session() as text, srv.session() as s:
        # A connection speaks the protocol of its first byte: text commands on their own one.
        text.call("stats detail on\r\n", "OK\r\n")
        b.call(s, "SET", "u:1", b.set_extras(), "v")
        assert b.call(s, "GET", "u:1").status == 0
        assert b.call(s, "GET", "u:2").status == 1
        b.call(s, "TOUCH", "u:1", b.touch_extras(100))
        b.call(s, "GAT", "u:3", b.touch_extras(100))
        b.call(s, "DELETE", "u:1")
        text.call("stats detail dump\r\n", "PREFIX u get 4 hit 2 set 1 del 1\r\nEND\r\n")
        # The binary STAT group: "detail dump" is one stat named "detailed", then the end.
        s.send(b.request("STAT", "detail dump"))
        r = b.read_response(s)
        assert (r.status, r.key, r.value) == (0, b"detailed",
                                              b"PREFIX u get 4 hit 2 set 1 del 1\r\nEND\r\n"), r
        assert b.read_response(s).key == b""
        assert b.call(s, "STAT", "detail off").status == 0
        assert text.stats("settings")["detail_enabled"] == "no"
        assert b.call(s, "STAT", "detail sideways").status == 1


def test_touch_gat_gatk():
    with Server() as srv, srv.session() as s:
        b.call(s, "SET", "t", b.set_extras(5, 0), "tv")
        r = b.call(s, "TOUCH", "t", b.touch_extras(100), opaque=1)
        assert (r.status, r.extras, r.key, r.value) == (0, b"\0\0\0\5", b"", b"")
        r = b.call(s, "GAT", "t", b.touch_extras(100), opaque=2)
        assert (r.status, r.extras, r.key, r.value) == (0, b"\0\0\0\5", b"", b"tv")
        r = b.call(s, "GATK", "t", b.touch_extras(100), opaque=3)
        assert (r.status, r.key, r.value) == (0, b"t", b"tv")
        s.send(b.request("GATQ", "nope", b.touch_extras(1)) + b.request("GATKQ", "t", b.touch_extras(0)) + b.request("NOOP"))
        r = b.read_response(s)
        assert (r.opcode, r.key, r.value) == (b.OP["GATKQ"], b"t", b"tv")
        assert b.read_response(s).opcode == b.OP["NOOP"]
        s.send(b.request("TOUCH", "nope", b.touch_extras(1)))
        s.expect(b.error_packet("TOUCH", b.ENOENT, "Not found"))
        r = b.call(s, "GETK", "nope")  # GETK miss: the key, no text
        assert (r.status, r.key, r.value) == (b.ENOENT, b"nope", b"")


def test_version_noop_stat_groups():
    with Server() as srv, srv.session() as s:
        assert b.call(s, "VERSION", opaque=9).value == b"1.6.18"
        assert b.call(s, "NOOP", opaque=9).raw == b.HEADER.pack(b.RES, 0x0a, 0, 0, 0, 0, 0, 9, 0)
        b.call(s, "SET", "x", b.set_extras(), "1")

        def stat_group(name):
            s.send(b.request("STAT", name, opaque=77))
            out = {}
            while True:
                r = b.read_response(s)
                assert r.opaque == 77 and r.opcode == b.OP["STAT"]
                if r.status != 0:
                    return r
                if not r.key:
                    return out
                out[r.key.decode()] = r.value.decode()

        general = stat_group("")
        assert general["version"] == "1.6.18" and general["curr_items"] == "1"
        settings = stat_group("settings")
        assert settings["binding_protocol"] == "auto-negotiate"
        assert settings["auth_enabled_sasl"] == "no"
        items = stat_group("items")
        assert items["items:1:number"] == "1"
        assert "1:chunk_size" in stat_group("slabs")
        assert stat_group("reset") == {}
        miss = stat_group("bogus")
        assert miss.status == b.ENOENT and miss.value == b"Not found"


def test_unknown_and_verbosity_are_unknown_commands():
    with Server() as srv, srv.session() as s:
        # memcached 1.6.18 has no binary VERBOSITY: UNKNOWN_COMMAND, and it then skips the
        # body length again after the key (here 4 bytes of padding sent for it).
        s.send(b.request("VERBOSITY", extras=b"\0\0\0\1") + b"\0" * 4 + b.request("NOOP", opaque=3))
        s.expect(b.error_packet("VERBOSITY", b.UNKNOWN, "Unknown command"))
        assert b.read_response(s).opaque == 3
        s.send(b.request(0x55, "k", opaque=8) + b"z" + b.request("NOOP", opaque=4))
        s.expect(b.error_packet(0x55, b.UNKNOWN, "Unknown command", opaque=8))
        assert b.read_response(s).opaque == 4
        # SASL opcodes without -S are unknown too.
        s.send(b.request("SASL_LIST", opaque=5))
        s.expect(b.error_packet("SASL_LIST", b.UNKNOWN, "Unknown command", opaque=5))


def test_malformed_headers_get_memcacheds_treatment():
    with Server() as srv:
        with srv.session() as s:  # a response magic mid-stream: closed without a word
            assert b.call(s, "NOOP").status == 0
            s.send(b.request("NOOP", magic=0x81))
            s.expect_closed()
        with srv.session() as s:  # body shorter than the key: UNKNOWN_COMMAND, closed
            s.send(b.request("GET", "abc", body_length=1))
            s.expect(b.error_packet("GET", b.UNKNOWN, "Unknown command"))
            s.expect_closed()
        with srv.session() as s:  # body shorter than key + extras
            s.send(b.request("SET", "abc", b"\0" * 8, body_length=9) + b"\0" * 9)
            s.expect(b.error_packet("SET", b.UNKNOWN, "Unknown command"))
            s.expect_closed()
        with srv.session() as s:  # huge body on a get: EINVAL, closed
            s.send(b.request("GET", "k", body_length=0x7fffffff))
            s.expect(b.error_packet("GET", b.EINVAL, "Invalid arguments"))
            s.expect_closed()
        with srv.session() as s:  # a 251-byte key
            s.send(b.request("GET", "k" * 251))
            s.expect(b.error_packet("GET", b.EINVAL, "Invalid arguments"))
            s.expect_closed()
        with srv.session() as s:  # wrong extras for the opcode
            s.send(b.request("SET", "k", value="v"))
            s.expect(b.error_packet("SET", b.EINVAL, "Invalid arguments"))
            s.expect_closed()
        with srv.session() as s:  # a value over -I: E2BIG, the value skipped, still serving
            s.send(b.request("SET", "big", b.set_extras(), b"x" * (1024 * 1024 + 10)) + b.request("NOOP", opaque=9))
            s.expect(b.error_packet("SET", b.E2BIG, "Too large."))
            assert b.read_response(s).opaque == 9
        with srv.session() as s:  # quit answers, then closes; quitq just closes
            assert b.call(s, "QUIT", opaque=3).opaque == 3
            s.expect_closed()
        with srv.session() as s:
            s.send(b.request("QUITQ") + b.request("NOOP"))
            s.expect_closed()
        with srv.session() as s:  # the server survived all of it
            assert b.call(s, "VERSION").value == b"1.6.18"


def test_item_size_limit_counts_nonzero_flags():
    # memcached 1.6.18 with -I 1m: key "k" + 1048516 value bytes fit, unless the client flags
    # are non-zero (they take 4 bytes of the item header then).
    with Server() as srv, srv.session() as s:
        assert b.call(s, "SET", "k", b.set_extras(0, 0), b"x" * 1048516).status == 0
        s.send(b.request("SET", "k", b.set_extras(0, 0), b"x" * 1048517))
        s.expect(b.error_packet("SET", b.E2BIG, "Too large."))
        assert b.call(s, "SET", "f", b.set_extras(5, 0), b"x" * 1048512).status == 0
        s.send(b.request("SET", "f", b.set_extras(5, 0), b"x" * 1048513))
        s.expect(b.error_packet("SET", b.E2BIG, "Too large."))
        s.send(b.request("GET", "k"))  # a SET refused as too large drops the old value
        s.expect(b.error_packet("GET", b.ENOENT, "Not found"))


def test_out_of_memory_is_enomem():
    # -M: no evictions, so a full cache refuses stores with ENOMEM, whose text (unlike the
    # other statuses') names what memcached failed to allocate.
    with Server(["-M", "-m", "8"]) as srv, srv.session() as s:
        value = b"x" * 100000
        for i in range(400):
            r = b.call(s, "SET", "k%d" % i, b.set_extras(), value)
            if r.status != 0:
                break
        assert (r.status, r.value) == (b.ENOMEM, b"Out of memory allocating item"), r
        assert i > 10
        s.send(b.request("SETQ", "more", b.set_extras(), value) + b.request("NOOP", opaque=5))
        s.expect(b.error_packet("SETQ", b.ENOMEM, "Out of memory allocating item"))
        assert b.read_response(s).opaque == 5


def test_binding_protocol_option():
    with Server(["-B", "binary"]) as srv:
        with srv.session() as s:  # text on a binary-only server: closed once 24 bytes arrive
            s.send("get foo\r\n")
            s.expect_nothing(0.2)
            s.send("get foo\r\nget foo\r\n")
            s.expect_closed()
        with srv.session() as s:
            assert b.call(s, "NOOP").status == 0
    with Server(["-B", "auto"]) as srv:
        with srv.session() as s:  # per connection: one text, one binary
            s.call("set t 0 0 1\r\nx\r\n", "STORED\r\n")
        with srv.session() as s:
            assert b.call(s, "GET", "t").value == b"x"
        with srv.session() as s:
            s.call("get t\r\n", "VALUE t 0 1\r\nx\r\nEND\r\n")


def test_flush_disabled_is_auth_error():
    with Server(["-F"]) as srv, srv.session() as s:
        s.send(b.request("FLUSH"))
        s.expect(b.error_packet("FLUSH", b.AUTH_ERROR, "Auth failure."))


def test_random_headers_never_crash_the_server():
    import random
    import socket
    rng = random.Random(7)
    ops = list(b.OP.values()) + [0x55, 0x1f, 0xff]
    with Server(["-m", "8"]) as srv:
        for _ in range(200):
            stream = b""
            for _ in range(rng.randint(1, 6)):
                key = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, 250, 251])))
                extras = bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 8, 20, 3])))
                value = bytes(rng.randrange(256) for _ in range(rng.choice([0, 3, 100, 3000])))
                body = rng.choice([None, None, 0, 1, len(key), 0xffffffff, rng.randrange(1 << 32)])
                stream += b.request(rng.choice(ops), key, extras, value, opaque=rng.randrange(1 << 32),
                                    cas=rng.choice([0, 1, rng.randrange(1 << 64)]), body_length=body)
            cut = rng.randrange(len(stream) + 1)
            try:
                with socket.create_connection(("127.0.0.1", srv.port), timeout=2) as sock:
                    sock.sendall(stream[:cut])
                    sock.sendall(stream[cut:])
                    sock.settimeout(0.02)
                    try:
                        while sock.recv(65536):
                            pass
                    except (socket.timeout, ConnectionError):
                        pass
            except ConnectionError:
                pass
            assert srv.alive(), "server died"
        with srv.session() as s:
            assert b.call(s, "VERSION").value == b"1.6.18"


if __name__ == "__main__":
    run_tests(globals())
