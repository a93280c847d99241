"""Items larger than slab_chunk_max are chunked (memcached 1.6), the -I / slab_chunk_max
startup rules, and "stats sizes". Every expectation here holds for memcached 1.6.18 too
(KIOKU_TARGET=memcached)."""

import subprocess

from kioku_harness import (HOST, Server, free_port, is_memcached, run_tests, server_command,
                           target)

MB = 1 << 20
CHUNK_MAX = 512 * 1024


def pattern(n, seed=0):
    block = bytes((i * 7 + seed) % 251 for i in range(4096))
    return (block * (n // 4096 + 1))[:n]


def slab_memory(s):
    """(bytes in slab pages, {chunk_size: used_chunks}) from "stats slabs"."""
    slabs = s.stats("slabs")
    pages = 0
    used = {}
    for name, value in slabs.items():
        parts = name.split(":")
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        if parts[1] == "total_pages":
            pages += int(value)
        if parts[1] == "used_chunks":
            used[int(slabs[parts[0] + ":chunk_size"])] = int(value)
    return pages * MB, used


def test_2mb_and_20mb_values_roundtrip_in_slab_memory():
    with Server(["-m", "128", "-I", "32m"]) as srv, srv.session(timeout=60) as s:
        small = pattern(2 * MB, 1)
        large = pattern(20 * MB, 2)
        s.call(b"set two 3 0 %d\r\n" % len(small) + small + b"\r\n", "STORED\r\n")
        s.call(b"set twenty 0 0 %d\r\n" % len(large) + large + b"\r\n", "STORED\r\n")
        s.call("get two\r\n", b"VALUE two 3 %d\r\n" % len(small) + small + b"\r\nEND\r\n")
        s.call("get twenty\r\n", b"VALUE twenty 0 %d\r\n" % len(large) + large + b"\r\nEND\r\n")
        # gets / gat / mg all read the chunked value.
        s.send("gets twenty\r\n")
        s.expect_re(rb"VALUE twenty 0 %d \d+\r\n" % len(large))
        s.expect(large + b"\r\nEND\r\n")
        s.call("gat 0 two\r\n", b"VALUE two 3 %d\r\n" % len(small) + small + b"\r\nEND\r\n")
        s.call("mg two v s f\r\n", b"VA %d s%d f3\r\n" % (len(small), len(small)) + small + b"\r\n")
        # The memory is in slab classes: pages cover both values and the largest class
        # (slab_chunk_max, 512 KiB) holds most of it.
        in_pages, used = slab_memory(s)
        assert in_pages >= len(small) + len(large), (in_pages, used)
        assert used.get(CHUNK_MAX, 0) >= (len(small) + len(large)) // CHUNK_MAX - 2, used
        stats = s.stats()
        assert int(stats["bytes"]) >= len(small) + len(large), stats["bytes"]
        assert int(s.stats("slabs")["total_malloced"]) >= len(small) + len(large)
        # Deleting gives the chunks back (memcached keeps a few of its own in use).
        s.call("delete twenty\r\n", "DELETED\r\n")
        s.call("delete two\r\n", "DELETED\r\n")
        _, after = slab_memory(s)
        assert after.get(CHUNK_MAX, 0) <= 4, (used, after)


def test_binary_protocol_sets_and_gets_a_chunked_value():
    import kioku_binary as kb
    with Server(["-m", "64", "-I", "8m"]) as srv, srv.session(timeout=30) as s:
        v = pattern(5 * MB + 17, 9)
        r = kb.call(s, "SET", key="bin", extras=kb.set_extras(flags=7), value=v)
        assert r.status == kb.SUCCESS, r
        r = kb.call(s, "GETK", key="bin")
        assert r.status == kb.SUCCESS, r
        assert r.key == b"bin" and r.extras == b"\x00\x00\x00\x07"
        assert r.value == v, (len(r.value), len(v))


def test_append_to_a_chunked_value():
    with Server(["-m", "64", "-I", "4m"]) as srv, srv.session(timeout=30) as s:
        v = pattern(3 * MB + 123, 4)
        s.call(b"set k 0 0 %d\r\n" % len(v) + v + b"\r\n", "STORED\r\n")
        s.call(b"append k 0 0 4\r\ntail\r\n", "STORED\r\n")
        s.call(b"prepend k 0 0 4\r\nhead\r\n", "STORED\r\n")
        want = b"head" + v + b"tail"
        s.call("get k\r\n", b"VALUE k 0 %d\r\n" % len(want) + want + b"\r\nEND\r\n")
        s.call("incr k 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")


def test_chunked_values_evict_within_the_memory_limit():
    with Server(["-m", "16", "-I", "4m"]) as srv, srv.session(timeout=60) as s:
        for i in range(30):
            v = pattern(3 * MB, i)
            s.call(b"set k%d 0 0 %d\r\n" % (i, len(v)) + v + b"\r\n", "STORED\r\n")
        v = pattern(3 * MB, 29)
        s.call("get k29\r\n", b"VALUE k29 0 %d\r\n" % len(v) + v + b"\r\nEND\r\n")
        s.call("get k0\r\n", "END\r\n")
        stats = s.stats()
        assert int(stats["evictions"]) > 0
        # memcached lets each class have one page past -m; so does Kioku (a bounded overdraft).
        malloced = int(s.stats("slabs")["total_malloced"])
        assert malloced <= 24 * MB, malloced


def start_error(args):
    """(exit status, stderr) of a server started with args that it must refuse."""
    argv = server_command(target(), free_port(), args)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return out.returncode, out.stderr


def test_item_size_and_chunk_max_rules_match_memcached():
    cases = [
        (["-I", "2000m"], "Cannot set item size limit higher than 1/2 of memory max.\n"),
        (["-m", "8000", "-I", "2000m"], "Cannot set item size limit higher than a gigabyte.\n"),
        (["-I", "1000"], "Item max size cannot be less than 1024 bytes.\n"),
        (["-I", "100k"], "slab_chunk_max (bytes: 524288) cannot be larger than -I "
                         "(item_size_max 102400)\n"),
        (["-I", "1000k"], "-I (item_size_max: 1024000) must be evenly divisible by "
                          "slab_chunk_max (bytes: 524288)\n"),
        (["-o", "slab_chunk_max=300"], "-I (item_size_max: 1048576) must be evenly divisible "
                                       "by slab_chunk_max (bytes: 300)\n"),
        (["-I", "4m", "-o", "slab_chunk_max=2097152"],
         "slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 (slab_page_size)\n"),
    ]
    for args, message in cases:
        status, err = start_error(args)
        assert (status, err) == (64, message), (args, status, err)


def test_large_item_limits_start():
    # -I 1024m is the most memcached allows (with -m at least twice that), and a chunk max
    # that divides both -I and the page is accepted.
    for args in (["-m", "2048", "-I", "1024m"], ["-I", "128k", "-o", "slab_chunk_max=65536"]):
        with Server(args) as srv, srv.session() as s:
            s.call("set k 0 0 1\r\nx\r\n", "STORED\r\n")


def test_stats_sizes_is_disabled_by_default():
    with Server() as srv, srv.session() as s:
        s.call("set a 0 0 5\r\nhello\r\n", "STORED\r\n")
        s.call("stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n")


def test_stats_sizes_with_track_sizes():
    with Server(["-o", "track_sizes"]) as srv, srv.session() as s:
        s.call("stats sizes\r\n", "END\r\n")
        s.call("set a 0 0 5\r\nhello\r\n", "STORED\r\n")
        s.call(b"set b 0 0 100\r\n" + b"x" * 100 + b"\r\n", "STORED\r\n")
        s.call(b"set c 0 0 33\r\n" + b"x" * 33 + b"\r\n", "STORED\r\n")
        s.call(b"set dd 5 0 2000\r\n" + b"x" * 2000 + b"\r\n", "STORED\r\n")
        s.call("gets a\r\n", "VALUE a 0 5 2\r\nhello\r\nEND\r\n")  # track_sizes took CAS 1
        s.call("stats sizes\r\n", "STAT 96 2\r\nSTAT 160 1\r\nSTAT 2080 1\r\nEND\r\n")
        s.call("delete b\r\n", "DELETED\r\n")
        s.call("stats sizes\r\n", "STAT 96 2\r\nSTAT 2080 1\r\nEND\r\n")
        # memcached answers sizes_enable / sizes_disable without an END.
        s.call("stats sizes_disable\r\n", "STAT sizes_status disabled\r\n")
        s.call("stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n")
        s.call("stats sizes_enable\r\n", "STAT sizes_status enabled\r\n")
        s.call("stats sizes\r\n", "END\r\n")
        s.call("delete a\r\n", "DELETED\r\n")  # older than the histogram: not subtracted
        s.call("set e 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("stats sizes\r\n", "STAT 64 1\r\nEND\r\n")


def test_stats_sizes_enable_needs_cas():
    with Server(["-C"]) as srv, srv.session() as s:
        s.call("stats sizes_enable\r\n",
               "STAT sizes_status error\r\nSTAT sizes_error cas_support_disabled\r\n")
        s.call("stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n")
    with Server(["-C", "-o", "track_sizes"]) as srv, srv.session() as s:
        s.call("set a 0 0 5\r\nhello\r\n", "STORED\r\n")
        s.call("stats sizes\r\n", "STAT 64 1\r\nEND\r\n")


if __name__ == "__main__":
    run_tests(globals())
