"""--config FILE: long option names as `name = value`; the command line wins over the file."""

import os
import subprocess
import tempfile

from kioku_harness import Server, kiokud_binary, kiokud_only, run_tests

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "scripts", "kiokud.conf.example"))


def write_config(directory, text):
    path = os.path.join(directory, "kiokud.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_config_file_values_apply():
    kiokud_only("kiokud's --config")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_config(tmp, "# a comment\nmemory-limit = 32\nconn-limit = 77\n"
                                 "disable-cas = true\nthreads = 2\nverbose = 0\n"
                                 "extended = idle_timeout=600\n")
        with Server(["--config", path]) as srv:
            st = srv.stats("settings")
            assert st["maxbytes"] == str(32 << 20), st["maxbytes"]
            assert st["maxconns"] == "77"
            assert st["cas_enabled"] == "no"
            assert st["num_threads"] == "2"
            assert st["idle_timeout"] == "600"


def test_command_line_wins_over_config_file():
    kiokud_only("kiokud's --config")
    with tempfile.TemporaryDirectory() as tmp:
        # The file names port 1 (not ours to bind) and 127.0.0.2: the harness's -l and -p win.
        path = write_config(tmp, "listen = 127.0.0.2\nport = 1\nmemory-limit = 32\n"
                                 "conn-limit = 77\n")
        with Server(["--config", path, "-m", "48", "--conn-limit", "99"]) as srv:
            st = srv.stats("settings")
            assert st["maxbytes"] == str(48 << 20), st["maxbytes"]
            assert st["maxconns"] == "99"
            assert st["tcpport"] == str(srv.port)
            assert st["inter"] == "127.0.0.1"


def test_shipped_example_config_parses():
    kiokud_only("kiokud's --config")
    with Server(["--config", EXAMPLE]) as srv:
        st = srv.stats("settings")
        assert st["maxbytes"] == str(64 << 20)
        assert st["maxconns"] == "1024"


def test_unknown_name_in_config_file_fails_at_start():
    kiokud_only("kiokud's --config")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_config(tmp, "memory-limit = 32\nno-such-option = 1\n")
        out = subprocess.run([kiokud_binary(), "--config", path], capture_output=True, text=True,
                             timeout=10)
        assert out.returncode != 0
        assert "no-such-option" in out.stderr, out.stderr


def test_missing_config_file_fails_at_start():
    kiokud_only("kiokud's --config")
    out = subprocess.run([kiokud_binary(), "--config", "/nonexistent/kiokud.conf"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert "/nonexistent/kiokud.conf" in out.stderr, out.stderr


if __name__ == "__main__":
    run_tests(globals())
