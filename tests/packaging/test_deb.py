"""`cpack -G DEB` builds a package whose files sit where the docs say, and whose kiokud starts.

Installing for real (dpkg -i on this host) would create the kioku user and start a system
service, so the test unpacks the package into a scratch root instead: `dpkg --root=R --unpack`
lays out every file and records the package in R's own dpkg database, without running the
maintainer scripts (those are syntax-checked with sh -n). The unpacked kiokud is then started
with the unpacked config file and must report READY=1 and serve requests.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from kioku_harness import HOST, free_port, run_tests, skip

BUILD = os.environ.get("KIOKU_BUILD_DIR", "")

EXPECTED_FILES = [
    "usr/bin/kiokud",
    "usr/bin/kioku-bench",
    "usr/bin/kioku-cli",
    "usr/lib/systemd/system/kiokud.service",
    "usr/share/man/man1/kiokud.1",
    "usr/share/man/man1/kioku-bench.1",
    "usr/share/man/man1/kioku-cli.1",
    "usr/share/man/man5/kiokud.conf.5",
    "usr/share/doc/kioku/kiokud.conf.example",
]


def build_deb(out_dir):
    if not BUILD or not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
        skip("KIOKU_BUILD_DIR with CPackConfig.cmake not set (run through ctest)")
    for tool in ("cpack", "dpkg", "dpkg-deb"):
        if shutil.which(tool) is None:
            skip("%s not installed" % tool)
    out = subprocess.run(["cpack", "-G", "DEB", "-B", out_dir, "--config",
                          os.path.join(BUILD, "CPackConfig.cmake")],
                         capture_output=True, text=True, timeout=240, cwd=BUILD)
    assert out.returncode == 0, out.stdout + out.stderr
    debs = glob.glob(os.path.join(out_dir, "kioku_*_*.deb"))
    assert len(debs) == 1, os.listdir(out_dir)
    return debs[0]


def control_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_deb_unpacks_and_its_kiokud_starts():
    if os.environ.get("KIOKU_SANITIZED"):
        skip("a sanitizer build packages libasan instead of jemalloc; the release build checks the .deb")
    with tempfile.TemporaryDirectory() as tmp:
        deb = build_deb(os.path.join(tmp, "out"))
        assert control_field(deb, "Package") == "kioku"
        depends = control_field(deb, "Depends")
        for lib in ("libevent-2.1-7", "libjemalloc2", "libsystemd0", "adduser"):
            assert lib in depends, depends
        control = os.path.join(tmp, "control")
        subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
        with open(os.path.join(control, "conffiles")) as f:
            assert f.read().split() == ["/etc/kioku/kiokud.conf"]
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(control, script)
            assert os.access(path, os.X_OK), script
            subprocess.run(["sh", "-n", path], check=True)

        root = os.path.join(tmp, "root")
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
            os.makedirs(os.path.join(root, d))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        out = subprocess.run(["dpkg", "--root=" + root, "--log=/dev/null", "--unpack", deb],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        status = subprocess.run(["dpkg", "--root=" + root, "-s", "kioku"], capture_output=True,
                                text=True, check=True).stdout
        assert "Status: install ok unpacked" in status, status
        for path in EXPECTED_FILES:
            assert os.path.isfile(os.path.join(root, path)), path
        # A conffile waits as .dpkg-new until configure (which runs postinst: not here).
        conf = os.path.join(root, "etc/kioku/kiokud.conf.dpkg-new")
        assert os.path.isfile(conf)
        with open(os.path.join(root, "usr/lib/systemd/system/kiokud.service")) as f:
            unit = f.read()
        assert "ExecStart=/usr/bin/kiokud --config /etc/kioku/kiokud.conf\n" in unit, unit
        assert "Type=notify\n" in unit

        # The packaged binary with the packaged config: ready, and it serves.
        notify_path = os.path.join(tmp, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(10)
        port = free_port()
        proc = subprocess.Popen([os.path.join(root, "usr/bin/kiokud"), "--config", conf,
                                 "-p", str(port)],
                                env=dict(os.environ, NOTIFY_SOCKET=notify_path),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            msg = notify.recv(4096).decode()
            assert "READY=1" in msg, msg
            with socket.create_connection((HOST, port), timeout=5) as s:
                s.sendall(b"set pkg 0 0 2\r\nok\r\nget pkg\r\n")
                want = b"STORED\r\nVALUE pkg 0 2\r\nok\r\nEND\r\n"
                got = b""
                while len(got) < len(want):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                assert got == want, got
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()


if __name__ == "__main__":
    run_tests(globals())
