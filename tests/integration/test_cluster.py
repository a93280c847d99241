"""Scaling out: kioku-cli (the client library) over three nodes, auto-eject and re-add,
twemproxy (nutcracker) in front of three nodes, and auto-discovery via config get cluster.

The client is kioku-cli (client/cli.cc over client/kioku_client.cc), driven one command per
process or through `kioku-cli shell`, which keeps one client (and its eject and discovery
state) across commands. Placement is also checked against libmemcached itself through
pylibmc: a libmemcached client with KETAMA_WEIGHTED must find every key kioku-cli stored.
"""

import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time

import kioku_harness as harness
from kioku_harness import HOST, Server, free_port, kiokud_binary, kiokud_only, run_tests, \
    server_command, skip

HERE = os.path.dirname(os.path.abspath(__file__))
MAN_PAGE = os.path.join(HERE, "..", "..", "man", "kioku-cli.1")


def cli_binary():
    path = os.environ.get("KIOKU_CLI")
    if path:
        return path
    build = os.path.dirname(os.path.dirname(os.path.abspath(kiokud_binary())))
    return os.path.join(build, "client", "kioku-cli")


def cli(servers, *args, discover=None, check=True, timeout=60):
    """Runs kioku-cli --json; returns (exit status, parsed JSON lines)."""
    argv = [cli_binary(), "--json"]
    argv += ["--discover", discover] if discover else ["--servers", servers]
    argv += [str(a) for a in args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    if check:
        assert out.returncode == 0, "%s -> %d\n%s%s" % (argv, out.returncode, out.stdout, out.stderr)
    return out.returncode, lines


class FixedPortServer(Server):
    """A Server on a port chosen up front, so that a killed node can come back on it."""

    def __init__(self, port, extra_args=()):
        super().__init__(extra_args)
        self.fixed_port = port

    def start(self):
        self.port = self.fixed_port
        self.argv = server_command(self.kind, self.port, self.extra_args)
        self._stderr = tempfile.TemporaryFile()
        self._stdout = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._stdout,
                                     stderr=self._stderr, close_fds=True)
        harness._live_servers.add(self)
        self._wait_ready()
        return self


def three_nodes(extra_args=()):
    return [Server(["-m", "32", "-t", "1"] + list(extra_args)).start() for _ in range(3)]


def server_list(nodes):
    return ",".join("%s:%d" % (HOST, n.port) for n in nodes)


def curr_items(node):
    return int(node.stats()["curr_items"])


class Shell:
    """`kioku-cli --json ... shell`: one client, one JSON line per command."""

    def __init__(self, *options):
        self.proc = subprocess.Popen([cli_binary(), "--json"] + [str(o) for o in options] + ["shell"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buffer = b""

    def run(self, command, timeout=60):
        self.proc.stdin.write((command + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, "no reply to %r within %ss" % (command, timeout)
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, "kioku-cli shell exited: %s" % self.proc.stderr.read().decode()
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


# ---------------------------------------------------------------------------------------------


def test_cli_help_and_man_page_agree():
    help_text = subprocess.run([cli_binary(), "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    with open(MAN_PAGE, encoding="utf-8") as f:
        man = f.read().replace("\\-", "-")
    options = lambda text: set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text))
    assert options(help_text) == options(man.split(".SH OPTIONS", 1)[1].split(".SH COMMANDS")[0]), \
        (options(help_text) ^ options(man))
    commands_help = set(re.findall(r"^  ([a-z]+)", help_text.split("Commands:", 1)[1], re.M))
    commands_man = man.split(".SH COMMANDS", 1)[1].split(".SH EXIT")[0]
    for c in commands_help:
        assert re.search(r"\b%s\b" % c, commands_man), "command %s not in the man page" % c
    assert len(commands_help) >= 15, commands_help


def test_every_operation_works_across_three_nodes():
    nodes = three_nodes()
    s = server_list(nodes)
    assert cli(s, "set", "greeting", "hello")[1][0]["result"] == "OK"
    rc, out = cli(s, "get", "greeting", "nothing", check=False)
    assert rc == 1 and out[0]["hits"]["greeting"]["value"] == "hello" and out[0]["misses"] == ["nothing"]
    assert cli(s, "add", "greeting", "x", check=False)[0] == 1
    assert cli(s, "replace", "greeting", "hi")[1][0]["result"] == "OK"
    cli(s, "append", "greeting", "!")
    cli(s, "prepend", "greeting", "oh-")
    out = cli(s, "gets", "greeting")[1][0]
    assert out["hits"]["greeting"]["value"] == "oh-hi!"
    cas = out["hits"]["greeting"]["cas"]
    assert cli(s, "cas", "greeting", "v2", cas + 1000, check=False)[1][0]["result"] == "EXISTS"
    assert cli(s, "cas", "greeting", "v2", cas)[1][0]["result"] == "OK"
    assert cli(s, "--flags", "42", "set", "flagged", "f")[1][0]["result"] == "OK"
    assert cli(s, "get", "flagged")[1][0]["hits"]["flagged"]["flags"] == 42
    cli(s, "set", "n", "10")
    assert cli(s, "incr", "n", "5")[1][0]["value"] == 15
    assert cli(s, "decr", "n", "20")[1][0]["value"] == 0
    assert cli(s, "incr", "missing", "1", check=False)[1][0]["result"] == "NOT_FOUND"
    assert cli(s, "touch", "n", "100")[1][0]["result"] == "OK"
    assert cli(s, "delete", "n")[1][0]["result"] == "OK"
    assert cli(s, "delete", "n", check=False)[0] == 1
    stats = cli(s, "stats")[1][0]["nodes"]
    assert len(stats) == 3 and all(v["result"] == "OK" for v in stats.values())
    assert sum(int(v["stats"]["curr_items"]) for v in stats.values()) == 2
    versions = cli(s, "version")[1][0]["nodes"]
    assert all(v["text"] == "1.6.18" for v in versions.values()), versions
    cli(s, "flush")
    assert cli(s, "get", "greeting", check=False)[0] == 1
    # Each key lives on the node `ring` names, and only there.
    owner = cli(s, "ring", "placed")[1][0]["keys"]["placed"]
    cli(s, "set", "placed", "here")
    for n in nodes:
        with n.session() as sess:
            if "%s:%d" % (HOST, n.port) == owner:
                sess.call("get placed\r\n", "VALUE placed 0 4\r\nhere\r\nEND\r\n")
            else:
                sess.call("get placed\r\n", "END\r\n")


def test_ten_thousand_keys_spread_and_read_back_and_libmemcached_agrees():
    nodes = three_nodes()
    s = server_list(nodes)
    load = cli(s, "load", 10000)[1][0]
    assert load["stored"] == 10000 and load["failed"] == 0, load
    # Each node holds what the client says it sent there, and a fair share.
    for n in nodes:
        count = load["per_node"]["%s:%d" % (HOST, n.port)]
        assert count == curr_items(n), (count, curr_items(n))
        assert 2000 < count < 4700, load["per_node"]
    verify = cli(s, "verify", 10000)[1][0]
    assert verify["found"] == 10000 and verify["missing"] == 0 and verify["wrong"] == 0, verify
    # libmemcached (through pylibmc) with KETAMA_WEIGHTED places every key on the same node:
    # it finds all 10,000.
    try:
        import pylibmc
    except ImportError:
        skip("pylibmc not installed")
    mc = pylibmc.Client(["%s:%d" % (HOST, n.port) for n in nodes],
                        behaviors={"ketama_weighted": True, "hash": "md5"})
    keys = ["key:%d" % i for i in range(10000)]
    found = {}
    for i in range(0, len(keys), 500):
        found.update(mc.get_multi(keys[i:i + 500]))
    assert len(found) == 10000, len(found)
    assert found["key:1234"] == b"value-1234"
    # Unweighted ketama with libmemcached's default (one-at-a-time) hash agrees as well.
    load = cli(s, "--distribution", "ketama", "--hash", "one-at-a-time", "load", 3000, "oaat:")[1][0]
    assert load["stored"] == 3000 and len(load["per_node"]) == 3, load
    plain = pylibmc.Client(["%s:%d" % (HOST, n.port) for n in nodes], behaviors={"ketama": True})
    keys = ["oaat:%d" % i for i in range(3000)]
    found = {}
    for i in range(0, len(keys), 500):
        found.update(plain.get_multi(keys[i:i + 500]))
    assert len(found) == 3000, len(found)
    # ...and the two rings really differ, so each check means something.
    assert cli(s, "ring", *keys[:200])[1][0]["keys"] != \
        cli(s, "--distribution", "ketama", "--hash", "one-at-a-time", "ring", *keys[:200])[1][0]["keys"]


def test_killed_node_is_ejected_the_rest_keep_serving_and_it_is_readded():
    ports = [free_port() for _ in range(3)]
    nodes = [FixedPortServer(p, ["-m", "32", "-t", "1"]).start() for p in ports]
    s = server_list(nodes)
    shell = Shell("--servers", s, "--failure-limit", "2", "--retry-timeout-ms", "4000",
                  "--timeout-ms", "500")
    try:
        assert shell.run("load 3000")["stored"] == 3000
        assert shell.run("verify 3000")["found"] == 3000
        victim = nodes[1]
        victim_label = "%s:%d" % (HOST, victim.port)
        victim_keys = curr_items(victim)
        assert victim_keys > 500
        victim.kill()

        # The first reads that touch the dead node fail; after two failures it is ejected and
        # its keys route to the survivors (where they are not stored yet: misses, not errors).
        verify = shell.run("verify 3000")
        assert verify["found"] == 3000 - victim_keys, verify
        states = {n["node"]: n["state"] for n in shell.run("nodes")["nodes"]}
        assert states[victim_label] == "ejected", states
        assert list(states.values()).count("live") == 2
        # The rest keep serving: every store succeeds, on the two live nodes.
        load = shell.run("load 3000")
        assert load["stored"] == 3000 and load["failed"] == 0, load
        assert victim_label not in load["per_node"], load
        assert shell.run("verify 3000")["found"] == 3000

        # Restarted on the same port: after the retry interval it is back on the ring.
        # (The retry interval is long enough that the steps above finish inside it even on a
        # loaded machine.)
        restarted = FixedPortServer(victim.port, ["-m", "32", "-t", "1"]).start()
        deadline = time.monotonic() + 6
        while True:
            states = {n["node"]: n["state"] for n in shell.run("nodes")["nodes"]}
            if states[victim_label] == "live" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert states[victim_label] == "live", states
        load = shell.run("load 3000 again:")
        assert load["stored"] == 3000 and load["per_node"].get(victim_label, 0) > 500, load
        assert curr_items(restarted) == load["per_node"][victim_label]
        assert shell.run("verify 3000 again:")["found"] == 3000
        states = {n["node"]: (n["state"], n["failures"]) for n in shell.run("nodes")["nodes"]}
        assert states[victim_label] == ("live", 0), states
    finally:
        shell.close()


def test_twemproxy_in_front_stores_each_key_on_the_node_the_ring_names():
    nutcracker = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
    if not os.path.exists(nutcracker):
        skip("nutcracker (twemproxy) not installed")
    nodes = three_nodes()
    proxy_port, stats_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "nutcracker.yml")
        with open(conf, "w") as f:
            f.write("kioku:\n"
                    "  listen: %s:%d\n"
                    "  hash: md5\n"
                    "  distribution: ketama\n"
                    "  timeout: 2000\n"
                    "  auto_eject_hosts: false\n"
                    "  servers:\n" % (HOST, proxy_port))
            for n in nodes:
                f.write("   - %s:%d:1\n" % (HOST, n.port))
        proxy = subprocess.Popen([nutcracker, "-c", conf, "-s", str(stats_port), "-a", HOST,
                                  "-o", os.path.join(tmp, "nutcracker.log"),
                                  "-p", os.path.join(tmp, "nutcracker.pid")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection((HOST, proxy_port), timeout=0.5).close()
                    break
                except OSError:
                    assert proxy.poll() is None, "nutcracker exited: " + open(
                        os.path.join(tmp, "nutcracker.log")).read()
                    assert time.monotonic() < deadline, "nutcracker did not start"
                    time.sleep(0.05)
            with harness.Session(proxy_port) as via_proxy:
                for i in range(1000):
                    via_proxy.call("set tw:%d 0 0 %d\r\nv%d\r\n" % (i, len("v%d" % i), i),
                                   "STORED\r\n")
                via_proxy.call("get tw:7\r\n", "VALUE tw:7 0 2\r\nv7\r\nEND\r\n")
                # All 1,000 read back through the proxy (it splits each multi-get per backend).
                read_back = 0
                for start in range(0, 1000, 100):
                    via_proxy.send("get %s\r\n" % " ".join("tw:%d" % i for i in range(start, start + 100)))
                    reply = via_proxy.read_until(b"END\r\n")
                    for i in range(start, start + 100):
                        assert b"VALUE tw:%d 0 %d\r\nv%d\r\n" % (i, len(b"v%d" % i), i) in reply, i
                        read_back += 1
                assert read_back == 1000
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    keys = ["tw:%d" % i for i in range(1000)]
    owners = cli(server_list(nodes), "ring", *keys)[1][0]["keys"]
    by_port = {n.port: n for n in nodes}
    expected = {}
    for key, owner in owners.items():
        expected.setdefault(int(owner.rsplit(":", 1)[1]), []).append(key)
    for port, owned in expected.items():
        node = by_port[port]
        assert curr_items(node) == len(owned), (port, curr_items(node), len(owned))
        with node.session() as sess:
            for key in owned[:50]:
                sess.send("get %s\r\n" % key)
                reply = sess.read_until(b"END\r\n")
                assert reply.startswith(b"VALUE " + key.encode()), (key, port, reply)
    assert len(expected) == 3


def test_auto_discovery_sees_a_node_list_change_within_one_poll_interval():
    kiokud_only("config get/set cluster")
    nodes = three_nodes()
    endpoint = nodes[0]
    # The endpoint starts with two of the three nodes.
    endpoint.stop()
    endpoint = FixedPortServer(endpoint.port, ["-m", "32", "-t", "1", "--cluster-nodes",
                                              server_list(nodes[:2])]).start()
    nodes[0] = endpoint
    discover = "%s:%d" % (HOST, endpoint.port)
    first = cli(None, "nodes", discover=discover)[1][0]
    assert first["version"] == 1 and len(first["nodes"]) == 2, first

    poll_ms = 500
    watch = subprocess.Popen([cli_binary(), "--json", "--discover", discover, "--poll-interval-ms",
                              str(poll_ms), "watch", "8"], stdout=subprocess.PIPE, text=True)
    shell = Shell("--discover", discover, "--poll-interval-ms", poll_ms)
    try:
        initial = json.loads(watch.stdout.readline())
        assert initial["version"] == 1 and len(initial["nodes"]) == 2, initial
        assert len(shell.run("nodes")["nodes"]) == 2
        payload = "2\n" + " ".join("%s|%s|%d" % (HOST, HOST, n.port) for n in nodes) + "\n"
        with endpoint.session() as sess:
            sess.call("config set cluster 0 %d\r\n%s\r\n" % (len(payload), payload), "STORED\r\n")
        changed_at = time.monotonic()
        line = watch.stdout.readline()
        seen_after = time.monotonic() - changed_at
        update = json.loads(line)
        assert update["version"] == 2 and len(update["nodes"]) == 3, update
        assert seen_after < poll_ms / 1000 + 0.5, seen_after
        # A client in use picks the new list up before its next operation after one interval,
        # and spreads keys over the new node too.
        time.sleep(poll_ms / 1000 + 0.1)
        listed = shell.run("nodes")
        assert listed["version"] == 2 and len(listed["nodes"]) == 3, listed
        load = shell.run("load 900 disc:")
        assert load["stored"] == 900 and len(load["per_node"]) == 3, load
        assert curr_items(nodes[2]) == load["per_node"]["%s:%d" % (HOST, nodes[2].port)]
    finally:
        shell.close()
        watch.kill()
        watch.wait()


def test_config_get_cluster_bytes_and_config_set():
    kiokud_only("config get/set cluster")
    with Server(["--cluster-nodes", "cache-a:11211,10.0.0.2:11212"]) as srv:
        with srv.session() as s:
            payload = "1\ncache-a||11211 10.0.0.2|10.0.0.2|11212\n"
            s.call("config get cluster\r\n",
                   "CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(payload), payload))
            s.call("config set cluster 0 5\r\nbad\r\n\r\n", "CLIENT_ERROR bad cluster configuration\r\n")
            s.call("config set cluster 0 15\r\n9\nb|10.0.0.9|1\n\r\n", "STORED\r\n")
            s.call("config get cluster\r\n", "CONFIG cluster 0 15\r\n9\nb|10.0.0.9|1\n\r\nEND\r\n")
            s.call("config get other\r\n", "END\r\n")
    with Server() as srv:
        with srv.session() as s:
            s.call("config get cluster\r\n", "END\r\n")
    rc = subprocess.run([kiokud_binary(), "--cluster-nodes", "a:0"], capture_output=True,
                        text=True, timeout=10)
    assert rc.returncode != 0 and "invalid cluster node" in rc.stderr, rc.stderr


if __name__ == "__main__":
    run_tests(globals())
