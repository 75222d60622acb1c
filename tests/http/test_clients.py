"""The backup clients people really use, run against the real binary.

rclone, restic and duplicity (Debian packages, installed by
deploy/install-deps.sh test) and the `swift` CLI back up a small tree (a few
dozen small files with awkward names and nanosecond mtimes, plus two files of
a few MiB), restore it and compare it byte for byte. Each client runs with
HOME, its caches and its config in a temporary directory, so it writes nothing
outside it, and each call is bounded by CLIENT_TIMEOUT.

The server is spawned once for the module (or SWIFTLET_URL, so the same tests
run against OpenStack Swift 2.30 unchanged).

Segmented uploads need the large-object support of issue 6: rclone's chunked
upload and the swift CLI's `-S` without --use-slo write DLOs, `--use-slo` SLOs.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (SWIFTLET_URL, Server, drop_container, new_session,
                      start_swiftlet, unique)

CLIENT_TIMEOUT = 120
SEG = 1 << 20                     # segment / chunk size of the big files
BIG = {"big/disk.img": 3 * SEG, "big/odd size.bin": 2 * SEG + 12345}
# mtimes with all nine fractional digits in use: rclone must get them back
# unchanged from X-Object-Meta-Mtime.
MTIME_NS = 1700000000 * 10**9 + 123456789


# --------------------------------------------------------------------------
# fixtures: one server, one source tree, a private HOME per test


@pytest.fixture(scope="module")
def srv():
    if SWIFTLET_URL:
        yield Server(SWIFTLET_URL)
        return
    data = tempfile.mkdtemp(prefix="swiftlet-clients-")
    s = start_swiftlet(["serve", "--data", data, "--user",
                        "test:tester:testing:admin"])
    yield s
    rc = s.stop()
    log = s.log()
    if s.log_path and os.path.exists(s.log_path):
        os.unlink(s.log_path)
    shutil.rmtree(data, ignore_errors=True)
    # Under ASan a leak or a sanitizer report shows as a non-zero exit.
    assert rc == 0, "swiftlet exit status %r; log tail:\n%s" % (rc, log)


@pytest.fixture(scope="module")
def api(srv):
    """(storage_url, authenticated requests session) for checks."""
    url, tok = srv.auth()
    s = new_session(tok)
    yield url, s
    s.close()


def _write(root, rel, data, mtime_ns):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, ns=(mtime_ns, mtime_ns))


def make_tree(root):
    """Fill ROOT with 36 small files and the BIG ones (no empty dirs:
    object stores keep none, so rclone would not bring them back)."""
    names = ["sp ace.txt", "plus+sign", "pct%25x", "\u00fcn\u00ef c\u00f6d"
             "\u00e9.txt", "hash#x", "q?mark", "semi;colon", "amp&x",
             "tilde~", "star*", "empty"]
    rels = ["weird/" + n for n in names]
    rels += ["d%d/sub%d/f%02d.dat" % (i % 4, i % 3, i) for i in range(25)]
    for i, rel in enumerate(rels):
        data = b"" if rel.endswith("empty") else os.urandom(50 + 97 * i)
        _write(root, rel, data, MTIME_NS + i * 1000003)
    for i, (rel, size) in enumerate(sorted(BIG.items())):
        _write(root, rel, os.urandom(size), MTIME_NS + 7 + i)


@pytest.fixture(scope="module")
def tree():
    root = tempfile.mkdtemp(prefix="swiftlet-clients-src-")
    src = os.path.join(root, "src")
    make_tree(src)
    yield src
    shutil.rmtree(root, ignore_errors=True)


def digest(root):
    """{relative path: sha256} of every file under ROOT."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(
                    fh.read()).hexdigest()
    return out


def mtimes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = os.stat(p).st_mtime_ns
    return out


class Clients:
    """Runs the client programs with everything they write under TMP."""

    def __init__(self, srv, tmp):
        self.tmp = tmp
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        conf = os.path.join(tmp, "rclone.conf")
        with open(conf, "w") as f:
            f.write("[sw]\ntype = swift\nauth = %s\nuser = %s\nkey = %s\n"
                    "auth_version = 1\n" % (srv.auth_url, srv.user, srv.key))
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": home, "TMPDIR": tmp,
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "RCLONE_CONFIG": conf,
            "RESTIC_CACHE_DIR": os.path.join(tmp, "restic-cache"),
            "RESTIC_PASSWORD": "clients-test",
            "ST_AUTH": srv.auth_url, "ST_USER": srv.user, "ST_KEY": srv.key,
            # duplicity's swift backend reads SWIFT_*; with only v1 settings
            # swiftclient also wants ST_* (set above).
            "SWIFT_AUTHURL": srv.auth_url, "SWIFT_USERNAME": srv.user,
            "SWIFT_PASSWORD": srv.key, "SWIFT_AUTHVERSION": "1",
        }

    def run(self, *argv, cwd=None, stdin=None, check=True):
        p = subprocess.run(list(argv), env=self.env, cwd=cwd or self.tmp,
                           input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CLIENT_TIMEOUT)
        if check:
            assert p.returncode == 0, (argv, p.returncode,
                                       p.stdout[-3000:], p.stderr[-3000:])
        return p

    def rclone(self, *args, **kw):
        return self.run("rclone", "-q", "--retries", "1",
                        "--low-level-retries", "2", "--contimeout", "10s",
                        "--timeout", "60s", *args, **kw)

    def restic(self, repo, *args, **kw):
        return self.run("restic", "-q", "-r", "swift:%s:/repo" % repo,
                        *args, **kw)

    def duplicity(self, *args, **kw):
        return self.run("duplicity", "--no-encryption", "-v", "error",
                        "--archive-dir", os.path.join(self.tmp, "dup-arch"),
                        "--name", "clients", *args, **kw)

    def swift(self, *args, **kw):
        return self.run("swift", *args, **kw)


@pytest.fixture
def clients(srv):
    tmp = tempfile.mkdtemp(prefix="swiftlet-clients-")
    yield Clients(srv, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def cname(api):
    """A fresh container name; it and its _segments twin are dropped at
    the end (the client creates them)."""
    name = unique("cl")
    yield name
    url, s = api
    for c in (name, name + "_segments"):
        drop_container(s, url + "/" + c)


def listing(api, container, **params):
    url, s = api
    params["format"] = "json"
    r = s.get(url + "/" + container, params=params)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.status_code
    return r.json()


def head(api, container, obj):
    url, s = api
    r = s.head("%s/%s/%s" % (url, container, obj))
    assert r.status_code == 200, (obj, r.status_code)
    return r.headers


def lsl(out):
    """rclone lsl output -> {path: (size, mtime string)}."""
    res = {}
    for line in out.decode("utf-8").splitlines():
        size, day, clock, path = line.split(None, 3)
        res[path] = (int(size), day + " " + clock)
    return res


# --------------------------------------------------------------------------
# rclone


def test_rclone_sync_check_download_delete(clients, cname, api, tree):
    c = clients
    remote = "sw:" + cname
    c.rclone("sync", tree, remote)
    names = {o["name"] for o in listing(api, cname)}
    assert names == set(digest(tree))

    # check compares MD5s (the ETags): equal trees pass, a changed byte of
    # the same size fails.
    c.rclone("check", tree, remote)
    altered = os.path.join(c.tmp, "altered")
    shutil.copytree(tree, altered)
    p = os.path.join(altered, "d1", "sub1", "f01.dat")
    with open(p, "r+b") as f:
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 0xFF]))
    assert c.rclone("check", altered, remote, check=False).returncode != 0

    # The mtimes come back to the nanosecond, over the API and in rclone.
    rel = "weird/sp ace.txt"
    ns = os.stat(os.path.join(tree, rel)).st_mtime_ns
    assert head(api, cname, "weird/sp%20ace.txt")["X-Object-Meta-Mtime"] \
        == "%d.%09d" % divmod(ns, 10**9)
    assert lsl(c.rclone("lsl", remote).stdout) == \
        lsl(c.rclone("lsl", tree).stdout)

    down = os.path.join(c.tmp, "down")
    c.rclone("sync", remote, down)
    assert digest(down) == digest(tree)
    assert mtimes(down) == mtimes(tree)

    c.rclone("delete", remote)
    assert listing(api, cname) == []


def test_rclone_mtime_only_change(clients, cname, api, tree):
    """A touched file is not uploaded again: rclone POSTs the new
    X-Object-Meta-Mtime, and it must read back exactly."""
    c = clients
    src = os.path.join(c.tmp, "src")
    shutil.copytree(tree, src)
    c.rclone("copy", src, "sw:" + cname, "--include", "weird/**")
    before = head(api, cname, "weird/amp%26x")
    new_ns = (MTIME_NS // 10**9 + 86400) * 10**9 + 987654321
    os.utime(os.path.join(src, "weird", "amp&x"), ns=(new_ns, new_ns))
    c.rclone("copy", src, "sw:" + cname, "--include", "weird/**")
    after = head(api, cname, "weird/amp%26x")
    assert after["X-Object-Meta-Mtime"] == "%d.%09d" % divmod(new_ns, 10**9)
    assert after["Etag"] == before["Etag"]
    out = lsl(c.rclone("lsl", "sw:%s/weird" % cname).stdout)
    assert out == lsl(c.rclone("lsl", os.path.join(src, "weird")).stdout)


def test_rclone_streamed_upload(clients, cname, api):
    """rcat with --swift-no-chunk sends one PUT of unknown length:
    Transfer-Encoding: chunked with Expect: 100-continue."""
    c = clients
    data = os.urandom(SEG + 4321)
    c.rclone("mkdir", "sw:" + cname)
    c.rclone("rcat", "--swift-no-chunk", "sw:%s/streamed.bin" % cname,
             stdin=data)
    h = head(api, cname, "streamed.bin")
    assert int(h["Content-Length"]) == len(data)
    assert h["Etag"] == hashlib.md5(data).hexdigest()
    assert c.rclone("cat", "sw:%s/streamed.bin" % cname).stdout == data


def test_rclone_chunked_upload_dlo(clients, cname, api, tree):
    """Needs DLO (issue 6, largeobj): files above --swift-chunk-size go up
    as segments in <container>_segments under an X-Object-Manifest."""
    c = clients
    remote = "sw:" + cname
    c.rclone("copy", "--swift-chunk-size", "1M", os.path.join(tree, "big"),
             remote)
    segs = listing(api, cname + "_segments")
    assert len(segs) == 3 + 3          # 3 MiB and 2 MiB + 12345 bytes
    assert all(o["bytes"] <= SEG for o in segs)
    for rel, size in BIG.items():
        name = rel.split("/", 1)[1]
        h = head(api, cname, name.replace(" ", "%20"))
        assert h["X-Object-Manifest"].startswith(cname + "_segments/")
        assert int(h["Content-Length"]) == size
    c.rclone("check", "--download", os.path.join(tree, "big"), remote)
    down = os.path.join(c.tmp, "down")
    c.rclone("sync", remote, down)
    assert digest(down) == {k.split("/", 1)[1]: v for k, v in
                            digest(tree).items() if k.startswith("big/")}
    assert lsl(c.rclone("lsl", remote).stdout) == \
        lsl(c.rclone("lsl", os.path.join(tree, "big")).stdout)

    # A new mtime: with no MD5 to compare (a DLO has none) rclone uploads
    # the file again under new segment names and deletes the old segments.
    local = os.path.join(c.tmp, "big")
    shutil.copytree(os.path.join(tree, "big"), local)
    new_ns = (MTIME_NS // 10**9 + 3600) * 10**9 + 555555555
    os.utime(os.path.join(local, "disk.img"), ns=(new_ns, new_ns))
    c.rclone("copy", "--swift-chunk-size", "1M", local, remote)
    now = listing(api, cname + "_segments")
    assert len(now) == len(segs)
    assert sum(o not in segs for o in now) == 3
    h = head(api, cname, "disk.img")
    assert h["X-Object-Manifest"].startswith(cname + "_segments/")
    assert h["X-Object-Meta-Mtime"] == "%d.%09d" % divmod(new_ns, 10**9)
    assert lsl(c.rclone("lsl", remote).stdout) == \
        lsl(c.rclone("lsl", local).stdout)
    c.rclone("check", "--download", local, remote)
    c.rclone("delete", remote)
    assert listing(api, cname) == []
    assert listing(api, cname + "_segments") == []


# --------------------------------------------------------------------------
# restic


def _restic_summary(out):
    for line in out.decode("utf-8").splitlines():
        if line.startswith("{"):
            msg = json.loads(line)
            if msg.get("message_type") == "summary":
                return msg
    raise AssertionError("no summary in restic output: %r" % out[-2000:])


def test_restic_backup_check_restore_prune(clients, cname, api, tree):
    c = clients
    c.restic(cname, "init")
    # A relative path: with an absolute one the snapshot would hold /tmp,
    # whose mtime other processes change between the two backups.
    top = os.path.dirname(tree)
    first = _restic_summary(c.restic(cname, "backup", "--json", "src",
                                     cwd=top).stdout)
    assert first["files_new"] == len(digest(tree))
    second = _restic_summary(c.restic(cname, "backup", "--json", "src",
                                      cwd=top).stdout)
    assert (second["files_new"], second["files_changed"],
            second["data_added"]) == (0, 0, 0)
    snaps = json.loads(c.restic(cname, "snapshots", "--json").stdout)
    assert len(snaps) == 2

    # --read-data reads every pack back (restic uses Range requests and
    # insists on exact 206 lengths).
    c.restic(cname, "check", "--read-data")
    dst = os.path.join(c.tmp, "restore")
    c.restic(cname, "restore", "latest", "--target", dst)
    assert digest(os.path.join(dst, "src")) == digest(tree)

    c.restic(cname, "forget", "--keep-last", "1", "--prune")
    snaps = json.loads(c.restic(cname, "snapshots", "--json").stdout)
    assert [s["short_id"] for s in snaps] == [second["snapshot_id"][:8]]
    c.restic(cname, "check")
    assert any(o["name"].startswith("repo/data/")
               for o in listing(api, cname))


# --------------------------------------------------------------------------
# duplicity


def test_duplicity_full_incremental_verify_restore(clients, cname, api,
                                                    tree):
    """Under a prefix, so duplicity lists with the legacy path= parameter."""
    c = clients
    src = os.path.join(c.tmp, "src")
    shutil.copytree(tree, src)
    url = "swift://%s/pre/fix" % cname
    c.duplicity("full", src, url)
    _write(src, "d9/new.txt", b"added after the full backup\n", MTIME_NS)
    with open(os.path.join(src, "weird", "amp&x"), "ab") as f:
        f.write(b"changed")
    c.duplicity("incremental", src, url)

    names = [o["name"] for o in listing(api, cname, path="pre/fix")]
    assert names and all(n.startswith("pre/fix/duplicity-") for n in names)
    assert sum(".difftar" in n and "-full." in n for n in names) == 1
    assert sum(".difftar" in n and "-inc." in n for n in names) == 1

    c.duplicity("verify", "--compare-data", url, src)
    # A fresh archive dir: restore fetches the manifests and signatures too.
    shutil.rmtree(os.path.join(c.tmp, "dup-arch"))
    dst = os.path.join(c.tmp, "restore")
    c.duplicity("restore", url, dst)
    assert digest(dst) == digest(src)

    # A second chain; removing the first one deletes its files remotely.
    old = set(names)
    c.duplicity("full", src, url)
    c.duplicity("remove-all-but-n-full", "1", "--force", url)
    left = {o["name"] for o in listing(api, cname, path="pre/fix")}
    assert left and not left & old


# --------------------------------------------------------------------------
# swift CLI (the rest of its tests are in test_swift_cli.py)


def _stamps(api, container):
    return {o["name"]: (o["hash"], o["last_modified"])
            for o in listing(api, container)}


def test_swift_cli_upload_changed_download(clients, cname, api, tree):
    c = clients
    src = os.path.join(c.tmp, "src")
    shutil.copytree(tree, src)
    os.makedirs(os.path.join(src, "empty dir"))
    c.swift("upload", cname, ".", cwd=src)
    before = _stamps(api, cname)
    assert set(before) == set(digest(src)) | {"empty dir"}
    assert head(api, cname, "empty%20dir")["Content-Type"] == \
        "application/directory"

    # Nothing changed: HEAD shows the same size and X-Object-Meta-Mtime
    # for every file, so nothing is uploaded again.
    time.sleep(0.01)
    c.swift("upload", "--changed", cname, ".", cwd=src)
    assert _stamps(api, cname) == before
    # One touched file is uploaded again, and only that one.
    p = os.path.join(src, "d0", "sub0", "f00.dat")
    os.utime(p, ns=(MTIME_NS + 10**9, MTIME_NS + 10**9))
    c.swift("upload", "--changed", cname, ".", cwd=src)
    after = _stamps(api, cname)
    assert {k for k in after if after[k] != before[k]} == {"d0/sub0/f00.dat"}

    dst = os.path.join(c.tmp, "down")
    os.makedirs(dst)
    c.swift("download", cname, cwd=dst)
    assert digest(dst) == digest(src)
    assert os.path.isdir(os.path.join(dst, "empty dir"))
    # --skip-identical sends If-None-Match with the local MD5: all 304.
    out = c.swift("download", "--skip-identical", cname, cwd=dst).stdout
    assert out.decode("utf-8").count("Skipped identical file") == \
        len(digest(src))

    # The whole container (in bulk when /info lists bulk_delete).
    c.swift("delete", cname)
    url, s = api
    assert s.head(url + "/" + cname).status_code == 404


@pytest.mark.parametrize("kind", ["slo", "dlo"])
def test_swift_cli_segmented(clients, cname, api, tree, kind):
    """Needs SLO and DLO (issue 6, largeobj); with bulk delete in /info the
    CLI deletes the segments in bulk (issue 6, bulk)."""
    c = clients
    src = os.path.join(tree, "big", "disk.img")
    args = ["-S", str(SEG)] + (["--use-slo"] if kind == "slo" else [])
    up = ["upload", "--object-name", "disk.img"] + args + [cname, src]
    c.swift(*up)
    h = head(api, cname, "disk.img")
    assert int(h["Content-Length"]) == BIG["big/disk.img"]
    if kind == "slo":
        assert h["X-Static-Large-Object"] == "True"
    else:
        assert h["X-Object-Manifest"].startswith(cname + "_segments/")
    segs = listing(api, cname + "_segments")
    assert len(segs) == 3

    dst = os.path.join(c.tmp, "disk.img")
    c.swift("download", cname, "disk.img", "-o", dst)
    with open(dst, "rb") as a, open(src, "rb") as b:
        assert a.read() == b.read()

    # Same size and mtime: --changed uploads no segment and no manifest.
    before = _stamps(api, cname), _stamps(api, cname + "_segments")
    c.swift(*(up[:1] + ["--changed"] + up[1:]))
    assert (_stamps(api, cname), _stamps(api, cname + "_segments")) == before

    c.swift("delete", cname, "disk.img")
    assert listing(api, cname) == []
    assert listing(api, cname + "_segments") == []
