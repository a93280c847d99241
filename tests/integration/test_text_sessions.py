"""Byte-exact text-protocol sessions, typed as a telnet user would.

Every expectation here was observed on memcached 1.6.18 (KIOKU_TARGET=memcached).
"""

import re
import time

from kioku_harness import Server, run_tests


def fresh(*args):
    return Server(list(args))


# ---------------------------------------------------------------- storage


def test_set_get_roundtrip_and_miss():
    with fresh() as srv, srv.session() as s:
        s.call("set k 0 0 5\r\nhello\r\n", "STORED\r\n")
        s.call("get k\r\n", "VALUE k 0 5\r\nhello\r\nEND\r\n")
        s.call("get missing\r\n", "END\r\n")
        s.call("set k 4294967295 0 0\r\n\r\n", "STORED\r\n")
        s.call("get k\r\n", "VALUE k 4294967295 0\r\n\r\nEND\r\n")
        # leading spaces and a trailing unknown token after set are tolerated
        s.call("  get k\r\n", "VALUE k 4294967295 0\r\n\r\nEND\r\n")
        # bare \n ends a command line too
        s.call("get k\n", "VALUE k 4294967295 0\r\n\r\nEND\r\n")


def test_add_replace():
    with fresh() as srv, srv.session() as s:
        s.call("add k 1 0 1\r\na\r\n", "STORED\r\n")
        s.call("add k 2 0 1\r\nb\r\n", "NOT_STORED\r\n")
        s.call("get k\r\n", "VALUE k 1 1\r\na\r\nEND\r\n")
        s.call("replace k 3 0 1\r\nc\r\n", "STORED\r\n")
        s.call("replace nope 3 0 1\r\nc\r\n", "NOT_STORED\r\n")
        s.call("get k nope\r\n", "VALUE k 3 1\r\nc\r\nEND\r\n")


def test_append_prepend_keep_flags():
    with fresh() as srv, srv.session() as s:
        s.call("set k 5 0 1\r\n1\r\n", "STORED\r\n")
        s.call("append k 7 0 2\r\nzz\r\n", "STORED\r\n")
        s.call("prepend k 9 0 2\r\nyy\r\n", "STORED\r\n")
        s.call("get k\r\n", "VALUE k 5 5\r\nyy1zz\r\nEND\r\n")
        s.call("append nope 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        s.call("prepend nope 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        s.call("get nope\r\n", "END\r\n")


def test_cas_exists_not_found():
    with fresh() as srv, srv.session() as s:
        s.call("cas k 0 0 1 1\r\nx\r\n", "NOT_FOUND\r\n")
        s.call("set k 3 0 2\r\nv1\r\n", "STORED\r\n")
        cas = s.gets_cas("k")
        s.call("cas k 4 0 2 %d\r\nv2\r\n" % (cas + 1000), "EXISTS\r\n")
        s.call("cas k 4 0 2 %d\r\nv2\r\n" % cas, "STORED\r\n")
        s.call("cas k 4 0 2 %d\r\nv3\r\n" % cas, "EXISTS\r\n")
        s.send("gets k\r\n")
        m = s.expect_re(rb"VALUE k 4 2 (\d+)\r\n")
        assert int(m.group(1)) != cas, "cas unique must change on every store"
        s.expect("v2\r\nEND\r\n")
        s.call("cas k 0 0 1 %d noreply\r\nz\r\n" % int(m.group(1)), "")
        s.call("get k\r\n", "VALUE k 0 1\r\nz\r\nEND\r\n")


def test_gets_unique_changes_on_every_mutation():
    with fresh() as srv, srv.session() as s:
        s.call("set k 0 0 1\r\n1\r\n", "STORED\r\n")
        seen = [s.gets_cas("k")]
        for cmd, reply in (("append k 0 0 1\r\n2\r\n", "STORED\r\n"), ("incr k 1\r\n", "13\r\n"),
                           ("touch k 100\r\n", "TOUCHED\r\n"), ("set k 0 0 1\r\n1\r\n", "STORED\r\n")):
            s.call(cmd, reply)
            seen.append(s.gets_cas("k"))
        # touch does not change the unique; every store and incr does
        assert seen[1] != seen[0] and seen[2] != seen[1] and seen[3] == seen[2] and seen[4] != seen[3], seen


def test_cas_uniques_count_up_as_memcached_does():
    # Uniques are opaque to clients, but the counter is observable: every store, append, incr
    # and flush takes the next one; touch, gat and mg T take none, even when the item must be
    # rebuilt to hold its first TTL (kiokud used to take one there).
    with fresh() as srv, srv.session() as s:
        seen = []
        for cmd, reply in (("set k 0 0 1\r\n1\r\n", "STORED\r\n"),
                           ("append k 0 0 1\r\n2\r\n", "STORED\r\n"),
                           ("incr k 1\r\n", "13\r\n"),
                           ("touch k 100\r\n", "TOUCHED\r\n"),
                           ("set t 0 0 1\r\nx\r\n", "STORED\r\n"),
                           ("gat 100 t\r\n", "VALUE t 0 1\r\nx\r\nEND\r\n"),
                           ("set m 0 0 1\r\nx\r\n", "STORED\r\n"),
                           ("mg m T100\r\n", "HD\r\n"),
                           ("add k 0 0 1\r\nx\r\n", "NOT_STORED\r\n"),
                           ("set j 0 0 1\r\nx\r\n", "STORED\r\n")):
            s.call(cmd, reply)
        for key in ("k", "t", "m", "j"):
            seen.append(s.gets_cas(key))
        assert seen == [3, 4, 5, 6], seen
        s.call("flush_all\r\n", "OK\r\n")
        s.call("set k 0 0 1\r\n1\r\n", "STORED\r\n")
        assert s.gets_cas("k") == 8  # flush_all took one


def test_stats_detail_counts_per_key_prefix():
    # Rows and their order as memcached 1.6.18 gives them (probed): gets of every key of a
    # get/gets/gat/gats, hits, every storage command (refused or not), every delete; touch,
    # incr and the meta commands count nothing; keys without the delimiter neither.
    with fresh() as srv, srv.session() as s:
        s.call("stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n")
        s.call("stats detail dump\r\n", "END\r\n")
        s.call("set a:1 0 0 1\r\nx\r\n", "STORED\r\n")  # off: not counted
        s.call("stats detail on\r\n", "OK\r\n")
        assert s.stats("settings")["detail_enabled"] == "yes"
        s.call("set k:1 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("add k:1 0 0 1\r\nx\r\n", "NOT_STORED\r\n")
        s.call("set n:1 0 0 1\r\nxy\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        s.call("get k:1 k:2 p:1\r\n", "VALUE k:1 0 1\r\nx\r\nEND\r\n")
        s.call("gets b:1\r\n", "END\r\n")
        s.call("gat 0 c:1\r\n", "END\r\n")
        s.call("delete o:1\r\n", "NOT_FOUND\r\n")
        s.call("touch e:1 0\r\n", "NOT_FOUND\r\n")
        s.call("incr f:1 1\r\n", "NOT_FOUND\r\n")
        s.call("mg g:1 v\r\n", "EN\r\n")
        s.call("ms h:1 1\r\nx\r\n", "HD\r\n")
        s.call("get plain\r\n", "END\r\n")
        s.call("get q:r:s\r\n", "END\r\n")
        s.call("get :x\r\n", "END\r\n")
        s.call("stats detail dump\r\n",
               "PREFIX  get 1 hit 0 set 0 del 0\r\n"
               "PREFIX b get 1 hit 0 set 0 del 0\r\n"
               "PREFIX c get 1 hit 0 set 0 del 0\r\n"
               "PREFIX o get 0 hit 0 set 0 del 1\r\n"
               "PREFIX p get 1 hit 0 set 0 del 0\r\n"
               "PREFIX n get 0 hit 0 set 1 del 0\r\n"
               "PREFIX k get 2 hit 1 set 2 del 0\r\n"
               "PREFIX q get 1 hit 0 set 0 del 0\r\n"
               "END\r\n")
        s.call("stats detail off\r\n", "OK\r\n")
        s.call("get k:1\r\n", "VALUE k:1 0 1\r\nx\r\nEND\r\n")
        s.call("flush_all\r\n", "OK\r\n")  # keeps the rows
        s.send("stats detail dump\r\n")
        assert b"PREFIX k get 2 hit 1 set 2 del 0\r\n" in s.read_until(b"END\r\n")
        s.call("stats reset\r\n", "RESET\r\n")  # forgets them
        s.call("stats detail dump\r\n", "END\r\n")
    with fresh("-D", "/") as srv, srv.session() as s:
        assert s.stats("settings")["stat_key_prefix"] == "/"
        s.call("stats detail on\r\n", "OK\r\n")
        s.call("get a:b/c\r\n", "END\r\n")
        s.call("stats detail dump\r\n", "PREFIX a:b get 1 hit 0 set 0 del 0\r\nEND\r\n")


def test_gets_gat_gats_touch():
    with fresh() as srv, srv.session() as s:
        s.call("set a 5 0 2\r\n10\r\n", "STORED\r\n")
        s.send("gets a b\r\n")
        m = s.expect_re(rb"VALUE a 5 2 (\d+)\r\n")
        s.expect("10\r\nEND\r\n")
        cas = m.group(1).decode()
        s.call("gat 100 a b\r\n", "VALUE a 5 2\r\n10\r\nEND\r\n")
        s.call("gats 100 a\r\n", "VALUE a 5 2 %s\r\n10\r\nEND\r\n" % cas)
        s.call("gat 100 b\r\n", "END\r\n")
        s.call("touch a 10\r\n", "TOUCHED\r\n")
        s.call("touch b 10\r\n", "NOT_FOUND\r\n")
        s.call("touch a 10 noreply\r\n", "")
        s.call("touch a -1\r\n", "TOUCHED\r\n")
        s.call("get a\r\n", "END\r\n")
        s.call("gat\r\n", "ERROR\r\n")
        s.call("gat abc a\r\n", "CLIENT_ERROR invalid exptime argument\r\n")
        s.call("touch a abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n")
        s.call("touch a\r\n", "ERROR\r\n")


def test_incr_decr():
    with fresh() as srv, srv.session() as s:
        s.call("incr n 1\r\n", "NOT_FOUND\r\n")
        s.call("decr n 1\r\n", "NOT_FOUND\r\n")
        s.call("set n 0 0 2\r\n10\r\n", "STORED\r\n")
        s.call("incr n 5\r\n", "15\r\n")
        s.call("decr n 100\r\n", "0\r\n")
        s.call("incr n 18446744073709551615\r\n", "18446744073709551615\r\n")
        s.call("incr n 1\r\n", "0\r\n")  # wraps at 2^64
        s.call("incr n 18446744073709551610\r\n", "18446744073709551610\r\n")
        s.call("incr n 10\r\n", "4\r\n")
        s.call("set n 0 0 20\r\n18446744073709551615\r\n", "STORED\r\n")
        s.call("incr n 1\r\n", "0\r\n")
        s.call("set n 0 0 3\r\n099\r\n", "STORED\r\n")
        s.call("incr n 1\r\n", "100\r\n")
        s.call("incr n 1 noreply\r\n", "")
        s.call("get n\r\n", "VALUE n 0 3\r\n101\r\nEND\r\n")
        s.call("decr n 1 noreply\r\n", "")
        s.call("decr n 1\r\n", "99\r\n")
        s.call("incr n 1\r\n", "100\r\n")
        s.call("set big 0 0 20\r\n18446744073709551616\r\n", "STORED\r\n")
        s.call("incr big 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")


def test_incr_errors():
    with fresh() as srv, srv.session() as s:
        s.call("set t 0 0 3\r\nabc\r\n", "STORED\r\n")
        s.call("incr t 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s.call("decr t 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s.call("set t 0 0 2\r\n-1\r\n", "STORED\r\n")
        s.call("incr t 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s.call("set t 0 0 0\r\n\r\n", "STORED\r\n")
        s.call("incr t 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s.call("set n 0 0 1\r\n1\r\n", "STORED\r\n")
        s.call("incr n abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        s.call("incr n -1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        s.call("decr n abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        s.call("incr n 18446744073709551616\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n")
        s.call("incr n\r\n", "ERROR\r\n")
        s.call("decr\r\n", "ERROR\r\n")
        s.call("get n\r\n", "VALUE n 0 1\r\n1\r\nEND\r\n")


def test_delete():
    with fresh() as srv, srv.session() as s:
        s.call("set k 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("delete k\r\n", "DELETED\r\n")
        s.call("delete k\r\n", "NOT_FOUND\r\n")
        s.call("get k\r\n", "END\r\n")
        s.call("set k 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("delete k noreply\r\n", "")
        s.call("get k\r\n", "END\r\n")
        s.call("delete k 0\r\n", "NOT_FOUND\r\n")  # legacy "time" of 0 is accepted
        s.call("delete k 5\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")


def test_noreply_forms():
    with fresh() as srv, srv.session() as s:
        s.send("set a 1 0 1 noreply\r\na\r\n"
               "add b 2 0 1 noreply\r\nb\r\n"
               "add a 9 0 1 noreply\r\nz\r\n"
               "replace a 3 0 1 noreply\r\nA\r\n"
               "append a 0 0 1 noreply\r\n+\r\n"
               "prepend a 0 0 1 noreply\r\n-\r\n"
               "set n 0 0 1 noreply\r\n5\r\n"
               "incr n 10 noreply\r\n"
               "decr n 3 noreply\r\n"
               "touch n 1000 noreply\r\n"
               "delete b noreply\r\n"
               "delete nope noreply\r\n"
               "incr nope 1 noreply\r\n"
               "flush_all 1000 noreply\r\n"
               "verbosity 1 noreply\r\n")
        s.expect_nothing(0.3)
        s.call("get a b n\r\n", "VALUE a 3 3\r\n-A+\r\nVALUE n 0 2\r\n12\r\nEND\r\n")


def test_multi_get_300_keys():
    with fresh() as srv, srv.session() as s:
        keys = ["key%03d" % i for i in range(300)]
        s.send("".join("set %s %d 0 %d noreply\r\n%s\r\n" % (k, i, len(k) + 1, k + "!")
                       for i, k in enumerate(keys) if i % 3 != 0))
        line = "get " + " ".join(keys) + "\r\n"
        assert len(line) > 2048
        want = "".join("VALUE %s %d %d\r\n%s\r\n" % (k, i, len(k) + 1, k + "!")
                       for i, k in enumerate(keys) if i % 3 != 0) + "END\r\n"
        s.call(line, want)
        s.send("gets " + " ".join(keys[:50]) + "\r\n")
        got = s.read_until("END\r\n")
        assert got.count(b"VALUE ") == len([i for i in range(50) if i % 3 != 0])


# ---------------------------------------------------------------- errors


def test_unknown_and_malformed_commands():
    with fresh() as srv, srv.session() as s:
        s.call("bogus\r\n", "ERROR\r\n")
        s.call("\r\n", "ERROR\r\n")
        s.call("GET a\r\n", "ERROR\r\n")  # commands are case-sensitive
        s.call("get\r\n", "ERROR\r\n")
        s.call("gets\r\n", "ERROR\r\n")
        s.call("set a\r\n", "ERROR\r\n")
        # wrong argument count: ERROR, and the data line is parsed as a command
        s.call("cas a 0 0 1\r\nx\r\n", "ERROR\r\nERROR\r\n")
        s.call("set a 0 0 1 noreply extra\r\nx\r\n", "ERROR\r\nERROR\r\n")
        s.call("verbosity\r\n", "ERROR\r\n")
        s.call("stats bogus\r\n", "ERROR\r\n")
        s.call("set a 0 0 1\r\nx\r\n", "STORED\r\n")  # the connection is still usable


def test_bad_command_line_format():
    with fresh() as srv, srv.session() as s:
        # Bad numbers: the error, then the data line is read as a command (ERROR).
        s.call("set n 0 abc 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call("set n abc 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call("set n -1 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call("set n 0 0 abc\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call("cas n 0 0 1 abc\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        # negative length: same error, nothing swallowed
        s.call("set n 0 0 -1\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("get n\r\n", "END\r\n")
        s.call("verbosity abc\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("flush_all abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n")


def test_bad_data_chunk():
    with fresh() as srv, srv.session() as s:
        s.call("set a 0 0 1\r\nxyz\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        s.call("get a\r\n", "END\r\n")
        s.call("set a 0 0 1 noreply\r\nxyz\r\n", "ERROR\r\n")
        s.call("get a\r\n", "END\r\n")
        # 4 bytes "xyz\r" are taken as data+terminator; the lone "\n" left is an empty command
        s.call("set a 0 0 2\r\nxyz\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        s.call("get a\r\n", "END\r\n")
        s.call("set a 0 0 1\r\nq\r\n", "STORED\r\n")


def test_key_length_limit():
    with fresh() as srv, srv.session() as s:
        k250, k251 = "k" * 250, "k" * 251
        s.call("set %s 0 0 1\r\nx\r\n" % k250, "STORED\r\n")
        s.call("get %s\r\n" % k250, "VALUE %s 0 1\r\nx\r\nEND\r\n" % k250)
        s.call("set %s 0 0 1\r\nx\r\n" % k251, "CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call("get %s\r\n" % k251, "CLIENT_ERROR bad command line format\r\n")
        s.call("get a %s\r\n" % k251, "CLIENT_ERROR bad command line format\r\n")
        s.call("incr %s 1\r\n" % k251, "CLIENT_ERROR bad command line format\r\n")
        s.call("delete %s\r\n" % k251, "CLIENT_ERROR bad command line format\r\n")
        s.call("touch %s 1\r\n" % k251, "CLIENT_ERROR bad command line format\r\n")
        s.call("delete %s\r\n" % k250, "DELETED\r\n")


def test_value_of_exactly_item_size_max_is_refused_and_swallowed():
    with fresh("-I", "1m") as srv, srv.session(timeout=10) as s:
        n = 1024 * 1024
        s.call(b"set big 0 0 %d\r\n" % n + b"x" * n + b"\r\n", "SERVER_ERROR object too large for cache\r\n")
        s.call("get big\r\n", "END\r\n")
        # noreply suppresses the error too, and the data is still swallowed
        s.call(b"set big 0 0 %d noreply\r\n" % n + b"y" * n + b"\r\n", "")
        s.call("get big\r\n", "END\r\n")
        # header and data in separate writes
        s.send(b"set big 0 0 %d\r\n" % n + b"z" * 1000)
        time.sleep(0.1)
        s.send(b"z" * (n - 1000) + b"\r\n")
        s.expect("SERVER_ERROR object too large for cache\r\n")
        s.call("set small 0 0 1\r\ns\r\n", "STORED\r\n")


def test_long_line_without_newline_closes():
    with fresh() as srv:
        for prefix in ("set ", "bogus ", "gat 0 "):
            with srv.session() as s:
                s.send(prefix + "x" * 3000)
                s.expect_closed(3)
        # a get/gets line may be longer than 2048 bytes while it is being received
        with srv.session() as s:
            s.send("get " + "k " * 1500)
            s.expect_nothing(0.3)
            s.call("k\r\n", "END\r\n")
        with srv.session() as s:
            s.call("set " + "k" * 3000 + " 0 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n")


def test_quit_closes():
    with fresh() as srv, srv.session() as s:
        s.call("set a 0 0 1\r\nx\r\n", "STORED\r\n")
        s.send("quit\r\n")
        s.expect_closed(3)
        with srv.session() as s2:
            s2.call("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n")


# ---------------------------------------------------------------- time


def test_expiry_relative_negative_absolute():
    with fresh() as srv, srv.session() as s:
        now = int(time.time())
        s.call("set t1 0 1 1\r\na\r\n", "STORED\r\n")
        s.call("set t2 0 2 1\r\nb\r\n", "STORED\r\n")
        s.call("set neg 0 -1 1\r\nc\r\n", "STORED\r\n")
        s.call("set past 0 %d 1\r\nd\r\n" % (now - 1000), "STORED\r\n")
        s.call("set future 0 %d 1\r\ne\r\n" % (now + 3600), "STORED\r\n")
        s.call("set forever 0 0 1\r\nf\r\n", "STORED\r\n")
        s.call("set touched 0 1 1\r\ng\r\n", "STORED\r\n")
        s.call("touch touched 100\r\n", "TOUCHED\r\n")
        s.call("get neg past\r\n", "END\r\n")
        s.call("get t2 future forever\r\n",
               "VALUE t2 0 1\r\nb\r\nVALUE future 0 1\r\ne\r\nVALUE forever 0 1\r\nf\r\nEND\r\n")
        s.call("add neg 0 0 1\r\nC\r\n", "STORED\r\n")  # an invisible item does not block add
        time.sleep(3.2)
        s.call("get t1 t2 past future forever touched\r\n",
               "VALUE future 0 1\r\ne\r\nVALUE forever 0 1\r\nf\r\nVALUE touched 0 1\r\ng\r\nEND\r\n")
        st = s.stats()
        assert int(st["get_expired"]) >= 2, st["get_expired"]


def test_flush_all_with_delay():
    with fresh() as srv, srv.session() as s:
        s.call("set a 0 0 1\r\na\r\n", "STORED\r\n")
        s.call("flush_all 2\r\n", "OK\r\n")
        s.call("get a\r\n", "VALUE a 0 1\r\na\r\nEND\r\n")
        time.sleep(3.2)
        s.call("get a\r\n", "END\r\n")
        s.call("set b 0 0 1\r\nb\r\n", "STORED\r\n")
        s.call("get b\r\n", "VALUE b 0 1\r\nb\r\nEND\r\n")
        s.call("flush_all\r\n", "OK\r\n")
        s.call("get b\r\n", "END\r\n")
        s.call("set c 0 0 1\r\nc\r\n", "STORED\r\n")
        s.call("flush_all 0\r\n", "OK\r\n")
        s.call("flush_all noreply\r\n", "")
        s.call("get c\r\n", "END\r\n")
        st = s.stats()
        assert int(st["get_flushed"]) >= 2, st["get_flushed"]


# ---------------------------------------------------------------- admin


def test_version_and_verbosity():
    with fresh() as srv, srv.session() as s:
        s.send("version\r\n")
        s.expect_re(rb"VERSION \d+\.\d+\.\d+\r\n")
        s.call("verbosity 1\r\n", "OK\r\n")
        s.call("verbosity 0\r\n", "OK\r\n")
        s.call("verbosity 1 noreply\r\n", "")
        s.call("verbosity 0\r\n", "OK\r\n")


STAT_NAMES = ("pid uptime time version curr_connections total_connections cmd_get cmd_set get_hits "
              "get_misses get_expired get_flushed curr_items total_items bytes evictions limit_maxbytes "
              "threads rusage_user rusage_system").split()


def test_stats_general_and_counters():
    with fresh("-m", "64", "-t", "4") as srv, srv.session() as s:
        st = s.stats()
        missing = [n for n in STAT_NAMES if n not in st]
        assert not missing, "missing stats: %s" % missing
        assert re.fullmatch(r"\d+\.\d+\.\d+", st["version"]), st["version"]
        assert int(st["pid"]) == srv.proc.pid, (st["pid"], srv.proc.pid)
        assert abs(int(st["time"]) - time.time()) < 5
        assert st["limit_maxbytes"] == str(64 * 1024 * 1024)
        assert st["threads"] == "4"
        assert int(st["curr_connections"]) >= 1
        base = {k: int(st[k]) for k in ("cmd_get", "cmd_set", "get_hits", "get_misses", "curr_items",
                                        "total_items", "total_connections", "bytes")}
        s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        s.call("set b 0 0 1\r\n2\r\n", "STORED\r\n")
        s.call("get a b c\r\n", "VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n")
        s.call("get zz\r\n", "END\r\n")
        with srv.session() as other:
            other.call("delete b\r\n", "DELETED\r\n")
        st = s.stats()
        assert int(st["cmd_set"]) - base["cmd_set"] == 2
        assert int(st["cmd_get"]) - base["cmd_get"] == 4
        assert int(st["get_hits"]) - base["get_hits"] == 2
        assert int(st["get_misses"]) - base["get_misses"] == 2
        assert int(st["curr_items"]) == base["curr_items"] + 1
        assert int(st["total_items"]) - base["total_items"] == 2
        assert int(st["total_connections"]) > base["total_connections"]
        assert int(st["bytes"]) > base["bytes"]
        for name in ("uptime", "evictions", "get_expired", "get_flushed"):
            int(st[name])
        for name in ("rusage_user", "rusage_system"):
            float(st[name])


def test_stats_settings():
    with fresh("-m", "32", "-c", "100", "-t", "2", "-I", "2m", "-f", "1.5", "-n", "64") as srv, srv.session() as s:
        st = s.stats("settings")
        for name in ("maxbytes", "maxconns", "tcpport", "item_size_max", "growth_factor", "chunk_size",
                     "num_threads", "evictions", "cas_enabled"):
            assert name in st, "stats settings lacks %s" % name
        assert st["maxbytes"] == str(32 * 1024 * 1024)
        assert st["maxconns"] == "100"
        assert st["tcpport"] == str(srv.port)
        assert st["item_size_max"] == str(2 * 1024 * 1024)
        assert float(st["growth_factor"]) == 1.5
        assert st["chunk_size"] == "64"
        assert st["num_threads"] == "2"
        assert st["evictions"] == "on"
        assert st["cas_enabled"] == "yes"
    with fresh("-M", "-C") as srv, srv.session() as s:
        st = s.stats("settings")
        assert st["evictions"] == "off" and st["cas_enabled"] == "no", (st["evictions"], st["cas_enabled"])


def test_stats_subcommands():
    with fresh() as srv, srv.session() as s:
        s.call("stats items\r\n", "END\r\n")
        s.send("stats slabs\r\n")
        out = s.read_until("END\r\n")
        assert b"STAT active_slabs 0\r\n" in out and b"STAT total_malloced" in out, out
        s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        s.send("stats items\r\n")
        out = s.read_until("END\r\n")
        assert re.fullmatch(rb"(STAT items:\d+:\w+ \d+\r\n)+END\r\n", out), out
        assert re.search(rb"STAT items:\d+:number 1\r\n", out), out
        s.send("stats slabs\r\n")
        out = s.read_until("END\r\n")
        assert re.fullmatch(rb"(STAT [\w:]+ \d+\r\n)+END\r\n", out), out
        assert b"STAT active_slabs 1\r\n" in out, out
        s.send("stats sizes\r\n")
        out = s.read_until("END\r\n")
        assert re.fullmatch(rb"(STAT \S+ \S+\r\n)*END\r\n", out), out
        s.call("get a nope\r\n", "VALUE a 0 1\r\n1\r\nEND\r\n")
        s.call("stats reset\r\n", "RESET\r\n")
        st = s.stats()
        assert st["cmd_get"] == "0" and st["get_hits"] == "0" and st["get_misses"] == "0", st
        assert st["curr_items"] == "1", st["curr_items"]  # reset leaves gauges alone


if __name__ == "__main__":
    run_tests(globals())
