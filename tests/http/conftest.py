"""Fixtures for the black-box HTTP tests of swiftlet.

The tests are written against real OpenStack Swift 2.30.1 and must pass there
unchanged; swiftlet has to answer the same bytes.

Two ways to run:
  SWIFTLET_URL=http://127.0.0.1:8090 python3 -m pytest tests/http
      use a server that is already running (auth at $SWIFTLET_URL/auth/v1.0,
      test:tester / testing); tests marked swiftlet_only are skipped.
  python3 -m pytest tests/http
      start `$SWIFTLET_BIN --ephemeral` (default build/swiftlet) once for the
      session, and more servers with `serve --data DIR` for restart and crash
      tests.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import pytest
import requests
import swiftclient.client

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SWIFTLET_URL = os.environ.get("SWIFTLET_URL", "").rstrip("/")
SWIFTLET_BIN = os.environ.get("SWIFTLET_BIN",
                              os.path.join(REPO, "build", "swiftlet"))
USER, KEY = "test:tester", "testing"
_STARTED = []      # every Server started by start_swiftlet in this run
TRANS_ID_RE = re.compile(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$")
START_TIMEOUT = 10.0
# Deleting --ephemeral data (10,000+ objects after the paging test) takes a
# while on a slow disk; CI keeps /tmp on tmpfs where it is quick.
STOP_TIMEOUT = float(os.environ.get("SWIFTLET_STOP_TIMEOUT", "90"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "swiftlet_only: needs to start swiftlet itself "
        "(skipped when SWIFTLET_URL points at another server)")
    config.addinivalue_line(
        "markers", "slow: long test (still part of the default run)")


def pytest_collection_modifyitems(config, items):
    if not SWIFTLET_URL:
        return
    skip = pytest.mark.skip(reason="swiftlet_only: SWIFTLET_URL is set")
    for item in items:
        if "swiftlet_only" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    # A run that tested nothing must not look green (pytest's exit 5 is easy
    # to swallow in a script; make it a plain failure).
    if session.testscollected == 0 and exitstatus in (0, 5):
        session.exitstatus = 1
    # Safety net: no server outlives the run, no log file stays in /tmp.
    for srv in _STARTED:
        srv.stop()
        if srv.log_path and os.path.exists(srv.log_path):
            os.unlink(srv.log_path)


# --------------------------------------------------------------------------
# response checks shared by every request the tests make


def check_common_headers(resp):
    """Every Swift response carries a transaction id (twice) and a Date."""
    tid = resp.headers.get("X-Trans-Id")
    assert tid is not None, "no X-Trans-Id on %s %s -> %s" % (
        resp.request.method, resp.request.url, resp.status_code)
    assert TRANS_ID_RE.match(tid), tid
    assert resp.headers.get("X-Openstack-Request-Id") == tid
    assert resp.headers.get("Date"), "no Date header"


def _hook(resp, *args, **kwargs):
    check_common_headers(resp)


def new_session(token=None):
    s = requests.Session()
    s.hooks["response"].append(_hook)
    if token:
        s.headers["X-Auth-Token"] = token
    return s


def read_head(sock):
    """Read a raw response's status line and headers from sock: (the head
    as text, whatever body bytes came with it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


class PerThread:
    """One authenticated session per worker thread; close() closes all."""

    def __init__(self, token):
        self.token = token
        self.local = threading.local()
        self.lock = threading.Lock()
        self.all = []

    def session(self):
        if not hasattr(self.local, "s"):
            self.local.s = new_session(self.token)
            with self.lock:
                self.all.append(self.local.s)
        return self.local.s

    def close(self):
        for s in self.all:
            s.close()


# --------------------------------------------------------------------------
# starting and stopping swiftlet


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One swiftlet process (or the external server of SWIFTLET_URL)."""

    def __init__(self, base, proc=None, log_path=None, data_dir=None,
                 args=None):
        self.base = base
        self.auth_url = base + "/auth/v1.0"
        self.user, self.key = USER, KEY
        self.proc = proc
        self.log_path = log_path
        self.data_dir = data_dir
        self.args = args

    def auth(self):
        """(storage_url, token) for test:tester."""
        r = requests.get(self.auth_url, headers={"X-Auth-User": self.user,
                                                 "X-Auth-Key": self.key},
                         timeout=30)
        assert r.status_code == 200, r.status_code
        return r.headers["X-Storage-Url"], r.headers["X-Auth-Token"]

    def log(self):
        if not self.log_path:
            return ""
        with open(self.log_path, "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; return the exit status, or None if it was still running
        after TIMEOUT seconds (it is then killed with SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _wait_healthy(base, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            r = requests.get(base + "/healthcheck", timeout=1)
            if r.status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


def start_swiftlet(args, expect_export=False, port=None, env=None,
                   ratelimit=False):
    """Start swiftlet with ARGS plus --listen (ENV: extra environment
    variables); wait until it serves. The per-container write limit (100/s
    by default) is off unless RATELIMIT: the suite writes much faster than
    that into one container; test_ratelimit.py turns it on."""
    if not os.access(SWIFTLET_BIN, os.X_OK):
        pytest.fail("swiftlet binary not found at %s (set SWIFTLET_BIN or "
                    "SWIFTLET_URL)" % SWIFTLET_BIN)
    port = port or free_port()
    base = "http://127.0.0.1:%d" % port
    fd, log_path = tempfile.mkstemp(prefix="swiftlet-test-", suffix=".log")
    argv = [SWIFTLET_BIN] + list(args) + ["--listen", "127.0.0.1:%d" % port]
    if not ratelimit:
        argv.append("--no-ratelimit")
    # stdout goes to a file, not a pipe: a server that keeps logging to a
    # pipe nobody reads would block.
    proc = subprocess.Popen(argv, stdout=fd, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            env=dict(os.environ, **env) if env else None)
    os.close(fd)
    srv = Server(base, proc, log_path, args=list(args))
    _STARTED.append(srv)
    deadline = time.monotonic() + START_TIMEOUT
    if expect_export:
        want = "export ST_AUTH=%s/auth/v1.0" % base
        while True:
            with open(log_path, "rb") as f:
                out = f.read().decode("utf-8", "replace")
            if want in out and "ST_USER=test:tester" in out \
                    and "ST_KEY=testing" in out:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                srv.kill9()
                pytest.fail("swiftlet did not print %r within %.0fs:\n%s"
                            % (want, START_TIMEOUT, out[-4000:]))
            time.sleep(0.02)
    if not _wait_healthy(base, proc, deadline):
        out = srv.log()
        srv.kill9()
        pytest.fail("swiftlet at %s not healthy within %.0fs:\n%s"
                    % (base, START_TIMEOUT, out))
    return srv


@pytest.fixture(scope="session")
def server():
    if SWIFTLET_URL:
        yield Server(SWIFTLET_URL)
        return
    srv = start_swiftlet(["--ephemeral"], expect_export=True)
    yield srv
    t0 = time.monotonic()
    rc = srv.stop()
    took = time.monotonic() - t0
    log = srv.log()
    os.unlink(srv.log_path)
    assert rc == 0, ("swiftlet --ephemeral: exit status %r %.1fs after "
                     "SIGTERM (None: still running after %.0fs); log tail:\n%s"
                     % (rc, took, STOP_TIMEOUT, log[-2000:]))


@pytest.fixture
def data_dir():
    """A fresh data directory for a test's own `swiftlet serve --data`,
    removed afterwards."""
    d = tempfile.mkdtemp(prefix="swiftlet-data-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def spawn():
    """Factory: spawn(data_dir=None, extra=(), env=None, ratelimit=False,
    conf=None) -> Server running `serve --data DIR --user
    test:tester:testing:admin`; DIR is fresh unless given; ENV adds
    environment variables; the write rate limit is off unless RATELIMIT;
    CONF (ini text) is written to a temporary file passed with -c. Every
    server started here is stopped (SIGTERM) at the end."""
    started, dirs = [], []

    def _spawn(data_dir=None, extra=(), port=None, env=None, ratelimit=False, conf=None):
        if conf is not None:
            dirs.append(tempfile.mkdtemp(prefix="swiftlet-conf-"))
            path = os.path.join(dirs[-1], "swiftlet.conf")
            with open(path, "w") as f:
                f.write(conf)
            extra = ["-c", path] + list(extra)
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="swiftlet-data-")
            dirs.append(data_dir)
        srv = start_swiftlet(["serve", "--data", data_dir, "--user",
                              "test:tester:testing:admin"] + list(extra),
                             port=port, env=env, ratelimit=ratelimit)
        srv.data_dir = data_dir
        started.append(srv)
        return srv

    yield _spawn
    for srv in started:
        srv.stop()
        if srv.log_path and os.path.exists(srv.log_path):
            os.unlink(srv.log_path)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def creds(server):
    return server.auth()


@pytest.fixture(scope="session")
def storage_url(creds):
    return creds[0]


@pytest.fixture(scope="session")
def token(creds):
    return creds[1]


@pytest.fixture(scope="session")
def info(server):
    r = new_session().get(server.base + "/info")
    assert r.status_code == 200
    return r.json()


@pytest.fixture
def sess(token):
    s = new_session(token)
    yield s
    s.close()


@pytest.fixture
def anon():
    s = new_session()
    yield s
    s.close()


@pytest.fixture
def conn(server):
    c = swiftclient.client.Connection(authurl=server.auth_url,
                                      user=server.user, key=server.key,
                                      retries=0)
    yield c
    c.close()


def unique(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def empty_container(s, curl):
    """Delete every object of container URL CURL (concurrently)."""
    names = []
    marker = ""
    while True:
        r = s.get(curl, params={"format": "json", "marker": marker})
        if r.status_code != 200:
            break
        page = [o["name"] for o in r.json()]
        if not page:
            break
        names += page
        marker = page[-1]
    if not names:
        return
    local = threading.local()
    u = urlparse(curl)
    tok = s.headers["X-Auth-Token"]

    def rm(name):
        # http.client, not requests: requests would drop "." and ".."
        # path segments, and Swift keeps them as literal object names.
        if not hasattr(local, "c"):
            local.c = http.client.HTTPConnection(u.hostname, u.port,
                                                 timeout=60)
            conns.append(local.c)
        path = u.path + "/" + quote(name.encode("utf-8"), safe="/")
        try:
            local.c.request("DELETE", path, headers={"X-Auth-Token": tok})
            local.c.getresponse().read()
        except (OSError, http.client.HTTPException):
            local.c.close()
            del local.c

    conns = []
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(rm, names))
    for c in conns:
        c.close()


def drop_container(s, curl):
    for _ in range(3):
        empty_container(s, curl)
        if s.delete(curl).status_code in (204, 404):
            return


@pytest.fixture
def container(sess, storage_url):
    """URL of a fresh, empty container; emptied and deleted afterwards."""
    name = unique("c")
    url = storage_url + "/" + name
    r = sess.put(url)
    assert r.status_code == 201, r.status_code
    yield url
    drop_container(sess, url)


@pytest.fixture
def make_container(sess, storage_url):
    """Factory for extra containers; all are removed afterwards."""
    made = []

    def _make(name=None):
        name = name or unique("c")
        url = storage_url + "/" + requests.utils.quote(name, safe="")
        r = sess.put(url)
        assert r.status_code in (201, 202)
        made.append(url)
        return url

    yield _make
    for url in made:
        drop_container(sess, url)
