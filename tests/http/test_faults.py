"""Disk groups that fail, with the real binary and real files: the fault
injector (tests/faultinject, LD_PRELOAD) makes one disk group return EIO or
ENOSPC, or vanish, while swiftlet runs; requests keep working on the others,
writes go to handoffs so 3 copies exist, /healthcheck and `swiftlet status`
say what is wrong, and a healed disk group comes back.

Status codes follow Swift's proxy: it answers 503 whenever a quorum of
storage nodes did not succeed, also when they all answered 507
(swift/proxy/controllers/base.py best_response only picks 2xx/3xx/4xx
quorums, else HTTPServiceUnavailable), so a write without a quorum is 503
here too, never a partial 2xx."""

import glob
import hashlib
import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import REPO, SWIFTLET_BIN, new_session, start_swiftlet

pytestmark = pytest.mark.swiftlet_only

FI_LIB = os.environ.get("SWIFTLET_FAULTINJECT",
                        os.path.join(REPO, "build", "libfaultinject.so"))
ACCOUNT = "AUTH_test"
STATE_TIMEOUT = 10.0


# --------------------------------------------------------------------------
# helpers (meant to be reused by later tests, e.g. the replicator's)


def fault_env(fault_file):
    """Environment that loads the injector, controlled by FAULT_FILE."""
    if not os.path.exists(FI_LIB):
        pytest.fail("fault injector not built: %s (make %s)" % (FI_LIB, FI_LIB))
    asan = os.environ.get("ASAN_OPTIONS", "")
    # The injector is not sanitized; under `make check` it is preloaded
    # ahead of the ASan runtime, which ASan would otherwise refuse.
    return {"LD_PRELOAD": FI_LIB, "SWIFTLET_FAULTS": str(fault_file),
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


def set_faults(fault_file, faults):
    """Write {dg_dir: fault} atomically; the injector sees it within ~50 ms."""
    tmp = str(fault_file) + ".tmp"
    with open(tmp, "w") as f:
        for d, fault in faults.items():
            f.write("%s %s\n" % (d, fault))
    os.rename(tmp, str(fault_file))
    time.sleep(0.1)


def dg_dirs(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "dg*")),
                  key=lambda d: int(d.rsplit("dg", 1)[1]))


def cluster_id(data_dir):
    for d in dg_dirs(data_dir):
        try:
            with open(os.path.join(d, ".swiftlet-dg")) as f:
                for line in f:
                    if line.startswith("cluster="):
                        return line.strip().split("=", 1)[1]
        except OSError:
            continue
    raise AssertionError("no disk group identity under %s" % data_dir)


def object_files(data_dir, container, name, ext=".data", account=ACCOUNT):
    """{dg directory: [files with EXT]} holding this object, from the disk
    (the hash is MD5(cluster id + "/account/container/object"))."""
    h = hashlib.md5((cluster_id(data_dir) + "/%s/%s/%s" % (account, container, name))
                    .encode()).hexdigest()
    out = {}
    for d in dg_dirs(data_dir):
        files = glob.glob(os.path.join(d, "objects", "*", h[-3:], h, "*" + ext))
        if files:
            out[d] = files
    return out


def copies(data_dir, container, name, body=None):
    """The disk groups holding a complete copy of the object (its body is
    BODY when given)."""
    held = []
    for d, files in object_files(data_dir, container, name).items():
        if body is None:
            held.append(d)
            continue
        with open(files[0], "rb") as f:
            if f.read(len(body)) == body:
                held.append(d)
    return sorted(held)


def health(srv):
    r = requests.get(srv.base + "/healthcheck?detail", timeout=10)
    doc = r.json()
    return r.status_code, {dg["path"]: dg for dg in doc["disk_groups"]}, doc


def wait_state(srv, dg_dir, state, timeout=STATE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        _, dgs, _ = health(srv)
        if dgs[dg_dir]["state"] == state:
            return dgs[dg_dir]
        if time.monotonic() > deadline:
            raise AssertionError("disk group %s is %s, not %s after %.0fs:\n%s"
                                 % (dg_dir, dgs[dg_dir]["state"], state, timeout,
                                    srv.log()))
        time.sleep(0.05)


@pytest.fixture
def faulty(spawn, tmp_path):
    """Factory: faulty(n_dg, data_dir=None) -> (server, fault file, data dir,
    session, storage url) for a server probing its disk groups every 100 ms
    with the injector loaded."""

    def _start(n_dg=4, data_dir=None):
        fault_file = tmp_path / "faults"
        if not fault_file.exists():
            set_faults(fault_file, {})
        conf = tmp_path / "health.conf"
        conf.write_text("[health]\nprobe_interval_ms = 100\n")
        srv = spawn(data_dir=data_dir, env=fault_env(fault_file),
                    extra=["-c", str(conf), "--disk-groups", str(n_dg)])
        url, tok = srv.auth()
        s = new_session(tok)
        return srv, fault_file, srv.data_dir, s, url

    return _start


def put_many(s, url, names, size=3000):
    bodies = {}
    for n in names:
        body = os.urandom(size)
        r = s.put(url + "/" + n, data=body)
        assert r.status_code == 201, (n, r.status_code, r.text)
        assert r.headers["Etag"] == hashlib.md5(body).hexdigest()
        bodies[n] = body
    return bodies


def listing(s, curl):
    r = s.get(curl, params={"format": "json"})
    assert r.status_code == 200, r.status_code
    return [o["name"] for o in r.json()]


# --------------------------------------------------------------------------
# issue 3, test 1 (first half): one of 4 disk groups fails with EIO


def test_eio_disk_group_is_skipped_and_comes_back(faulty):
    srv, faults, data, s, url = faulty(4)
    dgs = dg_dirs(data)
    bad = dgs[1]
    assert s.put(url + "/c").status_code == 201
    before = put_many(s, url + "/c", ["before-%d" % i for i in range(10)])

    set_faults(faults, {bad: "eio"})
    st = wait_state(srv, bad, "error")
    assert st["errors"] >= 1 and st["last_error"] == "Input/output error"
    assert requests.get(srv.base + "/healthcheck").text == "OK"

    # uploads: each lands as 3 full copies on the 3 healthy disk groups
    during = put_many(s, url + "/c", ["during-%d" % i for i in range(20)])
    for name, body in during.items():
        assert copies(data, "c", name, body) == [d for d in dgs if d != bad], name
    # a new container and its listing work too
    assert s.put(url + "/c2").status_code == 201
    put_many(s, url + "/c2", ["x"])
    assert listing(s, url + "/c2") == ["x"]

    # downloads (also of objects that had a replica on the failed group)
    for name, body in list(before.items()) + list(during.items()):
        r = s.get(url + "/c/" + name)
        assert r.status_code == 200 and r.content == body, name
    assert sorted(listing(s, url + "/c")) == sorted(list(before) + list(during))

    # deletes: acknowledged, gone, and a tombstone on 3 healthy groups
    gone = sorted(during)[:5]
    for name in gone:
        assert s.delete(url + "/c/" + name).status_code == 204
        assert s.get(url + "/c/" + name).status_code == 404
        ts = object_files(data, "c", name, ".ts")
        assert len(ts) == 3 and bad not in ts, name
    assert sorted(listing(s, url + "/c")) == sorted(set(before) | set(during) - set(gone))
    assert s.head(url).status_code == 204

    set_faults(faults, {})
    wait_state(srv, bad, "ok")
    code, _, doc = health(srv)
    assert code == 200 and doc["usable"] == 4 and doc["quorum"] is True
    # back in use: reads and writes still right
    after = put_many(s, url + "/c", ["after"])
    for name, body in before.items():
        assert s.get(url + "/c/" + name).content == body

    # Replication brings every object back to exactly 3 byte-identical
    # copies (the handoff copies move home) and every delete to 3 tombstones.
    p = subprocess.run([SWIFTLET_BIN, "replicate", "--once", "--data", data],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    live = dict(before, **during, **after)
    for name in gone:
        del live[name]
    for name, body in live.items():
        files = object_files(data, "c", name)
        assert len(files) == 3, (name, sorted(files))
        contents = set()
        for fl in files.values():
            assert len(fl) == 1, fl
            with open(fl[0], "rb") as f:
                contents.add(f.read())
        assert len(contents) == 1 and next(iter(contents)).startswith(body), name
    for name in gone:
        assert object_files(data, "c", name) == {}, name
        assert len(object_files(data, "c", name, ".ts")) == 3, name
    assert sorted(listing(s, url + "/c")) == sorted(live)


def journal_files(dg_dir):
    return [f for f in os.listdir(dg_dir) if f.startswith("journal-")]


def test_eio_on_the_shared_journals_disk_group(faulty):
    """Disk groups on one filesystem share one journal, whose file is in
    the first of them. When that disk group fails, the journal moves to the
    next one: small writes go on, with no copy on the failed one."""
    srv, faults, data, s, url = faulty(4)
    dgs = dg_dirs(data)
    home = dgs[0]
    assert s.put(url + "/c").status_code == 201
    before = put_many(s, url + "/c", ["before"])
    assert [d for d in dgs if journal_files(d)] == [home]

    set_faults(faults, {home: "eio"})
    # the first of these meets the failing journal file before any probe
    during = put_many(s, url + "/c", ["during-%d" % i for i in range(20)])
    for name, body in during.items():
        held = copies(data, "c", name, body)
        assert home not in held and len(held) >= 2, (name, held)
    assert [d for d in dgs[1:] if journal_files(d)] == [dgs[1]]
    wait_state(srv, home, "error")
    for name, body in list(before.items()) + list(during.items()):
        r = s.get(url + "/c/" + name)
        assert r.status_code == 200 and r.content == body, name
    assert sorted(listing(s, url + "/c")) == sorted(list(before) + list(during))


# --------------------------------------------------------------------------
# issue 3, test 6: ENOSPC during uploads


def test_enospc_on_one_disk_group_during_uploads(faulty):
    srv, faults, data, s, url = faulty(4)
    full = dg_dirs(data)[2]
    assert s.put(url + "/c").status_code == 201
    results, lock = {}, threading.Lock()
    started = threading.Event()

    def upload(i):
        sess = new_session(s.headers["X-Auth-Token"])
        body = os.urandom(200000 + i)
        try:
            r = sess.put(url + "/c/o%03d" % i, data=body)
            with lock:
                results["o%03d" % i] = (r.status_code, r.headers.get("Etag"), body)
            started.set()
        finally:
            sess.close()

    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(upload, i) for i in range(60)]
        assert started.wait(30)
        set_faults(faults, {full: "enospc"})    # lands while uploads run
        for f in futs:
            f.result()
    wait_state(srv, full, "full")

    for name, (code, etag, body) in sorted(results.items()):
        # a 2xx only with a durable quorum; no quorum would be Swift's 503
        assert code in (201, 503), (name, code)
        if code != 201:
            continue
        assert etag == hashlib.md5(body).hexdigest()
        r = s.get(url + "/c/" + name)
        assert r.status_code == 200 and r.headers["Etag"] == etag, name
        assert len(copies(data, "c", name, body)) >= 2, name
    acked = [n for n, v in results.items() if v[0] == 201]
    # a disk group of 4 filling up leaves a quorum for every upload
    assert len(acked) == 60
    assert sorted(listing(s, url + "/c")) == sorted(acked)
    # once it is known full, new uploads go to a handoff: 3 copies again
    body = os.urandom(1000)
    assert s.put(url + "/c/late", data=body).status_code == 201
    assert full not in copies(data, "c", "late", body)
    assert len(copies(data, "c", "late", body)) == 3


def test_enospc_on_two_of_three_disk_groups_is_503(faulty):
    srv, faults, data, s, url = faulty(3)
    dgs = dg_dirs(data)
    assert s.put(url + "/c").status_code == 201
    put_many(s, url + "/c", ["old"])
    set_faults(faults, {dgs[0]: "enospc", dgs[2]: "enospc"})
    for d in (dgs[0], dgs[2]):
        wait_state(srv, d, "full")
    r = requests.get(srv.base + "/healthcheck")
    assert r.status_code == 503
    code, _, doc = health(srv)
    assert code == 503 and doc["quorum"] is False and doc["usable"] == 1

    for i in range(5):
        r = s.put(url + "/c/new%d" % i, data=os.urandom(5000))
        assert r.status_code == 503, r.status_code
        assert s.get(url + "/c/new%d" % i).status_code == 404
        assert copies(data, "c", "new%d" % i) == []
    assert listing(s, url + "/c") == ["old"]
    assert s.get(url + "/c/old").status_code == 200   # reads still work

    set_faults(faults, {})
    for d in (dgs[0], dgs[2]):
        wait_state(srv, d, "ok")
    assert requests.get(srv.base + "/healthcheck").status_code == 200
    put_many(s, url + "/c", ["new0"])


# --------------------------------------------------------------------------
# a disk group that vanishes (identity gone: not mounted, wrong disk)


def test_disk_group_missing_at_start(faulty, tmp_path):
    srv, faults, data, s, url = faulty(4)
    assert s.put(url + "/c").status_code == 201
    before = put_many(s, url + "/c", ["a%d" % i for i in range(8)])
    assert srv.stop() == 0
    gone = dg_dirs(data)[3]
    set_faults(faults, {gone: "vanish"})

    srv, faults, data, s, url = faulty(4, data_dir=data)
    st = wait_state(srv, gone, "missing")
    assert st["total_bytes"] == 0
    assert requests.get(srv.base + "/healthcheck").text == "OK"
    for name, body in before.items():
        assert s.get(url + "/c/" + name).content == body
    during = put_many(s, url + "/c", ["b%d" % i for i in range(8)])
    for name, body in during.items():
        assert gone not in copies(data, "c", name, body)
        assert len(copies(data, "c", name, body)) == 3
    assert sorted(listing(s, url + "/c")) == sorted(list(before) + list(during))

    set_faults(faults, {})
    wait_state(srv, gone, "ok")
    assert health(srv)[2]["usable"] == 4


def test_disk_group_vanishes_while_running(faulty):
    srv, faults, data, s, url = faulty(4)
    gone = dg_dirs(data)[0]
    assert s.put(url + "/c").status_code == 201
    set_faults(faults, {gone: "vanish"})
    wait_state(srv, gone, "missing")
    bodies = put_many(s, url + "/c", ["v%d" % i for i in range(10)])
    for name, body in bodies.items():
        assert copies(data, "c", name, body) == dg_dirs(data)[1:]
        assert s.get(url + "/c/" + name).content == body
    set_faults(faults, {})
    wait_state(srv, gone, "ok")


def test_two_missing_of_three_refuses_to_start(tmp_path, spawn):
    srv = spawn()
    data = srv.data_dir
    assert srv.stop() == 0
    faults = tmp_path / "faults"
    dgs = dg_dirs(data)
    set_faults(faults, {dgs[0]: "vanish", dgs[1]: "vanish"})
    p = subprocess.run([SWIFTLET_BIN, "serve", "--data", data, "--listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, **fault_env(faults)))
    assert p.returncode != 0
    assert "1 of 3 disk groups usable, need 2" in p.stderr, p.stderr


# --------------------------------------------------------------------------
# /healthcheck?detail and `swiftlet status`


def run_status(data, n_dg, env=None):
    return subprocess.run([SWIFTLET_BIN, "status", "--data", data, "--disk-groups", str(n_dg)],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **env) if env else None)


def test_healthcheck_detail_and_status(faulty):
    srv, faults, data, s, url = faulty(3)
    dgs = dg_dirs(data)
    r = requests.get(srv.base + "/healthcheck?detail")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["quorum"] is True and doc["usable"] == 3
    assert [d["path"] for d in doc["disk_groups"]] == dgs
    for d in doc["disk_groups"]:
        assert set(d) == {"id", "path", "state", "free_bytes", "total_bytes", "errors",
                          "last_error", "last_error_at"}
        assert d["state"] == "ok" and d["errors"] == 0 and d["last_error"] is None
        assert 0 < d["free_bytes"] <= d["total_bytes"]
    assert sorted(d["id"] for d in doc["disk_groups"]) == [1, 2, 3]
    plain = requests.get(srv.base + "/healthcheck")
    assert plain.status_code == 200 and plain.text == "OK"

    # status while the server runs: the same view, probed by itself
    p = run_status(data, 3)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["id", "state"]
    assert len(lines) == 5 and "3 of 3 disk groups usable" in lines[-1]
    for d, line in zip(dgs, lines[1:4]):
        assert line.split()[1] == "ok" and line.endswith(d)

    # one read-only: still a quorum; status, which sees the same fault, agrees
    set_faults(faults, {dgs[1]: "erofs"})
    wait_state(srv, dgs[1], "readonly")
    assert requests.get(srv.base + "/healthcheck").status_code == 200
    p = run_status(data, 3, fault_env(faults))
    assert p.returncode == 0, p.stderr
    assert [ln.split()[1] for ln in p.stdout.splitlines()[1:4]] == ["ok", "readonly", "ok"]
    assert "Read-only file system" in p.stdout

    # two failed: no write quorum, 503, and status exits 1
    set_faults(faults, {dgs[1]: "erofs", dgs[2]: "eio"})
    wait_state(srv, dgs[2], "error")
    r = requests.get(srv.base + "/healthcheck")
    assert r.status_code == 503
    code, by_path, doc = health(srv)
    assert code == 503 and doc["quorum"] is False
    assert by_path[dgs[2]]["last_error"] == "Input/output error"
    assert by_path[dgs[2]]["last_error_at"] > time.time() - 60
    p = run_status(data, 3, fault_env(faults))
    assert p.returncode == 1
    assert "NO WRITE QUORUM" in p.stdout

    # metrics agree
    m = requests.get(srv.base + "/metrics").text
    assert 'swiftlet_disk_group_up{dg="3",state="error"} 0' in m

    set_faults(faults, {})
    for d in dgs:
        wait_state(srv, d, "ok")
    assert run_status(data, 3).returncode == 0
