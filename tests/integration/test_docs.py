"""kiokud's --help, its man page and its option parser agree.

Every long option that `kiokud --help` lists must be documented in man/kiokud.1
and vice versa, and -V must print Kioku's version.
"""

import os
import re
import subprocess

from kioku_harness import kiokud_binary, kiokud_only, run_tests

HERE = os.path.dirname(os.path.abspath(__file__))
MAN_PAGE = os.path.join(HERE, "..", "..", "man", "kiokud.1")


def help_text():
    out = subprocess.run([kiokud_binary(), "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout


def man_text():
    with open(MAN_PAGE, encoding="utf-8") as f:
        # groff escapes dashes: "\-\-port" is "--port".
        return f.read().replace("\\-", "-")


def long_options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text))


def short_options(text):
    return set(re.findall(r"(?<![\w-])-[A-Za-z](?![\w-])", text))


def test_every_help_option_is_in_the_man_page():
    kiokud_only("documents kiokud")
    missing = long_options(help_text()) - long_options(man_text())
    assert not missing, "in --help but not in man/kiokud.1: %s" % sorted(missing)


def test_every_man_page_option_is_in_help():
    kiokud_only("documents kiokud")
    options_section = man_text().split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    extra = long_options(options_section) - long_options(help_text())
    assert not extra, "in man/kiokud.1 but not in --help: %s" % sorted(extra)
    extra_short = short_options(options_section) - short_options(help_text())
    assert not extra_short, "short options only in the man page: %s" % sorted(extra_short)


def test_version_flag_prints_kioku_and_memcached_versions():
    kiokud_only("kiokud's -V")
    out = subprocess.run([kiokud_binary(), "-V"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    assert re.match(r"^kiokud \d+\.\d+\.\d+ \(memcached 1\.6\.18 compatible\)$", out.stdout.strip())


def test_unknown_option_fails_with_message():
    kiokud_only("kiokud's option errors")
    out = subprocess.run([kiokud_binary(), "-o", "bogus_option"], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode != 0
    assert "bogus_option" in out.stderr


if __name__ == "__main__":
    run_tests(globals())
