"""Every man page is `mandoc -Tlint` clean (all levels, style included) and kiokud.conf.5
lists only names that kiokud accepts as long options."""

import glob
import os
import re
import shutil
import subprocess

from kioku_harness import kiokud_binary, run_tests, skip

HERE = os.path.dirname(os.path.abspath(__file__))
MAN = os.path.normpath(os.path.join(HERE, "..", "..", "man"))


def test_every_man_page_is_lint_clean():
    if shutil.which("mandoc") is None:
        skip("mandoc not installed (Debian package mandoc)")
    pages = sorted(glob.glob(os.path.join(MAN, "*.[1-8]")))
    names = {os.path.basename(p) for p in pages}
    assert {"kiokud.1", "kiokud.conf.5", "kioku-bench.1", "kioku-cli.1"} <= names, names
    for page in pages:
        out = subprocess.run(["mandoc", "-Tlint", page], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 0 and not out.stdout and not out.stderr, \
            "%s:\n%s%s" % (page, out.stdout, out.stderr)


def test_config_page_names_real_options():
    with open(os.path.join(MAN, "kiokud.conf.5"), encoding="utf-8") as f:
        section = f.read().split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    names = re.findall(r"^\.BI ([a-z\\-]+) \"", section, re.M)
    names = [n.replace("\\-", "-") for n in names]
    assert len(names) >= 10, names
    help_text = subprocess.run([kiokud_binary(), "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    for name in names:
        assert "--" + name in help_text, "kiokud.conf.5 documents %s, --help lacks it" % name


if __name__ == "__main__":
    run_tests(globals())
