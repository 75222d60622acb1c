"""Operator-facing behaviour of the real binary: replicas on disk, disk
groups, config files, the access log, /metrics, --ephemeral clean-up and
`make install`. All swiftlet-only: they look at files and processes."""

import glob
import hashlib
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import REPO, SWIFTLET_BIN, free_port, new_session, start_swiftlet, unique

pytestmark = pytest.mark.swiftlet_only


def login(srv):
    url, tok = srv.auth()
    return url, new_session(tok), tok


def data_files(data_dir, dgs=None):
    pattern = os.path.join(data_dir, dgs or "dg*", "objects", "*", "*", "*", "*.data")
    return glob.glob(pattern)


def test_three_replicas_on_three_disk_groups(spawn):
    srv = spawn(extra=["--disk-groups", "4"])
    url, s, _ = login(srv)
    assert sorted(os.listdir(srv.data_dir)) == ["dg1", "dg2", "dg3", "dg4", "ring.txt"]
    body = os.urandom(12345)
    assert s.put(url + "/c").status_code == 201
    assert s.put(url + "/c/o", data=body).status_code == 201
    files = data_files(srv.data_dir)
    assert len(files) == 3
    # three different disk groups, each copy complete (body + metadata trailer)
    assert len({f.split(os.sep)[-6] for f in files}) == 3
    for f in files:
        with open(f, "rb") as fh:
            assert fh.read(len(body)) == body
    # the disk groups carry their identity
    for dg in ("dg1", "dg2", "dg3", "dg4"):
        ident = open(os.path.join(srv.data_dir, dg, ".swiftlet-dg")).read()
        assert re.search(r"^id=\d+$", ident, re.M) and re.search(r"^cluster=[0-9a-f]{32}$", ident, re.M)


def test_read_survives_a_lost_replica(spawn):
    srv = spawn()
    url, s, _ = login(srv)
    body = b"x" * 5000
    s.put(url + "/c")
    assert s.put(url + "/c/o", data=body).status_code == 201
    files = data_files(srv.data_dir)
    assert len(files) == 3
    os.unlink(files[0])
    os.unlink(files[1])
    r = s.get(url + "/c/o")
    assert r.status_code == 200 and r.content == body
    # a corrupted copy (bad trailer) is skipped for a good one
    s.put(url + "/c/p", data=body)
    files = [f for f in data_files(srv.data_dir) if f not in files]
    with open(files[0], "r+b") as fh:
        fh.seek(-3, os.SEEK_END)
        fh.write(b"zzz")
    r = s.get(url + "/c/p")
    assert r.status_code == 200 and r.content == body


def test_config_file_and_unmounted_disk_group(tmp_path):
    dgs = [tmp_path / ("disk%d" % i) for i in range(3)]
    for d in dgs:
        d.mkdir()
    conf = tmp_path / "swiftlet.conf"
    conf.write_text("[server]\nthreads = 2\n[storage]\n" +
                    "".join("disk_group = %s\n" % d for d in dgs) +
                    "part_power = 6\n[auth]\nuser = test:tester:testing:admin\n")
    srv = start_swiftlet(["serve", "-c", str(conf)])
    try:
        url, s, _ = login(srv)
        assert s.put(url + "/c").status_code == 201
        assert s.put(url + "/c/o", data=b"hello").status_code == 201
    finally:
        assert srv.stop() == 0
    assert os.path.exists(tmp_path / "swiftlet.ring")
    srv = start_swiftlet(["serve", "-c", str(conf)])
    try:
        url, s, _ = login(srv)
        assert s.get(url + "/c/o").content == b"hello"
    finally:
        assert srv.stop() == 0
    # An empty mount point where a disk group was: serve from the other two
    # (a write quorum) with that one "missing", and never write to the
    # empty directory (it is the root filesystem's).
    for entry in os.listdir(dgs[1]):
        subprocess.run(["rm", "-rf", str(dgs[1] / entry)], check=True)
    srv = start_swiftlet(["serve", "-c", str(conf)])
    try:
        url, s, _ = login(srv)
        detail = requests.get(srv.base + "/healthcheck?detail").json()
        assert [d["state"] for d in detail["disk_groups"]] == ["ok", "missing", "ok"]
        assert s.get(url + "/c/o").content == b"hello"
        assert s.put(url + "/c2").status_code == 201
        assert s.put(url + "/c2/o", data=b"world").status_code == 201
        assert s.delete(url + "/c/o").status_code == 204
        assert s.get(url + "/c2/o").content == b"world"
        assert "is its disk mounted?" in srv.log()
    finally:
        assert srv.stop() == 0
    assert os.listdir(dgs[1]) == []
    # Two of three gone: no quorum, refuse to start.
    for entry in os.listdir(dgs[2]):
        subprocess.run(["rm", "-rf", str(dgs[2] / entry)], check=True)
    p = subprocess.run([SWIFTLET_BIN, "serve", "-c", str(conf), "--listen",
                        "127.0.0.1:%d" % free_port()], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "is its disk mounted?" in p.stderr and "need 2" in p.stderr
    assert os.listdir(dgs[1]) == [] and os.listdir(dgs[2]) == []


@pytest.mark.parametrize("text,where", [
    ("[server]\nlisten = 127.0.0.1:1\nbogus = 1\n", ":3: unknown key 'bogus'"),
    ("[nosuch]\nx = 1\n", ":2:"),
    ("[storage]\npart_power = 99\n", ":2:"),
])
def test_config_errors_name_file_and_line(tmp_path, text, where):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    p = subprocess.run([SWIFTLET_BIN, "serve", "-c", str(conf)], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode != 0
    assert str(conf) + where in p.stderr


def test_dump_config_loads_back(tmp_path):
    p = subprocess.run([SWIFTLET_BIN, "--dump-config"], capture_output=True, text=True,
                       check=True)
    assert "[swift-constraints]" in p.stdout and "max_file_size = 5368709122" in p.stdout
    conf = tmp_path / "dumped.conf"
    conf.write_text(p.stdout)
    q = subprocess.run([SWIFTLET_BIN, "--dump-config", "-c", str(conf)], capture_output=True,
                       text=True, check=True)
    assert q.stdout == p.stdout


def test_access_log_and_no_secrets(spawn):
    srv = spawn()
    url, s, tok = login(srv)
    r = s.put(url + "/logc")
    tx = r.headers["X-Trans-Id"]
    r2 = s.put(url + "/logc/obj", data=b"12345")
    requests.get(srv.auth_url, headers={"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"})
    time.sleep(0.2)
    log = open(srv.log_path, encoding="utf-8", errors="replace").read()
    line = [ln for ln in log.splitlines() if "tx=" + tx in ln]
    assert len(line) == 1
    assert re.search(r"^time=\S+Z level=info msg=access tx=%s account=AUTH_test method=PUT "
                     r'path="/v1/AUTH_test/logc" status=201 bytes_in=0 bytes_out=0 '
                     r"duration_ms=\d+\.\d+$" % tx, line[0])
    obj = [ln for ln in log.splitlines() if "tx=" + r2.headers["X-Trans-Id"] in ln][0]
    assert "status=201 bytes_in=5 " in obj
    assert "login refused" in log
    assert tok not in log
    assert "testing" not in log and "wrong" not in log


def test_metrics(spawn):
    srv = spawn()
    url, s, _ = login(srv)
    s.put(url + "/m")
    s.put(url + "/m/o", data=b"a" * 100)
    s.get(url + "/m/o")
    s.get(url + "/m/missing")
    # A request is counted when its connection completes, which can be just
    # after the client has read the answer: wait (bounded) for the last one.
    deadline = time.monotonic() + 5
    while True:
        text = requests.get(srv.base + "/metrics").text
        if 'method="GET",status="404"} 1' in text or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert 'swiftlet_requests_total{method="PUT",status="201"} 2' in text
    assert 'swiftlet_requests_total{method="GET",status="200"}' in text
    assert 'swiftlet_requests_total{method="GET",status="404"} 1' in text
    assert "swiftlet_request_duration_seconds_bucket{le=\"+Inf\"}" in text
    assert "# TYPE swiftlet_request_duration_seconds histogram" in text
    m = re.search(r"^swiftlet_bytes_in_total (\d+)$", text, re.M)
    assert m and int(m.group(1)) >= 100
    ups = re.findall(r'^swiftlet_disk_group_up\{dg="\d+",state="ok"\} 1$', text, re.M)
    assert len(ups) == 3
    free = re.findall(r'^swiftlet_disk_group_free_bytes\{dg="\d+"\} (\d+)$', text, re.M)
    assert len(free) == 3 and all(int(x) > 0 for x in free)


def test_ephemeral_prints_and_cleans_up(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([SWIFTLET_BIN, "--ephemeral", "--listen", "127.0.0.1:%d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    lines = [p.stdout.readline() for _ in range(3)]
    assert "export ST_AUTH=http://127.0.0.1:%d/auth/v1.0 ST_USER=test:tester ST_KEY=testing\n" \
        % port in lines
    # ready before it printed: the first request is served at once
    assert requests.get("http://127.0.0.1:%d/healthcheck" % port).text == "OK"
    assert time.monotonic() - t0 < 5
    made = os.listdir(tmp_path)
    assert len(made) == 1 and made[0].startswith("swiftlet-")
    assert sorted(os.listdir(tmp_path / made[0])) == ["dg1", "dg2", "dg3", "ring.txt"]
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0
    assert os.listdir(tmp_path) == []


def test_make_install(tmp_path):
    subprocess.run(["make", "-s", "install", "DESTDIR=%s" % tmp_path, "PREFIX=/usr"],
                   cwd=REPO, check=True, capture_output=True)
    binary = tmp_path / "usr" / "bin" / "swiftlet"
    assert os.access(binary, os.X_OK)
    assert (tmp_path / "usr" / "lib" / "systemd" / "system" / "swiftlet.service").exists()
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("swiftlet ")


def test_users_from_flags_and_token_expiry(tmp_path):
    conf = tmp_path / "short.conf"
    conf.write_text("[server]\ntoken_ttl = 2\n[storage]\ndata_dir = %s\n" % (tmp_path / "data"))
    srv = start_swiftlet(["serve", "-c", str(conf), "--user", "test:tester:testing:admin",
                          "--user", "test:reader:rpw", "--user", "other:boss:bpw:admin"])
    try:
        def login_as(user, key):
            return requests.get(srv.auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key})

        r = login_as("other:boss", "bpw")
        assert r.status_code == 200
        other_url, other_tok = r.headers["X-Storage-Url"], r.headers["X-Auth-Token"]
        assert other_url.endswith("/v1/AUTH_other")
        assert requests.put(other_url + "/c", headers={"X-Auth-Token": other_tok}).status_code == 201
        url, tok = srv.auth()
        # a token of one account never works on another account's URL
        assert requests.get(other_url, headers={"X-Auth-Token": tok}).status_code == 403
        assert requests.get(url, headers={"X-Auth-Token": other_tok}).status_code == 403
        # a user without :admin owns nothing (no ACLs yet), as in tempauth
        rt = login_as("test:reader", "rpw").headers["X-Auth-Token"]
        assert requests.get(url, headers={"X-Auth-Token": rt}).status_code == 403
        # tokens expire after token_ttl; then 401 and a new login works
        assert requests.head(url, headers={"X-Auth-Token": tok}).status_code in (200, 204)
        time.sleep(2.5)
        assert requests.head(url, headers={"X-Auth-Token": tok}).status_code == 401
        url2, tok2 = srv.auth()
        assert tok2 != tok
        assert requests.head(url2, headers={"X-Auth-Token": tok2}).status_code in (200, 204)
    finally:
        assert srv.stop() == 0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_large_upload_streams_in_constant_memory(spawn):
    """A 768 MiB chunked upload and its download: the server's memory must
    not grow with the body (nothing is held whole)."""
    srv = spawn()
    url, s, tok = login(srv)
    s.put(url + "/big")
    size, chunk = 768 << 20, os.urandom(1 << 20)
    peak = [rss_kib(srv.proc.pid)]
    start_rss = peak[0]

    def body():
        for i in range(size // len(chunk)):
            if i % 64 == 0:
                peak[0] = max(peak[0], rss_kib(srv.proc.pid))
            yield chunk

    r = requests.put(url + "/big/blob", data=body(), headers={"X-Auth-Token": tok})
    assert r.status_code == 201
    md5 = hashlib.md5()
    for _ in range(size // len(chunk)):
        md5.update(chunk)
    assert r.headers["Etag"] == md5.hexdigest()
    with requests.get(url + "/big/blob", headers={"X-Auth-Token": tok}, stream=True) as g:
        got = hashlib.md5()
        for i, part in enumerate(g.iter_content(1 << 20)):
            got.update(part)
            if i % 64 == 0:
                peak[0] = max(peak[0], rss_kib(srv.proc.pid))
    assert got.hexdigest() == md5.hexdigest()
    assert peak[0] - start_rss < 64 * 1024, (start_rss, peak[0])


def thread_policies(pid):
    """The scheduling policy of each of the process's threads, by name."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            name = f.read().strip()
        out.setdefault(name, set()).add(os.sched_getscheduler(int(tid)))
    return out


@pytest.mark.parametrize("conf, policy", [("", os.SCHED_BATCH),
                                          ("[server]\nbatch_scheduling = false\n", os.SCHED_OTHER)])
def test_batch_scheduling(spawn, conf, policy):
    srv = spawn(conf=conf)
    url, s, _ = login(srv)
    # a small PUT wakes the worker, journal and DB writer threads: all started
    assert s.put(url + "/c").status_code == 201
    assert s.put(url + "/c/o", data=b"x" * 4096).status_code == 201
    policies = thread_policies(srv.proc.pid)
    assert {"journal", "MHD-worker"} <= set(policies)
    assert set().union(*policies.values()) == {policy}, policies
