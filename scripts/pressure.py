#!/usr/bin/python3
"""scripts/pressure.py BINARY PORT SECONDS - memory pressure with mixed value sizes.

Starts BINARY (kiokud or memcached) with -m 64 -t 2 on 127.0.0.1:PORT, then 4 clients store
values of 10 B to 600 KB (pipelined, 16 a batch, 200,000 keys each) and read half of them back
for SECONDS. Prints the stores, any error reply by value size, bad values read, evictions,
items and the server's peak RSS. Issue 8: no SERVER_ERROR where memcached gives none, RSS
bounded.
"""
import random, socket, subprocess, sys, threading, time, os
binary, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
args = [binary, "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-m", "64", "-t", "2"]
if os.geteuid() == 0:
    args += ["-u", "nobody"]
srv = subprocess.Popen(args)
time.sleep(0.5)
sizes = [10, 100, 700, 3000, 20000, 120000, 600000]
errors = {}; nerr = [0]; stored = [0]; gets = [0]; bad = [0]
stop = time.monotonic() + seconds
def rl(f):
    return f.readline()
def worker(seed):
    rng = random.Random(seed)
    s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
    n = 0
    while time.monotonic() < stop:
        batch = []
        for _ in range(16):
            size = rng.choice(sizes) + rng.randrange(8)
            key = b"p%d-%d" % (seed, rng.randrange(200000))
            batch.append((key, size))
        s.sendall(b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, z, bytes([97 + z % 26]) * z) for k, z in batch))
        for k, z in batch:
            line = rl(f)
            if line == b"STORED\r\n": stored[0] += 1
            else: errors[z] = line; nerr[0] += 1
        for k, z in batch[:8]:
            s.sendall(b"get %s\r\n" % k)
            line = rl(f)
            if line.startswith(b"VALUE"):
                ln = int(line.split()[3]); data = f.read(ln + 2); rl(f)
                if data[:-2] != bytes([97 + ln % 26]) * ln: bad[0] += 1
                gets[0] += 1
threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads: t.start()
peak = 0
while any(t.is_alive() for t in threads):
    with open("/proc/%d/status" % srv.pid) as fh:
        for l in fh:
            if l.startswith("VmRSS"): peak = max(peak, int(l.split()[1]))
    time.sleep(1)
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"stats\r\n"); time.sleep(0.3)
st = dict(l.split()[1:3] for l in s.recv(65536).decode().splitlines() if l.startswith("STAT"))
s.sendall(b"stats items\r\n"); time.sleep(0.3)
items = [l for l in s.recv(262144).decode().splitlines() if ":outofmemory" in l and not l.endswith(" 0")]
s.sendall(b"stats slabs\r\n"); time.sleep(0.3)
slabs = [l for l in s.recv(262144).decode().splitlines() if ":total_pages" in l or ":free_chunks " in l]
srv.terminate(); srv.wait()
print("errors counted:", nerr[0], "slabs_moved", st.get("slabs_moved"), "outofmemory:", items)
print(slabs)
print("%s: %.0f s, stored %d, gets %d (bad values %d), errors %r, evictions %s, curr_items %s, peak RSS %.1f MB (-m 64)" % (
    os.path.basename(binary), seconds, stored[0], gets[0], bad[0], errors, st.get("evictions"), st.get("curr_items"), peak / 1024))
