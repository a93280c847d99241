"""Process life: pid file, -d, dropping privileges with -u, and a graceful stop that drains."""

import os
import pwd
import signal
import subprocess
import tempfile
import time

from kioku_harness import HOST, Server, Session, free_port, kiokud_binary, kiokud_only, run_tests, skip


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def proc_ids(pid, field):
    """Real, effective, saved and filesystem ids from /proc/PID/status (Uid: or Gid:)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no %s line" % field)


def test_pid_file_written_and_removed():
    kiokud_only("kiokud's -P")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kiokud.pid")
        srv = Server(["-P", path]).start()
        try:
            # The port accepts (the harness's readiness) a moment before the file is written.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (
                    os.path.exists(path) and open(path).read().endswith("\n")):
                time.sleep(0.01)
            with open(path) as f:
                assert f.read() == "%d\n" % srv.proc.pid
        finally:
            srv.stop()
        assert not os.path.exists(path), "pid file left behind after a clean stop"


def test_daemonize_writes_the_daemons_pid():
    kiokud_only("kiokud's -d")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kiokud.pid")
        port = free_port()
        parent = subprocess.run([kiokud_binary(), "-d", "-P", path, "-l", HOST, "-p", str(port),
                                 "-U", "0"], capture_output=True, text=True, timeout=20)
        assert parent.returncode == 0, parent.stderr
        with open(path) as f:  # written before the parent returns
            pid = int(f.read())
        try:
            assert pid != os.getpid()
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                assert b"kiokud" in f.read()
            with Session(port) as s:
                s.call("set d 0 0 1\r\nx\r\n", "STORED\r\n")
            # A new session: the daemon is not attached to our terminal or process group.
            assert os.getsid(pid) == pid
        finally:
            os.kill(pid, signal.SIGTERM)
            assert wait_gone(pid), "daemon did not stop on SIGTERM"
        assert not os.path.exists(path)


def test_daemonize_fails_loudly_when_the_port_is_taken():
    kiokud_only("kiokud's -d")
    with Server() as srv:
        parent = subprocess.run([kiokud_binary(), "-d", "-l", HOST, "-p", str(srv.port), "-U", "0"],
                                capture_output=True, text=True, timeout=20)
        assert parent.returncode == 1, parent.returncode


def test_drops_privileges_to_nobody():
    kiokud_only("kiokud's -u")
    if os.geteuid() != 0:
        skip("needs root to drop privileges")
    nobody = pwd.getpwnam("nobody")
    with Server(["-u", "nobody"]) as srv:
        # Privileges are dropped just after the port starts accepting; a request proves the
        # event loop runs, which is after the drop.
        with srv.session() as s:
            s.call("version\r\n", "VERSION 1.6.18\r\n")
        assert proc_ids(srv.proc.pid, "Uid") == [nobody.pw_uid] * 4
        assert proc_ids(srv.proc.pid, "Gid") == [nobody.pw_gid] * 4
        with open("/proc/%d/status" % srv.proc.pid) as f:
            groups = [l for l in f if l.startswith("Groups:")][0].split()[1:]
        assert groups == [], groups  # supplementary groups of root are gone too
        with srv.session() as s:
            s.call("set u 0 0 1\r\nx\r\n", "STORED\r\n")


def test_unknown_user_fails_at_start():
    kiokud_only("kiokud's -u")
    if os.geteuid() != 0:
        skip("needs root (-u is ignored otherwise)")
    out = subprocess.run([kiokud_binary(), "-u", "no-such-user-kioku", "-l", HOST, "-p",
                          str(free_port()), "-U", "0"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 1
    assert "no-such-user-kioku" in out.stderr, out.stderr


def test_graceful_stop_drains_a_large_pending_response():
    kiokud_only("kiokud's graceful stop")
    size = 8 << 20
    gets = 4
    with Server(["-m", "128", "-I", "16m", "-t", "2"]) as srv:
        value = os.urandom(size // 2).hex().encode()
        with srv.session(timeout=20) as s:
            s.send(b"set big 0 0 %d\r\n%s\r\n" % (size, value))
            s.expect("STORED\r\n")
            # Ask for 32 MiB and read none of it: most of it is still queued in kiokud.
            s.send(b"get big\r\n" * gets)
            time.sleep(0.5)
            srv.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            assert srv.alive(), "kiokud exited before its pending replies were written"
            for _ in range(gets):
                s.expect(b"VALUE big 0 %d\r\n" % size)
                got = s.read_exactly(size + 2)
                assert got == value + b"\r\n", "value corrupted while draining"
                s.expect("END\r\n")
            s.expect_closed()
        assert srv.proc.wait(timeout=10) == 0


def huge_page_kib(pid):
    """(KiB of mappings advised for huge pages (VmFlags hg) or hugetlb-backed (ht),
    KiB of those actually backed by transparent huge pages (AnonHugePages))."""
    advised, backed, size, huge = 0, 0, 0, 0
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("AnonHugePages:"):
                huge = int(line.split()[1])
            elif line.startswith("VmFlags:"):
                flags = line.split()[1:]
                if "hg" in flags or "ht" in flags:
                    advised += size
                    backed += huge
    return advised, backed


def test_large_pages_back_slab_memory():
    kiokud_only("kiokud's -L")
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        if "[never]" in f.read():
            skip("transparent huge pages are off on this kernel")
    with Server(["-L", "-m", "64"]) as srv:
        with srv.session() as s:
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        advised, backed = huge_page_kib(srv.proc.pid)
        assert advised >= 2048, "no huge-page mapping with -L"
        # The advice alone is not enough: the first page's whole 2 MiB range must be writable
        # when it is first touched, or the kernel maps it with 4 KiB pages.
        assert backed >= 2048, "-L: the slab page is not backed by a huge page"
    with Server(["-m", "64"]) as srv:
        with srv.session() as s:
            s.call("set a 0 0 1\r\n1\r\n", "STORED\r\n")
        assert huge_page_kib(srv.proc.pid) == (0, 0)


def test_threads_are_named_for_top_and_perf():
    kiokud_only("kiokud's thread names")
    with Server(["-t", "3"]) as srv:
        task_dir = "/proc/%d/task" % srv.proc.pid
        names = []
        for tid in os.listdir(task_dir):
            with open(os.path.join(task_dir, tid, "comm")) as f:
                names.append(f.read().strip())
        assert names.count("kiokud-worker") == 3, names
        assert "kioku-maint" in names and "kioku-hashgrow" in names, names


def test_enable_coredumps_raises_the_core_limit():
    kiokud_only("kiokud's -r")
    if os.geteuid() != 0:
        skip("raising the hard core limit needs root")
    with Server(["-r"]) as srv:
        with open("/proc/%d/limits" % srv.proc.pid) as f:
            core = [l for l in f if l.startswith("Max core file size")][0].split()
        assert core[4:6] == ["unlimited", "unlimited"], core


def test_lock_memory_locks_pages():
    kiokud_only("kiokud's -k")
    if os.environ.get("KIOKU_SANITIZED"):
        skip("sanitizer shadow memory cannot be locked (mlockall fails under ASan/TSan)")
    if os.geteuid() != 0:
        skip("mlockall beyond RLIMIT_MEMLOCK needs root")
    with Server(["-k", "-m", "64"]) as srv:
        with srv.session() as s:  # the loop runs: mlockall (before it) is done
            s.call("version\r\n", "VERSION 1.6.18\r\n")
        with open("/proc/%d/status" % srv.proc.pid) as f:
            locked = [l for l in f if l.startswith("VmLck:")][0].split()
        assert int(locked[1]) > 0, locked
        assert "warning" not in srv.output()


if __name__ == "__main__":
    run_tests(globals())
