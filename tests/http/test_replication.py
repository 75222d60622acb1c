"""Replication: a wiped disk group comes back, the background replicator
heals on its own, and replication never brings a deleted object back.

Each test starts its own `swiftlet serve --data DIR` (swiftlet_only) and
looks at the disk groups' files directly (docs/on-disk.md)."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from conftest import SWIFTLET_BIN, new_session

DGS = ("dg1", "dg2", "dg3")


def md5(b):
    return hashlib.md5(b).hexdigest()


def config(data_dir, **repl):
    """A config file with a [replicator] section; its path."""
    path = os.path.join(data_dir, "test.ini")
    with open(path, "w") as f:
        f.write("[replicator]\n")
        for k, v in repl.items():
            f.write("%s = %s\n" % (k, v))
    return path


def object_files(dg_dir):
    """{relative path: bytes} of every file under <dg>/objects."""
    out = {}
    top = os.path.join(dg_dir, "objects")
    for root, _, files in os.walk(top):
        for name in files:
            p = os.path.join(root, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, top)] = f.read()
    return out


def db_rows(dg_dir, kind):
    """{relative path of each DB: its rows} under <dg>/<kind>."""
    sql = ("SELECT name, created_at, size, etag, deleted FROM object ORDER BY name"
           if kind == "containers" else
           "SELECT name, put_timestamp, delete_timestamp, deleted FROM container "
           "ORDER BY name")
    out = {}
    top = os.path.join(dg_dir, kind)
    for root, _, files in os.walk(top):
        for name in files:
            if not name.endswith(".db"):
                continue
            p = os.path.join(root, name)
            db = sqlite3.connect(p, timeout=30)
            try:
                out[os.path.relpath(p, top)] = db.execute(sql).fetchall()
            finally:
                db.close()
    return out


def wipe(dg_dir, keep_identity=True):
    for name in os.listdir(dg_dir):
        if keep_identity and name == ".swiftlet-dg":
            continue
        p = os.path.join(dg_dir, name)
        if os.path.isdir(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)


def replicate_once(data_dir):
    r = subprocess.run([SWIFTLET_BIN, "replicate", "--once", "--data", data_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out + r.stderr.decode("utf-8", "replace")
    assert "partitions checked" in out
    return out


def assert_three_identical_copies(data_dir, n_live):
    files = [object_files(os.path.join(data_dir, d)) for d in DGS]
    assert files[0].keys() == files[1].keys() == files[2].keys()
    assert files[0] == files[1] == files[2]     # byte-identical
    datas = [p for p in files[0] if p.endswith(".data")]
    assert len(datas) == n_live


def assert_db_replicas_agree(data_dir):
    for kind in ("containers", "accounts"):
        rows = [db_rows(os.path.join(data_dir, d), kind) for d in DGS]
        assert rows[0].keys() == rows[1].keys() == rows[2].keys(), kind
        assert rows[0], "no %s DBs found" % kind
        assert rows[0] == rows[1] == rows[2], kind


def fill(s, surl, n=30):
    """Two containers with objects and metadata; some deleted. Returns
    {container: {name: body}} of what must survive."""
    want = {}
    for c in ("photos", "docs"):
        assert s.put(surl + "/" + c, headers={"X-Container-Meta-Kind": c}).status_code == 201
        want[c] = {}
        for i in range(n):
            body = os.urandom(100 + 37 * i)
            name = "%s/%03d" % (c, i)
            assert s.put(surl + "/%s/%s" % (c, name), data=body).status_code == 201
            want[c][name] = body
        for i in range(0, n, 7):
            name = "%s/%03d" % (c, i)
            assert s.delete(surl + "/%s/%s" % (c, name)).status_code == 204
            del want[c][name]
    return want


def check_all(s, surl, want, meta=True):
    for c, objs in want.items():
        r = s.get(surl + "/" + c, params={"format": "json"})
        assert r.status_code == 200
        assert [o["name"] for o in r.json()] == sorted(objs)
        if meta:
            assert s.head(surl + "/" + c).headers["X-Container-Meta-Kind"] == c
        for name, body in objs.items():
            r = s.get(surl + "/%s/%s" % (c, name))
            assert r.status_code == 200, name
            assert r.content == body
            assert r.headers["Etag"] == md5(body)
    r = s.get(surl, params={"format": "json"})
    assert sorted(x["name"] for x in r.json()) == sorted(want)


@pytest.mark.swiftlet_only
@pytest.mark.parametrize("keep_identity", [True, False],
                         ids=["identity-kept", "identity-gone"])
def test_wiped_disk_group_restored(spawn, data_dir, keep_identity):
    """Issue 3, test 2: one disk group emptied while swiftlet is stopped
    (with or without its identity file: under --data a disk group without
    one is initialised again with its old id); after the restart every object and listing
    entry survives; `swiftlet replicate --once`, run beside the server,
    brings back all three byte-identical copies and DB replicas."""
    cfg = config(data_dir, enabled="false")
    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    s = new_session(tok)
    want = fill(s, surl)
    n_live = sum(len(v) for v in want.values())
    assert srv.stop() == 0

    wipe(os.path.join(data_dir, "dg2"), keep_identity)
    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    s = new_session(tok)
    check_all(s, surl, want)
    assert not object_files(os.path.join(data_dir, "dg2"))

    out = replicate_once(data_dir)
    assert "errors              0" in out
    assert_three_identical_copies(data_dir, n_live)
    assert_db_replicas_agree(data_dir)
    check_all(s, surl, want)
    # A second pass finds nothing left to do.
    out = replicate_once(data_dir)
    assert "files copied        0 " in out
    assert "suffixes synced     0" in out


@pytest.mark.swiftlet_only
def test_background_replicator_heals(spawn, data_dir):
    """With a short interval the server's own replicator thread restores a
    wiped disk group within a few seconds, and stops cleanly on SIGTERM."""
    cfg = config(data_dir, enabled="false")
    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    s = new_session(tok)
    want = fill(s, surl, n=12)
    n_live = sum(len(v) for v in want.values())
    assert srv.stop() == 0

    wipe(os.path.join(data_dir, "dg3"))
    cfg = config(data_dir, enabled="true", interval="1")
    srv = spawn(data_dir, extra=["-c", cfg])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len([p for p in object_files(os.path.join(data_dir, "dg3"))
                if p.endswith(".data")]) == n_live:
            break
        time.sleep(0.2)
    # The DB replicas are done in the same pass; give it a moment to end.
    while time.monotonic() < deadline:
        try:
            assert_three_identical_copies(data_dir, n_live)
            assert_db_replicas_agree(data_dir)
            break
        except AssertionError:
            time.sleep(0.2)
    assert_three_identical_copies(data_dir, n_live)
    assert_db_replicas_agree(data_dir)
    surl, tok = srv.auth()
    check_all(new_session(tok), surl, want)
    assert srv.stop() == 0


@pytest.mark.swiftlet_only
def test_first_pass_runs_at_start(spawn, data_dir):
    """The first pass starts with the server, not an interval (30 s) later,
    as Swift's replicator does: a disk group wiped while the server was
    down is whole again within seconds of the start."""
    cfg = config(data_dir, enabled="false")
    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    want = fill(new_session(tok), surl, n=5)
    n_live = sum(len(v) for v in want.values())
    assert srv.stop() == 0

    wipe(os.path.join(data_dir, "dg2"))
    cfg = config(data_dir, enabled="true")     # the default interval
    srv = spawn(data_dir, extra=["-c", cfg])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            assert_three_identical_copies(data_dir, n_live)
            break
        except AssertionError:
            time.sleep(0.2)
    assert_three_identical_copies(data_dir, n_live)
    assert srv.stop() == 0


@pytest.mark.swiftlet_only
def test_no_resurrection(spawn, data_dir):
    """A disk group that missed overwrites and deletes (an old copy of it
    put back) must not bring old versions or deleted objects back: after
    replication the newest version wins on every replica and in every
    listing DB."""
    cfg = config(data_dir, enabled="false")
    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    s = new_session(tok)
    assert s.put(surl + "/c").status_code == 201
    v1 = {"o%02d" % i: os.urandom(500 + i) for i in range(20)}
    for name, body in v1.items():
        assert s.put(surl + "/c/" + name, data=body).status_code == 201
    assert srv.stop() == 0
    stale = os.path.join(data_dir, "dg1.stale")
    shutil.copytree(os.path.join(data_dir, "dg1"), stale)

    srv = spawn(data_dir, extra=["-c", cfg])
    surl, tok = srv.auth()
    s = new_session(tok)
    want = dict(v1)
    for i, name in enumerate(sorted(v1)):
        if i % 3 == 0:
            assert s.delete(surl + "/c/" + name).status_code == 204
            del want[name]
        elif i % 3 == 1:
            want[name] = b"v2-" + os.urandom(300)
            assert s.put(surl + "/c/" + name, data=want[name]).status_code == 201
    assert srv.stop() == 0
    shutil.rmtree(os.path.join(data_dir, "dg1"))
    os.rename(stale, os.path.join(data_dir, "dg1"))

    srv = spawn(data_dir, extra=["-c", cfg])
    replicate_once(data_dir)
    surl, tok = srv.auth()
    s = new_session(tok)
    check_all(s, surl, {"c": want}, meta=False)
    for name in set(v1) - set(want):
        assert s.get(surl + "/c/" + name).status_code == 404
    files = [object_files(os.path.join(data_dir, d)) for d in DGS]
    assert files[0] == files[1] == files[2]
    assert len([p for p in files[0] if p.endswith(".data")]) == len(want)
    assert len([p for p in files[0] if p.endswith(".ts")]) == len(v1) - len(want)
    assert_db_replicas_agree(data_dir)
    rows = db_rows(os.path.join(data_dir, "dg1"), "containers")
    live = sorted(r[0] for rs in rows.values() for r in rs if r[4] == 0)
    assert live == sorted(want)


def _thread_nice(pid, name):
    """The niceness of the thread of pid named name (its comm). The
    background threads start (and name themselves) just after the server
    answers its first request, so wait up to 10 s for it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    if f.read().strip() != name:
                        continue
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    # after "(comm)": state is field 3, nice field 19
                    return int(f.read().rsplit(")", 1)[1].split()[16])
            except FileNotFoundError:
                continue    # a thread that just ended
        time.sleep(0.05)
    raise AssertionError("no thread named %r" % name)


@pytest.mark.swiftlet_only
@pytest.mark.parametrize("conf,want", [(None, 10), ("[replicator]\nnice = 17\n", 17)])
def test_replicator_runs_behind_requests(spawn, conf, want):
    """A pass walks every hash directory; its thread runs at a lower
    priority ([replicator] nice, 10 by default) so requests come first,
    while the request threads keep the process's own."""
    srv = spawn(conf=conf)
    assert _thread_nice(srv.proc.pid, "replicator") == want
    assert _thread_nice(srv.proc.pid, "journal") == 0
