"""kioku-bench against real servers: every protocol, TLS, and idle connections.

Each run is about a second of load at 127.0.0.1 against kiokud and, when the target is kiokud,
against memcached 1.6.18 too (the oracle: a bench codec that only worked against kiokud would
be measuring nothing). A clean run means operations were measured, every get hit (the keys
were prefilled) and no error of any kind was counted.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from kioku_harness import HOST, Server, kiokud_binary, memcached_binary, run_tests, target

PROTOCOLS = ("text", "meta", "binary")


def bench_binary():
    path = os.environ.get("KIOKU_BENCH")
    if path:
        return path
    build = os.path.dirname(os.path.dirname(os.path.abspath(kiokud_binary())))
    return os.path.join(build, "client", "kioku-bench")


def kinds():
    """The target, and memcached beside kiokud when it is installed."""
    out = [target()]
    if target() == "kiokud" and os.path.exists(memcached_binary()):
        out.append("memcached")
    return out


DEFAULTS = {"threads": 1, "connections": 4, "keys": 2000, "duration": 1, "timeout": 10}


def bench_argv(port, *args, **options):
    """kioku-bench's argv: `args` as given, then DEFAULTS overridden by `options`."""
    argv = [bench_binary(), "--server", "%s:%d" % (HOST, port), "--json", "--quiet"]
    argv += [str(a) for a in args]
    for name, value in dict(DEFAULTS, **options).items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    return argv


def bench(port, *args, want_rc=0, **options):
    argv = bench_argv(port, *args, **options)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == want_rc, "%s -> %d\n%s%s" % (argv, out.returncode, out.stdout,
                                                          out.stderr)
    if want_rc != 0:
        return out.stderr
    return json.loads(out.stdout)


def assert_clean(report, what):
    assert report["ops"] > 0, (what, report)
    assert report["errors"]["total"] == 0, (what, report["errors"])
    assert report["get"]["ops"] > 0 and report["set"]["ops"] > 0, (what, report)
    assert report["get"]["misses"] == 0, (what, report["get"])  # prefilled: every get hits
    assert report["get"]["hits"] == report["get"]["ops"], (what, report["get"])


def test_every_protocol_runs_clean_with_and_without_pipelining():
    for kind in kinds():
        with Server(["-t", "1", "-m", "64"], kind=kind) as srv:
            for protocol in PROTOCOLS:
                for pipeline in (1, 8):
                    what = "%s %s pipeline %d" % (kind, protocol, pipeline)
                    report = bench(srv.port, "--protocol", protocol, "--pipeline", pipeline,
                                   "--prefill", "--value-size", "16-600")
                    assert report["protocol"] == protocol and report["tls"] is False, report
                    assert_clean(report, what)


def test_the_wrong_protocol_is_counted_as_protocol_errors():
    # A text-only reply stream read by the binary codec must not pass as replies.
    with Server(["-t", "1", "-m", "64", "-B", "ascii"]) as srv:
        report = bench(srv.port, "--protocol", "binary", duration=0.5, timeout=1)
        assert report["errors"]["protocol"] + report["errors"]["connection"] > 0, report
        assert report["get"]["hits"] == 0, report


class Cert:
    """A throwaway self-signed P-256 certificate for 127.0.0.1, as scripts/bench.sh makes."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kioku-bench-tls-")
        os.chmod(self.dir, 0o755)  # memcached reads them as "nobody"
        self.crt = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.crt],
                       check=True, capture_output=True, timeout=60)
        for f in (self.crt, self.key):
            os.chmod(f, 0o644)

    def server_args(self):
        return ["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (self.crt, self.key)]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def test_tls_runs_clean_for_every_protocol():
    cert = Cert()
    try:
        for kind in kinds():
            with Server(["-t", "1", "-m", "64"] + cert.server_args(), kind=kind) as srv:
                for protocol in PROTOCOLS:
                    what = "%s TLS %s" % (kind, protocol)
                    report = bench(srv.port, "--tls", "--tls-ca", cert.crt, "--protocol",
                                   protocol, "--pipeline", 4, "--prefill", "--value-size",
                                   "16-600", "--idle-connections", 10)
                    assert report["tls"] is True and report["protocol"] == protocol, report
                    assert_clean(report, what)
                    assert report["idle_held_at_start"] == 10, (what, report)
                    assert report["idle_held"] == 10, (what, report)
    finally:
        cert.close()


def test_tls_verification_failures_stop_the_run_with_the_reason():
    cert = Cert()
    try:
        with Server(["-t", "1"] + cert.server_args()) as srv:
            # No CA given: the system's trust store does not know a self-signed certificate.
            err = bench(srv.port, "--tls", want_rc=1)
            assert "certificate verify failed" in err, err
            # A server that speaks TLS is not usable in plain text... and the reverse.
            assert bench(srv.port, "--tls", "--tls-insecure")["ops"] > 0
        with Server(["-t", "1"]) as plain:
            err = bench(plain.port, "--tls", "--tls-ca", cert.crt, want_rc=1)
            assert "TLS handshake" in err, err
    finally:
        cert.close()


def test_mutual_tls_presents_the_client_certificate():
    cert = Cert()
    try:
        # The self-signed certificate is its own CA, for the server's view of the client too.
        args = ["-t", "1", "-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,"
                "ssl_verify_mode=2" % (cert.crt, cert.key, cert.crt)]
        for kind in kinds():
            with Server(args, kind=kind) as srv:
                report = bench(srv.port, "--tls", "--tls-ca", cert.crt, "--tls-cert", cert.crt,
                               "--tls-key", cert.key, "--prefill")
                assert_clean(report, kind)
                # Without a certificate the server refuses every connection (with TLS 1.3 the
                # client learns it at its first read), so nothing is measured without errors.
                argv = bench_argv(srv.port, "--tls", "--tls-ca", cert.crt, duration=0.5,
                                  timeout=1)
                out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                assert out.returncode in (0, 1, 3), (kind, out.returncode, out.stderr)
                if out.returncode != 1:
                    report = json.loads(out.stdout)
                    assert report["ops"] == 0, (kind, report)
                    assert report["errors"]["connection"] > 0, (kind, report)
    finally:
        cert.close()


def curr_connections(srv):
    return int(srv.stats()["curr_connections"])


def test_idle_connections_are_held_silently_for_the_whole_run():
    for kind in kinds():
        with Server(["-t", "1", "-c", "1024"], kind=kind) as srv:
            before = curr_connections(srv)
            argv = bench_argv(srv.port, "--idle-connections", 300, threads=2, duration=2)
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            seen = 0
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                seen = max(seen, curr_connections(srv) - before)
                time.sleep(0.1)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            report = json.loads(out)
            # 300 idle and 4 busy connections were open at once.
            assert seen >= 304, (kind, seen)
            assert report["idle_connections"] == 300, report
            assert report["idle_held_at_start"] == 300 and report["idle_held"] == 300, report
            assert report["ops"] > 0 and report["errors"]["total"] == 0, report
            # Every connection, idle or busy, is closed when the bench exits.
            deadline = time.monotonic() + 5
            while curr_connections(srv) > before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert curr_connections(srv) == before, kind


def test_idle_connections_beyond_the_server_limit_are_reported_not_held():
    for kind in kinds():
        with Server(["-t", "1", "-c", "64"], kind=kind) as srv:
            report = bench(srv.port, "--idle-connections", 100, duration=0.5)
            assert 0 < report["idle_held_at_start"] < 100, (kind, report)
            assert report["idle_held"] <= report["idle_held_at_start"], (kind, report)
            assert report["ops"] > 0 and report["errors"]["total"] == 0, (kind, report)


run_tests(globals())
