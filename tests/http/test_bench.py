"""`swiftlet bench`, the built-in load generator, run as a user would: against
a spawned swiftlet (its counts must match what the server then lists), and
against a small scripted Swift stand-in on loopback whose answers are known
in advance (every status class must be counted exactly). Runs are 2-3 s; the
bounds on throughput are loose: these are tests, not benchmarks."""

import csv
import http.server
import itertools
import json
import os
import re
import subprocess
import threading

import pytest

from conftest import SWIFTLET_BIN, new_session, unique

pytestmark = pytest.mark.swiftlet_only

CSV_HEAD = ["t", "put_ops", "get_ops", "head_ops", "delete_ops", "list_ops",
            "total_ops", "p50_ms", "p99_ms", "2xx", "404", "498", "429", "5xx",
            "other", "conn_error"]
STATUSES = ["2xx", "404", "498", "429", "5xx", "other", "conn_error"]


def bench(srv_or_url, *args, key="testing", env=None, timeout=60):
    """Run `swiftlet bench` against a Server (or an auth URL); the
    CompletedProcess."""
    auth = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.auth_url
    argv = [SWIFTLET_BIN, "bench", "--auth", auth, "--user", "test:tester",
            "--key", key] + [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def listing_count(s, url):
    """Objects in container URL by its listing, page by page."""
    n, marker = 0, ""
    while True:
        r = s.get(url, params={"format": "json", "marker": marker})
        assert r.status_code in (200, 204), r.status_code
        page = r.json() if r.status_code == 200 else []
        if not page:
            return n
        n += len(page)
        marker = page[-1]["name"]


def test_mix_counts_match_the_server(spawn, tmp_path):
    srv = spawn()
    prefix = unique("b")
    out_json, out_csv = tmp_path / "run.json", tmp_path / "run.csv"
    p = bench(srv, "--duration", 3, "--concurrency", 8, "--containers", 3,
              "--size", 1000, "--prefix", prefix,
              "--mix", "put=60,get=20,head=10,delete=5,list=5",
              "--json", out_json, "--csv", out_csv)
    assert p.returncode == 0, p.stderr
    # the table on stdout: a header, one row per op of the mix, a total
    lines = p.stdout.splitlines()
    assert re.match(r"swiftlet bench: 3\.\d s, 8 in flight, 1000-byte objects, "
                    r"3 containers, mix put=60 get=20 head=10 delete=5 list=5", lines[0]), p.stdout
    head = lines[1].split()
    assert head[:2] == ["op", "requests"] and head[-7:] == [
        "2xx", "404", "498", "429", "5xx", "other", "conn"], lines[1]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:8]}
    assert set(rows) == {"put", "get", "head", "delete", "list", "total"}

    doc = json.loads(out_json.read_text())
    summ, ops = doc["summary"], doc["ops"]
    assert doc["config"]["containers"] == 3 and doc["config"]["mix"]["put"] == 60
    assert "key" not in doc["config"]
    total = summ["requests"]
    assert total > 50, summ                     # it did run
    assert total == sum(o["requests"] for o in ops.values())
    assert total == sum(summ["status"].values())
    assert int(rows["total"][1]) == total
    for name, o in ops.items():
        assert o["requests"] == sum(o["status"].values()), name
        assert o["requests"] > 0, name          # every op of the mix ran
        lat = o["latency_ms"]
        assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], (name, lat)
    # Nothing failed: reads only pick objects the run wrote and no delete
    # has taken away.
    assert summ["status"]["2xx"] == total, summ["status"]
    assert summ["bytes_sent"] == 1000 * ops["put"]["status"]["2xx"]
    assert summ["bytes_received"] == 1000 * ops["get"]["status"]["2xx"]

    # The server's view: objects written minus objects deleted are listed.
    url, tok = srv.auth()
    s = new_session(tok)
    listed = sum(listing_count(s, "%s/%s-%d" % (url, prefix, i)) for i in range(3))
    assert listed == ops["put"]["status"]["2xx"] - ops["delete"]["status"]["2xx"]
    assert s.get(url + "/%s-3" % prefix).status_code == 404    # exactly 3 containers

    # One CSV row per second (the answers still in flight at the end count
    # in the last one), adding up to the summary; the JSON series alike.
    with open(out_csv) as f:
        table = list(csv.reader(f))
    assert table[0] == CSV_HEAD
    assert [r[0] for r in table[1:]] == ["1", "2", "3"]
    assert sum(int(r[6]) for r in table[1:]) == total
    for r in table[1:]:
        assert int(r[6]) == sum(int(x) for x in r[1:6])
        assert int(r[6]) == sum(int(x) for x in r[9:16])
        assert 0 <= float(r[7]) <= float(r[8])
    assert [e["t"] for e in doc["series"]] == [1, 2, 3]
    assert sum(e["total"] for e in doc["series"]) == total


def test_rate_caps_throughput(spawn, tmp_path):
    srv = spawn()
    out = tmp_path / "run.json"
    p = bench(srv, "--duration", 3, "--rate", 40, "--concurrency", 8, "--mix",
              "put=1", "--prefix", unique("r"), "--json", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    n = doc["summary"]["requests"]
    assert 40 * 3 * 0.6 <= n <= 40 * 3 * 1.1 + 5, n
    assert all(e["total"] <= 40 * 1.5 for e in doc["series"]), doc["series"]
    assert doc["config"]["rate"] == 40
    assert "rate target: 40.0 requests/s" in p.stdout


def test_requests_count_is_exact(spawn, tmp_path):
    srv = spawn()
    out = tmp_path / "run.json"
    p = bench(srv, "--requests", 123, "--concurrency", 5, "--mix", "put=3,list=1",
              "--prefix", unique("n"), "--json", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["summary"]["requests"] == 123
    assert doc["summary"]["status"]["2xx"] == 123
    assert doc["ops"]["get"]["requests"] == 0


def test_wrong_key_fails_clearly(spawn):
    srv = spawn()
    p = bench(srv, "--duration", 1, key="not-the-key")
    assert p.returncode == 1
    assert "authentication failed" in p.stderr and "401" in p.stderr, p.stderr
    assert "check --user and --key" in p.stderr
    assert "not-the-key" not in p.stderr + p.stdout     # never print the key
    assert p.stdout == ""


def test_unreachable_endpoint_fails_clearly(tmp_path):
    # port 1: nothing listens there (it needs root to bind, and nothing does)
    p = bench("http://127.0.0.1:1/auth/v1.0", "--duration", 1)
    assert p.returncode == 1
    assert "cannot reach the auth URL" in p.stderr, p.stderr


@pytest.mark.parametrize("args,msg", [
    (["--mix", "get=1"], "need put > 0"),
    (["--mix", "put=1,post=1"], "unknown op 'post'"),
    (["--duration", "2", "--requests", "5"], "not both"),
    (["--concurrency", "0"], "--concurrency wants"),
    (["--prefix", "a/b"], "--prefix wants"),
    (["--rate", "-1"], "--rate wants"),
])
def test_bad_options_are_usage_errors(args, msg):
    p = bench("http://127.0.0.1:1/auth/v1.0", *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert msg in p.stderr, p.stderr


def test_plot_draws_a_png(spawn, tmp_path):
    srv = spawn()
    png = tmp_path / "run.png"
    p = bench(srv, "--duration", 2, "--concurrency", 4, "--prefix", unique("p"),
              "--plot", png)
    assert p.returncode == 0, p.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_plot_without_gnuplot_says_so(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))      # no gnuplot there
    png = tmp_path / "run.png"
    p = bench("http://127.0.0.1:1/auth/v1.0", "--plot", png, env=env)
    assert p.returncode != 0
    assert "--plot needs gnuplot" in p.stderr and "gnuplot-nox" in p.stderr, p.stderr
    assert not png.exists()


# --------------------------------------------------------------------------
# a scripted stand-in: every object PUT gets the next answer of a cycle


CYCLE = [201, 498, 429, 503, 404, 401, "drop"]


class Scripted(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.answers = itertools.cycle(CYCLE)
        self.lock = threading.Lock()
        self.containers = []
        self.object_puts = 0
        self.base = "http://127.0.0.1:%d" % self.server_address[1]

    def next_answer(self):
        with self.lock:
            self.object_puts += 1
            return next(self.answers)


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, as swiftlet and Swift

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/auth/v1.0" and self.headers["X-Auth-Key"] == "testing":
            self.reply(200, headers=[("X-Storage-Url", self.server.base + "/v1/AUTH_test"),
                                     ("X-Auth-Token", "AUTH_tkscripted")])
        else:
            self.reply(401, b"Unauthorized")

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.split("/")
        if len(parts) == 4:                         # /v1/AUTH_test/<container>
            self.server.containers.append(parts[3])
            self.reply(201)
            return
        assert len(body) == 100
        answer = self.server.next_answer()
        if answer == "drop":                        # gone in the middle of a body
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(answer, b"Slow down" if answer == 498 else b"")


@pytest.fixture
def scripted():
    srv = Scripted()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_every_status_class_is_counted(scripted, tmp_path):
    out = tmp_path / "run.json"
    rounds = 10
    p = bench(scripted.base + "/auth/v1.0", "--requests", len(CYCLE) * rounds,
              "--concurrency", 4, "--mix", "put=1", "--size", 100, "--containers", 2,
              "--prefix", "sc", "--json", out)
    assert p.returncode == 0, p.stderr
    assert sorted(scripted.containers) == ["sc-0", "sc-1"]
    # one request each: a broken answer is counted, not retried
    assert scripted.object_puts == len(CYCLE) * rounds
    doc = json.loads(out.read_text())
    want = {"2xx": rounds, "498": rounds, "429": rounds, "5xx": rounds, "404": rounds,
            "other": rounds, "conn_error": rounds}
    assert doc["summary"]["status"] == want
    assert doc["ops"]["put"]["status"] == want
    assert sum(e["status"]["498"] for e in doc["series"]) == rounds
    total = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("total")][0]
    assert total[-7:] == [str(rounds)] * 7, p.stdout
