"""Auth v1.0, /info, /healthcheck, and the headers every response carries."""

import re

import pytest

from conftest import check_common_headers

UNAUTH_BODY = (b"<html><h1>Unauthorized</h1><p>This server could not verify "
               b"that you are authorized to access the document you "
               b"requested.</p></html>")
TOKEN_RE = re.compile(r"^AUTH_tk[0-9a-f]{32}$")


@pytest.mark.parametrize("path", ["/auth/v1.0", "/auth/v1.0/"])
@pytest.mark.parametrize("uhdr,khdr", [
    ("X-Auth-User", "X-Auth-Key"),
    ("X-Storage-User", "X-Storage-Pass"),
    ("X-Auth-User", "X-Storage-Pass"),
    ("X-Storage-User", "X-Auth-Key"),
])
def test_auth_ok(server, anon, path, uhdr, khdr):
    r = anon.get(server.base + path, headers={uhdr: "test:tester",
                                              khdr: "testing"})
    assert r.status_code == 200
    tok = r.headers["X-Auth-Token"]
    assert TOKEN_RE.match(tok), tok
    assert r.headers["X-Storage-Token"] == tok
    assert r.headers["X-Storage-Url"] == server.base + "/v1/AUTH_test"
    exp = int(r.headers["X-Auth-Token-Expires"])
    assert 0 < exp <= 86400
    assert r.headers["Content-Length"] == "0"
    assert r.content == b""
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    # the token works (Swift: 200 with canned stats while the account has
    # never been written to, 204 once it exists)
    r2 = anon.head(r.headers["X-Storage-Url"], headers={"X-Auth-Token": tok})
    assert r2.status_code in (200, 204)


def test_auth_token_reused(server, anon):
    h = {"X-Auth-User": "test:tester", "X-Auth-Key": "testing"}
    r1 = anon.get(server.auth_url, headers=h)
    r2 = anon.get(server.auth_url, headers=h)
    assert r1.headers["X-Auth-Token"] == r2.headers["X-Auth-Token"]
    assert int(r2.headers["X-Auth-Token-Expires"]) <= \
        int(r1.headers["X-Auth-Token-Expires"])


@pytest.mark.swiftlet_only
def test_auth_v1_short_path(server, anon):
    # Swift's tempauth answers 400 on /auth/v1; swiftlet accepts it as an
    # alias of /auth/v1.0 on purpose (clients configured with the short
    # form exist, and the issue asks for it).
    r = anon.get(server.base + "/auth/v1",
                 headers={"X-Auth-User": "test:tester",
                          "X-Auth-Key": "testing"})
    assert r.status_code == 200
    assert r.headers["X-Auth-Token"].startswith("AUTH_tk")
    assert r.headers["X-Storage-Url"].endswith("/v1/AUTH_test")


@pytest.mark.parametrize("headers,realm", [
    ({"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"}, "unknown"),
    # an unknown user names the account it asked for as the realm
    ({"X-Auth-User": "test:nobody", "X-Auth-Key": "testing"}, "test"),
    ({"X-Auth-User": "nosuch:tester", "X-Auth-Key": "testing"}, "nosuch"),
    ({"X-Auth-User": "test:tester"}, "test"),
    ({}, "unknown"),
])
def test_auth_bad_credentials(server, anon, headers, realm):
    r = anon.get(server.auth_url, headers=headers)
    assert r.status_code == 401
    assert r.content == UNAUTH_BODY
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.headers["Www-Authenticate"] == 'Swift realm="%s"' % realm
    assert "X-Auth-Token" not in r.headers


def test_auth_post_not_allowed(server, anon):
    r = anon.post(server.auth_url, headers={"X-Auth-User": "test:tester",
                                            "X-Auth-Key": "testing"})
    assert r.status_code == 405
    assert r.content == (b"<html><h1>Method Not Allowed</h1><p>The method is "
                         b"not allowed for this resource.</p></html>")


@pytest.mark.parametrize("suffix", ["", "/c", "/c/o"])
@pytest.mark.parametrize("token", [None, "garbage", "AUTH_tk" + "0" * 32])
@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "POST", "DELETE"])
def test_no_or_bad_token_401(storage_url, anon, suffix, token, method):
    h = {"X-Auth-Token": token} if token else {}
    r = anon.request(method, storage_url + suffix, headers=h)
    assert r.status_code == 401
    assert r.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'
    if method == "HEAD":
        assert r.headers["Content-Length"] == "0"
    else:
        assert r.content == UNAUTH_BODY
        assert r.headers["Content-Length"] == str(len(UNAUTH_BODY))


def test_token_of_other_account_forbidden(server, anon, sess, container):
    # An authenticated user may not touch an account it has no rights on.
    r = sess.get(server.base + "/v1/AUTH_someoneelse")
    assert r.status_code == 403
    assert r.content == (b"<html><h1>Forbidden</h1><p>Access was denied to "
                         b"this resource.</p></html>")


def test_info(server, anon):
    r = anon.get(server.base + "/info")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    sw = r.json()["swift"]
    expected = {
        "max_file_size": 5368709122,
        "max_meta_name_length": 128,
        "max_meta_value_length": 256,
        "max_meta_count": 90,
        "max_meta_overall_size": 4096,
        "max_header_size": 8192,
        "max_object_name_length": 1024,
        "container_listing_limit": 10000,
        "account_listing_limit": 10000,
        "max_account_name_length": 256,
        "max_container_name_length": 256,
        "extra_header_count": 0,
        "account_autocreate": True,
        "strict_cors_mode": True,
    }
    for k, v in expected.items():
        assert sw.get(k) == v, k
    assert isinstance(sw["version"], str) and sw["version"]
    assert isinstance(sw["allow_account_management"], bool)
    pols = sw["policies"]
    assert isinstance(pols, list) and len(pols) >= 1
    assert sum(1 for p in pols if p.get("default")) == 1
    for p in pols:
        assert isinstance(p["name"], str)


def test_info_head_and_bad_method(server, anon):
    r = anon.head(server.base + "/info")
    assert r.status_code == 200
    assert r.content == b""
    r = anon.put(server.base + "/info")
    assert r.status_code == 405


def test_healthcheck(server, anon):
    r = anon.get(server.base + "/healthcheck")
    assert r.status_code == 200
    assert r.content == b"OK"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["Content-Length"] == "2"


def test_trans_ids_unique(sess, storage_url):
    seen = set()
    for _ in range(20):
        r = sess.head(storage_url)
        seen.add(r.headers["X-Trans-Id"])
    assert len(seen) == 20


def test_trans_id_on_errors(server, anon, storage_url):
    for method, url in [("GET", server.base + "/"),
                        ("GET", server.base + "/nonexistent-path"),
                        ("GET", storage_url + "/x"),
                        ("OPTIONS", storage_url),
                        ("GET", server.base + "/v1/")]:
        r = anon.request(method, url)
        check_common_headers(r)


@pytest.mark.parametrize("path,status,body", [
    ("/", 404, b"<html><h1>Not Found</h1><p>The resource could not be "
               b"found.</p></html>"),
    ("/nonexistent-path", 412, b"Bad URL"),
    ("/v1", 412, b"Bad URL"),
    ("/v1/", 412, b"Bad URL"),
])
def test_bad_root_paths(server, anon, path, status, body):
    r = anon.get(server.base + path)
    assert r.status_code == status
    assert r.content == body


def test_account_options(storage_url, anon):
    r = anon.options(storage_url)
    assert r.status_code == 200
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert allow == {"DELETE", "OPTIONS", "HEAD", "POST", "PUT", "GET"}
