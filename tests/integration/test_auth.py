"""Authentication: SASL (-S) over the binary protocol and ascii auth (-Y).

SASL is set up exactly as for memcached: a sasldb made by
`saslpasswd2 -a memcached -c -f DB user`, a memcached.conf with
`mech_list: plain` and `sasldb_path: DB`, and SASL_CONF_PATH naming the
directory that holds memcached.conf. Replies and close behaviour were taken
from memcached 1.6.18; KIOKU_TARGET=memcached runs the same expectations.
"""

import os
import shutil
import subprocess
import tempfile

from kioku_harness import Server, run_tests, skip, is_memcached, kiokud_binary, server_command, free_port
import kioku_binary as b

SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"


class SaslSetup:
    """A temporary sasldb with one user, and SASL_CONF_PATH pointing at it."""

    def __enter__(self):
        if not os.path.exists(SASLPASSWD2):
            skip("saslpasswd2 not installed (sasl2-bin)")
        self.dir = tempfile.mkdtemp(prefix="kioku-sasl-")
        db = os.path.join(self.dir, "sasldb2")
        subprocess.run([SASLPASSWD2, "-a", "memcached", "-c", "-p", "-f", db, "alice"],
                       input=b"wonderland", check=True, timeout=30)
        os.chmod(db, 0o644)  # memcached runs as nobody when the tests are root
        with open(os.path.join(self.dir, "memcached.conf"), "w") as f:
            f.write("mech_list: plain\nsasldb_path: %s\n" % db)
        os.chmod(self.dir, 0o755)
        self.saved = os.environ.get("SASL_CONF_PATH")
        os.environ["SASL_CONF_PATH"] = self.dir
        return self

    def __exit__(self, *exc):
        if self.saved is None:
            os.environ.pop("SASL_CONF_PATH", None)
        else:
            os.environ["SASL_CONF_PATH"] = self.saved
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def plain(user, password):
    return b"\0" + user.encode() + b"\0" + password.encode()


def test_sasl_pylibmc_authenticated_client_works_unauthenticated_is_refused():
    try:
        import pylibmc
    except ImportError:
        skip("python3-pylibmc not installed")
    if not pylibmc.support_sasl:
        skip("pylibmc built without SASL")
    with SaslSetup(), Server(["-S"]) as srv:
        good = pylibmc.Client(["127.0.0.1:%d" % srv.port], binary=True,
                              username="alice", password="wonderland")
        assert good.set("k", "v")
        assert good.get("k") == "v"
        assert good.set("n", "1") and good.incr("n", 1) == 2
        bad = pylibmc.Client(["127.0.0.1:%d" % srv.port], binary=True,
                             username="alice", password="wrong")
        try:
            bad.get("k")
        except pylibmc.Error:
            pass
        else:
            raise AssertionError("a wrong password was accepted")
        anonymous = pylibmc.Client(["127.0.0.1:%d" % srv.port], binary=True)
        # libmemcached reports the AUTH_ERROR of a get as a miss, and of a set as a failure.
        assert anonymous.get("k") is None
        try:
            stored = anonymous.set("k", "overwritten")
        except pylibmc.Error:
            stored = False
        assert not stored, "an unauthenticated set was accepted"
        assert good.get("k") == "v"


def test_sasl_raw_exchange_and_refusals():
    with SaslSetup(), Server(["-S"]) as srv:
        with srv.session() as s:  # unauthenticated: AUTH_ERROR, then closed
            s.send(b.request("GET", "k", opaque=3))
            s.expect(b.error_packet("GET", b.AUTH_ERROR, "Auth failure.", opaque=3))
            s.expect_closed()
        with srv.session() as s:  # VERSION and the SASL commands need no authentication
            assert b.call(s, "VERSION").value == b"1.6.18"
            r = b.call(s, "SASL_LIST", opaque=4)
            assert (r.status, r.value, r.opaque) == (0, b"PLAIN", 4)
            s.send(b.request("SASL_AUTH", "PLAIN", value=plain("alice", "nope"), opaque=5))
            s.expect(b.error_packet("SASL_AUTH", b.AUTH_ERROR, "Auth failure.", opaque=5))
            r = b.call(s, "SASL_AUTH", "PLAIN", value=plain("alice", "wonderland"), opaque=6)
            assert (r.status, r.value, r.opaque) == (0, b"Authenticated", 6)
            assert b.call(s, "SET", "k", b.set_extras(), "v").status == 0
            assert b.call(s, "GET", "k").value == b"v"
            stats = {}
            s.send(b.request("STAT"))
            while True:
                r = b.read_response(s)
                if not r.key:
                    break
                stats[r.key.decode()] = r.value.decode()
            assert (stats["auth_cmds"], stats["auth_errors"]) == ("2", "1"), stats
        with srv.session() as s:  # PLAIN with no data: AUTH_CONTINUE, then SASL_STEP
            r = b.call(s, "SASL_AUTH", "PLAIN")
            assert (r.status, r.value) == (b.AUTH_CONTINUE, b"")
            r = b.call(s, "SASL_STEP", "PLAIN", value=plain("alice", "wonderland"))
            assert (r.status, r.value) == (0, b"Authenticated")
            assert b.call(s, "NOOP").status == 0
        with srv.session() as s:  # a step before any start fails
            s.send(b.request("SASL_STEP", "PLAIN", value=plain("alice", "wonderland")))
            s.expect(b.error_packet("SASL_STEP", b.AUTH_ERROR, "Auth failure."))
        with srv.session() as s:  # a mechanism name over 32 bytes: EINVAL, data skipped
            s.send(b.request("SASL_AUTH", "P" * 40, value="xx") + b.request("VERSION"))
            s.expect(b.error_packet("SASL_AUTH", b.EINVAL, "Invalid arguments"))
            assert b.read_response(s).value == b"1.6.18"
        with srv.session() as s:  # the text protocol is refused: closed once a header's worth arrives
            s.send("version\r\n")
            s.expect_nothing(0.2)
            s.send("get foo\r\nget foo\r\nget foo\r\n")
            s.expect_closed()


def test_sasl_settings_and_option_conflicts():
    with SaslSetup(), Server(["-S"]) as srv:
        with srv.session() as s:
            b.call(s, "SASL_AUTH", "PLAIN", value=plain("alice", "wonderland"))
            s.send(b.request("STAT", "settings"))
            settings = {}
            while True:
                r = b.read_response(s)
                if not r.key:
                    break
                settings[r.key.decode()] = r.value.decode()
        assert settings["auth_enabled_sasl"] == "yes"
        assert settings["binding_protocol"] == "binary"
    for extra in (["-S", "-B", "ascii"], ["-S", "-B", "auto"]):
        argv = server_command("memcached" if is_memcached() else "kiokud", free_port(), extra)
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        assert proc.returncode != 0
        assert b"You cannot allow the ASCII protocol while using SASL." in proc.stdout, proc.stdout


def test_sasl_without_a_configuration_refuses_to_start():
    if any(os.path.exists(d + "/memcached.conf") for d in ("/etc/sasl", "/etc/sasl2")):
        skip("this machine has a system-wide memcached.conf")
    env = dict(os.environ)
    env.pop("SASL_CONF_PATH", None)
    argv = server_command("memcached" if is_memcached() else "kiokud", free_port(), ["-S"])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10, env=env)
    assert proc.returncode != 0
    assert b"Error initializing sasl." in proc.stdout, proc.stdout


def write_auth_file(directory):
    path = os.path.join(directory, "auth")
    with open(path, "w") as f:
        f.write("alice:secret\nbob:pw2\n")
    os.chmod(path, 0o644)
    os.chmod(directory, 0o755)
    return path


def test_ascii_auth_with_pymemcache():
    from pymemcache.client.base import Client
    from pymemcache.exceptions import MemcacheClientError
    with tempfile.TemporaryDirectory() as tmp:
        path = write_auth_file(tmp)
        with Server(["-Y", path]) as srv:
            anonymous = Client(("127.0.0.1", srv.port), timeout=5)
            try:
                anonymous.get("k")
            except MemcacheClientError as e:
                assert "unauthenticated" in str(e)
            else:
                raise AssertionError("an unauthenticated get was served")
            anonymous.close()
            c = Client(("127.0.0.1", srv.port), timeout=5)
            # memcached's ascii auth: a set whose data is "user password".
            assert c.set("auth", b"alice secret", noreply=False) is True
            assert c.set("k", b"v", noreply=False) is True
            assert c.get("k") == b"v"
            assert c.incr("n", 1) is None
            c.close()
            wrong = Client(("127.0.0.1", srv.port), timeout=5)
            try:
                wrong.set("auth", b"alice nope", noreply=False)
            except MemcacheClientError as e:
                assert "authentication failure" in str(e)
            else:
                raise AssertionError("a wrong password was accepted")
            wrong.close()
            with srv.session() as s:
                s.call("set a 0 0 7\r\nbob pw2\r\n", "STORED\r\n")
                st = s.stats()
                assert (st["auth_cmds"], st["auth_errors"]) == ("3", "1"), st
                settings = s.stats("settings")
                assert settings["auth_enabled_ascii"] == path
                assert settings["binding_protocol"] == "ascii"


def test_ascii_auth_raw_replies():
    with tempfile.TemporaryDirectory() as tmp:
        path = write_auth_file(tmp)
        with Server(["-Y", path]) as srv:
            cases = [
                ("version\r\n", "CLIENT_ERROR unauthenticated\r\n"),
                ("set x 0 0 9\r\nalice bad\r\n", "CLIENT_ERROR authentication failure\r\n"),
                ("set x 0 0 3\r\nabc\r\n", "CLIENT_ERROR bad authentication token format\r\n"),
                ("set x 0 0 3\r\nabcXY", "CLIENT_ERROR bad command line termination\r\n"),
                ("set x 0 0 abc\r\n", "CLIENT_ERROR unauthenticated\r\n"),
                ("add x 0 0 12\r\n", "CLIENT_ERROR unauthenticated\r\n"),
                ("set x 0 0 13\r\nalice  secret\r\n", "STORED\r\n"),
            ]
            for request, reply in cases:
                with srv.session() as s:
                    s.call(request, reply)
                    if reply != "STORED\r\n":  # still locked out afterwards
                        s.call("version\r\n", "CLIENT_ERROR unauthenticated\r\n")
                    else:
                        s.call("version\r\n", "VERSION 1.6.18\r\n")
            with srv.session() as s:  # noreply does not silence the auth reply
                s.call("set x 0 0 12 noreply\r\nalice secret\r\n", "STORED\r\n")
                s.call("get x\r\n", "END\r\n")  # the auth set stored nothing
            with srv.session() as s:  # split across writes
                s.send("set x 0 0 12\r\nali")
                s.expect_nothing(0.1)
                s.call("ce secret\r\nversion\r\n", "STORED\r\nVERSION 1.6.18\r\n")
            with srv.session() as s:  # a long line without a newline: closed
                s.send("x" * 3000)
                s.expect_closed()
            with srv.session() as s:  # a binary client cannot authenticate under -Y
                s.send(b.request("NOOP") + b"\n")
                s.expect("CLIENT_ERROR unauthenticated\r\n")


def test_ascii_auth_option_errors():
    kind = "memcached" if is_memcached() else "kiokud"
    with tempfile.TemporaryDirectory() as tmp:
        path = write_auth_file(tmp)
        proc = subprocess.run(server_command(kind, free_port(), ["-Y", path, "-B", "binary"]),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        assert proc.returncode != 0
        assert b"You cannot allow the BINARY protocol while using ascii authentication tokens." in proc.stdout
        proc = subprocess.run(server_command(kind, free_port(), ["-Y", os.path.join(tmp, "missing")]),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        assert proc.returncode != 0
        assert b"Could not open authfile" in proc.stdout, proc.stdout


if __name__ == "__main__":
    run_tests(globals())
