"""UDP (-U PORT): memcached's text protocol over datagrams with its 8-byte frame header.

Each request datagram starts with request id, sequence number, total datagrams and a reserved
word (16-bit big-endian each). memcached 1.6.18, probed: replies carry the request's id,
seq 0..n-1 and total n, in datagrams of at most 1400 bytes including the header; a datagram
shorter than the header, or announcing a total other than 1, is dropped without a reply; every
command in a datagram gets its own framed reply; "quit" answers with a bare header of total 0.
Run with KIOKU_TARGET=memcached too.
"""

import socket
import struct

from kioku_harness import Server, run_tests

HOST = "127.0.0.1"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Udp:
    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.addr = (HOST, port)

    def close(self):
        self.sock.close()

    def send(self, payload, rid=1, seq=0, total=1, reserved=0):
        self.sock.sendto(struct.pack(">HHHH", rid, seq, total, reserved) + payload, self.addr)

    def recv(self, timeout=2.0):
        self.sock.settimeout(timeout)
        return self.sock.recvfrom(65536)[0]

    def expect_nothing(self, wait=0.3):
        try:
            got = self.recv(wait)
        except socket.timeout:
            return
        raise AssertionError("expected no datagram, got %r" % got)

    def call(self, payload, want, rid=1):
        """One request; `want` is the whole reply payload, expected in one datagram."""
        self.send(payload, rid=rid)
        got = self.recv()
        expected = struct.pack(">HHHH", rid, 0, 1, 0) + want
        assert got == expected, "want %r\n got %r" % (expected, got)


def udp_server():
    port = free_udp_port()
    return Server(["-U", str(port)]), port


def test_set_get_delete_incr():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.call(b"set k 5 0 3\r\nabc\r\n", b"STORED\r\n", rid=0xabcd)
        u.call(b"get k\r\n", b"VALUE k 5 3\r\nabc\r\nEND\r\n", rid=2)
        u.call(b"get missing\r\n", b"END\r\n", rid=3)
        u.call(b"set n 0 0 2\r\n10\r\n", b"STORED\r\n")
        u.call(b"incr n 5\r\n", b"15\r\n", rid=0xffff)
        u.call(b"decr n 20\r\n", b"0\r\n")
        u.call(b"incr k 1\r\n",
               b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        u.call(b"delete k\r\n", b"DELETED\r\n")
        u.call(b"delete k\r\n", b"NOT_FOUND\r\n")
        u.call(b"bogus\r\n", b"ERROR\r\n")
        u.call(b"mn\r\n", b"MN\r\n")
        # seq and reserved of a request are ignored
        u.send(b"get q\r\n", rid=9, seq=3, reserved=7)
        assert u.recv() == struct.pack(">HHHH", 9, 0, 1, 0) + b"END\r\n"
        # noreply: nothing comes back, but the command ran
        u.send(b"set q 0 0 1 noreply\r\nz\r\n")
        u.expect_nothing()
        u.call(b"get q\r\n", b"VALUE q 0 1\r\nz\r\nEND\r\n")
        u.close()


def test_each_command_of_a_datagram_gets_its_own_reply():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.call(b"set a 0 0 1\r\nx\r\n", b"STORED\r\n")
        u.send(b"get a\r\ndelete a\r\n", rid=5)
        assert u.recv() == struct.pack(">HHHH", 5, 0, 1, 0) + b"VALUE a 0 1\r\nx\r\nEND\r\n"
        assert u.recv() == struct.pack(">HHHH", 5, 0, 1, 0) + b"DELETED\r\n"
        u.close()


def test_multi_key_get_frames_each_value():
    # memcached frames each key's VALUE block on its own (seq from 0 again); a miss sends
    # nothing; END goes with the last key's block, or alone when the last key misses.
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.call(b"set a 0 0 1\r\nx\r\n", b"STORED\r\n")
        u.call(b"set b 0 0 1\r\ny\r\n", b"STORED\r\n")
        one = struct.pack(">HHHH", 3, 0, 1, 0)
        u.send(b"get a miss b\r\n", rid=3)
        assert u.recv() == one + b"VALUE a 0 1\r\nx\r\n"
        assert u.recv() == one + b"VALUE b 0 1\r\ny\r\nEND\r\n"
        u.expect_nothing()
        u.send(b"get a b miss\r\n", rid=3)
        assert u.recv() == one + b"VALUE a 0 1\r\nx\r\n"
        assert u.recv() == one + b"VALUE b 0 1\r\ny\r\n"
        assert u.recv() == one + b"END\r\n"
        u.expect_nothing()
        u.call(b"set big 0 0 2000\r\n" + b"v" * 2000 + b"\r\n", b"STORED\r\n")
        u.send(b"get a big\r\n", rid=4)
        assert u.recv() == struct.pack(">HHHH", 4, 0, 1, 0) + b"VALUE a 0 1\r\nx\r\n"
        first, second = u.recv(), u.recv()
        assert first[:8] == struct.pack(">HHHH", 4, 0, 2, 0) and len(first) == 1400
        assert second[:8] == struct.pack(">HHHH", 4, 1, 2, 0)
        assert first[8:] + second[8:] == b"VALUE big 0 2000\r\n" + b"v" * 2000 + b"\r\nEND\r\n"
        u.close()


def test_metadump_gets_no_reply_over_udp():
    # memcached 1.6.18 answers a metadump over UDP with nothing (a bad class still gets
    # BADCLASS) and goes on serving; a reply would be the whole table for one datagram.
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.call(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n")
        u.send(b"lru_crawler metadump all\r\n", rid=5)
        u.expect_nothing(wait=1.0)
        u.send(b"lru_crawler metadump hash\r\n", rid=6)
        u.expect_nothing(wait=0.5)
        u.call(b"lru_crawler metadump 256\r\n", b"BADCLASS invalid class id\r\n", rid=7)
        u.call(b"get k\r\n", b"VALUE k 0 1\r\nx\r\nEND\r\n", rid=8)
        u.close()


def test_large_reply_spans_datagrams():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        value = bytes((i * 7) % 251 for i in range(5000)).replace(b"\r", b"r").replace(b"\n", b"n")
        u.call(b"set big 0 0 5000\r\n" + value + b"\r\n", b"STORED\r\n")
        u.send(b"get big\r\n", rid=0x1234)
        payload = b"VALUE big 0 5000\r\n" + value + b"\r\nEND\r\n"
        got = [u.recv() for _ in range(4)]
        assert [len(d) for d in got] == [1400, 1400, 1400, 857], [len(d) for d in got]
        for seq, d in enumerate(got):
            assert d[:8] == struct.pack(">HHHH", 0x1234, seq, 4, 0), (seq, d[:8])
        assert b"".join(d[8:] for d in got) == payload
        u.expect_nothing()
        u.close()


def test_malformed_datagrams_are_dropped():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.sock.sendto(b"\x00\x01\x00\x00\x00", u.addr)  # runt: shorter than the header
        u.expect_nothing()
        u.send(b"set m 0 0 1\r\nx\r\n", total=2)  # multi-datagram request: dropped
        u.expect_nothing()
        u.send(b"")  # a header alone
        u.expect_nothing()
        u.call(b"get m\r\n", b"END\r\n")  # none of them stored anything
        u.send(b"quit\r\n", rid=77)
        assert u.recv() == struct.pack(">HHHH", 77, 0, 0, 0)
        u.call(b"get m\r\n", b"END\r\n")  # quit ends nothing over UDP
        u.close()


# An incomplete command gets no reply. Each case runs on a fresh server and last: memcached
# keeps the leftover bytes in its per-thread UDP state and lets them leak into whatever
# datagram that thread reads next (Kioku forgets them with the datagram).
def test_command_without_newline_gets_no_reply():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.send(b"get m")
        u.expect_nothing()
        u.close()


def test_short_data_block_gets_no_reply():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.send(b"set m 0 0 5\r\nx\r\n")
        u.expect_nothing()
        u.close()


def test_tcp_keeps_serving_and_sees_udp_writes():
    srv, port = udp_server()
    with srv:
        u = Udp(port)
        u.call(b"set shared 0 0 3\r\nudp\r\n", b"STORED\r\n")
        with srv.session() as s:
            s.call(b"get shared\r\n", b"VALUE shared 0 3\r\nudp\r\nEND\r\n")
            s.call(b"set shared 0 0 3\r\ntcp\r\n", b"STORED\r\n")
        u.call(b"get shared\r\n", b"VALUE shared 0 3\r\ntcp\r\nEND\r\n")
        settings = srv.stats("settings")
        assert settings["udpport"] == str(port), settings.get("udpport")
        u.close()


def test_udp_is_off_by_default():
    with Server() as srv:
        assert srv.stats("settings")["udpport"] == "0"


if __name__ == "__main__":
    run_tests(globals())
