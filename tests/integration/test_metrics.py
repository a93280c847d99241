"""--metrics-listen: Prometheus text exposition at /metrics, parsed by prometheus_client.

Values must match what `stats` reports at the same moment (the test is the only client, so
between two `stats` calls only the stats traffic itself moves bytes_read/bytes_written).
"""

import urllib.error
import urllib.request

from kioku_harness import HOST, Server, free_port, kiokud_only, run_tests, skip

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # Debian package python3-prometheus-client
    text_string_to_metric_families = None

# stat -> (metric, labels) for the names that follow the public memcached_exporter.
EXPORTER_NAMES = {
    "curr_connections": ("memcached_current_connections", {}),
    "total_connections": ("memcached_connections_total", {}),
    "rejected_connections": ("memcached_connections_rejected_total", {}),
    "max_connections": ("memcached_max_connections", {}),
    "conn_yields": ("memcached_connections_yielded_total", {}),
    "listen_disabled_num": ("memcached_connections_listener_disabled_total", {}),
    "cmd_set": ("memcached_commands_total", {"command": "set", "status": "hit"}),
    "cmd_flush": ("memcached_commands_total", {"command": "flush", "status": "hit"}),
    "get_hits": ("memcached_commands_total", {"command": "get", "status": "hit"}),
    "get_misses": ("memcached_commands_total", {"command": "get", "status": "miss"}),
    "get_expired": ("memcached_commands_total", {"command": "get", "status": "expired"}),
    "get_flushed": ("memcached_commands_total", {"command": "get", "status": "flushed"}),
    "delete_hits": ("memcached_commands_total", {"command": "delete", "status": "hit"}),
    "delete_misses": ("memcached_commands_total", {"command": "delete", "status": "miss"}),
    "incr_hits": ("memcached_commands_total", {"command": "incr", "status": "hit"}),
    "incr_misses": ("memcached_commands_total", {"command": "incr", "status": "miss"}),
    "decr_hits": ("memcached_commands_total", {"command": "decr", "status": "hit"}),
    "decr_misses": ("memcached_commands_total", {"command": "decr", "status": "miss"}),
    "cas_hits": ("memcached_commands_total", {"command": "cas", "status": "hit"}),
    "cas_misses": ("memcached_commands_total", {"command": "cas", "status": "miss"}),
    "cas_badval": ("memcached_commands_total", {"command": "cas", "status": "badval"}),
    "touch_hits": ("memcached_commands_total", {"command": "touch", "status": "hit"}),
    "touch_misses": ("memcached_commands_total", {"command": "touch", "status": "miss"}),
    "store_too_large": ("memcached_item_too_large_total", {}),
    "store_no_memory": ("memcached_item_no_memory_total", {}),
    "bytes_read": ("memcached_read_bytes_total", {}),
    "bytes_written": ("memcached_written_bytes_total", {}),
    "limit_maxbytes": ("memcached_limit_bytes", {}),
    "bytes": ("memcached_current_bytes", {}),
    "curr_items": ("memcached_current_items", {}),
    "total_items": ("memcached_items_total", {}),
    "evictions": ("memcached_items_evicted_total", {}),
    "reclaimed": ("memcached_items_reclaimed_total", {}),
    "expired_unfetched": ("memcached_items_expired_unfetched_total", {}),
    "evicted_unfetched": ("memcached_items_evicted_unfetched_total", {}),
    "total_malloced": ("memcached_malloced_bytes", {}),
    "uptime": ("memcached_uptime_seconds", {}),
    "time": ("memcached_time_seconds", {}),
    "rusage_user": ("memcached_process_user_cpu_seconds_total", {}),
    "rusage_system": ("memcached_process_system_cpu_seconds_total", {}),
    "accepting_conns": ("memcached_accepting_connections", {}),
    # Kioku's own names for counters the exporter lacks.
    "cmd_get": ("kioku_cmd_get_total", {}),
    "cmd_touch": ("kioku_cmd_touch_total", {}),
    "cmd_meta": ("kioku_cmd_meta_total", {}),
    "evicted_active": ("kioku_items_evicted_active_total", {}),
}
# Move on their own (clock, CPU) or with the stats traffic that reads them.
# Stats that change without requests: clocks, CPU, the scrape's own bytes, and the background
# LRU maintainer's counters (it keeps working in paced passes after a burst of sets).
VOLATILE = {"uptime", "time", "rusage_user", "rusage_system", "bytes_read", "bytes_written",
            "lru_maintainer_juggles", "moves_to_cold", "moves_to_warm", "moves_within_lru"}


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{(sample name, frozenset(labels)): value} and {family: type}."""
    values, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            values[(s.name, frozenset(s.labels.items()))] = s.value
    return values, types


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def traffic(s):
    """A little of everything; returns how many get requests it sent."""
    gets = 0
    for i in range(20):
        s.call("set k%d 0 0 3\r\nabc\r\n" % i, "STORED\r\n")
    for i in range(30):  # 20 hits, 10 misses
        s.send("get k%d\r\n" % i)
        s.read_until(b"END\r\n")
        gets += 1
    s.call("delete k0\r\n", "DELETED\r\n")
    s.call("delete nope\r\n", "NOT_FOUND\r\n")
    s.call("set n 0 0 1\r\n5\r\n", "STORED\r\n")
    s.call("incr n 2\r\n", "7\r\n")
    s.call("decr nope 1\r\n", "NOT_FOUND\r\n")
    s.call("cas n 0 0 1 1\r\n9\r\n", "EXISTS\r\n")
    s.call("touch k1 100\r\n", "TOUCHED\r\n")
    s.call("touch nope 100\r\n", "NOT_FOUND\r\n")
    # Enough 10 KB values to overflow -m 2 and force evictions.
    value = "v" * 10000
    for i in range(400):
        s.call("set big%d 0 0 %d\r\n%s\r\n" % (i, len(value), value), "STORED\r\n")
    return gets


def test_metrics_match_stats():
    kiokud_only("kiokud's metrics endpoint")
    if text_string_to_metric_families is None:
        skip("python3-prometheus-client is not installed")
    mport = free_port()
    with Server(["-t", "2", "-m", "2", "-I", "512k", "--metrics-listen", "%s:%d" % (HOST, mport)]) as srv:
        with srv.session() as s:
            gets = traffic(s)
            before = s.stats()
            text = scrape(mport)
            after = s.stats()
            slabs = s.stats("slabs")
            items = s.stats("items")
        values, types = samples(text)
        assert int(before["evictions"]) > 0, "the test meant to cause evictions"
        for stat, raw in before.items():
            if not is_number(raw):
                continue
            metric, labels = EXPORTER_NAMES.get(stat, ("kioku_" + stat, {}))
            key = (metric, frozenset(labels.items()))
            if key not in values:  # the parser appends _total to counters named without it
                key = (metric + "_total", key[1])
            assert key in values, "stat %s: no %s%s in /metrics" % (stat, metric, labels or "")
            if stat in VOLATILE:
                continue
            assert after[stat] == raw, "stat %s moved during the scrape" % stat
            assert values[key] == float(raw), "%s: metrics %s, stats %s" % (stat, values[key], raw)
        assert types["memcached_commands"] == "counter"
        assert types["memcached_current_connections"] == "gauge"
        assert values[("memcached_up", frozenset())] == 1
        hits, misses = int(before["get_hits"]), int(before["get_misses"])
        ratio = values[("kioku_get_hit_ratio", frozenset())]
        assert abs(ratio - hits / (hits + misses)) < 1e-9, ratio
        # Latency histogram: one observation per get request, cumulative buckets.
        assert types["kioku_command_duration_seconds"] == "histogram"
        count = values[("kioku_command_duration_seconds_count", frozenset({("command", "get")}))]
        assert count == gets, (count, gets)
        inf = values[("kioku_command_duration_seconds_bucket",
                      frozenset({("command", "get"), ("le", "+Inf")}))]
        assert inf == gets
        sets = values[("kioku_command_duration_seconds_count", frozenset({("command", "set")}))]
        assert sets == int(before["cmd_set"]) - 1, (sets, before["cmd_set"])  # cas counts in cmd_set
        # Per-slab-class series match stats slabs / stats items.
        classes = {k.split(":")[0] for k in slabs if k.split(":")[0].isdigit()}
        assert classes
        for c in classes:
            label = frozenset({("slab", c)})
            assert values[("memcached_slab_chunks_used", label)] == float(slabs[c + ":used_chunks"])
            assert values[("memcached_slab_current_pages", label)] == float(slabs[c + ":total_pages"])
            assert values[("memcached_slab_current_items", label)] == float(items["items:%s:number" % c])
            assert values[("memcached_slab_items_evicted_total", label)] == float(items["items:%s:evicted" % c])
            assert values[("kioku_slab_memory_bytes", label)] > 0


def test_other_paths_are_404_and_metrics_is_off_by_default():
    kiokud_only("kiokud's metrics endpoint")
    mport = free_port()
    with Server(["--metrics-listen", "%s:%d" % (HOST, mport)]):
        try:
            scrape(mport, "/")
            raise AssertionError("/ answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    with Server() as srv:
        st = srv.stats("settings")
        assert st["tcpport"] == str(srv.port)
        try:
            scrape(mport)
            raise AssertionError("metrics served without --metrics-listen")
        except urllib.error.URLError:
            pass


def test_bad_metrics_address_fails_at_start():
    kiokud_only("kiokud's metrics endpoint")
    srv = Server(["--metrics-listen", "no-port-here"])
    try:
        srv.start()
        raise AssertionError("started with a bad --metrics-listen")
    except AssertionError as e:
        if "started with" in str(e):
            raise
        assert "metrics-listen" in str(e), e
    finally:
        srv.kill()


if __name__ == "__main__":
    run_tests(globals())
