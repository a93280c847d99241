"""TLS (-Z) with memcached's option names, through OpenSSL.

A throwaway CA, server and client certificates are made with the openssl tool in a temporary
directory. Clients: `openssl s_client` and pymemcache's tls_context (Python's ssl module).
memcached 1.6.18 (Debian builds it with TLS) is the reference: run with KIOKU_TARGET=memcached.
Observed there: "refresh_certs" answers "OK", or the loader's error message as the whole line ("Error TLS not
enabled" without -Z);
"stats" gains ssl_handshake_errors and time_since_server_cert_refresh; "stats settings" shows
ssl_enabled yes and the ssl_* options (ssl_verify_mode as OpenSSL's flags: 2 -> 3); a client
without the required certificate, or speaking plain text, is dropped and counted as a
handshake error (Kioku counts every rejected handshake and never a client that connects and
closes without a word; memcached's count differs there, see the mutual-TLS test).
"""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from kioku_harness import Server, is_memcached, run_tests

HOST = "127.0.0.1"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


class Pki:
    """CA, a server certificate for 127.0.0.1, a client certificate, and a rogue client."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kioku-tls-")
        os.chmod(self.dir, 0o755)  # memcached reads them as "nobody"
        self.ca_crt, self.ca_key = self.path("ca.crt"), self.path("ca.key")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key,
                "-out", self.ca_crt, "-days", "2", "-subj", "/CN=kioku test CA")
        self.server_crt, self.server_key = self.issue("server", "127.0.0.1", server=True)
        self.client_crt, self.client_key = self.issue("client", "kioku client")
        self.rogue_crt, self.rogue_key = self.path("rogue.crt"), self.path("rogue.key")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.rogue_key,
                "-out", self.rogue_crt, "-days", "2", "-subj", "/CN=rogue")
        for name in os.listdir(self.dir):
            os.chmod(self.path(name), 0o644)

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, cn, server=False):
        key, csr, crt = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".crt")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                "-subj", "/CN=" + cn)
        args = ["x509", "-req", "-in", csr, "-CA", self.ca_crt, "-CAkey", self.ca_key,
                "-CAcreateserial", "-out", crt, "-days", "2"]
        if server:
            ext = self.path(name + ".ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
            args += ["-extfile", ext]
        openssl(*args)
        return crt, key

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


PKI = None


def pki():
    global PKI
    if PKI is None:
        PKI = Pki()
    return PKI


def tls_server(verify_mode=0, extra=""):
    p = pki()
    opts = "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,ssl_verify_mode=%d" % (
        p.server_crt, p.server_key, p.ca_crt, verify_mode)
    if extra:
        opts += "," + extra
    return Server(["-Z", "-o", opts])


def client_context(cert=None, key=None):
    ctx = ssl.create_default_context(cafile=pki().ca_crt)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def tls_connect(port, ctx):
    raw = socket.create_connection((HOST, port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname=HOST)


def call(sock, request, terminator=b"\r\n"):
    sock.sendall(request)
    got = b""
    deadline = time.monotonic() + 5
    while not got.endswith(terminator):
        if time.monotonic() > deadline:
            raise AssertionError("timed out; have %r" % got)
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("closed; have %r" % got)
        got += chunk
    return got


def stats(port, ctx, arg=b""):
    with tls_connect(port, ctx) as s:
        raw = call(s, b"stats" + (b" " + arg if arg else b"") + b"\r\n", b"END\r\n")
    out = {}
    for line in raw.decode().split("\r\n"):
        if line.startswith("STAT "):
            _, name, value = line.split(" ", 2)
            out[name] = value
    return out


def rejected(port, ctx):
    """True when the server refuses this client's TLS session (or drops it right after)."""
    try:
        with tls_connect(port, ctx) as s:
            s.settimeout(3)
            s.sendall(b"version\r\n")
            return not s.recv(100).startswith(b"VERSION")
    except (ssl.SSLError, OSError):
        return True


def test_s_client_sets_and_gets_over_tls():
    p = pki()
    with tls_server() as srv:
        for version in ("-tls1_2", "-tls1_3"):
            out = subprocess.run(
                ["openssl", "s_client", "-connect", "%s:%d" % (HOST, srv.port), "-CAfile",
                 p.ca_crt, "-verify_return_error", "-quiet", "-ign_eof", version],
                input=b"set k 0 0 5\r\nhello\r\nget k\r\nquit\r\n", stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, timeout=20)
            assert out.stdout == b"STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n", (version, out)


def test_pymemcache_tls_context():
    from pymemcache.client.base import Client
    with tls_server() as srv:
        client = Client((HOST, srv.port), tls_context=client_context(), connect_timeout=5,
                        timeout=5)
        client.set("greeting", b"over tls")
        assert client.get("greeting") == b"over tls"
        big = os.urandom(300000)
        client.set("big", big)
        assert client.get("big") == big
        assert client.get_many(["greeting", "big", "missing"]) == {
            "greeting": b"over tls", "big": big}
        client.close()
        st = stats(srv.port, client_context(), b"settings")
        assert st["ssl_enabled"] == "yes" and st["ssl_min_version"] == "tlsv1.2", st
        assert st["ssl_chain_cert"] == pki().server_crt


def test_watch_streams_inside_the_tls_session():
    # The watcher's "OK" and its event lines are TLS records, as memcached 1.6.18 sends them.
    with tls_server() as srv:
        watcher = tls_connect(srv.port, client_context())
        watcher.settimeout(5)
        # Pipelined behind a get: that reply comes first, also inside the session.
        watcher.sendall(b"get nothing-here\r\nwatch fetchers\r\n")
        got = b""
        while not got.endswith(b"OK\r\n"):
            chunk = watcher.recv(100)
            assert chunk, got
            got += chunk
        assert got == b"END\r\nOK\r\n", got
        client = tls_connect(srv.port, client_context())
        assert call(client, b"get watched-key\r\n", b"END\r\n") == b"END\r\n"
        line = b""
        while b"\n" not in line:
            chunk = watcher.recv(1000)
            assert chunk, line
            line += chunk
        assert b"type=item_get key=watched-key status=not_found" in line, line
        client.close()
        watcher.close()


def test_pipelined_megabytes_over_tls():
    # Replies larger than the socket and TLS buffers, written while the client pipelines.
    with tls_server() as srv, tls_connect(srv.port, client_context()) as s:
        value = b"v" * 100000
        call(s, b"set v 0 0 100000\r\n" + value + b"\r\n")
        reply = call(s, b"get v\r\n" * 50, b"END\r\n" * 1)
        want = (b"VALUE v 0 100000\r\n" + value + b"\r\nEND\r\n") * 50
        while len(reply) < len(want):
            reply += s.recv(1 << 20)
        assert reply == want


def test_minimum_version_is_enforced():
    with tls_server(extra="ssl_min_version=3") as srv:
        ctx12 = client_context()
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        assert rejected(srv.port, ctx12)
        assert not rejected(srv.port, client_context())


def test_mutual_tls_accepts_the_ca_signed_client_only():
    from pymemcache.client.base import Client
    p = pki()
    with tls_server(verify_mode=2) as srv:
        good = client_context(p.client_crt, p.client_key)
        client = Client((HOST, srv.port), tls_context=good, connect_timeout=5, timeout=5)
        client.set("mtls", b"yes")
        assert client.get("mtls") == b"yes"
        client.close()
        before = int(stats(srv.port, good)["ssl_handshake_errors"])
        assert rejected(srv.port, client_context())  # no certificate
        assert rejected(srv.port, client_context(p.rogue_crt, p.rogue_key))  # wrong CA
        time.sleep(0.2)
        after = int(stats(srv.port, good)["ssl_handshake_errors"])
        if is_memcached():
            # memcached 1.6.18 counted a bare connect-and-close (the harness's readiness
            # probe) but not, reliably, these rejections.
            assert after >= before, (before, after)
        else:
            assert after - before == 2, (before, after)
        st = stats(srv.port, good, b"settings")
        assert st["ssl_verify_mode"] == "3", st["ssl_verify_mode"]


def test_plain_text_client_is_dropped_and_counted():
    with tls_server() as srv:
        before = int(stats(srv.port, client_context())["ssl_handshake_errors"])
        s = socket.create_connection((HOST, srv.port), timeout=5)
        s.sendall(b"version\r\n")
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        assert not got.startswith(b"VERSION"), got
        s.close()
        time.sleep(0.2)
        assert int(stats(srv.port, client_context())["ssl_handshake_errors"]) == before + 1


def test_refresh_certs_loads_new_certificates():
    p = pki()
    work = tempfile.mkdtemp(prefix="kioku-tls-refresh-")
    os.chmod(work, 0o755)
    crt, key = os.path.join(work, "live.crt"), os.path.join(work, "live.key")
    shutil.copy(p.server_crt, crt)
    shutil.copy(p.server_key, key)
    try:
        opts = "ssl_chain_cert=%s,ssl_key=%s" % (crt, key)
        with Server(["-Z", "-o", opts]) as srv:
            ctx = client_context()
            old = tls_connect(srv.port, ctx)
            assert old.getpeercert()["serialNumber"]
            first_serial = old.getpeercert()["serialNumber"]
            # A renewed certificate for the same name, with a new key.
            new_crt, new_key = p.issue("renewed", "127.0.0.1", server=True)
            shutil.copy(new_crt, crt)
            shutil.copy(new_key, key)
            for f in (crt, key):
                os.chmod(f, 0o644)
            assert call(old, b"refresh_certs\r\n") == b"OK\r\n"
            with tls_connect(srv.port, ctx) as fresh:
                assert fresh.getpeercert()["serialNumber"] != first_serial
                assert call(fresh, b"version\r\n").startswith(b"VERSION ")
            assert call(old, b"version\r\n").startswith(b"VERSION ")  # keeps its session
            # A broken key: the reload fails with the loader's message, the old one stays.
            with open(key, "w") as f:
                f.write("not a key\n")
            reply = call(old, b"refresh_certs\r\n")
            assert reply.startswith(b"Error loading the key: " + key.encode()), reply
            with tls_connect(srv.port, ctx) as again:
                assert call(again, b"version\r\n").startswith(b"VERSION ")
            st = stats(srv.port, ctx)
            assert int(st["time_since_server_cert_refresh"]) <= 5, st
            old.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_refresh_certs_without_tls():
    with Server() as srv, srv.session() as s:
        s.call("refresh_certs\r\n", "Error TLS not enabled\r\n")


def test_tls_without_a_certificate_does_not_start():
    srv = Server(["-Z"])
    try:
        srv.start()
    except Exception as e:  # ServerError: exited during start-up
        if not is_memcached():
            assert "ssl_chain_cert" in str(e), e
        return
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill()
    raise AssertionError("started with -Z and no certificate")


if __name__ == "__main__":  # test_tls_notls.py imports the helpers above
    try:
        run_tests(globals())
    finally:
        if PKI is not None:
            PKI.close()
