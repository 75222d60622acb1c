"""The account container limit (max_containers_per_account, issue 4).

Swift's proxy answers a PUT of a new container in an account that already
holds max_containers_per_account containers with 403 and the body
"Reached container limit of N"; a PUT to an existing container is still
accepted (202). swiftlet checks the count in the same account-DB transaction
that records the container, so concurrent creates never overshoot (Swift's
own check is racy; the answers are the same).

These tests start their own server with a small limit (swiftlet_only).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import PerThread, new_session

LIMIT_BODY = "Reached container limit of %d"


def limit_config(data_dir, limit):
    path = os.path.join(data_dir, "limit.ini")
    with open(path, "w") as f:
        f.write("[swift-constraints]\nmax_containers_per_account = %d\n" % limit)
    return path


def start(spawn, tmp_path, limit):
    srv = spawn(extra=["-c", limit_config(str(tmp_path), limit)])
    surl, tok = srv.auth()
    return srv, surl, new_session(tok)


def account_counts(s, surl):
    r = s.head(surl)
    assert r.status_code == 204
    return int(r.headers["X-Account-Container-Count"])


def listed(s, surl):
    r = s.get(surl, params={"format": "json"})
    assert r.status_code == 200
    return [c["name"] for c in r.json()]


@pytest.mark.swiftlet_only
def test_limit_reached_answers_403_with_swift_body(spawn, tmp_path):
    srv, surl, s = start(spawn, tmp_path, 5)
    names = ["c%d" % i for i in range(5)]
    for n in names:
        assert s.put(surl + "/" + n).status_code == 201
    r = s.put(surl + "/c5")
    assert r.status_code == 403
    assert r.text == LIMIT_BODY % 5
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    # nothing was created: no container DB, no account row
    assert s.head(surl + "/c5").status_code == 404
    assert account_counts(s, surl) == 5
    assert listed(s, surl) == names
    # an existing container still takes PUTs (and their metadata)
    r = s.put(surl + "/c3", headers={"X-Container-Meta-Color": "blue"})
    assert r.status_code == 202
    r = s.head(surl + "/c3")
    assert r.headers["X-Container-Meta-Color"] == "blue"
    # a delete frees a slot, and the next create takes it
    assert s.delete(surl + "/c0").status_code == 204
    assert s.put(surl + "/c5").status_code == 201
    r = s.put(surl + "/c6")
    assert (r.status_code, r.text) == (403, LIMIT_BODY % 5)
    assert account_counts(s, surl) == 5
    assert listed(s, surl) == ["c1", "c2", "c3", "c4", "c5"]


@pytest.mark.swiftlet_only
def test_concurrent_creates_never_overshoot(spawn, tmp_path):
    srv, surl, s = start(spawn, tmp_path, 10)
    tok = s.headers["X-Auth-Token"]
    sessions = PerThread(tok)
    names = ["k%02d" % i for i in range(20)]
    barrier = threading.Barrier(20, timeout=30)

    def create(name):
        barrier.wait()
        r = sessions.session().put(surl + "/" + name)
        return name, r.status_code, r.text

    try:
        with ThreadPoolExecutor(20) as ex:
            results = list(ex.map(create, names))
    finally:
        sessions.close()
    created = sorted(n for n, st, _ in results if st == 201)
    refused = [(st, body) for _, st, body in results if st != 201]
    assert len(created) == 10, results
    assert refused == [(403, LIMIT_BODY % 10)] * 10, results
    assert account_counts(s, surl) == 10
    assert listed(s, surl) == created
    for n in names:
        want = 204 if n in created else 404
        assert s.head(surl + "/" + n).status_code == want, n


@pytest.mark.swiftlet_only
def test_limit_zero_is_off(spawn, tmp_path):
    srv, surl, s = start(spawn, tmp_path, 0)
    for i in range(12):
        assert s.put(surl + "/z%d" % i).status_code == 201
    assert account_counts(s, surl) == 12
    info = s.get(srv.base + "/info").json()["swift"]
    assert "max_containers_per_account" not in info


@pytest.mark.swiftlet_only
def test_info_shows_container_limit(spawn, tmp_path):
    srv, surl, s = start(spawn, tmp_path, 7)
    r = s.get(srv.base + "/info")
    assert r.status_code == 200
    assert r.json()["swift"]["max_containers_per_account"] == 7


@pytest.mark.swiftlet_only
def test_info_shows_default_container_limit(server, anon):
    """The Cloud Files default, 500,000, unless configured otherwise.
    (Swift itself does not advertise its proxy option: swiftlet only.)"""
    sw = anon.get(server.base + "/info").json()["swift"]
    assert sw["max_containers_per_account"] == 500000


@pytest.mark.swiftlet_only
def test_limit_counts_per_account(spawn, tmp_path):
    """Each account has its own count."""
    conf = limit_config(str(tmp_path), 2)
    srv = spawn(extra=["-c", conf, "--user", "other:u2:k2:admin"])
    accounts = []
    for user, key in (("test:tester", "testing"), ("other:u2", "k2")):
        r = requests.get(srv.auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key},
                         timeout=30)
        assert r.status_code == 200
        accounts.append((r.headers["X-Storage-Url"], new_session(r.headers["X-Auth-Token"])))
    for surl, s in accounts:
        assert s.put(surl + "/a").status_code == 201
        assert s.put(surl + "/b").status_code == 201
        r = s.put(surl + "/c")
        assert (r.status_code, r.text) == (403, LIMIT_BODY % 2)
