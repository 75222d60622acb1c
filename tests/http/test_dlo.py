"""Dynamic large objects (Swift 2.30's dlo middleware): X-Object-Manifest,
GET/HEAD of the concatenation in listing order with the quoted MD5 of the
segment ETags, ranges across segment boundaries, ?multipart-manifest=get,
COPY, and rclone's layout (<container>_segments, X-Object-Meta-Mtime)."""

import hashlib
from urllib.parse import urlparse

import pytest

from conftest import new_session, unique


def md5(b):
    return hashlib.md5(b).hexdigest()


def cname(url):
    return urlparse(url).path.rstrip("/").split("/")[-1]


@pytest.fixture
def dlo(sess, make_container):
    """Segments 'abc', 'defgh', 'ij' under <c>_segments/big/, PUT out of
    order, and the manifest <c>/big with rclone-style metadata."""
    cont = make_container()
    segs = make_container(cname(cont) + "_segments")
    parts = {"big/0002": b"ij", "big/0000": b"abc", "big/0001": b"defgh"}
    for name, body in parts.items():
        assert sess.put(segs + "/" + name, data=body).status_code == 201
    # a sibling whose name shares no prefix must not be included
    assert sess.put(segs + "/bigger", data=b"ZZ").status_code == 201
    r = sess.put(cont + "/big", data=b"",
                 headers={"X-Object-Manifest": cname(segs) + "/big/",
                          "X-Object-Meta-Mtime": "1700000000.123456789",
                          "Content-Type": "application/x-tar"})
    assert r.status_code == 201
    etags = "".join(md5(parts[k]) for k in sorted(parts))
    return {"url": cont + "/big", "segs": segs, "cont": cont,
            "body": b"abcdefghij", "etag": md5(etags.encode())}


def test_dlo_get_and_head(sess, dlo):
    r = sess.get(dlo["url"])
    assert r.status_code == 200
    assert r.content == dlo["body"]
    assert r.headers["Etag"] == '"%s"' % dlo["etag"]
    assert r.headers["Content-Length"] == "10"
    assert r.headers["Content-Type"] == "application/x-tar"
    assert r.headers["X-Object-Manifest"] == cname(dlo["segs"]) + "/big/"
    assert r.headers["X-Object-Meta-Mtime"] == "1700000000.123456789"
    h = sess.head(dlo["url"])
    assert h.status_code == 200
    assert h.headers["Content-Length"] == "10"
    assert h.headers["Etag"] == '"%s"' % dlo["etag"]


def test_dlo_conditional(sess, dlo):
    r = sess.get(dlo["url"], headers={"If-None-Match": '"%s"' % dlo["etag"]})
    assert r.status_code == 304
    r = sess.get(dlo["url"], headers={"If-Match": '"%s"' % dlo["etag"]})
    assert r.status_code == 200 and r.content == dlo["body"]


def test_dlo_ranges_across_boundaries(sess, dlo):
    r = sess.get(dlo["url"], headers={"Range": "bytes=2-8"})
    assert r.status_code == 206
    assert r.content == b"cdefghi"
    assert r.headers["Content-Range"] == "bytes 2-8/10"
    assert r.headers["Content-Length"] == "7"
    r = sess.get(dlo["url"], headers={"Range": "bytes=-3"})
    assert r.status_code == 206 and r.content == b"hij"
    r = sess.get(dlo["url"], headers={"Range": "bytes=15-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */10"
    # several ranges: dlo.py serves the whole object
    r = sess.get(dlo["url"], headers={"Range": "bytes=0-1,4-5"})
    assert r.status_code == 200 and r.content == dlo["body"]


def test_dlo_manifest_get(sess, dlo):
    r = sess.get(dlo["url"] + "?multipart-manifest=get")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Etag"] == md5(b"")
    assert r.headers["X-Object-Manifest"] == cname(dlo["segs"]) + "/big/"


def test_dlo_segments_change_with_listing(sess, dlo):
    assert sess.put(dlo["segs"] + "/big/0003", data=b"K").status_code == 201
    r = sess.get(dlo["url"])
    assert r.content == dlo["body"] + b"K"


def test_dlo_copy(sess, dlo):
    dest = cname(dlo["cont"]) + "/flat"
    r = sess.request("COPY", dlo["url"], headers={"Destination": dest})
    assert r.status_code == 201
    r = sess.get(dlo["cont"] + "/flat")
    assert r.content == dlo["body"]
    assert "X-Object-Manifest" not in r.headers
    assert r.headers["Etag"] == md5(dlo["body"])
    assert r.headers["X-Object-Meta-Mtime"] == "1700000000.123456789"
    dest = cname(dlo["cont"]) + "/man2"
    r = sess.request("COPY", dlo["url"] + "?multipart-manifest=get",
                     headers={"Destination": dest})
    assert r.status_code == 201
    r = sess.get(dlo["cont"] + "/man2")
    assert r.headers["X-Object-Manifest"] == cname(dlo["segs"]) + "/big/"
    assert r.content == dlo["body"]


def test_dlo_bad_manifest_header(sess, container):
    msg = "X-Object-Manifest must be in the format container/prefix"
    for bad in ("noslash", "/lead", "c/", "c//x", "c/p?x", "c/p&x"):
        r = sess.put(container + "/m", data=b"",
                     headers={"X-Object-Manifest": bad})
        assert (r.status_code, r.text) == (400, msg), bad


def test_dlo_empty_and_missing_container(sess, container):
    r = sess.put(container + "/m", data=b"",
                 headers={"X-Object-Manifest": cname(container) + "/none-"})
    assert r.status_code == 201
    r = sess.get(container + "/m")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Etag"] == '"%s"' % md5(b"")
    r = sess.put(container + "/m2", data=b"",
                 headers={"X-Object-Manifest": unique("nope") + "/p"})
    assert r.status_code == 201
    assert sess.get(container + "/m2").status_code == 404


@pytest.mark.swiftlet_only
def test_dlo_listing_paged(spawn):
    """More segments than one listing page (the limit lowered to 3)."""
    srv = spawn(conf="[swift-constraints]\ncontainer_listing_limit = 3\n")
    url, tok = srv.auth()
    s = new_session(tok)
    assert s.put(url + "/segs").status_code == 201
    assert s.put(url + "/c").status_code == 201
    body = b""
    for i in range(8):
        part = bytes([65 + i]) * (i + 1)
        body += part
        assert s.put(url + "/segs/p%02d" % i, data=part).status_code == 201
    r = s.put(url + "/c/m", data=b"", headers={"X-Object-Manifest": "segs/p"})
    assert r.status_code == 201
    r = s.get(url + "/c/m")
    assert r.status_code == 200 and r.content == body
    r = s.get(url + "/c/m", headers={"Range": "bytes=2-30"})
    assert r.status_code == 206 and r.content == body[2:31]
