"""libmemcached's memccapable (ASCII protocol only) against the server.

`memccapable --help` is not an option it knows; its usage says: -a ascii only,
-b binary only, -t io timeout, -T one test. Each test prints
"<name>   [pass|fail|skipped]" and the run ends with "All tests passed".
"""

import re
import shutil
import subprocess

from kioku_harness import Server, run_tests, skip

MEMCCAPABLE = shutil.which("memccapable") or "/usr/bin/memccapable"

EXPECTED_TESTS = [
    "ascii version", "ascii quit", "ascii verbosity", "ascii set", "ascii set noreply", "ascii get",
    "ascii gets", "ascii mget", "ascii flush", "ascii flush noreply", "ascii add", "ascii add noreply",
    "ascii replace", "ascii replace noreply", "ascii cas", "ascii cas noreply", "ascii delete",
    "ascii delete noreply", "ascii incr", "ascii incr noreply", "ascii decr", "ascii decr noreply",
    "ascii append", "ascii append noreply", "ascii prepend", "ascii prepend noreply", "ascii stat",
]


def run_capable(port):
    proc = subprocess.run([MEMCCAPABLE, "-a", "-t", "5", "-h", "127.0.0.1", "-p", str(port)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          timeout=120)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def test_memccapable_ascii_all_pass():
    import os
    if not os.path.exists(MEMCCAPABLE):
        skip("memccapable not installed (libmemcached-tools)")
    with Server() as srv:
        rc, out = run_capable(srv.port)
        print(out)
        results = dict(re.findall(r"^(ascii [\w ]+?)\s+\[(\w+)\]\s*$", out, re.M))
        failed = [n for n, r in results.items() if r not in ("pass", "skipped")]
        skipped = [n for n, r in results.items() if r == "skipped"]
        missing = [n for n in EXPECTED_TESTS if n not in results]
        assert rc == 0, "memccapable exited %d" % rc
        assert not failed, "memccapable failures: %s" % failed
        assert not missing, "tests that did not run: %s" % missing
        assert "All tests passed" in out
        if skipped:
            print("memccapable skipped: %s" % skipped)
        # the server survived the run and still answers
        with srv.session() as s:
            s.call("set after 0 0 2\r\nok\r\n", "STORED\r\n")


if __name__ == "__main__":
    run_tests(globals())
