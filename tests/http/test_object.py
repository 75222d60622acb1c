"""Object PUT/GET/HEAD/POST/DELETE/COPY semantics, as Swift 2.30 answers."""

import email.utils
import hashlib
import http.client
import math
import os
import re
import socket
import time
from urllib.parse import quote, urlparse

import pytest

from conftest import check_common_headers, read_head

ACCEPTED = (b"<html><h1>Accepted</h1><p>The request is accepted for "
            b"processing.</p></html>")
NOT_FOUND = (b"<html><h1>Not Found</h1><p>The resource could not be "
             b"found.</p></html>")
PRECONDITION = (b"<html><h1>Precondition Failed</h1><p>A precondition for "
                b"this request was not met.</p></html>")
UNPROCESSABLE = (b"<html><h1>Unprocessable Entity</h1><p>Unable to process "
                 b"the contained instructions</p></html>")
TS_RE = re.compile(r"^\d{10}\.\d{5}$")


def md5(b):
    return hashlib.md5(b).hexdigest()


def http_date_of(ts):
    return email.utils.formatdate(math.ceil(float(ts)), usegmt=True)


def raw_request(url, method, headers, body=b"", timeout=30):
    """Send one request with http.client exactly as given (no automatic
    Content-Length); return (status, headers dict, body)."""
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        c.putrequest(method, u.path + ("?" + u.query if u.query else ""),
                     skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        c.endheaders()
        if body:
            c.send(body)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def check_raw_ids(h):
    assert re.match(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$", h["x-trans-id"])
    assert h["x-openstack-request-id"] == h["x-trans-id"]
    assert h.get("date")


# ---------------------------------------------------------------- basics


def test_put_get_head_delete(sess, container):
    url = container + "/obj"
    body = os.urandom(3000)
    r = sess.put(url, data=body)
    assert r.status_code == 201
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.headers["Etag"] == md5(body)
    put_lm = r.headers["Last-Modified"]

    r = sess.get(url)
    assert r.status_code == 200
    assert r.content == body
    h = r.headers
    assert h["Content-Length"] == "3000"
    assert h["Etag"] == md5(body)
    assert h["Content-Type"] == "application/octet-stream"
    assert h["Accept-Ranges"] == "bytes"
    assert TS_RE.match(h["X-Timestamp"])
    # Last-Modified is the object's timestamp rounded up to the second
    assert h["Last-Modified"] == http_date_of(h["X-Timestamp"]) == put_lm

    r = sess.head(url)
    assert r.status_code == 200
    assert r.content == b""
    for k in ("Content-Length", "Etag", "Content-Type", "Last-Modified",
              "X-Timestamp", "Accept-Ranges"):
        assert r.headers[k] == h[k], k

    r = sess.delete(url)
    assert r.status_code == 204
    assert r.content == b""
    r = sess.get(url)
    assert r.status_code == 404
    assert r.content == NOT_FOUND
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    r = sess.head(url)
    assert r.status_code == 404
    assert r.headers["Content-Length"] == "0"
    r = sess.delete(url)
    assert r.status_code == 404
    assert r.content == NOT_FOUND


def test_empty_object(sess, container):
    r = sess.put(container + "/empty", data=b"")
    assert r.status_code == 201
    assert r.headers["Etag"] == "d41d8cd98f00b204e9800998ecf8427e"
    r = sess.get(container + "/empty")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"


def test_overwrite(sess, container):
    url = container + "/o"
    sess.put(url, data=b"first", headers={"X-Object-Meta-A": "1"})
    sess.put(url, data=b"second")
    r = sess.get(url)
    assert r.content == b"second"
    assert "X-Object-Meta-A" not in r.headers
    r = sess.get(container, params={"format": "json"})
    assert [(o["name"], o["bytes"]) for o in r.json()] == [("o", 6)]


def test_object_names(sess, container):
    names = ["a b", "dir/sub/file.bin", "\u00fcnic\u00f8de-\u4e2d\u6587",
             "emoji-\U0001F600", "q?x=1&y=2", "pct%20sign", "semi;colon",
             "hash#frag", "plus+sign", "a//b", "trailing/", "...", "~tilde"]
    for n in names:
        url = container + "/" + quote(n, safe="/")
        r = sess.put(url, data=n.encode("utf-8"))
        assert r.status_code == 201, n
        r = sess.get(url)
        assert r.status_code == 200, n
        assert r.content == n.encode("utf-8")
    r = sess.get(container, params={"format": "json"})
    got = [o["name"] for o in r.json()]
    assert got == sorted(names, key=lambda s: s.encode("utf-8"))


def test_put_etag_check(sess, container):
    body = b"payload"
    r = sess.put(container + "/good", data=body, headers={"ETag": md5(body)})
    assert r.status_code == 201
    r = sess.put(container + "/q", data=body,
                 headers={"ETag": '"%s"' % md5(body)})
    assert r.status_code == 201
    r = sess.put(container + "/bad", data=body, headers={"ETag": "0" * 32})
    assert r.status_code == 422
    assert r.content == UNPROCESSABLE
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert sess.head(container + "/bad").status_code == 404
    r = sess.put(container + "/bad", data=body, headers={"ETag": "garbage"})
    assert r.status_code == 422


def test_missing_length_411(storage_url, token, container):
    st, h, body = raw_request(container + "/nolen", "PUT",
                              {"X-Auth-Token": token})
    assert st == 411
    assert body == b"Missing Content-Length header."
    assert h["content-type"] == "text/plain"
    check_raw_ids(h)


def test_too_large_413(token, container, info):
    too_big = info["swift"]["max_file_size"] + 1
    st, h, body = raw_request(container + "/big", "PUT",
                              {"X-Auth-Token": token,
                               "Content-Length": str(too_big)})
    assert st == 413
    assert body == b"Your request is too large."
    assert h["content-type"] == "text/plain"
    check_raw_ids(h)


def test_bad_transfer_encoding(token, container):
    st, h, body = raw_request(container + "/te", "PUT",
                              {"X-Auth-Token": token,
                               "Transfer-Encoding": "gzip"})
    assert st == 400
    assert body == b"Invalid Transfer-Encoding header value"


def test_chunked_upload(sess, container):
    parts = [os.urandom(1000), os.urandom(70000), b"", os.urandom(5)]

    def gen():
        for p in parts:
            if p:
                yield p

    r = sess.put(container + "/chunked", data=gen())
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 201
    whole = b"".join(parts)
    assert r.headers["Etag"] == md5(whole)
    r = sess.get(container + "/chunked")
    assert r.content == whole
    assert r.headers["Content-Length"] == str(len(whole))


def test_chunked_raw_with_etag(token, container):
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    st, h, _ = raw_request(container + "/rawchunk", "PUT",
                           {"X-Auth-Token": token,
                            "Transfer-Encoding": "chunked",
                            "ETag": md5(b"hello world")}, body)
    assert st == 201
    assert h["etag"] == md5(b"hello world")


def _read_response(sock):
    head, rest = read_head(sock)
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, hdrs, rest


def test_expect_100_continue(token, container):
    u = urlparse(container)
    body = os.urandom(100000)
    with socket.create_connection((u.hostname, u.port), timeout=20) as s:
        s.sendall(("PUT %s/expect HTTP/1.1\r\nHost: %s\r\n"
                   "X-Auth-Token: %s\r\nContent-Length: %d\r\n"
                   "Expect: 100-continue\r\n\r\n"
                   % (u.path, u.netloc, token, len(body))).encode())
        head, rest = read_head(s)
        assert head.startswith("HTTP/1.1 100 Continue"), head
        assert rest == b""
        s.sendall(body)
        st, h, _ = _read_response(s)
        assert st == 201
        assert h["etag"] == md5(body)
        check_raw_ids(h)


def test_expect_100_rejected_early(container):
    # Auth fails before the body is wanted: the final status comes at once.
    u = urlparse(container)
    with socket.create_connection((u.hostname, u.port), timeout=20) as s:
        s.sendall(("PUT %s/expect2 HTTP/1.1\r\nHost: %s\r\n"
                   "X-Auth-Token: garbage\r\nContent-Length: 100\r\n"
                   "Expect: 100-continue\r\nConnection: close\r\n\r\n"
                   % (u.path, u.netloc)).encode())
        st, h, _ = _read_response(s)
        assert st == 401


# ---------------------------------------------------------------- metadata


def test_metadata_roundtrip(sess, container):
    url = container + "/meta"
    hdrs = {"X-Object-Meta-Color": "blue",
            "x-object-meta-lower-case": "Value With Spaces",
            "X-Object-Meta-Utf8": "\u00e9\u4e2d".encode("utf-8"),
            "X-Object-Meta-Empty-Later": "x",
            "Content-Disposition": 'attachment; filename="r\u00e9.txt"'
                                   .encode("utf-8"),
            "Content-Encoding": "x-custom",
            "Content-Type": "text/plain"}
    r = sess.put(url, data=b"body", headers=hdrs)
    assert r.status_code == 201
    for r in (sess.get(url), sess.head(url)):
        h = r.headers
        assert h["X-Object-Meta-Color"] == "blue"
        assert h["X-Object-Meta-Lower-Case"] == "Value With Spaces"
        assert h["X-Object-Meta-Utf8"].encode("latin-1") == \
            "\u00e9\u4e2d".encode("utf-8")
        assert h["Content-Disposition"].encode("latin-1") == \
            'attachment; filename="r\u00e9.txt"'.encode("utf-8")
        assert h["Content-Encoding"] == "x-custom"
        assert h["Content-Type"] == "text/plain"
    assert sess.get(url).content == b"body"


def test_post_replaces_metadata(sess, container):
    url = container + "/p"
    sess.put(url, data=b"hello", headers={"X-Object-Meta-Old": "1",
                                          "Content-Disposition": "inline",
                                          "Content-Encoding": "x-e",
                                          "Content-Type": "text/plain"})
    ts0 = sess.head(url).headers["X-Timestamp"]
    r = sess.post(url, headers={"X-Object-Meta-New": "2"})
    assert r.status_code == 202
    assert r.content == ACCEPTED
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    h = sess.head(url).headers
    assert h["X-Object-Meta-New"] == "2"
    assert "X-Object-Meta-Old" not in h
    # POST drops the other user-settable headers it did not repeat...
    assert "Content-Disposition" not in h
    assert "Content-Encoding" not in h
    # ...but keeps body, ETag and Content-Type
    assert h["Content-Type"] == "text/plain"
    assert h["Etag"] == md5(b"hello")
    assert float(h["X-Timestamp"]) > float(ts0)
    r = sess.post(url, headers={"Content-Type": "image/gif"})
    assert r.status_code == 202
    h = sess.head(url).headers
    assert h["Content-Type"] == "image/gif"
    assert "X-Object-Meta-New" not in h
    assert sess.get(url).content == b"hello"
    r = sess.get(container, params={"format": "json"})
    assert r.json()[0]["content_type"] == "image/gif"


def test_post_missing_object(sess, container):
    r = sess.post(container + "/nope", headers={"X-Object-Meta-A": "1"})
    assert r.status_code == 404
    assert r.content == NOT_FOUND


@pytest.mark.parametrize("name,ctype", [
    ("a.txt", "text/plain"),
    ("a.TXT", "text/plain"),
    ("a.html", "text/html"),
    ("a.json", "application/json"),
    ("a.jpg", "image/jpeg"),
    ("a.png", "image/png"),
    ("a.pdf", "application/pdf"),
    ("a.css", "text/css"),
    ("a.js", "text/javascript"),
    ("a.xml", "application/xml"),
    ("a.zip", "application/zip"),
    ("a.mp4", "video/mp4"),
    ("a.svg", "image/svg+xml"),
    ("a.csv", "text/csv"),
    ("a.tar.gz", "application/x-tar"),
    ("a.gz", "application/octet-stream"),
    ("noext", "application/octet-stream"),
    ("a.weirdext", "application/octet-stream"),
    ("dir.d/file.txt", "text/plain"),
    ("file.txt/", "application/octet-stream"),
])
def test_content_type_guess(sess, container, name, ctype):
    url = container + "/" + name
    r = sess.put(url, data=b"x")
    assert r.status_code == 201
    assert sess.head(url).headers["Content-Type"] == ctype
    r = sess.get(container, params={"format": "json"})
    assert r.json()[0]["content_type"] == ctype


def test_content_type_given_and_detect(sess, container):
    url = container + "/d.txt"
    sess.put(url, data=b"x", headers={"Content-Type": "application/foo"})
    assert sess.head(url).headers["Content-Type"] == "application/foo"
    sess.put(url, data=b"x", headers={"Content-Type": "application/foo",
                                      "X-Detect-Content-Type": "true"})
    assert sess.head(url).headers["Content-Type"] == "text/plain"
    sess.put(url, data=b"x",
             headers={"Content-Type": "text/plain; charset=latin1"})
    assert sess.head(url).headers["Content-Type"] == \
        "text/plain; charset=latin1"
    sess.put(url, data=b"x", headers={"Content-Type": ""})
    assert sess.head(url).headers["Content-Type"] == "text/plain"


def test_if_none_match_star_put(sess, container):
    url = container + "/once"
    r = sess.put(url, data=b"1", headers={"If-None-Match": "*"})
    assert r.status_code == 201
    r = sess.put(url, data=b"2", headers={"If-None-Match": "*"})
    assert r.status_code == 412
    assert r.content == PRECONDITION
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert sess.get(url).content == b"1"


# ---------------------------------------------------------------- copy


def test_copy_method(sess, storage_url, container, make_container):
    src = container + "/src.txt"
    cname = container.rsplit("/", 1)[1]
    sess.put(src, data=b"copy me", headers={"X-Object-Meta-K": "v",
                                            "Content-Type": "text/x-src"})
    src_lm = sess.head(src).headers["Last-Modified"]
    other = make_container()
    oname = other.rsplit("/", 1)[1]

    r = sess.request("COPY", src, headers={"Destination":
                                           "%s/dst" % oname})
    assert r.status_code == 201
    assert r.content == b""
    h = r.headers
    assert h["X-Copied-From"] == "%s/src.txt" % cname
    assert h["X-Copied-From-Account"] == "AUTH_test"
    assert h["X-Copied-From-Last-Modified"] == src_lm
    assert h["Etag"] == md5(b"copy me")
    assert h["X-Object-Meta-K"] == "v"
    r = sess.get(other + "/dst")
    assert r.content == b"copy me"
    assert r.headers["X-Object-Meta-K"] == "v"
    assert r.headers["Content-Type"] == "text/x-src"

    # leading slash, metadata merged with the source's
    r = sess.request("COPY", src, headers={"Destination":
                                           "/%s/dst2" % cname,
                                           "X-Object-Meta-Extra": "e"})
    assert r.status_code == 201
    h = sess.head(container + "/dst2").headers
    assert h["X-Object-Meta-K"] == "v"
    assert h["X-Object-Meta-Extra"] == "e"


def test_copy_from(sess, container):
    cname = container.rsplit("/", 1)[1]
    sess.put(container + "/s", data=b"abc", headers={"X-Object-Meta-A": "1",
                                                     "X-Object-Meta-B": "2"})
    r = sess.put(container + "/d1", headers={"X-Copy-From": cname + "/s",
                                             "X-Object-Meta-B": "new"})
    assert r.status_code == 201
    assert r.headers["X-Copied-From"] == cname + "/s"
    assert r.headers["X-Copied-From-Account"] == "AUTH_test"
    h = sess.head(container + "/d1").headers
    assert h["X-Object-Meta-A"] == "1"
    assert h["X-Object-Meta-B"] == "new"
    assert sess.get(container + "/d1").content == b"abc"

    r = sess.put(container + "/d2", headers={"X-Copy-From": "/%s/s" % cname,
                                             "X-Fresh-Metadata": "true",
                                             "X-Object-Meta-C": "3"})
    assert r.status_code == 201
    h = sess.head(container + "/d2").headers
    assert "X-Object-Meta-A" not in h and "X-Object-Meta-B" not in h
    assert h["X-Object-Meta-C"] == "3"
    assert sess.get(container + "/d2").content == b"abc"


def test_copy_errors(sess, container):
    cname = container.rsplit("/", 1)[1]
    r = sess.put(container + "/d", headers={"X-Copy-From": cname + "/none"})
    assert r.status_code == 404
    r = sess.request("COPY", container + "/none",
                     headers={"Destination": cname + "/d"})
    assert r.status_code == 404
    r = sess.put(container + "/d", headers={"X-Copy-From": "nocontainer"})
    assert r.status_code == 412
    assert r.content == (b"X-Copy-From header must be of the form "
                         b"<container name>/<object name>")
    sess.put(container + "/s", data=b"x")
    r = sess.request("COPY", container + "/s", headers={})
    assert r.status_code == 412
    assert r.content == (b"Destination header required")


def test_copy_unicode_names(sess, container):
    cname = container.rsplit("/", 1)[1]
    src = "s\u00e9 rc"
    sess.put(container + "/" + quote(src), data=b"u")
    r = sess.put(container + "/dst", headers={
        "X-Copy-From": quote("%s/%s" % (cname, src))})
    assert r.status_code == 201
    assert r.headers["X-Copied-From"] == quote("%s/%s" % (cname, src))
    assert sess.get(container + "/dst").content == b"u"


# ---------------------------------------------------------------- expiry


@pytest.mark.swiftlet_only
def test_delete_after_counts_from_the_write_timestamp(sess, container):
    """X-Delete-After is added to the write's own timestamp (Swift adds it
    to the request's X-Timestamp), so X-Delete-At is always later than the
    object: the expirer deletes only objects older than their X-Delete-At.
    Taking the second from a coarser clock than the timestamp's made the
    two disagree, now and then, across a second boundary."""
    for i in range(100):
        name = "%s/after-%d" % (container, i)
        assert sess.put(name, data=b"x",
                        headers={"X-Delete-After": "100"}).status_code == 201
        h = sess.head(name).headers
        assert int(h["X-Delete-At"]) == int(float(h["X-Timestamp"])) + 100, h
    assert sess.post(name, headers={"X-Delete-After": "50"}).status_code == 202
    h = sess.head(name).headers
    # a POST's X-Timestamp is the .meta's; the object keeps the PUT's
    assert int(float(h["X-Timestamp"])) + 50 <= int(h["X-Delete-At"]) <= \
        int(time.time()) + 50


def test_delete_at_and_after(sess, container):
    now = int(time.time())
    r = sess.put(container + "/at", data=b"x",
                 headers={"X-Delete-At": str(now + 3)})
    assert r.status_code == 201
    assert sess.head(container + "/at").headers["X-Delete-At"] == \
        str(now + 3)
    r = sess.put(container + "/after", data=b"y",
                 headers={"X-Delete-After": "2"})
    assert r.status_code == 201
    da = int(sess.head(container + "/after").headers["X-Delete-At"])
    assert now + 1 <= da <= int(time.time()) + 3
    r = sess.put(container + "/keep", data=b"z",
                 headers={"X-Delete-After": "1000"})
    # POST can set and (by leaving it out) clear the expiry
    r = sess.post(container + "/keep", headers={"X-Delete-At": str(now + 2)})
    assert r.status_code == 202
    r = sess.post(container + "/keep", headers={"X-Object-Meta-A": "1"})
    assert "X-Delete-At" not in sess.head(container + "/keep").headers
    time.sleep(max(0, now + 4.1 - time.time()))
    for n in ("at", "after"):
        r = sess.get(container + "/" + n)
        assert r.status_code == 404, n
        assert r.content == NOT_FOUND
        assert sess.head(container + "/" + n).status_code == 404
        assert sess.post(container + "/" + n,
                         headers={"X-Object-Meta-A": "1"}).status_code == 404
    assert sess.get(container + "/keep").status_code == 200


@pytest.mark.parametrize("hdr,val,body", [
    ("X-Delete-At", "1000000000", b"X-Delete-At in past"),
    ("X-Delete-At", "abc", b"Non-integer X-Delete-At"),
    ("X-Delete-After", "abc", b"Non-integer X-Delete-After"),
    ("X-Delete-After", "-5", b"X-Delete-After in past"),
    ("X-Delete-After", "0", b"X-Delete-After in past"),
])
def test_delete_at_errors(sess, container, hdr, val, body):
    r = sess.put(container + "/e", data=b"x", headers={hdr: val})
    assert r.status_code == 400
    assert r.content == body
    assert r.headers["Content-Type"] == "text/plain"
    sess.put(container + "/e", data=b"x")
    r = sess.post(container + "/e", headers={hdr: val})
    assert r.status_code == 400
    assert r.content == body


# ---------------------------------------------------------------- misc


def test_object_options(sess, container):
    r = sess.options(container + "/x")
    assert r.status_code == 200
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD", "PUT", "POST", "DELETE", "COPY",
            "OPTIONS"} <= allow


def test_unknown_method(sess, container):
    r = sess.request("PATCH", container + "/x")
    assert r.status_code == 405
    check_common_headers(r)


def test_swiftclient_object_roundtrip(conn, container):
    cname = container.rsplit("/", 1)[1]
    data = os.urandom(200000)
    etag = conn.put_object(cname, "sc/obj", data,
                           headers={"X-Object-Meta-Who": "swiftclient"})
    assert etag == md5(data)
    h, body = conn.get_object(cname, "sc/obj")
    assert body == data
    assert h["x-object-meta-who"] == "swiftclient"
    h, body = conn.get_object(cname, "sc/obj",
                              headers={"Range": "bytes=10-19"})
    assert body == data[10:20]
    conn.post_object(cname, "sc/obj", headers={"X-Object-Meta-Who": "post"})
    assert conn.head_object(cname, "sc/obj")["x-object-meta-who"] == "post"
    conn.delete_object(cname, "sc/obj")
