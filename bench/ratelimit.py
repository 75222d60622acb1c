#!/usr/bin/env python3
"""bench/ratelimit.py AUTH_URL USER KEY: accuracy of the per-container write
limit (issue 4). Driven by bench/ratelimit.sh; see there.

Phase 1: CALM_WRITERS writers paced to CALM_RATE PUT/s in total into
container "calm", alone, for CALM_SECONDS: its baseline rate.
Phase 2: WRITERS unpaced writers PUT 4 KiB objects into container "busy"
for DURATION seconds while the calm writers go on. Prints accepted writes/s
of "busy" (over the window that excludes the first and last 2 s), its
statuses and latencies, and the calm container's rate during the overload
against its baseline."""

import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlparse

auth_url, user, key = sys.argv[1:4]
DURATION = float(os.environ.get("RL_DURATION", "30"))
WRITERS = int(os.environ.get("RL_WRITERS", "64"))
LIMIT = float(os.environ.get("RL_LIMIT", "100"))
CALM_RATE = float(os.environ.get("RL_CALM_RATE", "40"))
CALM_WRITERS = 4
CALM_SECONDS = float(os.environ.get("RL_CALM_SECONDS", "10"))
BODY = b"x" * 4096


def login():
    u = urlparse(auth_url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", u.path, headers={"X-Auth-User": user, "X-Auth-Key": key})
    r = c.getresponse()
    r.read()
    return urlparse(r.getheader("X-Storage-Url")), r.getheader("X-Auth-Token")


storage, token = login()


def put(conn, path):
    conn.request("PUT", storage.path + path, body=BODY,
                 headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"})
    r = conn.getresponse()
    r.read()
    return r.status


def writer(name, container, stop, log, pace=None):
    """PUT objects until stop is set; log (end time, status, seconds);
    pace: seconds between request starts (None: back to back)."""
    conn = http.client.HTTPConnection(storage.hostname, storage.port, timeout=120)
    i, nxt = 0, time.monotonic()
    while not stop.is_set():
        if pace:
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            nxt += pace
        t0 = time.monotonic()
        try:
            status = put(conn, "/%s/%s-%d" % (container, name, i))
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(storage.hostname, storage.port, timeout=120)
            status = 0
        t1 = time.monotonic()
        log.append((t1, status, t1 - t0))
        i += 1
    conn.close()


def start(n, container, log, stop, pace=None):
    ts = [threading.Thread(target=writer, args=("w%d" % i, container, stop, log, pace))
          for i in range(n)]
    for t in ts:
        t.start()
    return ts


def rate(log, t0, t1):
    return sum(1 for t, s, _ in log if t0 <= t < t1 and 200 <= s < 300) / (t1 - t0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0


c = http.client.HTTPConnection(storage.hostname, storage.port, timeout=30)
for name in ("busy", "calm"):
    c.request("PUT", storage.path + "/" + name, headers={"X-Auth-Token": token})
    c.getresponse().read()
c.close()

calm_log, calm_stop = [], threading.Event()
calm = start(CALM_WRITERS, "calm", calm_log, calm_stop, pace=CALM_WRITERS / CALM_RATE)
time.sleep(1)
b0 = time.monotonic()
time.sleep(CALM_SECONDS)
b1 = time.monotonic()
baseline = rate(calm_log, b0, b1)

busy_log, busy_stop = [], threading.Event()
s0 = time.monotonic()
busy = start(WRITERS, "busy", busy_log, busy_stop)
time.sleep(DURATION)
s1 = time.monotonic()
busy_stop.set()
calm_stop.set()
for t in busy + calm:
    t.join()

w0, w1 = s0 + 2, s1 - 2
accepted = rate(busy_log, w0, w1)
during = rate(calm_log, w0, w1)
statuses = {}
for _, s, _ in busy_log:
    statuses[s] = statuses.get(s, 0) + 1
lat = [d for _, s, d in busy_log if 200 <= s < 300]
res = {
    "writers": WRITERS, "seconds": DURATION, "limit": LIMIT,
    "busy_accepted_per_s": round(accepted, 2),
    "busy_error_percent": round(100 * (accepted - LIMIT) / LIMIT, 2),
    "busy_statuses": statuses,
    "busy_latency_p50_s": round(pct(lat, 50), 3), "busy_latency_p99_s": round(pct(lat, 99), 3),
    "calm_baseline_per_s": round(baseline, 2), "calm_during_per_s": round(during, 2),
}
print(json.dumps(res, indent=1))
ok = abs(accepted - LIMIT) <= 0.05 * LIMIT and during >= 0.95 * baseline
print("PASS" if ok else "FAIL", "accepted %.1f/s vs limit %.0f/s (within 5%%: %s); calm %.1f/s "
      "during vs %.1f/s alone" % (accepted, LIMIT, abs(accepted - LIMIT) <= 0.05 * LIMIT,
                                  during, baseline))
sys.exit(0 if ok else 1)
