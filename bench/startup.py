#!/usr/bin/env python3
"""bench/startup.py: time from exec to the first served request, and idle RSS.

Starts `swiftlet --ephemeral` N times on a loopback port, polls
GET /healthcheck as fast as it can from the moment of exec, and reports the
median and worst time to the first 200. Then starts one more, waits for it
to settle, and reads its resident memory (VmRSS) from /proc.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(binary, port):
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "--ephemeral", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 10
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthcheck")
            if c.getresponse().status == 200:
                elapsed = time.monotonic() - t0
                c.close()
                return proc, elapsed
        except OSError:
            time.sleep(0.0005)
    proc.kill()
    raise SystemExit("swiftlet did not answer within 10 s")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/swiftlet"
    runs = int(os.environ.get("STARTUP_RUNS", "10"))
    times = []
    for _ in range(runs):
        proc, elapsed = first_answer(binary, free_port())
        times.append(elapsed * 1000)
        stop(proc)
    proc, _ = first_answer(binary, free_port())
    time.sleep(1.5)
    rss_kib = 0
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    stop(proc)
    print(f"start to first answer: median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms over {runs} runs")
    print(f"idle RSS after start: {rss_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
