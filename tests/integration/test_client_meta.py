"""kioku-cli --protocol meta: the cluster client speaking memcached's meta protocol.

Three nodes (kiokud, or memcached 1.6.18 with KIOKU_TARGET=memcached, which speaks meta too):
every keyed operation over mg/ms/md/ma, 2,000 keys spread with `load` and read back with
`verify` (pipelined quiet mg per key plus mn, per node), and the exact bytes on the wire,
checked against a scripted one-connection server.
"""

import json
import os
import socket
import subprocess
import threading

from kioku_harness import HOST, Server, kiokud_binary, run_tests


def cli_binary():
    path = os.environ.get("KIOKU_CLI")
    if path:
        return path
    build = os.path.dirname(os.path.dirname(os.path.abspath(kiokud_binary())))
    return os.path.join(build, "client", "kioku-cli")


def cli(servers, *args, check=True, timeout=60):
    """Runs kioku-cli --json --protocol meta; returns (exit status, parsed JSON lines)."""
    argv = [cli_binary(), "--json", "--protocol", "meta", "--servers", servers]
    argv += [str(a) for a in args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    if check:
        assert out.returncode == 0, "%s -> %d\n%s%s" % (argv, out.returncode, out.stdout, out.stderr)
    return out.returncode, lines


def three_nodes():
    return [Server(["-m", "32", "-t", "1"]).start() for _ in range(3)]


def server_list(nodes):
    return ",".join("%s:%d" % (HOST, n.port) for n in nodes)


def test_every_keyed_operation_over_meta_across_three_nodes():
    nodes = three_nodes()
    s = server_list(nodes)
    assert cli(s, "set", "greeting", "hello")[1][0]["result"] == "OK"
    rc, out = cli(s, "get", "greeting", "nothing", check=False)
    assert rc == 1 and out[0]["hits"]["greeting"]["value"] == "hello", out
    assert out[0]["misses"] == ["nothing"], out
    assert cli(s, "add", "greeting", "x", check=False)[1][0]["result"] == "NOT_STORED"
    assert cli(s, "add", "fresh", "x")[1][0]["result"] == "OK"
    assert cli(s, "replace", "greeting", "hi")[1][0]["result"] == "OK"
    assert cli(s, "replace", "absent", "hi", check=False)[1][0]["result"] == "NOT_STORED"
    cli(s, "append", "greeting", "!")
    cli(s, "prepend", "greeting", "oh-")
    assert cli(s, "append", "absent", "!", check=False)[1][0]["result"] == "NOT_STORED"
    out = cli(s, "gets", "greeting")[1][0]
    assert out["hits"]["greeting"]["value"] == "oh-hi!", out
    cas = out["hits"]["greeting"]["cas"]
    assert cas > 0
    assert cli(s, "cas", "greeting", "v2", cas + 1000, check=False)[1][0]["result"] == "EXISTS"
    assert cli(s, "cas", "greeting", "v2", cas)[1][0]["result"] == "OK"
    assert cli(s, "cas", "absent", "v2", cas, check=False)[1][0]["result"] == "NOT_FOUND"
    assert cli(s, "get", "greeting")[1][0]["hits"]["greeting"]["value"] == "v2"
    assert cli(s, "--flags", "42", "set", "flagged", "f")[1][0]["result"] == "OK"
    assert cli(s, "get", "flagged")[1][0]["hits"]["flagged"]["flags"] == 42
    cli(s, "set", "n", "10")
    assert cli(s, "incr", "n", "5")[1][0]["value"] == 15
    assert cli(s, "decr", "n", "20")[1][0]["value"] == 0
    assert cli(s, "incr", "missing", "1", check=False)[1][0]["result"] == "NOT_FOUND"
    out = cli(s, "incr", "greeting", "1", check=False)[1][0]
    assert out["result"] == "SERVER_ERROR" and "non-numeric" in out["error"], out
    assert cli(s, "touch", "n", "100")[1][0]["result"] == "OK"
    assert cli(s, "touch", "missing", "100", check=False)[1][0]["result"] == "NOT_FOUND"
    assert cli(s, "delete", "n")[1][0]["result"] == "OK"
    assert cli(s, "delete", "n", check=False)[1][0]["result"] == "NOT_FOUND"
    # An exptime in the past stores nothing visible; one in the future keeps the key.
    assert cli(s, "--exptime", "-1", "set", "gone", "x")[1][0]["result"] == "OK"
    assert cli(s, "get", "gone", check=False)[0] == 1
    # Text-only commands still work on a meta client.
    stats = cli(s, "stats")[1][0]["nodes"]
    assert sum(int(v["stats"]["curr_items"]) for v in stats.values()) == 3, stats
    cli(s, "flush")
    assert cli(s, "get", "greeting", check=False)[0] == 1
    # A key stored over meta lives on the node `ring` names, readable there over text.
    owner = cli(s, "ring", "placed")[1][0]["keys"]["placed"]
    cli(s, "--flags", "7", "set", "placed", "here")
    for n in nodes:
        with n.session() as sess:
            if "%s:%d" % (HOST, n.port) == owner:
                sess.call("get placed\r\n", "VALUE placed 7 4\r\nhere\r\nEND\r\n")
            else:
                sess.call("get placed\r\n", "END\r\n")


def test_two_thousand_keys_spread_and_read_back_over_meta():
    nodes = three_nodes()
    s = server_list(nodes)
    load = cli(s, "load", 2000)[1][0]
    assert load["stored"] == 2000 and load["failed"] == 0, load
    for n in nodes:
        count = load["per_node"]["%s:%d" % (HOST, n.port)]
        assert count == int(n.stats()["curr_items"]), (count, n.stats()["curr_items"])
        assert 300 < count < 1000, load["per_node"]
    verify = cli(s, "verify", 2000)[1][0]
    assert verify == {"command": "verify", "found": 2000, "missing": 0, "wrong": 0,
                      "failed_batches": 0}, verify
    # Half the keys gone: the quiet misses stay silent and the hits still all come back.
    keys = ["key:%d" % i for i in range(0, 200)]
    for k in keys[::2]:
        cli(s, "delete", k)
    rc, out = cli(s, "get", *keys, check=False)
    assert rc == 1 and len(out[0]["hits"]) == 100 and len(out[0]["misses"]) == 100, out
    assert out[0]["hits"]["key:1"]["value"] == "value-1"


def test_an_oversized_store_is_refused_and_the_connection_stays_in_step():
    # One client (shell) on one connection: memcached swallows the refused ms data block, so
    # the replies that follow still belong to the requests that follow.
    with Server(["-m", "32", "-t", "1"]) as node:
        commands = "set small v\nset big %s\nget small\nget big small\n" % ("x" * 1100000)
        out = subprocess.run([cli_binary(), "--json", "--protocol", "meta", "--servers",
                              "%s:%d" % (HOST, node.port), "shell"], input=commands,
                             capture_output=True, text=True, timeout=30)
        lines = [json.loads(l) for l in out.stdout.splitlines()]
        assert [l["result"] for l in lines] == ["OK", "SERVER_ERROR", "OK", "OK"], lines
        assert lines[1]["error"] == "SERVER_ERROR object too large for cache", lines[1]
        assert lines[3]["hits"] == {"small": {"value": "v", "flags": 0}}, lines[3]
        assert lines[3]["misses"] == ["big"], lines[3]


def test_a_dead_node_is_ejected_and_the_meta_client_keeps_serving():
    nodes = three_nodes()
    s = server_list(nodes)
    victim = nodes[2]
    victim_label = "%s:%d" % (HOST, victim.port)
    victim.kill()
    # One client: the first two stores routed to the dead node fail, which ejects it; every
    # later key goes to the two survivors, over meta, and reads back from them.
    out = subprocess.run([cli_binary(), "--json", "--protocol", "meta", "--servers", s,
                          "--failure-limit", "2", "--retry-timeout-ms", "60000",
                          "--timeout-ms", "500", "shell"],
                         input="load 900\nverify 900\nnodes\n", capture_output=True, text=True,
                         timeout=60)
    load, verify, states = [json.loads(l) for l in out.stdout.splitlines()]
    assert load["failed"] == 2 and load["stored"] == 898, load
    assert victim_label not in load["per_node"], load
    assert verify["found"] == 898 and verify["wrong"] == 0, verify
    states = {n["node"]: n["state"] for n in states["nodes"]}
    assert states[victim_label] == "ejected" and list(states.values()).count("live") == 2, states


class ScriptedServer:
    """One connection: records what the client sends, answers each read with the next reply."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.received = []
        self.listener = socket.socket()
        self.listener.bind((HOST, 0))
        self.listener.listen(1)
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        with conn:
            for reply in self.replies:
                data = conn.recv(65536)
                if not data:
                    return
                self.received.append(data)
                conn.sendall(reply)

    def close(self):
        self.thread.join(10)
        self.listener.close()


def test_the_bytes_on_the_wire_are_meta_commands():
    cases = [
        (["--flags", "3", "--exptime", "60", "set", "k", "v"], b"HD\r\n",
         b"ms k 1 F3 T60 MS\r\nv\r\n", "OK"),
        (["add", "k", "v"], b"NS\r\n", b"ms k 1 ME\r\nv\r\n", "NOT_STORED"),
        (["replace", "k", "v"], b"HD\r\n", b"ms k 1 MR\r\nv\r\n", "OK"),
        (["--flags", "3", "append", "k", "v"], b"HD\r\n", b"ms k 1 MA\r\nv\r\n", "OK"),
        (["prepend", "k", "v"], b"HD\r\n", b"ms k 1 MP\r\nv\r\n", "OK"),
        (["cas", "k", "v", "77"], b"EX\r\n", b"ms k 1 C77 MS\r\nv\r\n", "EXISTS"),
        (["get", "k"], b"VA 2 f5 kk\r\nab\r\nMN\r\n", b"mg k v f k q\r\nmn\r\n", "OK"),
        (["gets", "k"], b"VA 2 f5 kk c9\r\nab\r\nMN\r\n", b"mg k v f k c q\r\nmn\r\n", "OK"),
        (["incr", "k", "4"], b"VA 2\r\n14\r\n", b"ma k v D4 MI\r\n", "OK"),
        (["decr", "k", "4"], b"NF\r\n", b"ma k v D4 MD\r\n", "NOT_FOUND"),
        (["touch", "k", "30"], b"EN\r\n", b"mg k T30\r\n", "NOT_FOUND"),
        (["delete", "k"], b"HD\r\n", b"md k\r\n", "OK"),
        (["stats"], b"STAT pid 1\r\nEND\r\n", b"stats\r\n", "OK"),
    ]
    for args, reply, want, result in cases:
        server = ScriptedServer([reply])
        try:
            _, out = cli("%s:%d" % (HOST, server.port), *args, check=False)
        finally:
            server.close()
        assert b"".join(server.received) == want, (args, server.received, want)
        got = out[0]["result"] if "result" in out[0] else "OK"
        assert got == result, (args, out)
        if args[0] == "gets":
            assert out[0]["hits"]["k"] == {"value": "ab", "flags": 5, "cas": 9}, out
        if args[0] == "incr":
            assert out[0]["value"] == 14, out


def test_unknown_protocol_is_a_usage_error():
    out = subprocess.run([cli_binary(), "--protocol", "binary", "get", "k"], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 2 and "unknown protocol" in out.stderr, (out.returncode, out.stderr)


if __name__ == "__main__":
    run_tests(globals())
