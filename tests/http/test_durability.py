"""Durability: restarts, kill -9 during uploads, clients that vanish.

The restart and crash tests start their own `swiftlet serve --data DIR`
(swiftlet_only); the disconnect test runs against any server."""

import hashlib
import os
import random
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import pytest
import requests

from conftest import SWIFTLET_BIN, PerThread, new_session


def md5(b):
    return hashlib.md5(b).hexdigest()


@pytest.mark.swiftlet_only
def test_restart_persistence(spawn, data_dir):
    srv = spawn(data_dir)
    surl, tok = srv.auth()
    s = new_session(tok)
    objs = {"o/%03d" % i: os.urandom(random.randint(0, 200000))
            for i in range(40)}
    assert s.put(surl + "/keep", headers={"X-Container-Meta-Color":
                                          "red"}).status_code == 201
    assert s.post(surl, headers={"X-Account-Meta-Mark": "m"}).status_code \
        == 204
    for name, body in objs.items():
        r = s.put(surl + "/keep/" + name, data=body,
                  headers={"X-Object-Meta-Len": str(len(body)),
                           "Content-Type": "application/x-test"})
        assert r.status_code == 201
    assert s.delete(surl + "/keep/o/000").status_code == 204
    del objs["o/000"]
    assert srv.stop() == 0

    srv2 = spawn(data_dir)
    surl, tok = srv2.auth()
    s = new_session(tok)
    h = s.head(surl + "/keep").headers
    assert h["X-Container-Meta-Color"] == "red"
    assert h["X-Container-Object-Count"] == str(len(objs))
    assert h["X-Container-Bytes-Used"] == \
        str(sum(len(b) for b in objs.values()))
    assert s.head(surl).headers["X-Account-Meta-Mark"] == "m"
    r = s.get(surl + "/keep", params={"format": "json"})
    assert [o["name"] for o in r.json()] == sorted(objs)
    for name, body in objs.items():
        r = s.get(surl + "/keep/" + name)
        assert r.status_code == 200
        assert r.content == body
        assert r.headers["Etag"] == md5(body)
        assert r.headers["X-Object-Meta-Len"] == str(len(body))
        assert r.headers["Content-Type"] == "application/x-test"
    assert s.get(surl + "/keep/o/000").status_code == 404


def _uploader(idx, url, token, stop, acked, tried, bad, lock):
    s = requests.Session()
    s.headers["X-Auth-Token"] = token
    n = 0
    rnd = random.Random(idx * 7919 + int(time.time()))
    while not stop.is_set():
        name = "w%d/%05d" % (idx, n)
        n += 1
        body = os.urandom(rnd.choice([0, 1, 100, 4096, 65536, 300000,
                                      rnd.randint(1, 1 << 20)]))
        digest = md5(body)
        with lock:
            tried[name] = (digest, len(body))
        try:
            r = s.put(url + "/" + name, data=body, timeout=20)
        except requests.RequestException:
            s.close()
            return
        if r.status_code == 201:
            with lock:
                acked[name] = (digest, len(body))
                if r.headers.get("Etag") != digest:
                    bad.append((name, r.headers.get("Etag"), digest))
        else:
            with lock:
                bad.append((name, r.status_code, None))


@pytest.mark.swiftlet_only
@pytest.mark.parametrize("round_no", [1, 2, 3])
def test_crash_kill9(spawn, data_dir, round_no):
    srv = spawn(data_dir)
    surl, tok = srv.auth()
    url = surl + "/crash"
    assert new_session(tok).put(url).status_code == 201
    acked, tried, bad = {}, {}, []
    lock, stop = threading.Lock(), threading.Event()
    threads = [threading.Thread(target=_uploader,
                                args=(i, url, tok, stop, acked, tried, bad,
                                      lock))
               for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(1.0, 3.0))
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) > 0, "no upload was acknowledged before the kill"
    assert not bad, "wrong answers before the kill: %s" % bad[:10]

    srv2 = spawn(data_dir)
    surl, tok = srv2.auth()
    url = surl + "/crash"
    s = new_session(tok)

    listed, marker = {}, ""
    while True:
        r = s.get(url, params={"format": "json", "marker": marker})
        if r.status_code == 204 or not r.json():
            break
        for o in r.json():
            listed[o["name"]] = o
        marker = r.json()[-1]["name"]
    missing = sorted(set(acked) - set(listed))
    assert not missing, "acknowledged but not listed: %s" % missing[:10]

    pool = PerThread(tok)

    def check(name):
        r = pool.session().get(url + "/" + quote(name))
        if r.status_code == 404 and name not in acked:
            return None
        assert r.status_code == 200, (name, r.status_code)
        body_md5 = md5(r.content)
        # never a partial body: what is visible is complete and intact
        assert r.headers["Etag"] == body_md5, name
        assert body_md5 == tried[name][0], name
        assert len(r.content) == tried[name][1], name
        if name in listed:
            assert listed[name]["hash"] == body_md5
            assert listed[name]["bytes"] == len(r.content)
        return name

    with ThreadPoolExecutor(8) as ex:
        seen = [n for n in ex.map(check, sorted(set(tried) | set(listed)))
                if n]
    pool.close()
    assert set(acked) <= set(seen)
    for name in listed:
        assert name in tried, "listed object nobody uploaded: %s" % name
    # the server still takes writes
    assert s.put(url + "/after", data=b"ok").status_code == 201


# ---- kill -9 during uploads, overwrites and deletes, several rounds ----

class _Model:
    """What each name may hold after a crash: the state its last
    acknowledged operation left ("gone", or the MD5 of the body), plus the
    state its operation in flight at the kill would leave, if any. Each name
    belongs to one worker, so its operations are sequential."""

    def __init__(self):
        self.acked = {}        # name -> "gone" | md5
        self.in_flight = {}    # name -> "gone" | md5
        self.lock = threading.Lock()
        self.bad = []

    def allowed(self, name):
        states = {self.acked.get(name, "gone")}
        if name in self.in_flight:
            states.add(self.in_flight[name])
        return states


def _mixed_worker(idx, url, token, stop, model, seed):
    s = requests.Session()
    s.headers["X-Auth-Token"] = token
    rnd = random.Random(seed)
    names = ["m%d/%02d" % (idx, k) for k in range(12)]
    while not stop.is_set():
        name = rnd.choice(names)
        with model.lock:
            exists = model.acked.get(name, "gone") != "gone"
        if exists and rnd.random() < 0.35:
            op, body, outcome = "DELETE", None, "gone"
        else:
            body = os.urandom(rnd.choice([0, 10, 4096, 70000, 300000]))
            op, outcome = "PUT", md5(body)
        with model.lock:
            model.in_flight[name] = outcome
        try:
            r = s.request(op, url + "/" + name, data=body, timeout=20)
        except requests.RequestException:
            return      # the server died: this name stays in flight
        with model.lock:
            if r.status_code in (201, 204) or (op == "DELETE" and
                                               r.status_code == 404):
                model.acked[name] = outcome
                del model.in_flight[name]
            else:
                model.bad.append((op, name, r.status_code))
                return


def _listing(s, url):
    listed, marker = {}, ""
    while True:
        r = s.get(url, params={"format": "json", "marker": marker})
        assert r.status_code in (200, 204)
        if r.status_code == 204 or not r.json():
            return listed
        for o in r.json():
            listed[o["name"]] = o["hash"]
        marker = r.json()[-1]["name"]


def _stray_files(data_dir):
    """Files a crash may have left that no reader or cleaner accounts for:
    anything in tmp/, and any file in a hash directory that is not a
    <ts>.data, <ts>.ts or <ts>.meta."""
    stray = []
    for root, _dirs, files in os.walk(data_dir):
        rel = os.path.relpath(root, data_dir).split(os.sep)
        if len(rel) >= 2 and rel[1] == "tmp":
            stray += [os.path.join(root, f) for f in files]
        elif len(rel) == 5 and rel[1] == "objects":
            stray += [os.path.join(root, f) for f in files
                      if not f.endswith((".data", ".ts", ".meta"))]
    return stray


@pytest.mark.swiftlet_only
def test_crash_kill9_mixed_rounds(spawn, data_dir):
    """Issue 3, test 5: kill -9 at random moments during concurrent
    uploads, overwrites and deletes, five times over one data directory.
    After each restart: every acknowledged write reads back with its ETag,
    every acknowledged delete stays deleted, the listing agrees with the
    objects, and no temp garbage accumulates."""
    model = _Model()
    rnd = random.Random()
    for round_no in range(5):
        srv = spawn(data_dir)
        surl, tok = srv.auth()
        url = surl + "/mixed"
        s = new_session(tok)

        if round_no > 0:
            _check_mixed(s, url, tok, model, data_dir)
        else:
            assert s.put(url).status_code == 201

        stop = threading.Event()
        threads = [threading.Thread(target=_mixed_worker,
                                    args=(i, url, tok, stop, model,
                                          rnd.random()))
                   for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.8, 2.5))
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        assert not model.bad, "wrong answers before the kill: %s" % model.bad
        assert model.acked, "nothing was acknowledged before the kill"

    srv = spawn(data_dir)
    surl, tok = srv.auth()
    _check_mixed(new_session(tok), surl + "/mixed", tok, model, data_dir)
    assert srv.stop() == 0


def _check_mixed(s, url, tok, model, data_dir):
    listed = _listing(s, url)
    pool = PerThread(tok)

    def observe(name):
        r = pool.session().get(url + "/" + quote(name))
        if r.status_code == 404:
            return name, "gone"
        assert r.status_code == 200, (name, r.status_code)
        assert r.headers["Etag"] == md5(r.content), name   # never partial
        return name, md5(r.content)

    names = sorted(set(model.acked) | set(model.in_flight) | set(listed))
    with ThreadPoolExecutor(8) as ex:
        seen = dict(ex.map(observe, names))
    pool.close()
    for name, state in seen.items():
        assert state in model.allowed(name), \
            (name, state, model.allowed(name), model.acked.get(name))
        # the listing agrees with the object, in-flight writes included
        assert listed.get(name, "gone") == state, (name, listed.get(name),
                                                    state)
    # container and account counts agree with the objects too (the replay
    # rolls the containers it touched up into the account)
    n_live = sum(1 for v in seen.values() if v != "gone")
    assert s.head(url).headers["X-Container-Object-Count"] == str(n_live)
    account = url.rsplit("/", 1)[0]
    assert s.head(account).headers["X-Account-Object-Count"] == str(n_live)
    # what was in flight has settled one way or the other
    model.acked.update(seen)
    model.in_flight.clear()
    assert _stray_files(data_dir) == []


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _pending_line(ts, account, container, obj):
    body = ("%d\t%s\t%s\t%s" % (ts, account, container, obj)).encode()
    return body + b"\t%08x\n" % _crc32c(body)


def _forget_rows(data_dir, table_names):
    """Delete rows, as a crash between an object's commit and its row
    commits would leave them missing, in every DB replica that has them:
    {sql: params} run against each DB file under data_dir."""
    import sqlite3
    for root, _dirs, files in os.walk(data_dir):
        for f in files:
            if not f.endswith(".db"):
                continue
            db = sqlite3.connect(os.path.join(root, f))
            for sql, params in table_names:
                try:
                    db.execute(sql, params)
                except sqlite3.OperationalError:
                    pass        # not this kind of DB
            db.commit()
            db.close()


@pytest.mark.swiftlet_only
def test_pending_notes_replayed_at_start(spawn, data_dir):
    """A note left in a pending log (the process died after the object's
    files were durable, before its rows were committed) is replayed at the
    next start: the listing row and the expirer queue entry come back from
    what the replicas hold, and the log is removed."""
    srv = spawn(data_dir)
    surl, tok = srv.auth()
    s = new_session(tok)
    assert s.put(surl + "/rec").status_code == 201
    body = os.urandom(1000)
    at = int(time.time()) + 2
    assert s.put(surl + "/rec/obj", data=body,
                 headers={"X-Delete-At": str(at)}).status_code == 201
    ts = int(s.head(surl + "/rec/obj").headers["X-Timestamp"]
             .replace(".", ""))
    assert srv.stop() == 0

    _forget_rows(data_dir, [("DELETE FROM object WHERE name = ?", ("obj",)),
                            ("DELETE FROM object WHERE name LIKE ?",
                             ("%-AUTH_test/rec/obj",))])
    dg1 = os.path.join(data_dir, "dg1")
    with open(os.path.join(dg1, "pending-1.log"), "wb") as f:
        f.write(_pending_line(ts, "AUTH_test", "rec", "obj"))
        f.write(b"torn line without its checksum")

    srv = spawn(data_dir)
    surl, tok = srv.auth()
    s = new_session(tok)
    r = s.get(surl + "/rec", params={"format": "json"})
    assert [(o["name"], o["hash"]) for o in r.json()] == \
        [("obj", md5(body))]
    assert not [f for f in os.listdir(dg1) if f.startswith("pending-")]
    # the expirer queue entry was restored too
    time.sleep(max(0.0, at + 1 - time.time()))
    p = subprocess.run([SWIFTLET_BIN, "expire", "--once", "--data", data_dir],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"1 objects deleted" in p.stdout, p.stdout
    assert s.get(surl + "/rec", params={"format": "json"}).json() == []


def _object_data_files(data_dir):
    """{dg: (hash dir, .data name, its bytes)} for the one object stored."""
    found = {}
    for dg in sorted(os.listdir(data_dir)):
        for root, _dirs, files in os.walk(os.path.join(data_dir, dg, "objects")):
            for f in files:
                if f.endswith(".data"):
                    with open(os.path.join(root, f), "rb") as fh:
                        found[dg] = (root, f, fh.read())
    return found


@pytest.mark.swiftlet_only
def test_recovery_lists_the_newest_replica(spawn, data_dir):
    """A write in flight at a crash may have reached one replica only.
    Replaying its pending note brings the object's replicas to the newest
    version before setting the listing row: a row set from the two replicas
    a read asks first would name the older version, and keep naming it after
    the replicator copies the newer one everywhere. Each disk group in turn
    holds the lone newer copy, so one round puts it where the read asks
    last."""
    srv = spawn(data_dir)
    surl, tok = srv.auth()
    s = new_session(tok)
    assert s.put(surl + "/conv").status_code == 201
    dgs = sorted(d for d in os.listdir(data_dir) if d.startswith("dg"))
    for holder in dgs:
        old, new = os.urandom(500), os.urandom(600)
        assert s.put(surl + "/conv/obj", data=old).status_code == 201
        old_files = _object_data_files(data_dir)
        assert len(old_files) == len(dgs)
        assert s.put(surl + "/conv/obj", data=new).status_code == 201
        ts = int(s.head(surl + "/conv/obj").headers["X-Timestamp"]
                 .replace(".", ""))
        assert srv.stop() == 0

        # the newer .data stays on holder only, as the crash left it
        for dg, (hdir, name, content) in old_files.items():
            if dg == holder:
                continue
            for f in os.listdir(hdir):
                os.unlink(os.path.join(hdir, f))
            with open(os.path.join(hdir, name), "wb") as fh:
                fh.write(content)
        _forget_rows(data_dir, [("DELETE FROM object WHERE name = ?", ("obj",))])
        with open(os.path.join(data_dir, dgs[0], "pending-1.log"), "wb") as f:
            f.write(_pending_line(ts, "AUTH_test", "conv", "obj"))

        srv = spawn(data_dir)
        surl, tok = srv.auth()
        s = new_session(tok)
        listed = s.get(surl + "/conv", params={"format": "json"}).json()
        assert [(o["name"], o["hash"]) for o in listed] == \
            [("obj", md5(new))], holder
        assert s.get(surl + "/conv/obj").content == new
        # every replica holds the newer version now (a .data starts with
        # its body)
        now = _object_data_files(data_dir)
        assert sorted(now) == dgs
        assert all(content.startswith(new) for _d, _n, content in now.values())


@pytest.mark.swiftlet_only
def test_journal_replayed_after_power_cut(spawn, data_dir):
    """A small write is acknowledged once its journal records are synced;
    its files and listing row reach the disk at the next checkpoint. A power
    cut before that loses them with the page cache: simulated here after a
    kill -9 by removing every object file and listing row. The next start
    puts back every acknowledged write (overwrite, delete and POST included)
    from the journals, then empties them."""
    conf = "[storage]\njournal_checkpoint_ms = 3600000\n"    # never, here
    srv = spawn(data_dir, conf=conf)
    surl, tok = srv.auth()
    s = new_session(tok)
    assert s.put(surl + "/pc").status_code == 201
    bodies = {"o%d" % i: os.urandom(100 + i) for i in range(4)}
    for name, body in bodies.items():
        assert s.put(surl + "/pc/" + name, data=body).status_code == 201
    bodies["o0"] = b"newer"
    assert s.put(surl + "/pc/o0", data=bodies["o0"]).status_code == 201
    assert s.delete(surl + "/pc/o3").status_code == 204
    del bodies["o3"]
    assert s.post(surl + "/pc/o1", headers={"Content-Type": "text/x-posted"}) \
        .status_code == 202
    srv.kill9()

    removed = 0
    for root, _dirs, files in os.walk(data_dir):
        if os.sep + "objects" + os.sep not in root + os.sep:
            continue
        for f in files:
            os.unlink(os.path.join(root, f))
            removed += 1
    # on each replica: o0 (overwritten), o1 and its .meta, o2, o3's tombstone
    assert removed == 3 * 5
    _forget_rows(data_dir, [("DELETE FROM object WHERE name LIKE ?", ("o%",))])

    srv = spawn(data_dir, conf=conf)
    surl, tok = srv.auth()
    s = new_session(tok)
    for name, body in bodies.items():
        r = s.get(surl + "/pc/" + name)
        assert r.status_code == 200 and r.content == body, name
    assert s.get(surl + "/pc/o3").status_code == 404
    assert s.head(surl + "/pc/o1").headers["Content-Type"] == "text/x-posted"
    listing = s.get(surl + "/pc", params={"format": "json"}).json()
    assert [(o["name"], o["hash"]) for o in listing] == \
        sorted((n, md5(b)) for n, b in bodies.items())
    assert [o["content_type"] for o in listing if o["name"] == "o1"] == \
        ["text/x-posted"]
    # Replayed, synced, and gone: the disk groups share one filesystem, so
    # one journal, with one empty file in the first disk group.
    for dg in ("dg1", "dg2", "dg3"):
        d = os.path.join(data_dir, dg)
        files = [f for f in os.listdir(d) if f.startswith("journal-")]
        assert len(files) == (1 if dg == "dg1" else 0), (dg, files)
        for f in files:
            assert os.path.getsize(os.path.join(d, f)) == 0


def _partial_put(container_url, token, name, chunked):
    u = urlparse(container_url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as sk:
        head = ("PUT %s/%s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
                % (u.path, name, u.netloc, token))
        if chunked:
            head += "Transfer-Encoding: chunked\r\n\r\n"
            sk.sendall(head.encode() + b"10000\r\n" + b"x" * 5000)
        else:
            head += "Content-Length: 1000000\r\n\r\n"
            sk.sendall(head.encode() + b"x" * 50000)
        time.sleep(0.3)
        # RST rather than FIN, like a client that dies
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_client_disconnect_mid_upload(server, sess, token, container):
    for i, chunked in enumerate([False, True, False, True]):
        _partial_put(container, token, "partial-%d" % i, chunked)
    time.sleep(1.0)
    assert sess.get(server.base + "/healthcheck").status_code == 200
    for i in range(4):
        assert sess.head(container + "/partial-%d" % i).status_code == 404
    r = sess.get(container, params={"format": "json"})
    assert r.status_code == 200
    assert r.json() == []
    # the server keeps serving
    assert sess.put(container + "/whole", data=b"fine").status_code == 201
    assert sess.get(container + "/whole").content == b"fine"
    # an interrupted overwrite leaves the old object in place
    _partial_put(container, token, "whole", False)
    time.sleep(0.5)
    r = sess.get(container + "/whole")
    assert r.status_code == 200 and r.content == b"fine"


def test_many_connections_keep_working(server, token, container):
    # several clients at once, each with keep-alive: nothing is lost
    pool = PerThread(token)

    def work(i):
        s = pool.session()
        body = ("%d" % i).encode() * 100
        r = s.put(container + "/k%03d" % i, data=body)
        assert r.status_code == 201
        r = s.get(container + "/k%03d" % i)
        assert r.content == body
        return i

    with ThreadPoolExecutor(16) as ex:
        assert sorted(ex.map(work, range(200))) == list(range(200))
    pool.close()
    s = new_session(token)
    assert s.head(container).headers["X-Container-Object-Count"] == "200"
