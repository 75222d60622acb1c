#!/usr/bin/env python3
"""bench/containers.py: one account with many containers (issue 4, the
500,000-container Cloud Files limit).

Against a running swiftlet (or any Swift endpoint), it
  1. creates N containers (default 500,000) in one account with C concurrent
     keep-alive clients, printing the rate every 5 s and the overall rate;
  2. times an account HEAD (the counts must say N);
  3. times a 10,000-entry listing page: the first page, a page from a marker
     in the middle, a page under a prefix, a page between marker and
     end_marker, and walks the whole listing page by page;
each timing is the median of --repeat runs.

With --seed DATA_DIR (the server stopped), it instead adds listing rows
c{n0}..c{n-1} straight into every replica of the one account DB under DATA_DIR
(no container DBs: only the account DB's size matters for the account HEAD
and listings), so those can be timed at 500,000 containers on a machine
where creating them all over HTTP would take too long or too much disk.

Names are "c%07d", so a prefix "c01" holds 10,000 names when N >= 200,000.
Creating is resumable: names already there answer 202 and still count.

    bench/containers.py --auth http://127.0.0.1:8080/auth/v1.0 \\
        --user test:tester --key testing -n 500000 -c 32
bench/containers.sh starts a server with --data in a temporary directory and
runs this against it.
"""

import argparse
import glob
import os
import sqlite3
import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import quote, urlparse


def auth(url, user, key):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", u.path, headers={"X-Auth-User": user, "X-Auth-Key": key})
    r = c.getresponse()
    r.read()
    if r.status // 100 != 2:
        sys.exit("auth failed: %d" % r.status)
    return r.getheader("X-Storage-Url"), r.getheader("X-Auth-Token")


class Client:
    """One keep-alive connection to the storage URL."""

    def __init__(self, surl, token):
        u = urlparse(surl)
        self.host, self.port, self.path = u.hostname, u.port, u.path
        self.token = token
        self.conn = None

    def request(self, method, path="", query=None):
        url = self.path + path
        if query:
            url += "?" + "&".join("%s=%s" % (k, quote(str(v), safe=""))
                                  for k, v in query.items())
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
                self.conn.request(method, url, headers={"X-Auth-Token": self.token})
                r = self.conn.getresponse()
                return r.status, r.getheaders(), r.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def create_all(surl, token, n, conc):
    """PUT c0000000 .. c{n-1} with conc threads; returns (seconds, statuses)."""
    lock = threading.Lock()
    nxt = [0]
    done = [0]
    statuses = {}

    def worker():
        cl = Client(surl, token)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                return
            st, _, _ = cl.request("PUT", "/c%07d" % i)
            with lock:
                done[0] += 1
                statuses[st] = statuses.get(st, 0) + 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conc)]
    for t in threads:
        t.start()
    last_t, last_n = t0, 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if now - last_t >= 5:
            with lock:
                d = done[0]
            print("  %8d created  %7.0f/s now  %7.0f/s overall" %
                  (d, (d - last_n) / (now - last_t), d / (now - t0)), flush=True)
            last_t, last_n = now, d
    for t in threads:
        t.join()
    return time.monotonic() - t0, statuses


def timed(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.monotonic()
        out = fn()
        times.append(time.monotonic() - t0)
    return statistics.median(times), out


def seed(data_dir, n0, n):
    """Add rows c{n0}..c{n-1} to each replica of the account DB in data_dir."""
    dbs = glob.glob(os.path.join(data_dir, "*", "accounts", "*", "*", "*", "*.db"))
    if len(dbs) != 3:
        sys.exit("expected the 3 replicas of one account DB, found %d" % len(dbs))
    for path in dbs:
        t0 = time.monotonic()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        ts = db.execute("SELECT max(put_timestamp) FROM container").fetchone()[0]
        db.executemany("INSERT OR IGNORE INTO container VALUES (?, ?, 0, 0, 0, 0)",
                       (("c%07d" % i, ts) for i in range(n0, n)))
        db.execute("UPDATE info SET container_count ="
                   " (SELECT count(*) FROM container WHERE deleted = 0) WHERE id = 0")
        db.execute("COMMIT")
        db.close()
        print("seeded %s: %d rows in %.1f s" % (path, n - n0, time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--auth", default="http://127.0.0.1:8080/auth/v1.0")
    ap.add_argument("--user", default="test:tester")
    ap.add_argument("--key", default="testing")
    ap.add_argument("-n", type=int, default=500000, help="containers to create")
    ap.add_argument("-c", type=int, default=32, help="concurrent clients")
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    ap.add_argument("--skip-create", action="store_true")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--seed", metavar="DATA_DIR",
                    help="add rows from --seed-from to -n to the account DB and exit")
    ap.add_argument("--seed-from", type=int, default=0)
    a = ap.parse_args()
    if a.seed:
        seed(a.seed, a.seed_from, a.n)
        return

    surl, token = auth(a.auth, a.user, a.key)
    fig = {"containers": a.n, "clients": a.c}
    if not a.skip_create:
        print("== creating %d containers with %d clients" % (a.n, a.c), flush=True)
        secs, statuses = create_all(surl, token, a.n, a.c)
        fig["create_seconds"] = round(secs, 1)
        fig["create_per_second"] = round(a.n / secs, 1)
        fig["create_statuses"] = statuses
        print("created %d in %.1f s: %.0f containers/s, statuses %s" %
              (a.n, secs, a.n / secs, statuses), flush=True)
        bad = {k: v for k, v in statuses.items() if k not in (201, 202)}
        if bad:
            sys.exit("unexpected statuses: %s" % bad)

    cl = Client(surl, token)
    t, (st, hdrs, _) = timed(lambda: cl.request("HEAD"), a.repeat)
    count = int(dict((k.lower(), v) for k, v in hdrs)["x-account-container-count"])
    print("account HEAD: %.2f ms, status %d, X-Account-Container-Count %d" %
          (t * 1000, st, count))
    fig["head_ms"] = round(t * 1000, 2)
    if count < a.n:
        sys.exit("the account counts %d containers, expected at least %d" % (count, a.n))

    mid = "c%07d" % (a.n // 2)
    pages = [
        ("first page", {}),
        ("from a marker in the middle", {"marker": mid}),
        ("prefix c01", {"prefix": "c01"}),
        ("marker + end_marker", {"marker": mid, "end_marker": "c%07d" % (a.n // 2 + 20000)}),
        ("first page, json", {"format": "json"}),
    ]
    for label, q in pages:
        q = dict(q, limit=10000)
        t, (st, _, body) = timed(lambda: cl.request("GET", query=q), a.repeat)
        n = len(json.loads(body)) if q.get("format") == "json" else body.count(b"\n")
        print("listing, limit=10000, %-28s: %7.1f ms, status %d, %d entries" %
              (label, t * 1000, st, n))
        fig["list_ms " + label] = round(t * 1000, 1)

    t0 = time.monotonic()
    marker, total, n_pages = "", 0, 0
    while True:
        q = {"limit": 10000}
        if marker:
            q["marker"] = marker
        st, _, body = cl.request("GET", query=q)
        names = body.decode().split("\n")[:-1] if st == 200 else []
        if not names:
            break
        total += len(names)
        n_pages += 1
        marker = names[-1]
    secs = time.monotonic() - t0
    print("full walk: %d containers in %d pages, %.2f s (%.1f ms per page)" %
          (total, n_pages, secs, secs * 1000 / max(n_pages, 1)))
    fig["walk_seconds"] = round(secs, 2)
    fig["walk_pages"] = n_pages
    if total != count:
        sys.exit("the walk listed %d containers, the account counts %d" % (total, count))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(fig, f, indent=1)


if __name__ == "__main__":
    main()
