"""Range requests and conditional GET/HEAD, as Swift 2.30 answers them."""

import email.utils
import hashlib
import re
import time

import pytest

BODY = b"0123456789abcdefghij"
RANGE_416 = (b"<html><h1>Requested Range Not Satisfiable</h1><p>The Range "
             b"requested is not available.</p></html>")


@pytest.fixture
def obj(sess, container):
    url = container + "/r"
    r = sess.put(url, data=BODY, headers={"X-Object-Meta-M": "1"})
    assert r.status_code == 201
    return url


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-4", 0, 4),
    ("bytes=5-", 5, 19),
    ("bytes=-3", 17, 19),
    ("bytes=-30", 0, 19),
    ("bytes=15-100", 15, 19),
    ("bytes=19-19", 19, 19),
    ("bytes=0-0", 0, 0),
    ("bytes=0-1,30-40", 0, 1),      # unsatisfiable parts are dropped
])
def test_single_range(sess, obj, rng, first, last):
    r = sess.get(obj, headers={"Range": rng})
    assert r.status_code == 206
    assert r.content == BODY[first:last + 1]
    h = r.headers
    assert h["Content-Range"] == "bytes %d-%d/20" % (first, last)
    assert h["Content-Length"] == str(last - first + 1)
    assert h["Content-Type"] == "application/octet-stream"
    assert h["Etag"] == hashlib.md5(BODY).hexdigest()
    assert h["Accept-Ranges"] == "bytes"
    assert h["X-Object-Meta-M"] == "1"


@pytest.mark.parametrize("rng", ["bytes=20-", "bytes=30-40", "bytes=-0"])
def test_unsatisfiable_416(sess, obj, rng):
    r = sess.get(obj, headers={"Range": rng})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */20"
    assert r.content == RANGE_416
    assert r.headers["Content-Length"] == str(len(RANGE_416))
    # HEAD ignores Range
    r = sess.head(obj, headers={"Range": rng})
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "20"


@pytest.mark.parametrize("rng", ["bytes=5-2", "bytes=abc", "bytes=",
                                 "items=0-3", "bytes=0-1,,5-6", "0-4"])
def test_bad_range_ignored(sess, obj, rng):
    r = sess.get(obj, headers={"Range": rng})
    assert r.status_code == 200
    assert r.content == BODY
    assert "Content-Range" not in r.headers


def parse_multipart(ctype, body):
    m = re.match(r"^multipart/byteranges;boundary=([0-9a-f]{32})$", ctype)
    assert m, ctype
    b = m.group(1).encode()
    assert body.startswith(b"--" + b + b"\r\n")
    assert body.endswith(b"\r\n--" + b + b"--")
    inner = body[len(b) + 4:-(len(b) + 6)]
    parts = []
    for chunk in inner.split(b"\r\n--" + b + b"\r\n"):
        head, _, data = chunk.partition(b"\r\n\r\n")
        hdrs = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        parts.append((hdrs, data))
    return parts


@pytest.mark.parametrize("rng,spans", [
    ("bytes=0-1,5-6", [(0, 1), (5, 6)]),
    ("bytes=0-1,-3", [(0, 1), (17, 19)]),
    ("bytes=0-3,2-5", [(0, 3), (2, 5)]),         # overlapping: kept as is
    ("bytes=10-,0-0,18-30", [(10, 19), (0, 0), (18, 19)]),
])
def test_multi_range(sess, obj, rng, spans):
    r = sess.get(obj, headers={"Range": rng})
    assert r.status_code == 206
    assert "Content-Range" not in r.headers
    assert r.headers["Content-Length"] == str(len(r.content))
    parts = parse_multipart(r.headers["Content-Type"], r.content)
    assert len(parts) == len(spans)
    for (hdrs, data), (a, z) in zip(parts, spans):
        assert list(hdrs) == [b"Content-Type", b"Content-Range"]
        assert hdrs[b"Content-Type"] == b"application/octet-stream"
        assert hdrs[b"Content-Range"] == b"bytes %d-%d/20" % (a, z)
        assert data == BODY[a:z + 1]


def test_multi_range_exact_bytes(sess, obj):
    r = sess.get(obj, headers={"Range": "bytes=0-1,5-6"})
    b = r.headers["Content-Type"].split("boundary=")[1].encode()
    assert r.content == (
        b"--" + b + b"\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Range: bytes 0-1/20\r\n\r\n01\r\n"
        b"--" + b + b"\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Range: bytes 5-6/20\r\n\r\n56\r\n"
        b"--" + b + b"--")


def test_range_large_object(sess, container):
    data = bytes(range(256)) * 4096  # 1 MiB
    sess.put(container + "/big", data=data)
    r = sess.get(container + "/big", headers={"Range": "bytes=1000000-"})
    assert r.status_code == 206
    assert r.content == data[1000000:]
    r = sess.get(container + "/big",
                 headers={"Range": "bytes=100-199,500000-500099"})
    parts = parse_multipart(r.headers["Content-Type"], r.content)
    assert [p[1] for p in parts] == [data[100:200], data[500000:500100]]


def test_range_on_empty_object(sess, container):
    sess.put(container + "/empty", data=b"")
    r = sess.get(container + "/empty", headers={"Range": "bytes=0-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */0"
    r = sess.get(container + "/empty", headers={"Range": "bytes=0-0"})
    assert r.status_code == 416
    # Swift: a suffix range of an empty object is ignored, not refused
    r = sess.get(container + "/empty", headers={"Range": "bytes=-5"})
    assert r.status_code == 200
    assert r.content == b""


# ---------------------------------------------------------------- conditional


def _check_304(r, etag):
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["Etag"] == etag
    assert r.headers["X-Object-Meta-M"] == "1"
    assert "Last-Modified" in r.headers


def _check_412(r):
    assert r.status_code == 412
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.headers["Etag"] == hashlib.md5(BODY).hexdigest()


def test_if_match(sess, obj):
    etag = hashlib.md5(BODY).hexdigest()
    for v in (etag, '"%s"' % etag, "*", "nope, %s" % etag):
        r = sess.get(obj, headers={"If-Match": v})
        assert r.status_code == 200, v
        assert r.content == BODY
    for method in ("GET", "HEAD"):
        _check_412(sess.request(method, obj, headers={"If-Match": "nope"}))
    r = sess.get(obj, headers={"If-Match": etag, "Range": "bytes=1-2"})
    assert r.status_code == 206
    assert r.content == b"12"


def test_if_none_match(sess, obj):
    etag = hashlib.md5(BODY).hexdigest()
    for v in (etag, '"%s"' % etag, "*", "nope, %s" % etag):
        _check_304(sess.get(obj, headers={"If-None-Match": v}), etag)
        _check_304(sess.head(obj, headers={"If-None-Match": v}), etag)
    r = sess.get(obj, headers={"If-None-Match": "nope"})
    assert r.status_code == 200
    assert r.content == BODY
    r = sess.get(obj, headers={"If-None-Match": etag, "Range": "bytes=1-2"})
    assert r.status_code == 304


def test_if_modified_since(sess, obj):
    etag = hashlib.md5(BODY).hexdigest()
    lm = sess.head(obj).headers["Last-Modified"]
    _check_304(sess.get(obj, headers={"If-Modified-Since": lm}), etag)
    future = email.utils.formatdate(time.time() + 86400 * 365, usegmt=True)
    _check_304(sess.get(obj, headers={"If-Modified-Since": future}), etag)
    past = "Sat, 01 Jan 2000 00:00:00 GMT"
    r = sess.get(obj, headers={"If-Modified-Since": past})
    assert r.status_code == 200 and r.content == BODY
    r = sess.get(obj, headers={"If-Modified-Since": "garbage"})
    assert r.status_code == 200 and r.content == BODY
    # Swift checks If-Modified-Since even when If-None-Match did not match
    r = sess.get(obj, headers={"If-Modified-Since": lm,
                               "If-None-Match": "nope"})
    assert r.status_code == 304


def test_if_unmodified_since(sess, obj):
    lm = sess.head(obj).headers["Last-Modified"]
    past = "Sat, 01 Jan 2000 00:00:00 GMT"
    for method in ("GET", "HEAD"):
        _check_412(sess.request(method, obj,
                                headers={"If-Unmodified-Since": past}))
    r = sess.get(obj, headers={"If-Unmodified-Since": lm})
    assert r.status_code == 200 and r.content == BODY
    r = sess.get(obj, headers={"If-Unmodified-Since": "garbage"})
    assert r.status_code == 200


def test_conditional_on_missing_object(sess, container):
    url = container + "/missing"
    # If-Match: * needs an object: 412, not 404
    for method in ("GET", "HEAD"):
        r = sess.request(method, url, headers={"If-Match": "*"})
        assert r.status_code == 412
        assert r.content == b""
        assert r.headers["Content-Length"] == "0"
    r = sess.get(url, headers={"If-Match": "abc"})
    assert r.status_code == 404
    r = sess.get(url, headers={"If-None-Match": "*"})
    assert r.status_code == 404
