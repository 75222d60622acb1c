"""Self-healing, part one: the auditor, quarantine and the expirer.

Issue 3, test 3: one byte flipped in one replica of an object while the
server runs. A GET still returns the right bytes (a small object through the
read's CRC32C check and fallback; a large one after the auditor ran), and
`swiftlet audit --once` quarantines exactly that copy, and `swiftlet
replicate --once` restores it: `replica_copies()` counts the good copies.

The expirer: objects whose X-Delete-At / X-Delete-After has passed leave
GET and the listings after `swiftlet expire --once` and through the
background thread; objects re-PUT without a delete-at survive.

All tests start their own `swiftlet serve --data DIR` (swiftlet_only)."""

import hashlib
import os
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import SWIFTLET_BIN, new_session

pytestmark = pytest.mark.swiftlet_only

ACCOUNT = "AUTH_test"


# --------------------------------------------------------------------------
# finding the replicas of an object on disk (docs/on-disk.md)


def _dg_dirs(data_dir):
    return sorted(os.path.join(data_dir, d) for d in os.listdir(data_dir)
                  if d.startswith("dg"))


def _cluster_id(data_dir):
    with open(os.path.join(_dg_dirs(data_dir)[0], ".swiftlet-dg")) as f:
        for line in f:
            if line.startswith("cluster="):
                return line.strip().split("=", 1)[1]
    raise AssertionError("no cluster id")


def _ring(data_dir):
    """(part_power, {part: [dg ids in placement order]}, {id: path})."""
    parts, dgs, power = {}, {}, None
    with open(os.path.join(data_dir, "ring.txt")) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "part_power":
                power = int(w[1])
            elif w and w[0] == "dg":
                dgs[int(w[1])] = w[4]
            elif w and w[0] == "p":
                parts[int(w[1])] = [int(x) for x in w[2:]]
    return power, parts, dgs


def object_hash(data_dir, container, obj):
    """(hash hex, partition) of /AUTH_test/container/obj."""
    h = hashlib.md5((_cluster_id(data_dir) + "/%s/%s/%s" % (
        ACCOUNT, container, obj)).encode()).digest()
    power, _, _ = _ring(data_dir)
    part = int.from_bytes(h[:4], "big") >> (32 - power)
    return h.hex(), part


def replica_dirs(data_dir, container, obj):
    """The object's hash directory on each of its primaries, in ring order."""
    hx, part = object_hash(data_dir, container, obj)
    _, parts, dgs = _ring(data_dir)
    return [os.path.join(dgs[i], "objects", str(part), hx[-3:], hx)
            for i in parts[part]]


def newest_data(d):
    files = sorted(f for f in os.listdir(d) if f.endswith(".data")) \
        if os.path.isdir(d) else []
    return os.path.join(d, files[-1]) if files else None


def data_file_ok(path):
    """Check one .data as the auditor does: trailer, body MD5 vs its ETag."""
    import json
    with open(path, "rb") as f:
        raw = f.read()
    magic, body_len, json_len, _ = struct.unpack("<8sQII", raw[-24:])
    if magic != b"SWLTOBJ1" or body_len + json_len + 24 != len(raw):
        return False
    try:
        meta = json.loads(raw[body_len:body_len + json_len])
    except ValueError:
        return False
    return hashlib.md5(raw[:body_len]).hexdigest() == meta.get("etag")


def replica_copies(data_dir, container, obj):
    """How many good copies of the object's newest version the disk groups
    hold, on primaries and handoffs alike (for the replicator's check that
    3 exist again)."""
    hx, part = object_hash(data_dir, container, obj)
    good = []
    for dg in _dg_dirs(data_dir):
        p = newest_data(os.path.join(dg, "objects", str(part), hx[-3:], hx))
        if p and data_file_ok(p):
            good.append(os.path.basename(p))
    newest = max(good) if good else None
    return sum(1 for g in good if g == newest)


def quarantined(data_dir, container, obj):
    hx, _ = object_hash(data_dir, container, obj)
    out = []
    for dg in _dg_dirs(data_dir):
        d = os.path.join(dg, "quarantined", "objects", hx)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in os.listdir(d)]
    return out


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))


def run_cmd(*args, timeout=120):
    p = subprocess.run([SWIFTLET_BIN] + list(args), capture_output=True,
                       timeout=timeout)
    out = p.stdout.decode() + p.stderr.decode()
    assert p.returncode == 0, out
    return p.stdout.decode()


def write_conf(text):
    fd, path = tempfile.mkstemp(prefix="swiftlet-conf-", suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


@pytest.fixture
def conf_files():
    made = []

    def _make(text):
        made.append(write_conf(text))
        return made[-1]
    yield _make
    for p in made:
        os.unlink(p)


def setup_object(srv, container, obj, body, headers=None):
    surl, tok = srv.auth()
    s = new_session(tok)
    assert s.put(surl + "/" + container).status_code in (201, 202)
    r = s.put("%s/%s/%s" % (surl, container, obj), data=body,
              headers=headers or {})
    assert r.status_code == 201, r.status_code
    return s, surl


# --------------------------------------------------------------------------
# issue 3, test 3: one flipped byte


def test_small_object_get_skips_corrupt_replica(spawn):
    srv = spawn()
    body = os.urandom(5000)
    s, surl = setup_object(srv, "c", "small", body)
    first = newest_data(replica_dirs(srv.data_dir, "c", "small")[0])
    flip_byte(first, 1234)           # the replica a GET reads first
    assert replica_copies(srv.data_dir, "c", "small") == 2
    for _ in range(3):
        r = s.get(surl + "/c/small")
        assert r.status_code == 200
        assert r.content == body
        assert r.headers["Etag"] == hashlib.md5(body).hexdigest()
    # The read moved the bad copy aside; the other two stay.
    q = quarantined(srv.data_dir, "c", "small")
    assert [os.path.basename(p) for p in q] == [os.path.basename(first)]
    assert not os.path.exists(first)
    assert replica_copies(srv.data_dir, "c", "small") == 2
    m = s.get(srv.base + "/metrics").text
    assert "swiftlet_quarantined_total 1" in m
    # The replicator brings the third copy back.
    run_cmd("replicate", "--once", "--data", srv.data_dir)
    assert replica_copies(srv.data_dir, "c", "small") == 3
    assert s.get(surl + "/c/small").content == body


def test_small_object_ranges_come_from_a_good_replica(spawn):
    srv = spawn()
    body = bytes(range(256)) * 40
    s, surl = setup_object(srv, "c", "ranged", body)
    for d in replica_dirs(srv.data_dir, "c", "ranged")[:2]:
        flip_byte(newest_data(d), 100)   # two of three copies bad
    r = s.get(surl + "/c/ranged", headers={"Range": "bytes=90-109"})
    assert r.status_code == 206
    assert r.content == body[90:110]
    assert len(quarantined(srv.data_dir, "c", "ranged")) == 2


def test_audit_once_quarantines_exactly_the_bad_copy(spawn):
    srv = spawn()
    body = os.urandom(1 << 20)       # sent with sendfile: not checked by GET
    s, surl = setup_object(srv, "c", "large", body)
    small = os.urandom(100)
    assert s.put(surl + "/c/fine", data=small).status_code == 201
    dirs = replica_dirs(srv.data_dir, "c", "large")
    bad = newest_data(dirs[1])
    flip_byte(bad, 500000)
    assert replica_copies(srv.data_dir, "c", "large") == 2

    out = run_cmd("audit", "--once", "--data", srv.data_dir)
    assert "1 quarantined" in out, out
    q = quarantined(srv.data_dir, "c", "large")
    bad_dg = bad
    for _ in range(5):               # <dg>/objects/<part>/<suffix>/<hash>/f
        bad_dg = os.path.dirname(bad_dg)
    assert len(q) == 1 and q[0].startswith(bad_dg + "/quarantined/objects/")
    assert os.path.basename(q[0]) == os.path.basename(bad)
    assert not os.path.exists(bad)
    for d in (dirs[0], dirs[2]):
        assert data_file_ok(newest_data(d))
    assert quarantined(srv.data_dir, "c", "fine") == []
    assert replica_copies(srv.data_dir, "c", "large") == 2

    # Every read now comes from a good copy; a second pass finds nothing.
    for _ in range(3):
        r = s.get(surl + "/c/large")
        assert r.status_code == 200 and r.content == body
    out = run_cmd("audit", "--once", "--data", srv.data_dir)
    assert "0 quarantined" in out, out
    # The replicator restores the quarantined copy, byte for byte.
    run_cmd("replicate", "--once", "--data", srv.data_dir)
    assert replica_copies(srv.data_dir, "c", "large") == 3
    restored = newest_data(dirs[1])
    with open(restored, "rb") as a, open(newest_data(dirs[0]), "rb") as b:
        assert a.read() == b.read()


def test_auditor_thread_quarantines(spawn, conf_files):
    conf = conf_files("[auditor]\ninterval = 1\nfiles_per_second = 0\n"
                      "bytes_per_second = 0\n")
    srv = spawn(extra=["-c", conf])
    body = os.urandom(300000)
    s, surl = setup_object(srv, "c", "bg", body)
    bad = newest_data(replica_dirs(srv.data_dir, "c", "bg")[2])
    flip_byte(bad, 7)
    deadline = time.monotonic() + 20
    while not quarantined(srv.data_dir, "c", "bg"):
        assert time.monotonic() < deadline, "auditor thread quarantined nothing"
        time.sleep(0.2)
    assert replica_copies(srv.data_dir, "c", "bg") == 2
    m = s.get(srv.base + "/metrics").text
    assert "swiftlet_quarantined_total 1" in m
    files = [l for l in m.splitlines()
             if l.startswith("swiftlet_auditor_files_total ")]
    assert files and int(files[0].split()[1]) >= 3


def test_audit_command_usage_and_empty_data(tmp_path):
    p = subprocess.run([SWIFTLET_BIN, "audit", "--once"], capture_output=True,
                       timeout=30)
    assert p.returncode == 2
    p = subprocess.run([SWIFTLET_BIN, "audit", "--once", "--data",
                        str(tmp_path / "none")], capture_output=True,
                       timeout=30)
    assert p.returncode != 0


# --------------------------------------------------------------------------
# the expirer


def listing(s, curl):
    r = s.get(curl, params={"format": "json"})
    assert r.status_code == 200
    return sorted(o["name"] for o in r.json())


def test_expire_once(spawn):
    srv = spawn()
    s, surl = setup_object(srv, "e", "after", b"a",
                           {"X-Delete-After": "1"})
    c = surl + "/e"
    at = str(int(time.time()) + 3)     # still ahead when a slow build PUTs it
    assert s.put(c + "/at", data=b"b", headers={"X-Delete-At": at}) \
        .status_code == 201
    assert s.put(c + "/keep", data=b"c").status_code == 201
    # overwritten without a delete-at: its queue entry is stale
    assert s.put(c + "/reput", data=b"d", headers={"X-Delete-After": "1"}) \
        .status_code == 201
    assert s.put(c + "/reput", data=b"d2").status_code == 201
    # a delete-at set by a POST, and one removed by a POST
    assert s.put(c + "/posted", data=b"e").status_code == 201
    assert s.post(c + "/posted", headers={"X-Delete-After": "1"}) \
        .status_code == 202
    # Long enough that the POST below always finds it, even when a slow
    # (sanitizer) build takes seconds over the requests above.
    assert s.put(c + "/unset", data=b"f", headers={"X-Delete-After": "60"}) \
        .status_code == 201
    assert s.post(c + "/unset", headers={"X-Object-Meta-A": "b"}) \
        .status_code == 202
    time.sleep(3.1)

    # Reads treat them as gone already; listings keep them until expired.
    for name in ("after", "at", "posted"):
        assert s.get(c + "/" + name).status_code == 404
    assert listing(s, c) == ["after", "at", "keep", "posted", "reput",
                             "unset"]
    out = run_cmd("expire", "--once", "--data", srv.data_dir)
    assert "3 objects deleted" in out, out
    assert listing(s, c) == ["keep", "reput", "unset"]
    assert s.get(c + "/reput").content == b"d2"
    assert s.get(c + "/unset").content == b"f"
    h = s.head(c).headers
    assert h["X-Container-Object-Count"] == "3"
    # The queue is empty now: a second pass has nothing to do.
    out = run_cmd("expire", "--once", "--data", srv.data_dir)
    assert "0 entries due" in out, out
    # The objects were deleted, not only hidden: their tombstones are there.
    for d in replica_dirs(srv.data_dir, "e", "after"):
        assert any(f.endswith(".ts") for f in os.listdir(d))


def test_expire_survives_repost_with_later_time(spawn):
    srv = spawn()
    # Two seconds leave a slow (sanitizer) build time for the POST.
    s, surl = setup_object(srv, "e", "later", b"x",
                           {"X-Delete-After": "2"})
    later = str(int(time.time()) + 3600)
    assert s.post(surl + "/e/later", headers={"X-Delete-At": later}) \
        .status_code == 202
    time.sleep(3.1)
    out = run_cmd("expire", "--once", "--data", srv.data_dir)
    assert "0 objects deleted" in out, out
    r = s.get(surl + "/e/later")
    assert r.status_code == 200 and r.headers["X-Delete-At"] == later


def test_expirer_thread(spawn, conf_files):
    conf = conf_files("[expirer]\ninterval = 1\n")
    srv = spawn(extra=["-c", conf])
    s, surl = setup_object(srv, "t", "gone", b"x", {"X-Delete-After": "1"})
    assert s.put(surl + "/t/stays", data=b"y").status_code == 201
    deadline = time.monotonic() + 20
    while listing(s, surl + "/t") != ["stays"]:
        assert time.monotonic() < deadline, "the expirer thread did not run"
        time.sleep(0.3)
    assert s.get(surl + "/t/gone").status_code == 404
