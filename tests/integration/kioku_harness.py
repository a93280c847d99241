"""Integration-test harness for kiokud (stdlib only).

Owns: starting a cache server on a free loopback port, raw-socket sessions with
byte-exact expectations, and the tiny test runner every test script uses.
Must not: talk to anything but 127.0.0.1, leave a server running, or block
without a timeout.

Target selection (environment):
  KIOKUD=<path>            the kiokud binary (set by CTest)
  KIOKU_TARGET=memcached   run the same tests against /usr/bin/memcached
                           (the reference: every expectation is memcached's
                           observed behaviour)
  MEMCACHED=<path>         memcached binary (default /usr/bin/memcached)

Test-file convention: a script with `def test_...()` functions that ends with
`run_tests(globals())`; the last line printed is "N passed, M failed" (with
", K skipped" appended only when something was skipped) and the exit status
is non-zero on any failure.
"""

import atexit
import difflib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 5.0

# --------------------------------------------------------------------------
# Target selection


def target():
    """'kiokud' or 'memcached'."""
    t = os.environ.get("KIOKU_TARGET", "kiokud").strip().lower()
    if t not in ("kiokud", "memcached"):
        raise RuntimeError("KIOKU_TARGET must be 'kiokud' or 'memcached', got %r" % t)
    return t


def is_memcached():
    return target() == "memcached"


def memcached_binary():
    return os.environ.get("MEMCACHED", "/usr/bin/memcached")


def kiokud_binary():
    path = os.environ.get("KIOKUD")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        guess = os.path.join(here, "..", "..", "build", "daemon", "kiokud")
        path = os.path.normpath(guess)
    return path


def server_command(kind, port, extra_args=()):
    """The argv that starts `kind` ('kiokud'/'memcached') on `port`."""
    extra = list(extra_args)
    if kind == "memcached":
        argv = [memcached_binary()]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
    else:
        argv = [kiokud_binary()]
    argv += ["-l", HOST, "-p", str(port), "-U", "0"]
    return argv + extra


# --------------------------------------------------------------------------
# Servers

_live_servers = set()


def _kill_all_servers():
    for srv in list(_live_servers):
        srv.kill()


atexit.register(_kill_all_servers)


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerError(AssertionError):
    pass


class Server:
    """One cache server process on a free loopback port.

    Use as a context manager: `with Server(["-m", "64"]) as srv: ...`.
    Leaving the block stops it with SIGTERM and asserts exit status 0.
    """

    def __init__(self, extra_args=(), kind=None, start_timeout=10.0):
        self.kind = kind or target()
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self._stderr = None
        self._stdout = None

    # -- lifecycle
    def start(self):
        last_error = None
        for _attempt in range(5):
            self.port = free_port()
            argv = server_command(self.kind, self.port, self.extra_args)
            if not os.path.exists(argv[0]):
                raise ServerError("server binary not found: %s (set KIOKUD or KIOKU_TARGET=memcached)" % argv[0])
            self._stderr = tempfile.TemporaryFile()
            self._stdout = tempfile.TemporaryFile()
            self.argv = argv
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._stdout,
                                         stderr=self._stderr, close_fds=True)
            _live_servers.add(self)
            try:
                self._wait_ready()
                return self
            except ServerError as e:
                last_error = e
                err = self.output()
                self.kill()
                if "in use" in err.lower() or "bind" in err.lower():
                    continue  # someone took the port between probe and start
                raise
        raise last_error

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerError("%s exited with status %s during startup: %s\nstderr:\n%s"
                                  % (self.kind, rc, " ".join(self.argv), self.output()))
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise ServerError("%s did not accept connections on port %d within %.1fs\nstderr:\n%s"
                          % (self.kind, self.port, self.start_timeout, self.output()))

    def output(self):
        """Everything the server wrote to stdout and stderr so far."""
        parts = []
        for f in (self._stdout, self._stderr):
            if f is None:
                continue
            try:
                f.flush()
                f.seek(0)
                parts.append(f.read().decode("utf-8", "replace"))
            except (OSError, ValueError):
                pass
        return "".join(parts)

    def signal(self, signum, timeout=5.0):
        """Sends `signum` and returns the exit status (fails if it does not exit)."""
        self.proc.send_signal(signum)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError("%s did not exit within %.1fs of signal %d\noutput:\n%s"
                              % (self.kind, timeout, signum, self.output()))
        _live_servers.discard(self)
        return rc

    def stop(self, timeout=5.0):
        """SIGTERM, then assert a clean exit (status 0) within `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            rc = None if self.proc is None else self.proc.returncode
            _live_servers.discard(self)
            if rc not in (None, 0):
                raise ServerError("%s had already exited with status %s\noutput:\n%s"
                                  % (self.kind, rc, self.output()))
            return
        rc = self.signal(signal.SIGTERM, timeout)
        if rc != 0:
            raise ServerError("%s exited with status %s after SIGTERM (want 0)\noutput:\n%s"
                              % (self.kind, rc, self.output()))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _live_servers.discard(self)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        # `with Server(...).start() as srv` must not start a second process (and orphan the
        # first): only a server that is not running yet is started here.
        return self if self.alive() else self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        else:
            self.kill()
        return False

    # -- clients
    def session(self, timeout=DEFAULT_TIMEOUT):
        return Session(self.port, timeout)

    def stats(self, arg=None):
        with self.session() as s:
            return s.stats(arg)


# --------------------------------------------------------------------------
# Raw-socket session


def _show(b):
    """Readable rendering of protocol bytes: one protocol line per text line."""
    text = b.decode("latin-1")
    text = text.replace("\r", "\\r").replace("\t", "\\t")
    lines = text.split("\n")
    out = [l + "\\n" for l in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return [o[:300] + ("...(%d chars)" % len(o) if len(o) > 300 else "") for o in out]


def byte_diff(want, got):
    d = difflib.unified_diff(_show(want), _show(got), "expected", "received", lineterm="", n=2)
    return "\n".join(d)


class Session:
    """A raw TCP connection to the server, as a telnet user would type."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError()
        self.buf += chunk

    def read_exactly(self, n, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            while len(self.buf) < n:
                self._fill(deadline)
        except (socket.timeout, EOFError, ConnectionError) as e:
            got = self.buf
            self.buf = b""
            raise _Short(got, e)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def expect(self, want, timeout=None):
        """Reads exactly len(want) bytes and asserts they equal `want`."""
        if isinstance(want, str):
            want = want.encode()
        try:
            got = self.read_exactly(len(want), timeout)
        except _Short as s:
            why = "connection closed" if isinstance(s.error, (EOFError, ConnectionError)) else "timed out"
            raise AssertionError("%s after %d of %d expected bytes\n%s"
                                 % (why, len(s.got), len(want), byte_diff(want, s.got)))
        if got != want:
            # Grab whatever else is already queued so the diff shows context.
            extra = self._drain(0.1)
            raise AssertionError("reply mismatch\n%s" % byte_diff(want, got + extra))
        return got

    def call(self, request, want, timeout=None):
        """send(request) then expect(want)."""
        self.send(request)
        return self.expect(want, timeout)

    def _drain(self, wait):
        deadline = time.monotonic() + wait
        try:
            while True:
                self._fill(deadline)
        except (socket.timeout, EOFError, OSError):
            pass
        out, self.buf = self.buf, b""
        return out

    def readline(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\r\n" not in self.buf:
            try:
                self._fill(deadline)
            except (socket.timeout, EOFError, ConnectionError) as e:
                raise AssertionError("no complete line (%s); have %r" % (type(e).__name__, self.buf[:200]))
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read_until(self, terminator, timeout=None):
        """Reads up to and including `terminator` (e.g. b"END\\r\\n")."""
        if isinstance(terminator, str):
            terminator = terminator.encode()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while terminator not in self.buf:
            try:
                self._fill(deadline)
            except (socket.timeout, EOFError, ConnectionError) as e:
                raise AssertionError("no %r (%s); have %r" % (terminator, type(e).__name__, self.buf[-300:]))
        i = self.buf.index(terminator) + len(terminator)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def expect_re(self, pattern, timeout=None):
        """Reads one line and asserts it fully matches the regex `pattern` (bytes)."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        line = self.readline(timeout)
        m = re.fullmatch(pattern, line)
        if not m:
            raise AssertionError("line %r does not match %r" % (line, pattern))
        return m

    def expect_closed(self, timeout=None):
        """Asserts the server closes the connection (after any queued bytes) in time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                self._fill(deadline)
            except EOFError:
                break
            except ConnectionError:
                break
            except socket.timeout:
                raise AssertionError("connection still open after %.1fs; unread %r"
                                     % (self.timeout if timeout is None else timeout, self.buf[:200]))
        leftover, self.buf = self.buf, b""
        if leftover:
            raise AssertionError("unexpected bytes before close: %r" % leftover[:300])

    def expect_nothing(self, wait=0.2):
        """Asserts no bytes arrive within `wait` seconds (e.g. after noreply)."""
        got = self._drain(wait)
        if got:
            raise AssertionError("expected no reply, got %r" % got[:300])

    def stats(self, arg=None):
        """Sends `stats [arg]` and returns {name: value-string}."""
        self.send(("stats %s\r\n" % arg) if arg else "stats\r\n")
        raw = self.read_until(b"END\r\n")
        out = {}
        for line in raw.split(b"\r\n"):
            if line.startswith(b"STAT "):
                parts = line.decode().split(" ", 2)
                out[parts[1]] = parts[2] if len(parts) > 2 else ""
        return out

    def gets_cas(self, key):
        """Returns the CAS unique of `key` (asserts it is present)."""
        self.send("gets %s\r\n" % key)
        hdr = self.expect_re(rb"VALUE (\S+) (\d+) (\d+) (\d+)\r\n")
        self.read_exactly(int(hdr.group(3)) + 2)
        self.expect("END\r\n")
        return int(hdr.group(4))


class _Short(Exception):
    def __init__(self, got, error):
        super().__init__()
        self.got = got
        self.error = error


# --------------------------------------------------------------------------
# Runner


class Skip(Exception):
    pass


# Under ASan/TSan (scripts/test.sh sets KIOKU_SANITIZED) RSS is mostly shadow memory and
# quarantine, so the memory bounds are checked on the plain build only.
CHECK_RSS = not os.environ.get("KIOKU_SANITIZED")


def rss_bytes(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % srv.proc.pid)


def assert_rss_within(srv, baseline, slack_mb, what):
    if not CHECK_RSS:
        return
    grown = rss_bytes(srv) - baseline
    assert grown < slack_mb << 20, "%s: RSS grew by %.1f MB (bound %d MB)" % (
        what, grown / 1048576.0, slack_mb)


def skip(reason):
    raise Skip(reason)


def kiokud_only(reason):
    """Skips the calling test when running against memcached."""
    if is_memcached():
        raise Skip("kiokud-only: " + reason)


def run_tests(namespace, argv=None):
    """Runs every test_* function of `namespace` in definition order.

    Optional argv: names (or substrings) to select tests.
    """
    argv = sys.argv[1:] if argv is None else argv

    def _on_term(signum, _frame):
        raise SystemExit(128 + signum)  # runs atexit, so no server is left behind

    signal.signal(signal.SIGTERM, _on_term)

    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if argv:
        tests = [(n, f) for n, f in tests if any(a in n for a in argv)]
    passed = failed = skipped = 0
    print("target: %s (%s)" % (target(), memcached_binary() if is_memcached() else kiokud_binary()), flush=True)
    for name, fn in tests:
        start = time.monotonic()
        try:
            fn()
        except Skip as s:
            skipped += 1
            print("SKIP %s: %s" % (name, s), flush=True)
        except Exception:  # noqa: BLE001 - a test runner reports everything
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - start), flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - start), flush=True)
        finally:
            _kill_all_servers()
    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary, flush=True)
    sys.exit(1 if failed or passed + skipped == 0 else 0)
