"""memcached's per-listener "notls:" prefix for -l when -Z is on.

`-l notls:127.0.0.1:PORT` serves that listener in plain text while every other listener
speaks TLS only. memcached 1.6.18 also lets -l add up (several -l options listen on all of
them), which is how this test adds the plain listener next to the harness's own -l, and
refuses "notls:" without -Z ("'notls' option is valid only when SSL is enabled").
Run with KIOKU_TARGET=memcached too.
"""

import socket

from kioku_harness import Server, free_port, is_memcached, run_tests
import test_tls as tls
from test_tls import HOST


def notls_server(plain_port):
    p = tls.pki()
    opts = "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s" % (p.server_crt, p.server_key, p.ca_crt)
    return Server(["-Z", "-o", opts, "-l", "notls:%s:%d" % (HOST, plain_port)])


def test_notls_listener_is_plain_and_the_other_is_tls():
    plain_port = free_port()
    with notls_server(plain_port) as srv:
        # the notls listener: plain text works
        with socket.create_connection((HOST, plain_port), timeout=5) as s:
            assert tls.call(s, b"set k 0 0 2\r\nhi\r\n") == b"STORED\r\n"
            assert tls.call(s, b"version\r\n").startswith(b"VERSION ")
        # the harness's listener: TLS, sees the same cache
        with tls.tls_connect(srv.port, tls.client_context()) as s:
            assert tls.call(s, b"get k\r\n", b"END\r\n") == b"VALUE k 0 2\r\nhi\r\nEND\r\n"
        # and plain text there is still refused
        with socket.create_connection((HOST, srv.port), timeout=5) as s:
            s.sendall(b"version\r\n")
            try:
                got = s.recv(100)
            except ConnectionResetError:
                got = b""
            assert not got.startswith(b"VERSION"), got
        # a TLS client on the plain listener gets no session
        assert tls.rejected(plain_port, tls.client_context())


def test_notls_without_tls_does_not_start():
    srv = Server(["-l", "notls:%s:%d" % (HOST, free_port())])
    try:
        srv.start()
    except Exception as e:  # ServerError: exited during start-up
        assert "'notls' option is valid only when SSL is enabled" in str(e), e
        return
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill()
    raise AssertionError("started with notls: and no -Z")


if __name__ == "__main__":
    try:
        run_tests(globals())
    finally:
        if tls.PKI is not None:
            tls.PKI.close()
