"""Limits and malformed requests: names, metadata, paths; Swift's bodies."""

import http.client
from urllib.parse import quote, urlparse

import pytest

from conftest import TRANS_ID_RE, unique

BAD_UTF8 = b"Invalid UTF8 or contains NULL"


def raw_get(url, method="GET", headers=None, body=b""):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.putrequest(method, u.path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        if body:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders()
        if body:
            c.send(body)
        r = c.getresponse()
        h = {k.lower(): v for k, v in r.getheaders()}
        data = r.read()
        assert TRANS_ID_RE.match(h["x-trans-id"])
        assert h["x-openstack-request-id"] == h["x-trans-id"]
        assert h.get("date")
        return r.status, h, data
    finally:
        c.close()


# ---------------------------------------------------------------- names


def test_object_name_length(sess, container):
    r = sess.put(container + "/" + "a" * 1024, data=b"x")
    assert r.status_code == 201
    r = sess.put(container + "/" + "a" * 1025, data=b"x")
    assert r.status_code == 400
    assert r.content == b"Object name length of 1025 longer than 1024"
    assert r.headers["Content-Type"] == "text/plain"


def test_object_name_length_counts_characters(sess, container):
    # Swift measures names in code points, not bytes
    r = sess.put(container + "/" + quote("\u00e9" * 1024), data=b"x")
    assert r.status_code == 201
    r = sess.put(container + "/" + quote("\u00e9" * 1025), data=b"x")
    assert r.status_code == 400
    assert r.content == b"Object name length of 1025 longer than 1024"


def test_container_name_length(sess, storage_url):
    ok = unique("c")
    ok = ok + "a" * (256 - len(ok))
    try:
        r = sess.put(storage_url + "/" + ok)
        assert r.status_code == 201
    finally:
        sess.delete(storage_url + "/" + ok)
    r = sess.put(storage_url + "/" + "a" * 257)
    assert r.status_code == 400
    assert r.content == b"Container name length of 257 longer than 256"
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    r = sess.put(storage_url + "/" + quote("\u00e9" * 257))
    assert r.status_code == 400
    assert r.content == b"Container name length of 257 longer than 256"


def test_container_name_length_counts_characters(sess, storage_url):
    name = unique("c") + "\u00e9" * 200      # 215 characters, 415 bytes
    url = storage_url + "/" + quote(name)
    try:
        assert sess.put(url).status_code == 201
    finally:
        sess.delete(url)


@pytest.mark.parametrize("path", ["/%FF", "/a%00b", "/%C3%28", "/%ED%A0%80"])
def test_bad_utf8_object(token, container, path):
    for method in ("GET", "PUT", "HEAD", "DELETE"):
        st, h, body = raw_get(container + path, method,
                              {"X-Auth-Token": token},
                              b"x" if method == "PUT" else b"")
        assert st == 412, method
        if method != "HEAD":
            assert body == BAD_UTF8
        assert h["content-type"] == "text/html; charset=UTF-8"


@pytest.mark.parametrize("path", ["/%FF", "/a%00"])
def test_bad_utf8_container(token, storage_url, path):
    st, h, body = raw_get(storage_url + path, "GET", {"X-Auth-Token": token})
    assert st == 412
    assert body == BAD_UTF8


def test_bad_utf8_without_token(storage_url):
    # the path is checked before auth
    st, h, body = raw_get(storage_url + "/c/%FF", "GET")
    assert st == 412
    assert body == BAD_UTF8


@pytest.mark.parametrize("param", ["prefix", "delimiter"])
def test_bad_utf8_in_query(sess, container, param):
    r = sess.get(container + "?%s=%%FF" % param)
    assert r.status_code == 400
    assert r.content == b'"%s" parameter not valid UTF-8' % param.encode()
    assert r.headers["Content-Type"] == "text/plain"


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("kind", ["object", "container", "account"])
def test_metadata_name_too_long(sess, storage_url, container, kind):
    url, method = {"object": (container + "/m", "PUT"),
                   "container": (container, "POST"),
                   "account": (storage_url, "POST")}[kind]
    name = "a" * 129
    r = sess.request(method, url, data=b"x" if method == "PUT" else None,
                     headers={"X-%s-Meta-%s" % (kind.title(), name): "v"})
    assert r.status_code == 400
    assert r.content == ("Metadata name too long: x-%s-meta-A%s"
                         % (kind, "a" * 128)).encode()
    assert r.headers["Content-Type"] == "text/plain"
    r = sess.request(method, url, data=b"x" if method == "PUT" else None,
                     headers={"X-%s-Meta-%s" % (kind.title(), "a" * 128):
                              "v"})
    assert r.status_code in (201, 204)
    if kind == "account":
        sess.post(url, headers={"X-Account-Meta-" + "a" * 128: ""})


@pytest.mark.parametrize("kind", ["object", "container", "account"])
def test_metadata_value_too_long(sess, storage_url, container, kind):
    url, method = {"object": (container + "/m", "PUT"),
                   "container": (container, "POST"),
                   "account": (storage_url, "POST")}[kind]
    r = sess.request(method, url, data=b"x" if method == "PUT" else None,
                     headers={"X-%s-Meta-my-key" % kind.title(): "x" * 257})
    assert r.status_code == 400
    # the name is reported title-cased after the lower-case prefix
    assert r.content == ("Metadata value longer than 256: x-%s-meta-My-Key"
                         % kind).encode()


def test_metadata_too_many(sess, container):
    r = sess.put(container + "/m", data=b"x",
                 headers={"X-Object-Meta-K%d" % i: "v" for i in range(91)})
    assert r.status_code == 400
    assert r.content == b"Too many metadata items; max 90"
    assert r.headers["Content-Type"] == "text/plain"
    r = sess.put(container + "/m", data=b"x",
                 headers={"X-Object-Meta-K%d" % i: "v" for i in range(90)})
    assert r.status_code == 201
    r = sess.post(container,
                  headers={"X-Container-Meta-K%d" % i: "v" for i in range(91)})
    assert r.status_code == 400
    assert r.content == b"Too many metadata items; max 90"


def test_metadata_too_big(sess, container):
    # 16 items of 3 + 253 bytes = 4096: exactly the limit
    full = {"X-Object-Meta-a%02d" % i: "x" * 253 for i in range(16)}
    r = sess.put(container + "/m", data=b"x", headers=full)
    assert r.status_code == 201
    r = sess.put(container + "/m", data=b"x",
                 headers=dict(full, **{"X-Object-Meta-b": "x"}))
    assert r.status_code == 400
    assert r.content == b"Total metadata too large; max 4096"
    assert r.headers["Content-Type"] == "text/plain"
    cfull = {"X-Container-Meta-a%02d" % i: "x" * 253 for i in range(16)}
    cfull["X-Container-Meta-b"] = "x"
    r = sess.post(container, headers=cfull)
    assert r.status_code == 400
    assert r.content == b"Total metadata too large; max 4096"


def test_metadata_empty_name(sess, container):
    r = sess.put(container + "/m", data=b"x",
                 headers={"X-Object-Meta-": "x"})
    assert r.status_code == 400
    assert r.content == b"Metadata name cannot be empty"


# ---------------------------------------------------------------- misc


def test_account_put_forbidden(sess, storage_url):
    # PUT on the account itself is a reseller request: refused
    r = sess.put(storage_url, data=b"")
    assert r.status_code == 403
    assert r.content == (b"<html><h1>Forbidden</h1><p>Access was denied to "
                         b"this resource.</p></html>")


@pytest.mark.parametrize("name", ["./x", "..", ".", "a/../b", "x/..",
                                  "a/./b"])
def test_dot_segments_are_literal(token, sess, container, name):
    # Swift does not normalise object paths: "a/../b" is its own object.
    # (raw http.client: requests would remove the dot segments itself)
    st, _, _ = raw_get(container + "/" + name, "PUT",
                       {"X-Auth-Token": token}, name.encode())
    assert st == 201
    st, _, body = raw_get(container + "/" + name, "GET",
                          {"X-Auth-Token": token})
    assert st == 200
    assert body == name.encode()
    r = sess.get(container, params={"format": "json"})
    assert [o["name"] for o in r.json()] == [name]
