"""The memory engine's admin surface over a real socket: lru_crawler, slabs, metadump,
stats cachedump (libmemcached's memcdump), the segmented LRU's stats and its -o options.

Reply texts were taken from memcached 1.6.18; tests that depend on Kioku's own slab class
table or timing are kiokud-only."""

import re
import subprocess
import time

from kioku_harness import Server, assert_rss_within, is_memcached, kiokud_only, rss_bytes, run_tests


def wait_for(predicate, timeout=10.0, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_lru_crawler_replies():
    with Server() as srv, srv.session() as s:
        s.call("lru_crawler enable\r\n", "ERROR failed to start lru crawler thread\r\n")
        s.call("lru_crawler\r\n", "ERROR\r\n")
        s.call("lru_crawler bogus\r\n", "ERROR\r\n")
        s.call("lru_crawler metadump\r\n", "ERROR\r\n")
        s.call("lru_crawler crawl 0\r\n", "BADCLASS invalid class id\r\n")
        s.call("lru_crawler crawl 1,300\r\n", "BADCLASS invalid class id\r\n")
        s.call("lru_crawler crawl 1\r\n", "OK\r\n")
        # Both crawl in the background and may still be busy with the previous one.
        s.send("lru_crawler crawl all\r\n")
        line = s.readline()
        assert line in (b"OK\r\n", b"BUSY currently processing crawler request\r\n"), line
        s.call("lru_crawler sleep 100\r\n", "OK\r\n")
        s.call("lru_crawler sleep 1000001\r\n", "CLIENT_ERROR sleep must be one second or less\r\n")
        s.call("lru_crawler tocrawl 100\r\n", "OK\r\n")
        s.call("lru_crawler disable\r\n", "OK\r\n")
        s.call("lru_crawler crawl 1\r\n", "CLIENT_ERROR lru crawler disabled\r\n")
        s.call("lru_crawler metadump all\r\n", "CLIENT_ERROR lru crawler disabled\r\n")
        s.call("lru_crawler enable\r\n", "OK\r\n")


def test_metadump_format():
    with Server() as srv, srv.session() as s:
        s.call("set plain 5 100 3\r\nbar\r\n", "STORED\r\n")
        s.call("set b%20x 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("get plain\r\n", "VALUE plain 5 3\r\nbar\r\nEND\r\n")
        now = int(s.stats()["time"])
        s.send("lru_crawler metadump all\r\n")
        raw = s.read_until(b"END\r\n")
        assert raw.endswith(b"\nEND\r\n"), raw
        lines = raw[: -len(b"END\r\n")].split(b"\n")
        assert lines[-1] == b"", raw  # every item line ends with a bare \n
        rows = {}
        for line in lines[:-1]:
            m = re.fullmatch(rb"key=(\S+) exp=(-?\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) size=(\d+)", line)
            assert m, line
            rows[m.group(1)] = m
        assert set(rows) == {b"plain", b"b%2520x"}, rows.keys()
        plain = rows[b"plain"]
        assert abs(int(plain.group(2)) - (now + 100)) <= 2, (plain.group(2), now)
        assert abs(int(plain.group(3)) - now) <= 2
        assert plain.group(5) == b"yes"
        other = rows[b"b%2520x"]
        assert other.group(2) == b"-1" and other.group(5) == b"no"
        assert int(plain.group(4)) != int(other.group(4))
        # A class list and "hash" give the same items.
        s.send("lru_crawler metadump %s\r\n" % plain.group(6).decode())
        assert b"key=plain " in s.read_until(b"END\r\n")
        s.send("lru_crawler metadump hash\r\n")
        assert s.read_until(b"END\r\n").count(b"key=") == 2


def test_metadump_streams_to_a_slow_reader():
    count = 40000
    pad = "x" * 190
    with Server(["-m", "256"]) as srv, srv.session(timeout=30) as s:
        for start in range(0, count, 1000):
            s.send("".join("set k%05d%s 0 0 1 noreply\r\nv\r\n" % (i, pad)
                           for i in range(start, start + 1000)))
        s.send("version\r\n")
        s.read_until(b"\r\n")  # every set before it is done
        assert int(s.stats()["curr_items"]) == count
        before = rss_bytes(srv)
        # About 12 MB of rows; the client reads none of it for a second.
        s.send("lru_crawler metadump all\r\nget k00007%s\r\n" % pad)
        time.sleep(1.0)
        assert_rss_within(srv, before, 6, "a metadump of ~12 MB nobody reads yet")
        raw = s.read_until(b"END\r\n", timeout=30)
        keys = re.findall(rb"key=(k\d{5})x+ ", raw)
        assert len(keys) == count and len(set(keys)) == count, len(keys)
        if is_memcached():
            return  # it answers a request pipelined behind a metadump only when more input comes
        # The request sent after the dump is answered after it, in order.
        s.expect("VALUE k00007%s 0 1\r\nv\r\nEND\r\n" % pad)


def test_cachedump_and_memcdump_list_the_keys():
    keys = ["alpha", "beta", "gamma%1", "key:with:colons"] + ["k%03d" % i for i in range(50)]
    with Server() as srv, srv.session() as s:
        for k in keys:
            s.call("set %s 0 0 5\r\nvalue\r\n" % k, "STORED\r\n")
        s.call("set ttl 0 1000 2\r\nvv\r\n", "STORED\r\n")
        s.send("lru_crawler metadump all\r\n")
        cls = re.search(rb"key=ttl \S+ \S+ \S+ \S+ cls=(\d+)", s.read_until(b"END\r\n")).group(1).decode()
        s.send("stats cachedump %s 0\r\n" % cls)
        dump = s.read_until(b"END\r\n")
        assert b"ITEM alpha [5 b; 0 s]\r\n" in dump, dump
        if not is_memcached():
            # memcached dumps only its COLD segment, so a just-set key is missing there.
            assert re.search(rb"ITEM ttl \[2 b; \d{10} s\]\r\n", dump), dump
        s.send("stats cachedump %s 1\r\n" % cls)
        assert s.read_until(b"END\r\n").count(b"ITEM ") == 1
        s.call("stats cachedump 300 0\r\n", "CLIENT_ERROR Illegal slab id\r\n")
        s.call("stats cachedump 1\r\n", "CLIENT_ERROR bad command line\r\n")
        s.call("stats cachedump x 1\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("stats cachedump 1 -1\r\n", "CLIENT_ERROR bad command line format\r\n")
        out = subprocess.run(["memcdump", "--servers=127.0.0.1:%d" % srv.port],
                             capture_output=True, timeout=30)
        assert out.returncode == 0, out
        listed = set(out.stdout.decode().split())
        if is_memcached():
            # Only what its maintainer has moved to COLD so far: timing-dependent.
            assert len(listed & set(keys)) >= 1, listed
        else:
            assert set(keys) | {"ttl"} <= listed, sorted(set(keys) - listed)


def test_crawl_frees_expired_items_without_reads():
    with Server() as srv, srv.session() as s:
        for i in range(300):
            s.send("set e%d 0 1 10 noreply\r\n0123456789\r\n" % i)
        s.call("set keep 0 0 1\r\nk\r\n", "STORED\r\n")
        # total_items, not curr_items: on a loaded machine the background crawler may already
        # have freed the first ones.
        assert int(s.stats()["total_items"]) == 301
        time.sleep(2.2)
        s.call("lru_crawler crawl all\r\n", "OK\r\n")
        assert wait_for(lambda: int(s.stats()["curr_items"]) == 1), s.stats()["curr_items"]
        st = s.stats()
        # memcached's LRU maintainer may get to some first ("reclaimed").
        assert int(st["crawler_reclaimed"]) + int(st["reclaimed"]) >= 300, st["crawler_reclaimed"]
        assert int(st["get_expired"]) == 0
        # Never read before they expired, whoever freed them.
        assert int(st["expired_unfetched"]) >= 300, st["expired_unfetched"]


def test_crawl_answers_at_once_and_busy_while_it_runs():
    kiokud_only("timing of kiokud's paced crawl (memcached's sleeps differ)")
    count = 200000
    with Server(["-m", "256"]) as srv, srv.session(timeout=30) as s:
        for start in range(0, count, 5000):
            s.send("".join("set c%06d 0 0 1 noreply\r\nv\r\n" % i
                           for i in range(start, start + 5000)))
        s.send("version\r\n")
        s.read_until(b"\r\n")
        # 200,000 items paced at 100 us per 1,000: the crawl takes at least 20 ms, so the
        # second request finds the first still running, and a get is served meanwhile.
        s.send("lru_crawler crawl all\r\nlru_crawler crawl all\r\nget c000001\r\n")
        s.expect("OK\r\nBUSY currently processing crawler request\r\n"
                 "VALUE c000001 0 1\r\nv\r\nEND\r\n")
        checked = lambda: int(s.stats()["crawler_items_checked"])
        assert wait_for(lambda: checked() >= count, timeout=10), checked()

        def accepted():
            s.send("lru_crawler crawl all\r\n")
            return s.readline() == b"OK\r\n"
        assert wait_for(accepted, timeout=10), "still BUSY after the crawl ended"


def test_background_crawler_needs_no_command():
    kiokud_only("memcached schedules its crawler by TTL histograms, not within seconds")
    with Server() as srv, srv.session() as s:
        for i in range(2000):
            s.send("set e%d 0 1 10 noreply\r\n0123456789\r\n" % i)
        assert wait_for(lambda: int(s.stats()["total_items"]) == 2000, timeout=5)
        assert wait_for(lambda: int(s.stats()["curr_items"]) == 0, timeout=8), s.stats()["curr_items"]
        # The counters are totals: they must not drop when the crawl empties the class.
        st = s.stats()
        assert int(st["crawler_reclaimed"]) + int(st["reclaimed"]) == 2000, st
        assert int(st["crawler_items_checked"]) >= int(st["crawler_reclaimed"]), st
        slabs = s.stats("slabs")
        used = sum(int(v) for k, v in slabs.items() if k.endswith(":used_chunks"))
        assert used == 0, slabs


def test_slabs_command_replies():
    with Server() as srv, srv.session() as s:
        s.call("set k 0 0 1\r\nv\r\n", "STORED\r\n")
        s.call("slabs\r\n", "ERROR\r\n")
        s.call("slabs reassign 1\r\n", "ERROR\r\n")
        s.call("slabs reassign a b\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("slabs reassign 1 1\r\n", "SAME src and dst class are identical\r\n")
        s.call("slabs reassign 300 2\r\n", "BADCLASS invalid src or dst class id\r\n")
        s.call("slabs reassign 1 2\r\n", "NOSPARE source class has no spare pages\r\n")
        s.call("slabs automove 2\r\n", "OK\r\n")
        s.call("slabs automove 3\r\n", "ERROR\r\n")
        s.call("slabs automove x\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("slabs automove -1\r\n", "CLIENT_ERROR bad command line format\r\n")
        s.call("slabs automove 1 ignored\r\n", "OK\r\n")
        assert s.stats("settings")["slab_automove"] == "1"
        s.call("slabs automove 0\r\n", "OK\r\n")
        assert s.stats("settings")["slab_automove"] == "0"


def fill_small(s, n_max=400000):
    """Sets 100-byte values until the first eviction; returns how many were set."""
    value = "v" * 100
    n = 0
    while n < n_max:
        batch = "".join("set s%d 0 0 100 noreply\r\n%s\r\n" % (n + i, value) for i in range(500))
        s.send(batch)
        n += 500
        if n % 5000 == 0 and int(s.stats()["evictions"]) > 0:
            return n
    raise AssertionError("no evictions after %d sets" % n)


def slab_pages(s):
    pages = {}
    for k, v in s.stats("slabs").items():
        if k.endswith(":total_pages"):
            pages[int(k.split(":")[0])] = int(v)
    return pages


def test_slabs_reassign_moves_a_page():
    kiokud_only("class ids follow Kioku's slab table")
    with Server(["-m", "8", "-o", "slab_automove=0"]) as srv, srv.session() as s:
        fill_small(s)
        s.call("set big 0 0 4000\r\n%s\r\n" % ("b" * 4000), "STORED\r\n")
        s.send("lru_crawler metadump all\r\n")
        dump = s.read_until(b"END\r\n")
        big = int(re.search(rb"key=big .* cls=(\d+)", dump).group(1))
        small = int(re.search(rb"key=s\d+ .* cls=(\d+)", dump).group(1))
        before = slab_pages(s)
        assert before[big] == 1 and before[small] >= 4, before
        s.call("slabs reassign %d %d\r\n" % (small, big), "OK\r\n")
        assert wait_for(lambda: slab_pages(s).get(big) == 2), slab_pages(s)
        after = slab_pages(s)
        assert after[small] == before[small] - 1, (before, after)
        assert int(s.stats()["slabs_moved"]) == 1


def test_automove_recovers_the_hit_ratio_after_a_size_shift():
    kiokud_only("timing of Kioku's automove")
    with Server(["-m", "16"]) as srv, srv.session() as s:
        fill_small(s)
        time.sleep(1.5)  # the small items age: automove takes pages from the oldest class
        value = "x" * 4000
        keys = ["big%d" % i for i in range(2000)]  # ~8 MB: fits in half the cache
        ratio = 0.0
        for _round in range(60):  # ~20 s at most on a loaded machine; usually 3-5 rounds
            hits = 0
            for start in range(0, len(keys), 100):
                chunk = keys[start:start + 100]
                s.send("get %s\r\n" % " ".join(chunk))
                got = s.read_until(b"END\r\n")
                found = set(re.findall(rb"VALUE (\S+) ", got))
                hits += len(found)
                s.send("".join("set %s 0 0 4000 noreply\r\n%s\r\n" % (k, value)
                               for k in chunk if k.encode() not in found))
            ratio = hits / len(keys)
            if ratio > 0.95:
                break
            time.sleep(0.3)
        assert ratio > 0.95, ratio
        assert int(s.stats()["slabs_moved"]) >= 4


def test_segmented_lru_stats():
    with Server() as srv, srv.session() as s:
        for i in range(50):
            s.call("set k%d 0 0 5\r\nvalue\r\n" % i, "STORED\r\n")
        for _ in range(2):
            s.send("get %s\r\n" % " ".join("k%d" % i for i in range(10)))
            s.read_until(b"END\r\n")
        items = s.stats("items")
        row = {k.split(":", 2)[2]: int(v) for k, v in items.items() if k.startswith("items:")}
        for name in ("number_hot", "number_warm", "number_cold", "age_hot", "age_warm",
                     "moves_to_cold", "moves_to_warm", "moves_within_lru", "direct_reclaims",
                     "hits_to_hot", "hits_to_warm", "hits_to_cold", "hits_to_temp",
                     "crawler_reclaimed", "crawler_items_checked"):
            assert name in row, name
        assert row["number_hot"] + row["number_warm"] + row["number_cold"] == 50, row
        assert row["hits_to_hot"] + row["hits_to_warm"] + row["hits_to_cold"] == 20, row
        # The maintainer moves the excess out of HOT within a few ticks.
        assert wait_for(lambda: int(s.stats("items")["items:%s:moves_to_cold" % next(iter(items)).split(":")[1]]) > 0, timeout=5)
        st = s.stats()
        for name in ("lru_maintainer_juggles", "lru_crawler_starts", "slabs_moved", "moves_to_cold"):
            assert name in st, name


def test_maintainer_brings_hot_back_to_its_share_after_a_flood_of_sets():
    # 60,000 new items in pipelined batches, as fast as the server takes them: the background
    # maintainer works in short paced passes, and HOT (20 % of the class) must be back within
    # its share soon after the flood, every item still there. memcached behaves the same.
    with Server() as srv, srv.session(timeout=30) as s:
        value = "v" * 40
        for base in range(0, 60000, 2000):
            s.send("".join("set f%d 0 0 %d noreply\r\n%s\r\n" % (i, len(value), value)
                           for i in range(base, base + 2000)))
        s.call("mn\r\n", "MN\r\n")

        def row():
            items = s.stats("items")
            rows = {}
            for k, v in items.items():
                _, cls, name = k.split(":", 2)
                rows.setdefault(cls, {})[name] = int(v)
            return max(rows.values(), key=lambda r: r["number"])

        def hot_within_share():
            r = row()
            return r["number_hot"] <= 0.21 * r["number"]

        assert wait_for(hot_within_share, timeout=5), row()
        r = row()
        assert r["number"] == 60000, r
        assert r["moves_to_cold"] >= 60000 * 0.7, r


def test_engine_options_reach_stats_settings():
    args = ["-o", "hot_lru_pct=30,warm_lru_pct=30,temporary_ttl=90,slab_automove=2,"
                  "hot_max_factor=0.5,warm_max_factor=3.0"]
    with Server(args) as srv:
        st = srv.stats("settings")
        assert st["hot_lru_pct"] == "30", st
        assert st["warm_lru_pct"] == "30"
        assert st["temp_lru"] == "yes"
        assert st["temporary_ttl"] == "90"
        assert st["slab_automove"] == "2"
        assert st["hot_max_factor"] == "0.50"
        assert st["warm_max_factor"] == "3.00"
        assert st["lru_maintainer_thread"] == "yes"
    with Server(["-o", "no_lru_maintainer,no_lru_crawler"]) as srv:
        st = srv.stats("settings")
        assert st["lru_maintainer_thread"] == "no", st
        assert st["lru_crawler"] == "no"


def item_counts(s):
    """{field: sum over classes} of "stats items" (number_hot, number_temp, ...)."""
    counts = {}
    for k, v in s.stats("items").items():
        field = k.split(":", 2)[2]
        counts[field] = counts.get(field, 0) + int(v)
    return counts


def test_lru_command_tunes_the_segments_at_run_time():
    with Server() as srv, srv.session() as s:
        s.call("lru tune 10 25 0.1 3\r\n", "OK\r\n")
        st = s.stats("settings")
        assert (st["hot_lru_pct"], st["warm_lru_pct"], st["hot_max_factor"],
                st["warm_max_factor"]) == ("10", "25", "0.10", "3.00"), st
        s.call("lru tune 60 25 0.1 2\r\n", "ERROR hot and warm pcts must not exceed 80\r\n")
        s.call("lru tune 10 25 0 2\r\n", "ERROR hot/warm age factors must be greater than 0\r\n")
        s.call("lru tune 10 25 0.1\r\n", "ERROR\r\n")
        s.call("lru tune x 25 0.1 2\r\n", "ERROR\r\n")
        s.call("lru mode sideways\r\n", "ERROR\r\n")
        s.call("lru temp_ttl x\r\n", "ERROR\r\n")
        s.call("lru\r\n", "ERROR\r\n")
        s.call("lru bogus 1\r\n", "ERROR\r\n")
        assert s.stats("settings")["hot_lru_pct"] == "10"
        # temp_ttl: items stored with a shorter TTL go to TEMP; below 0 turns TEMP off.
        s.call("lru temp_ttl 100\r\n", "OK\r\n")
        st = s.stats("settings")
        assert (st["temp_lru"], st["temporary_ttl"]) == ("yes", "100"), st
        s.call("set short 0 50 1\r\nx\r\n", "STORED\r\n")
        assert item_counts(s)["number_temp"] == 1
        s.call("lru temp_ttl -1\r\n", "OK\r\n")
        assert s.stats("settings")["temp_lru"] == "no"
        s.call("set short2 0 50 1\r\nx\r\n", "STORED\r\n")
        assert "number_temp" not in item_counts(s)  # listed only while TEMP is on
        s.call("lru temp_ttl 100\r\n", "OK\r\n")
        assert item_counts(s)["number_temp"] == 1  # short2 went to HOT
        s.call("lru temp_ttl -1\r\n", "OK\r\n")
        # flat: new items go straight to COLD, one classic LRU.
        s.call("set hot 0 0 1\r\nx\r\n", "STORED\r\n")
        before = item_counts(s)
        s.call("lru mode flat\r\n", "OK\r\n")
        assert s.stats("settings")["lru_segmented"] == "no"
        s.call("set flat 0 0 1\r\nx\r\n", "STORED\r\n")
        after = item_counts(s)
        assert after["number_cold"] >= before["number_cold"] + 1, (before, after)
        if not is_memcached():
            # kiokud's maintainer also hands what HOT and WARM held over to COLD.
            assert wait_for(lambda: (lambda c: c["number_hot"] + c["number_warm"] == 0)(
                item_counts(s)), timeout=5), item_counts(s)
        s.call("lru mode segmented\r\n", "OK\r\n")
        assert s.stats("settings")["lru_segmented"] == "yes"
        s.call("set seg 0 0 1\r\nx\r\n", "STORED\r\n")
        assert item_counts(s)["number_hot"] >= 1
        for key in ("short", "short2", "hot", "flat", "seg"):
            s.call("get %s\r\n" % key, "VALUE %s 0 1\r\nx\r\nEND\r\n" % key)
    # Without the maintainer there are no segments to switch or TEMP to fill.
    with Server(["-o", "no_lru_maintainer"]) as srv, srv.session() as s:
        s.call("lru mode segmented\r\n", "ERROR\r\n")
        s.call("lru temp_ttl 10\r\n", "ERROR\r\n")
        s.call("lru tune 10 25 0.1 2\r\n", "OK\r\n")


def test_temp_lru_holds_short_ttls():
    kiokud_only("memcached moves TEMP items like any other only when the maintainer looks")
    with Server(["-o", "temporary_ttl=60"]) as srv, srv.session() as s:
        s.call("set short 0 30 1\r\nx\r\n", "STORED\r\n")
        s.call("set long 0 0 1\r\nx\r\n", "STORED\r\n")
        s.call("get short\r\n", "VALUE short 0 1\r\nx\r\nEND\r\n")
        items = s.stats("items")
        assert sum(int(v) for k, v in items.items() if k.endswith(":hits_to_temp")) == 1, items


if __name__ == "__main__":
    run_tests(globals())
