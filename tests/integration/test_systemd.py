"""systemd integration: the unit file verifies, and Type=notify readiness works.

kiokud is started with NOTIFY_SOCKET pointing at a datagram socket this test owns, as systemd
would; READY=1 must arrive once the port accepts, STATUS= lines carry connections and items,
and a graceful stop announces STOPPING=1.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from kioku_harness import HOST, free_port, kiokud_binary, kiokud_only, run_tests, skip

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.normpath(os.path.join(HERE, "..", "..", "scripts", "kiokud.service"))


def unit_directives():
    out = {}
    with open(UNIT, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


def test_unit_file_has_the_documented_shape():
    d = unit_directives()
    assert d["Type"] == "notify"
    assert d["ExecStart"] == "/usr/bin/kiokud --config /etc/kioku/kiokud.conf"
    assert d["User"] == "kioku"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "MemoryDenyWriteExecute"):
        assert d[key] == "yes", key
    assert d["ProtectSystem"] == "strict"
    assert set(d["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    # kiokud's default -c is 1024; the unit's limit must leave room above it.
    assert int(d["LimitNOFILE"]) >= 1024 + 100


def test_systemd_analyze_verify_is_clean():
    kiokud_only("verifies kiokud's unit")
    if shutil.which("systemd-analyze") is None:
        skip("systemd-analyze not installed (Debian package systemd)")
    with tempfile.TemporaryDirectory() as tmp:
        # The unit names /usr/bin/kiokud; verify checks that ExecStart exists, so point it
        # at the binary under test. --man=no: the man pages are not installed here.
        with open(UNIT, encoding="utf-8") as f:
            text = f.read().replace("/usr/bin/kiokud", os.path.abspath(kiokud_binary()))
        path = os.path.join(tmp, "kiokud.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                             capture_output=True, text=True, timeout=60)
        # verify exits 0 even when it ignores a line it cannot parse: any output is a failure.
        assert out.returncode == 0 and not out.stderr.strip() and not out.stdout.strip(), \
            "systemd-analyze verify: rc %d\n%s%s" % (out.returncode, out.stdout, out.stderr)
        sec = subprocess.run(["systemd-analyze", "security", "--offline=true", path],
                             capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for kiokud.service: ([0-9.]+)", sec.stdout)
        assert m, sec.stdout[-500:] + sec.stderr
        assert float(m.group(1)) <= 4.0, "exposure %s:\n%s" % (m.group(1), sec.stdout)


class NotifySocket:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def receive(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096)
        return dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)

    def wait_for(self, key, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no %s= notification within %.1fs" % (key, timeout))
            msg = self.receive(remaining)
            if key in msg:
                return msg


def start_with_notify(notify, port, extra=()):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    return subprocess.Popen([kiokud_binary(), "-l", HOST, "-p", str(port), "-U", "0"] + list(extra),
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def test_ready_arrives_when_the_port_accepts():
    kiokud_only("sd_notify")
    with tempfile.TemporaryDirectory() as tmp:
        notify = NotifySocket(tmp)
        port = free_port()
        proc = start_with_notify(notify, port, ["-t", "2"])
        try:
            msg = notify.wait_for("READY", 10)
            assert msg["READY"] == "1"
            assert re.fullmatch(r"\d+ connections, \d+ items", msg["STATUS"]), msg
            # Readiness means the listener is bound: a connect must succeed at once.
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.sendall(b"set k 0 0 1\r\nv\r\n")
                assert s.recv(100) == b"STORED\r\n"
                # Periodic STATUS lines report the open connection and the item.
                deadline = time.monotonic() + 12
                while time.monotonic() < deadline:
                    msg = notify.wait_for("STATUS", 12)
                    if msg["STATUS"] == "1 connections, 1 items":
                        break
                else:
                    raise AssertionError("STATUS never showed 1 connection and 1 item")
            proc.send_signal(signal.SIGTERM)
            msg = notify.wait_for("STOPPING", 5)
            assert msg["STOPPING"] == "1"
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_no_ready_when_the_port_cannot_be_bound():
    kiokud_only("sd_notify")
    with tempfile.TemporaryDirectory() as tmp:
        notify = NotifySocket(tmp)
        with socket.socket() as taken:
            taken.bind((HOST, 0))
            taken.listen()
            proc = start_with_notify(notify, taken.getsockname()[1])
            try:
                rc = proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert rc == 1, rc
            try:
                msg = notify.receive(0.3)
            except socket.timeout:
                msg = {}
            assert "READY" not in msg, msg


if __name__ == "__main__":
    run_tests(globals())
