"""The meta protocol (mg ms md ma mn me) over real sockets, byte-exact.

Every expectation was observed on memcached 1.6.18 (run with KIOKU_TARGET=memcached to
re-check); tests of flags newer than 1.6.18 (E, md x, ms append N) are kiokud_only. CAS
values differ between servers only in sequence, so tests read them back with "c" before
comparing.
"""

import socket
import threading

from kioku_harness import Server, kiokud_only, run_tests


def cas_of(s, key):
    s.send(b"mg %s c\r\n" % key)
    line = s.readline()
    assert line.startswith(b"HD c"), line
    return int(line[4:].strip())


def test_noop_and_misses():
    with Server() as srv, srv.session() as s:
        s.call(b"mn\r\n", b"MN\r\n")
        s.call(b"mn ignored words\r\n", b"MN\r\n")
        s.call(b"mg nokey\r\n", b"EN\r\n")
        s.call(b"mg nokey v\r\n", b"EN\r\n")
        s.call(b"mg nokey k O1 s v\r\n", b"EN knokey O1\r\n")
        s.call(b"mg nokey q v k\r\nmn\r\n", b"MN\r\n")
        s.call(b"mg\r\n", b"ERROR\r\n")
        s.call(b"MG foo\r\nmgx foo\r\n", b"ERROR\r\nERROR\r\n")


def test_get_return_flags_in_request_order():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 3 F5\r\nbar\r\n", b"HD\r\n")
        cas = cas_of(s, b"foo")
        s.call(b"mg foo\r\n", b"HD\r\n")
        s.call(b"mg foo v\r\n", b"VA 3\r\nbar\r\n")
        s.call(b"mg foo s v f t c k O1 h\r\n", b"VA 3 s3 f5 t-1 c%d kfoo O1 h1\r\nbar\r\n" % cas)
        s.call(b"mg foo O9 k f\r\n", b"HD O9 kfoo f5\r\n")
        s.send(b"mg foo l\r\n")
        s.expect_re(rb"HD l\d+\r\n")
        s.call(b"ms foo 0\r\n\r\n", b"HD\r\n")
        s.call(b"mg foo s v\r\n", b"VA 0 s0\r\n\r\n")
        s.call(b"mg foo q v\r\nmn\r\n", b"VA 0\r\n\r\nMN\r\n")


def test_hit_flag_h_reports_earlier_fetches():
    with Server() as srv, srv.session() as s:
        s.call(b"ms k 1\r\nx\r\n", b"HD\r\n")
        s.call(b"mg k h u\r\n", b"HD h0\r\n")   # u: this fetch does not count
        s.call(b"mg k h\r\n", b"HD h0\r\n")
        s.call(b"mg k h\r\n", b"HD h1\r\n")


def test_flag_errors():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 3\r\nbar\r\n", b"HD\r\n")
        s.call(b"mg foo k k\r\n", b"CLIENT_ERROR duplicate flag\r\n")
        s.call(b"mg foo z\r\n", b"CLIENT_ERROR invalid flag\r\n")
        s.call(b"mg foo Tabc\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        s.call(b"mg foo T\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        s.call(b"mg foo O" + b"x" * 40 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        s.call(b"mg nokey O" + b"x" * 40 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        s.call(b"mg nn q v Tx\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        s.call(b"mg foo O" + b"x" * 40 + b" Tx\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        s.call(b"md foo O" + b"x" * 40 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        s.call(b"ms foo 2 O" + b"x" * 40 + b"\r\nhi\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        s.call(b"ms foo 2 MX O" + b"x" * 40 + b"\r\nhi\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n")
        s.call(b"mg " + b"a" * 251 + b" v\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"mg " + b"a" * 250 + b" v\r\n", b"EN\r\n")
        opaques = lambda n: b" ".join(b"O%d" % i for i in range(n))
        s.call(b"mg foo " + opaques(17) + b"\r\n", b"CLIENT_ERROR duplicate flag\r\n")
        s.call(b"mg foo " + opaques(18) + b"\r\n", b"CLIENT_ERROR options flags are too long\r\n")
        s.call(b"md foo " + opaques(18) + b"\r\n", b"CLIENT_ERROR options flags too long\r\n")
        s.call(b"ma foo " + opaques(18) + b"\r\n", b"CLIENT_ERROR options flags too long\r\n")
        # ms: a flag error swallows the data block; a bad length or too many flags do not.
        s.call(b"ms foo 1 " + opaques(17) + b"\r\nx\r\n",
               b"CLIENT_ERROR options flags too long\r\nERROR\r\n")
        s.call(b"ms foo\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"ms foo x\r\nabc\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        s.call(b"ms foo -1\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"ms foo 3 MX\r\nabc\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n")
        s.call(b"ms foo 3 Me\r\nabc\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n")
        s.call(b"ms foo 3 MEE\r\nabc\r\n", b"CLIENT_ERROR incorrect length for M token\r\n")
        s.call(b"ms foo 3 Fx\r\nabc\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"ms foo 2 S5\r\nab\r\n", b"CLIENT_ERROR invalid flag\r\n")
        s.call(b"ms foo 2 C\r\nhi\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        s.call(b"ms foo 5 F-1\r\nhello\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"ms foo 3\r\nabcd\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        # md and ma answer every flag problem the same way.
        for line in (b"md foo zz", b"md foo k k", b"md foo C", b"ma cnt Dx", b"ma cnt Jx", b"ma nf2 NX"):
            s.call(line + b"\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n")
        s.call(b"ma cnt MX\r\n", b"CLIENT_ERROR invalid mode for ma M token\r\n")
        s.call(b"md\r\nma\r\n", b"ERROR\r\nERROR\r\n")
        s.call(b"me\r\n", b"CLIENT_ERROR bad command line format\r\n")
        s.call(b"mg foo v\r\n", b"VA 3\r\nbar\r\n")  # nothing above changed foo


def test_set_modes_and_cas():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 3\r\nabc\r\n", b"HD\r\n")
        s.call(b"ms foo 3 ME\r\nabc\r\n", b"NS\r\n")
        s.send(b"ms new 3 ME k O5 c\r\nabc\r\n")
        s.expect_re(rb"HD knew O5 c\d+\r\n")
        s.call(b"ms foo 3 MR\r\nxyz\r\n", b"HD\r\n")
        s.call(b"ms nope 3 MR\r\nxyz\r\n", b"NS\r\n")
        s.call(b"ms foo 1 MA\r\n1\r\n", b"HD\r\n")
        s.call(b"ms foo 1 MP\r\n0\r\n", b"HD\r\n")
        s.call(b"mg foo v\r\n", b"VA 5\r\n0xyz1\r\n")
        s.call(b"ms nope 1 MA\r\n1\r\n", b"NS\r\n")
        s.call(b"ms foo 3 C1\r\nabc\r\n", b"EX\r\n")
        s.call(b"ms nope2 3 C1\r\nabc\r\n", b"NF\r\n")
        cas = cas_of(s, b"foo")
        s.send(b"ms foo 3 C%d c\r\nnew\r\n" % cas)
        s.expect_re(rb"HD c\d+\r\n")
        s.call(b"ms foo 3 I C99999999 c\r\nabc\r\n", b"EX c0\r\n")
        s.call(b"ms a 1\r\nx\r\n", b"HD\r\n")
        s.call(b"ms a 1 MA C5\r\nx\r\n", b"EX\r\n")
        s.call(b"ms a 1 MA C0\r\ny\r\n", b"HD\r\n")
        s.call(b"ms a 1 ME C5 c\r\nz\r\n", b"NS c0\r\n")
        s.call(b"mg a v\r\n", b"VA 2\r\nxy\r\n")
        # q hides only the nominal reply.
        s.call(b"ms foo 3 q\r\nabc\r\nms foo 2 ME q\r\nhi\r\nms nn 2 MR q\r\nhi\r\n"
               b"ms foo 2 C1 q\r\nhi\r\nmn\r\n", b"NS\r\nNS\r\nEX\r\nMN\r\n")
        s.call(b"ms foo 5 T0 F4294967297\r\nhello\r\n", b"HD\r\n")
        s.call(b"mg foo f v\r\n", b"VA 5 f1\r\nhello\r\n")


def test_set_too_large_swallows_value():
    with Server(["-I", "1m"]) as srv, srv.session() as s:
        s.call(b"ms big 3\r\nold\r\n", b"HD\r\n")
        s.call(b"ms big 2000000 O5 k\r\n" + b"x" * 2000000 + b"\r\n",
               b"SERVER_ERROR object too large for cache\r\n", timeout=10)
        s.call(b"mg big v\r\n", b"EN\r\n")


def test_base64_keys():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 3\r\nbar\r\n", b"HD\r\n")
        s.call(b"mg Zm9v b k v\r\n", b"VA 3 kfoo\r\nbar\r\n")
        s.call(b"mg Zm9v= b k v\r\n", b"CLIENT_ERROR error decoding key\r\n")
        s.call(b"mg !!!! b v\r\n", b"CLIENT_ERROR error decoding key\r\n")
        s.send(b"ms Zm9vMg== 2 b k c\r\nhi\r\n")
        s.expect_re(rb"HD kZm9vMg== b c\d+\r\n")
        s.call(b"mg Zm9vMg== b k v\r\n", b"VA 2 kZm9vMg== b\r\nhi\r\n")
        # The item remembers its key came base64-encoded, whoever asks.
        s.call(b"mg foo2 k v\r\n", b"VA 2 kZm9vMg== b\r\nhi\r\n")
        s.call(b"md Zm9v b k\r\n", b"HD kZm9v b\r\n")
        s.call(b"ma Y250 b k N0 v\r\n", b"VA 1 kY250 b\r\n0\r\n")
        s.call(b"md Y250 b\r\n", b"HD\r\n")
        s.call(b"md Y250 b q\r\n", b"NF\r\n")
        s.call(b"me ZZZ b\r\n", b"CLIENT_ERROR bad command line format\r\n")
        # memcached's decoder: the first padded group ends the key; length must be 4n.
        s.call(b"mg Zm9=Mg== b k v\r\n", b"EN kZm8= b\r\n")
        s.call(b"mg Zm9vMg==Zm9v b k v\r\n", b"VA 2 kZm9vMg== b\r\nhi\r\n")
        s.call(b"mg Zm9vMh== b k v\r\n", b"VA 2 kZm9vMg== b\r\nhi\r\n")
        s.call(b"mg Zm9vMg b k v\r\nmg Zm9vM=== b\r\nmg ==== b\r\n",
               b"CLIENT_ERROR error decoding key\r\n" * 3)
        s.call(b"ms Zm9vMg 2 b\r\nhi\r\n", b"CLIENT_ERROR error decoding key\r\n")


def test_ttl_update_and_t_in_order():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 3 T100\r\nbar\r\n", b"HD\r\n")
        # t before T reports the old TTL, t after it the new one.
        s.send(b"mg foo t T30\r\n")
        s.expect_re(rb"HD t(99|100)\r\n")
        s.send(b"mg foo T40 t\r\n")
        s.expect_re(rb"HD t40\r\n")
        s.call(b"ms foo 2 T-1\r\nhi\r\n", b"HD\r\n")
        s.call(b"mg foo v\r\n", b"EN\r\n")
        s.call(b"ms b 1 T100\r\n1\r\n", b"HD\r\n")
        s.call(b"ma b T200 t v\r\n", b"VA 1 t200\r\n2\r\n")


def test_vivify_win_then_lose():
    with Server() as srv, srv.session() as s:
        s.send(b"mg viv N30 v c t\r\n")
        line = s.expect_re(rb"VA 0 c(\d+) t30 W\r\n")
        s.expect(b"\r\n")
        s.send(b"mg viv N30 v t\r\n")
        s.expect_re(rb"VA 0 t(29|30) Z\r\n")
        s.expect(b"\r\n")
        s.call(b"mg viv s\r\n", b"HD s0 Z\r\n")
        s.call(b"ms viv 3 T60\r\nnew\r\n", b"HD\r\n")
        s.call(b"mg viv v N30\r\n", b"VA 3\r\nnew\r\n")
        s.call(b"mg new1 N10 T20 s v\r\n", b"VA 0 s0 W\r\n\r\n")


def test_recache_hands_out_one_win():
    with Server() as srv, srv.session() as s:
        s.call(b"ms r 3 T60\r\nnew\r\n", b"HD\r\n")
        s.call(b"mg r v R30\r\n", b"VA 3\r\nnew\r\n")
        s.call(b"mg r v R100\r\n", b"VA 3 W\r\nnew\r\n")
        s.call(b"mg r v R100\r\n", b"VA 3 Z\r\nnew\r\n")


def test_invalidate_marks_stale():
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 2\r\nhi\r\n", b"HD\r\n")
        s.call(b"md foo I T30\r\n", b"HD\r\n")
        s.send(b"mg foo v t\r\n")
        s.expect_re(rb"VA 2 t(29|30) X W\r\n")
        s.expect(b"hi\r\n")
        s.call(b"mg foo v\r\n", b"VA 2 Z X\r\nhi\r\n")
        # A writer holding an older CAS may still fill the stale key, which stays stale.
        s.send(b"ms foo 2 I C1 c\r\nst\r\n")
        s.expect_re(rb"HD c\d+\r\n")
        s.call(b"mg foo v\r\n", b"VA 2 Z X\r\nst\r\n")
        s.call(b"ms foo 3\r\nnew\r\n", b"HD\r\n")
        s.call(b"mg foo v\r\n", b"VA 3\r\nnew\r\n")


def test_delete():
    with Server() as srv, srv.session() as s:
        s.call(b"md foo\r\n", b"NF\r\n")
        s.call(b"md foo q\r\n", b"NF\r\n")  # 1.6.18 shows NF despite q
        s.call(b"ms foo 2\r\nhi\r\n", b"HD\r\n")
        s.call(b"md foo C999999\r\n", b"EX\r\n")
        s.call(b"md foo q O9 k\r\nmn\r\n", b"MN\r\n")
        s.call(b"md foo O9 k\r\n", b"NF O9 kfoo\r\n")
        s.call(b"ms foo 2\r\nhi\r\n", b"HD\r\n")
        cas = cas_of(s, b"foo")
        s.call(b"md foo C%d\r\n" % cas, b"HD\r\n")
        s.call(b"mg foo\r\n", b"EN\r\n")


def test_arithmetic():
    with Server() as srv, srv.session() as s:
        s.call(b"ma cnt\r\n", b"NF\r\n")
        s.call(b"ma cnt q\r\n", b"NF\r\n")
        s.call(b"ma cnt N0 J10 v\r\n", b"VA 2\r\n10\r\n")
        s.call(b"ma cnt v\r\n", b"VA 2\r\n11\r\n")
        s.send(b"ma cnt MD D3 v t c\r\n")
        s.expect_re(rb"VA 1 t-1 c\d+\r\n")
        s.expect(b"8\r\n")
        s.call(b"ma cnt M- D300 v\r\n", b"VA 1\r\n0\r\n")
        s.call(b"ma cnt MI v\r\n", b"VA 1\r\n1\r\n")
        s.call(b"ma cnt M+ v k O1\r\n", b"VA 1 kcnt O1\r\n2\r\n")
        s.call(b"ma cnt C1 v\r\n", b"EX\r\n")
        s.call(b"ma cnt q\r\nma cnt q v\r\nmn\r\n", b"MN\r\n")
        s.call(b"ma cnt v\r\n", b"VA 1\r\n5\r\n")  # the two quiet ones did count
        s.call(b"ma cnt D18446744073709551615 v\r\n", b"VA 1\r\n4\r\n")
        s.call(b"ms str 1\r\nx\r\n", b"HD\r\n")
        s.call(b"ma str v\r\n", b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s.call(b"ma nf N0 J5 T100 v t\r\n", b"VA 1 t100\r\n5\r\n")
        s.call(b"ma nf3 q N0\r\n", b"HD\r\n")  # a vivified counter is reported despite q
        s.call(b"ma nf4 O1 k v\r\n", b"NF O1 knf4\r\n")


def test_debug_view():
    with Server() as srv, srv.session() as s:
        s.call(b"me nokey\r\n", b"EN\r\n")
        s.call(b"ms foo 3\r\nbar\r\n", b"HD\r\n")
        cas = cas_of(s, b"foo")
        s.send(b"me foo\r\n")
        s.expect_re(rb"ME foo exp=-1 la=\d+ cas=%d fetch=yes cls=1 size=65\r\n" % cas)
        s.call(b"ms f2 3 F7\r\nbar\r\n", b"HD\r\n")
        s.send(b"me f2 extra\r\n")
        s.expect_re(rb"ME f2 exp=-1 la=\d+ cas=\d+ fetch=no cls=1 size=68\r\n")
        s.call(b"ms Zm9vMg== 2 b\r\nhi\r\n", b"HD\r\n")
        s.send(b"me Zm9vMg== b\r\n")
        s.expect_re(rb"ME Zm9vMg== exp=-1 la=\d+ cas=\d+ fetch=no cls=1 size=\d+\r\n")


def test_quiet_pipeline_ends_with_mn():
    with Server() as srv, srv.session() as s:
        s.send(b"ms a 1 q\r\n1\r\nms b 1 q\r\n2\r\nmg a q v k\r\nmg zz q v\r\nmd zz q\r\n"
               b"md b q\r\nmg b q v\r\nma a q\r\nmg a v\r\nmn\r\n")
        s.expect(b"VA 1 ka\r\n1\r\nNF\r\nVA 1\r\n2\r\nMN\r\n")


def test_request_split_at_every_byte():
    with Server() as srv, srv.session() as s:
        req = b"ms split 5 T0 F3 k\r\nhello\r\nmg split v f k\r\nmn\r\n"
        for i in range(len(req)):
            s.send(req[i:i + 1])
        s.expect(b"HD ksplit\r\nVA 5 f3 ksplit\r\nhello\r\nMN\r\n")


def test_meta_counters():
    with Server() as srv, srv.session() as s:
        s.call(b"mn\r\nmg a\r\nms a 1\r\nx\r\nmd a\r\nma a\r\nme a\r\nmg a v T5\r\n",
               b"MN\r\nEN\r\nHD\r\nHD\r\nNF\r\nEN\r\nEN\r\n")
        s.call(b"ms t 1\r\nx\r\nmg t T5\r\n", b"HD\r\nHD\r\n")
        st = s.stats()
        # 1.6.18 counts only "me" as cmd_meta; the rest move the classic counters.
        assert st["cmd_meta"] == "1", st["cmd_meta"]
        assert st["cmd_get"] == "2", st["cmd_get"]
        assert st["get_misses"] == "2", st["get_misses"]
        assert st["cmd_touch"] == "1" and st["touch_hits"] == "1", st
        assert st["cmd_set"] == "2" and st["delete_hits"] == "1", st
        assert st["incr_misses"] == "1", st


def test_anti_dogpile_exactly_one_winner():
    clients = 24
    with Server(["-t", "4"]) as srv:
        barrier = threading.Barrier(clients)
        replies = [None] * clients

        def miss(i):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
                barrier.wait()
                c.sendall(b"mg hot N30 s t\r\n")
                buf = b""
                while not buf.endswith(b"\r\n"):
                    buf += c.recv(1024)
                replies[i] = buf

        threads = [threading.Thread(target=miss, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        winners = [r for r in replies if r.endswith(b" W\r\n")]
        losers = [r for r in replies if r.endswith(b" Z\r\n")]
        assert len(winners) == 1, replies
        assert len(losers) == clients - 1, replies
        # The winner recaches; everyone then reads the real value, no flags left.
        with srv.session() as s:
            s.call(b"ms hot 5 T60\r\nfresh\r\n", b"HD\r\n")
            s.call(b"mg hot v\r\n", b"VA 5\r\nfresh\r\n")


def test_explicit_cas_flag_E():
    kiokud_only("E is newer than memcached 1.6.18")
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 2 E5000 c\r\nhi\r\n", b"HD c5000\r\n")
        s.call(b"mg foo c\r\n", b"HD c5000\r\n")
        s.call(b"md foo I E6000\r\n", b"HD\r\n")
        s.call(b"mg foo c\r\n", b"HD c6000 X W\r\n")
        s.call(b"mg viv N30 E7000 c\r\n", b"HD c7000 W\r\n")
        s.call(b"ma n N0 J1 E8000 c v\r\n", b"VA 1 c8000\r\n1\r\n")


def test_delete_x_keeps_empty_item_and_append_vivify():
    kiokud_only("md x, ms s and ms append N are newer than memcached 1.6.18")
    with Server() as srv, srv.session() as s:
        s.call(b"ms foo 5 F9 T100\r\nhello\r\n", b"HD\r\n")
        cas = cas_of(s, b"foo")
        # The tombstone takes its flags and TTL from the md line, its CAS from the old item.
        s.call(b"md foo x F3\r\n", b"HD\r\n")
        s.call(b"mg foo v f t c\r\n", b"VA 0 f3 t-1 c%d\r\n\r\n" % cas)
        s.call(b"md foo x I\r\n", b"HD\r\n")
        s.call(b"mg foo s\r\n", b"HD s0 X W\r\n")
        s.call(b"md nope x\r\n", b"NF\r\n")
        s.call(b"ms sz 3 s\r\nabc\r\n", b"HD s3\r\n")
        s.call(b"ms sz 2 MA s\r\nde\r\n", b"HD s5\r\n")
        s.call(b"ms none 2 MA s\r\nde\r\n", b"NS s2\r\n")
        s.call(b"ms log 1 MA N60\r\na\r\n", b"HD\r\n")
        s.call(b"ms log 1 MA N60\r\nb\r\n", b"HD\r\n")
        s.send(b"mg log v t\r\n")
        s.expect_re(rb"VA 2 t(59|60)\r\n")
        s.expect(b"ab\r\n")


run_tests(globals())
