"""Bulk delete (?bulk-delete) and archive extraction (?extract-archive), as
Swift 2.30's bulk middleware answers them: always 200, the real outcome in
the body, in the format Accept picks. The expected bodies were taken from
Swift 2.30.1; the tests not marked swiftlet_only pass against it too
(SWIFTLET_URL=http://127.0.0.1:8090)."""

import http.client
import io
import json
import os
import tarfile
import time
from urllib.parse import urlparse

import pytest
import requests

from conftest import new_session, unique

PLAIN_OK = (b"Number Deleted: %d\nNumber Not Found: %d\nResponse Body: \n"
            b"Response Status: 200 OK\nErrors:\n")


def bulk_delete(s, url, lines, accept=None, method="POST", ctype=None):
    body = "".join(line + "\n" for line in lines).encode() \
        if isinstance(lines, list) else lines
    headers = {}
    if accept:
        headers["Accept"] = accept
    if ctype:
        headers["Content-Type"] = ctype
    r = s.request(method, url + "?bulk-delete", data=body, headers=headers)
    assert r.status_code == 200, r.status_code
    return r


def make_objects(s, surl, cont, names):
    assert s.put(surl + "/" + cont).status_code in (201, 202)
    for n in names:
        assert s.put("%s/%s/%s" % (surl, cont, n), data=b"x").status_code == 201


def listing(s, url):
    r = s.get(url)
    return r.text.split("\n")[:-1] if r.status_code == 200 else r.status_code


def mktar(files, mode="w"):
    """files: (name, bytes) regular files, (name, None) directories,
    (name, "target") symlinks, (name, bytes, pax_headers)."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode, format=tarfile.PAX_FORMAT) as tf:
        for f in files:
            ti = tarfile.TarInfo(f[0])
            if f[1] is None:
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif isinstance(f[1], str):
                ti.type = tarfile.SYMTYPE
                ti.linkname = f[1]
                tf.addfile(ti)
            else:
                ti.size = len(f[1])
                if len(f) > 2:
                    ti.pax_headers = f[2]
                tf.addfile(ti, io.BytesIO(f[1]))
    return bio.getvalue()


def extract(s, url, data, fmt="tar", headers=None):
    r = s.put(url + "?extract-archive=" + fmt, data=data, headers=headers or {})
    assert r.status_code == 200, (r.status_code, r.content)
    return r


def drop(s, surl, *conts):
    for c in conts:
        for o in listing(s, surl + "/" + c) if isinstance(
                listing(s, surl + "/" + c), list) else []:
            s.delete("%s/%s/%s" % (surl, c, o))
        s.delete(surl + "/" + c)


# --------------------------------------------------------------------------
# bulk delete


def test_bulk_delete_objects_then_containers(sess, storage_url):
    c1, c2 = unique("bd"), unique("bd")
    make_objects(sess, storage_url, c1, ["a", "b/c", "sp ace"])
    make_objects(sess, storage_url, c2, ["x"])
    # The container comes first in the list: it is deleted after its objects.
    r = bulk_delete(sess, storage_url, ["/" + c1, "/%s/a" % c1, "%s/b/c" % c1,
                                        "/%s/sp%%20ace" % c1, "/%s/x" % c2,
                                        "/%s/missing" % c2, "/" + c2])
    assert r.headers["Content-Type"] == "text/plain"
    assert r.content == PLAIN_OK % (6, 1)
    assert sess.head(storage_url + "/" + c1).status_code == 404
    assert sess.head(storage_url + "/" + c2).status_code == 404


def test_bulk_delete_with_delete_verb(sess, storage_url):
    c = unique("bd")
    make_objects(sess, storage_url, c, ["o"])
    r = bulk_delete(sess, storage_url, ["/%s/o" % c, "/" + c], method="DELETE")
    assert r.content == PLAIN_OK % (2, 0)


def test_bulk_delete_at_container_level(sess, storage_url):
    # Paths are always relative to the account, whatever the request path.
    c = unique("bd")
    make_objects(sess, storage_url, c, ["o"])
    r = bulk_delete(sess, storage_url + "/" + c, ["/%s/o" % c])
    assert r.content == PLAIN_OK % (1, 0)
    r = bulk_delete(sess, storage_url + "/" + c + "/zz", ["/" + c])
    assert r.content == PLAIN_OK % (1, 0)


def test_bulk_delete_conflict_and_not_found(sess, storage_url):
    c = unique("bd")
    make_objects(sess, storage_url, c, ["keep"])
    r = bulk_delete(sess, storage_url, ["/%s/nope" % c, "/" + c,
                                        "/%s-none" % c])
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 2\nResponse Body: \n"
                         b"Response Status: 400 Bad Request\nErrors:\n/%s, 409 Conflict\n"
                         % c.encode())
    drop(sess, storage_url, c)


def test_bulk_delete_formats(sess, storage_url):
    c = unique("bd")
    make_objects(sess, storage_url, c, ["keep", "a", "b", "c"])
    r = bulk_delete(sess, storage_url, ["/%s/a" % c, "/" + c, "/%s/z" % c],
                    accept="application/json")
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == (
        b'{"Response Status": "400 Bad Request", "Response Body": "", '
        b'"Number Deleted": 1, "Number Not Found": 1, "Errors": [["/%s", '
        b'"409 Conflict"]]}' % c.encode())
    for accept in ("application/xml", "text/xml"):
        r = bulk_delete(sess, storage_url, ["/%s/b" % c, "/%s/%%26%%3C" % c],
                        accept=accept)
        assert r.headers["Content-Type"] == accept
        assert r.content == (
            b"<delete>\n<number_deleted>%d</number_deleted>\n"
            b"<number_not_found>%d</number_not_found>\n"
            b"<response_body></response_body>\n"
            b"<response_status>200 OK</response_status>\n<errors>\n</errors>\n"
            b"</delete>\n" % ((1, 1) if accept == "application/xml" else (0, 2)))
    # q-values and wildcards as swob weighs them
    r = bulk_delete(sess, storage_url, ["/%s/c" % c],
                    accept="image/png;q=1, text/xml;q=0.5")
    assert r.headers["Content-Type"] == "text/xml"
    r = bulk_delete(sess, storage_url, ["/%s/c" % c], accept="*/*")
    assert r.headers["Content-Type"] == "text/plain"
    assert r.content == PLAIN_OK % (0, 1)
    drop(sess, storage_url, c)


def test_bulk_delete_not_acceptable(sess, storage_url):
    r = bulk_delete(sess, storage_url, ["/x/y"], accept="image/png")
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: \n"
                         b"Response Status: 406 Not Acceptable\nErrors:\n")
    # only a text/plain list is understood
    r = bulk_delete(sess, storage_url, ["/x/y"], accept="application/json",
                    ctype="application/json")
    assert json.loads(r.content)["Response Status"] == "406 Not Acceptable"
    r = bulk_delete(sess, storage_url, ["/x/y"], ctype="text/plain; charset=utf-8")
    assert r.content == PLAIN_OK % (0, 1)


def test_bulk_delete_empty_list(sess, storage_url):
    for body in (b"", b"\n\n  \n"):
        r = bulk_delete(sess, storage_url, body)
        assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: "
                             b"Invalid bulk delete.\nResponse Status: 400 Bad Request\n"
                             b"Errors:\n")


def test_bulk_delete_length_required(token, storage_url):
    u = urlparse(storage_url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("POST", u.path + "?bulk-delete")
    c.putheader("X-Auth-Token", token)
    c.endheaders()
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: \n"
                        b"Response Status: 411 Length Required\nErrors:\n")
    c.close()


def test_bulk_delete_limit(sess, storage_url):
    r = bulk_delete(sess, storage_url, b"/c/x\n" * 10001)
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: "
                         b"Maximum Bulk Deletes: 10000 per request\nResponse Status: "
                         b"413 Request Entity Too Large\nErrors:\n")
    # empty lines count too; 10,000 lines are fine
    r = bulk_delete(sess, storage_url, b"\n" * 10001)
    assert b"413 Request Entity Too Large" in r.content
    r = bulk_delete(sess, storage_url, b"\n" * 9999 + b"/%s/x" % unique().encode())
    assert r.content == PLAIN_OK % (0, 1)


def test_bulk_delete_path_too_long(sess, storage_url):
    r = bulk_delete(sess, storage_url, b"/c/" + b"a" * 3000 + b"\n")
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: "
                         b"Invalid File Name\nResponse Status: 400 Bad Request\nErrors:\n")
    # long names that fit Swift's reads are merely not found
    r = bulk_delete(sess, storage_url, b"/c/" + b"a" * 1100 + b"\n/" + b"d" * 300)
    assert r.content == PLAIN_OK % (0, 2)


def test_bulk_delete_bad_paths(sess, storage_url):
    c = unique("bd")
    make_objects(sess, storage_url, c, ["o", "a+b"])
    r = bulk_delete(sess, storage_url, b"/c/%FF%FE\n/c/a%00b\n//\n/\n"
                    b"%2F" + c.encode() + b"%2Fo\n" + c.encode() + b"/a+b\n")
    head, _, errors = r.content.partition(b"Errors:\n")
    assert head == (b"Number Deleted: 2\nNumber Not Found: 0\nResponse Body: \n"
                    b"Response Status: 400 Bad Request\n")
    # Swift deletes two at a time: the order of the failures may vary
    assert sorted(errors.split(b"\n")) == sorted([
        b"/c/%FF%FE, 412 Precondition Failed", b"/c/a%00b, 412 Precondition Failed",
        b"//, 403 Forbidden", b"/, 403 Forbidden", b""])
    drop(sess, storage_url, c)


def test_bulk_delete_each_path_is_authorized(anon, storage_url):
    # The bulk step runs before token auth: the refusal is per path.
    r = bulk_delete(anon, storage_url, ["/c/o"])
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: \n"
                         b"Response Status: 400 Bad Request\nErrors:\n"
                         b"/c/o, 401 Unauthorized\n")


def test_bulk_delete_other_account(sess, storage_url):
    other = storage_url.rsplit("/", 1)[0] + "/AUTH_someoneelse"
    r = bulk_delete(sess, other, ["/c/o"])
    assert r.content.endswith(b"Errors:\n/c/o, 403 Forbidden\n")


@pytest.mark.swiftlet_only
def test_bulk_delete_follows_container_acls(spawn):
    """A user of the account who is not its admin deletes in bulk what a
    write ACL grants it, and nothing else: each path is authorized as its
    own DELETE would be (tempauth via server/acl.h)."""
    srv = spawn(extra=["--user", "test:helper:hk"])
    url, tok = srv.auth()
    admin = new_session(tok)
    make_objects(admin, url, "open", ["a", "b"])
    make_objects(admin, url, "shut", ["a"])
    assert admin.post(url + "/open",
                      headers={"X-Container-Write": "test:helper"}).status_code == 204
    r = requests.get(srv.auth_url, headers={"X-Auth-User": "test:helper", "X-Auth-Key": "hk"})
    helper = new_session(r.headers["X-Auth-Token"])
    r = bulk_delete(helper, url, ["/open/a", "/open/b", "/shut/a", "/open"])
    assert r.content == (b"Number Deleted: 2\nNumber Not Found: 0\nResponse Body: \n"
                         b"Response Status: 400 Bad Request\nErrors:\n"
                         b"/shut/a, 403 Forbidden\n/open, 403 Forbidden\n")
    assert listing(admin, url + "/open") == 204 or listing(admin, url + "/open") == []
    assert listing(admin, url + "/shut") == ["a"]


def test_bulk_delete_is_not_a_get(sess, storage_url):
    assert sess.get(storage_url + "?bulk-delete").status_code in (200, 204)
    assert sess.head(storage_url + "?bulk-delete").status_code == 204


def test_info_bulk_sections(info):
    assert info["bulk_delete"] == {"max_deletes_per_request": 10000,
                                   "max_failed_deletes": 1000}
    assert info["bulk_upload"] == {"max_containers_per_extraction": 10000,
                                   "max_failed_extractions": 1000}


# --------------------------------------------------------------------------
# extract archive


def test_extract_at_account_level(sess, storage_url):
    c = unique("ea")
    tar = mktar([("base.txt", b"ignored"), (c + "/a.txt", b"aa"),
                 ("./" + c + "/sub/b.json", b"{}"), (c + "/dir", None),
                 (c + "/link", "a.txt"),
                 ("/" + c + "/x.bin", b"xx", {
                     "SCHILY.xattr.user.mime_type": "app/special",
                     "SCHILY.xattr.user.meta.color": "blue",
                     "SCHILY.xattr.user.stuff": "no"})])
    r = extract(sess, storage_url, tar, headers={"Accept": "application/json"})
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == (b'{"Response Status": "201 Created", "Response Body": "", '
                         b'"Number Files Created": 3, "Errors": []}')
    assert listing(sess, storage_url + "/" + c) == ["a.txt", "sub/b.json", "x.bin"]
    h = sess.head(storage_url + "/" + c + "/sub/b.json").headers
    assert h["Content-Type"] == "application/json"
    h = sess.head(storage_url + "/" + c + "/x.bin").headers
    assert h["Content-Type"] == "app/special"
    assert h["X-Object-Meta-Color"] == "blue"
    assert "X-Object-Meta-Stuff" not in h
    assert sess.get(storage_url + "/" + c + "/a.txt").content == b"aa"
    drop(sess, storage_url, c)


def test_extract_at_container_and_prefix(sess, container):
    r = extract(sess, container, mktar([("c.txt", b"c"), ("d/e.txt", b"e")], "w:gz"),
                fmt="tar.gz", headers={"Content-Type": "application/x-tar",
                                       "X-Object-Meta-Foo": "bar",
                                       "X-Delete-After": "1000"})
    assert r.content == (b"Number Files Created: 2\nResponse Body: \n"
                         b"Response Status: 201 Created\nErrors:\n")
    h = sess.head(container + "/c.txt").headers
    assert h["Content-Type"] == "text/plain"      # guessed, not the tar's type
    assert h["X-Object-Meta-Foo"] == "bar"
    assert abs(int(h["X-Delete-At"]) - time.time() - 1000) < 30
    for name in ("c.txt", "d/e.txt"):
        # counted from each object's own timestamp, as Swift's subrequests
        h = sess.head(container + "/" + name).headers
        assert int(h["X-Delete-At"]) == int(float(h["X-Timestamp"])) + 1000
    r = extract(sess, container + "/pre/fix/", mktar([("f.txt", b"f")], "w:bz2"),
                fmt=".TAR.BZ2")
    assert b"Number Files Created: 1\n" in r.content
    assert listing(sess, container) == ["c.txt", "d/e.txt", "pre/fix/f.txt"]


def test_extract_unsupported_format(sess, container):
    for fmt in ("zip", ""):
        r = sess.put(container + "?extract-archive=" + fmt, data=b"abc")
        assert r.status_code == 400
        assert r.content == b"Unsupported archive format"


@pytest.mark.parametrize("fmt,data,why", [
    ("tar", b"hello world" * 100, b"invalid header"),
    ("tar.gz", b"hello world" * 100, b"not a gzip file"),
    ("tar.bz2", b"hello world" * 100, b"invalid compressed data"),
    ("tar.gz", mktar([("q.txt", b"q")]), b"not a gzip file"),
    ("tar", b"", b"empty file"),
    ("tar", mktar([]), b"No Valid Files"),
])
def test_extract_bad_archive(sess, container, fmt, data, why):
    r = extract(sess, container, data, fmt=fmt)
    assert r.content == (b"Number Files Created: 0\nResponse Body: Invalid Tar File: "
                         b"%s\nResponse Status: 400 Bad Request\nErrors:\n" % why)


def test_extract_truncated_archive(sess, container):
    r = extract(sess, container, mktar([("big.txt", b"z" * 5000)])[:2000])
    name = urlparse(container).path.rsplit("/", 1)[1].encode()
    assert r.content == (b"Number Files Created: 0\nResponse Body: Invalid Tar File: "
                         b"unexpected end of data\nResponse Status: 400 Bad Request\n"
                         b"Errors:\n%s/big.txt, 500 Internal Error\n" % name)


def test_extract_only_base_files(sess, storage_url):
    r = extract(sess, storage_url, mktar([("base.txt", b"b")]))
    assert b"Response Body: Invalid Tar File: No Valid Files\n" in r.content


def test_extract_failures_listed(sess, storage_url):
    c = unique("ea")
    r = extract(sess, storage_url, mktar([
        ("c" * 300 + "/o", b"1"), (c + "/" + "o" * 1100, b"2"), (c + "/ok", b"3")]),
        headers={"Accept": "application/json"})
    d = json.loads(r.content)
    assert d["Response Status"] == "400 Bad Request"
    assert d["Number Files Created"] == 1
    assert d["Errors"] == [
        ["/v1/" + urlparse(storage_url).path.split("/")[2] + "/" + "c" * 300,
         "400 Bad Request"],
        ["c" * 300 + "/o", "404 Not Found"],
        [c + "/" + "o" * 1100, "400 Bad Request"]]
    drop(sess, storage_url, c)


def test_extract_bad_utf8_name(sess, container):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as tf:
        ti = tarfile.TarInfo("a\udcff.txt")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"1"))
    r = extract(sess, container, bio.getvalue())
    name = urlparse(container).path.rsplit("/", 1)[1].encode()
    assert r.content == (b"Number Files Created: 0\nResponse Body: \nResponse Status: "
                         b"400 Bad Request\nErrors:\n%s/a%%FF.txt, 412 Precondition "
                         b"Failed\n" % name)


def test_extract_xml_and_not_acceptable(sess, container):
    r = extract(sess, container, mktar([("g.txt", b"g")]),
                headers={"Accept": "application/xml"})
    assert r.headers["Content-Type"] == "application/xml"
    assert r.content == (b"<extract>\n<number_files_created>1</number_files_created>\n"
                         b"<response_body></response_body>\n<response_status>201 Created"
                         b"</response_status>\n<errors>\n</errors>\n</extract>\n")
    r = extract(sess, container, mktar([("h.txt", b"g")]),
                headers={"Accept": "image/png"})
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert b"Response Status: 406 Not Acceptable\n" in r.content
    assert listing(sess, container) == ["g.txt"]


def test_extract_unauthorized(anon, storage_url):
    r = extract(anon, storage_url, mktar([("zz/h.txt", b"g")]))
    assert r.content == (b"Number Files Created: 0\nResponse Body: \nResponse Status: "
                         b"401 Unauthorized\nErrors:\n")


def test_extract_big_file_streams(sess, container):
    big = os.urandom(6 * 1024 * 1024 + 123)
    tar = mktar([("dir/big.bin", big), ("small", b"s")], "w:gz")
    r = extract(sess, container, tar, fmt="tar.gz")
    assert b"Number Files Created: 2\n" in r.content
    got = sess.get(container + "/dir/big.bin")
    assert got.content == big
    assert got.headers["Content-Type"] == "application/octet-stream"


# --------------------------------------------------------------------------
# limits and the heartbeat, with small settings (swiftlet only)


@pytest.fixture
def bulk_server(spawn):
    def _start(conf):
        srv = spawn(conf="[bulk]\n" + conf)
        surl, tok = srv.auth()
        return srv, surl, new_session(tok)
    return _start


@pytest.mark.swiftlet_only
def test_bulk_heartbeat(bulk_server):
    srv, surl, s = bulk_server("yield_frequency = 0\n")
    make_objects(s, surl, "hb", ["a", "b", "c"])
    r = bulk_delete(s, surl, ["/hb/a", "/hb/b", "/hb/c", "/hb"])
    head, sep, rest = r.content.partition(b"\r\n\r\n")
    assert sep and head and head.strip() == b""
    assert rest == PLAIN_OK % (4, 0)
    make_objects(s, surl, "hb", ["a"])
    r = bulk_delete(s, surl, ["/hb/a"], accept="application/xml")
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert b"\r\n\r\n<delete>\n<number_deleted>1</number_deleted>" in r.content
    r = extract(s, surl + "/hb", mktar([("x", b"1"), ("y", b"2")]))
    head, sep, rest = r.content.partition(b"\r\n\r\n")
    assert sep and head.strip() == b""
    assert rest == (b"Number Files Created: 2\nResponse Body: \n"
                    b"Response Status: 201 Created\nErrors:\n")
    info = requests.get(srv.base + "/info").json()
    assert "bulk_delete" in info


@pytest.mark.swiftlet_only
def test_bulk_small_limits(bulk_server):
    srv, surl, s = bulk_server("max_deletes_per_request = 3\nmax_failed_deletes = 2\n"
                               "max_containers_per_extraction = 1\n"
                               "max_failed_extractions = 2\n")
    info = requests.get(srv.base + "/info").json()
    assert info["bulk_delete"] == {"max_deletes_per_request": 3, "max_failed_deletes": 2}
    assert info["bulk_upload"] == {"max_containers_per_extraction": 1,
                                   "max_failed_extractions": 2}
    r = bulk_delete(s, surl, ["/a", "/b", "/c", "/d"])
    assert b"Maximum Bulk Deletes: 3 per request" in r.content
    for c in ("f1", "f2", "f3"):
        make_objects(s, surl, c, ["o"])
    r = bulk_delete(s, surl, ["/f1", "/f2", "/f3"])
    assert r.content == (b"Number Deleted: 0\nNumber Not Found: 0\nResponse Body: Max "
                         b"delete failures exceeded\nResponse Status: 400 Bad Request\n"
                         b"Errors:\n/f1, 409 Conflict\n/f2, 409 Conflict\n")
    r = extract(s, surl, mktar([("n1/a", b"1"), ("f1/b", b"2"), ("n2/c", b"3")]))
    assert r.content == (b"Number Files Created: 2\nResponse Body: More than 1 containers "
                         b"to create from tar.\nResponse Status: 400 Bad Request\nErrors:\n")
    r = extract(s, surl + "/f1", mktar([("o" * 1100, b"1"), ("p" * 1100, b"2"),
                                        ("ok", b"3")]))
    assert r.content.count(b"400 Bad Request\n") == 3   # stops after two failures
    assert s.head(surl + "/f1/ok").status_code == 404


@pytest.mark.swiftlet_only
def test_extract_file_too_large(spawn):
    srv = spawn(conf="[swift-constraints]\nmax_file_size = 10\n")
    surl, tok = srv.auth()
    s = new_session(tok)
    r = extract(s, surl, mktar([("c/big", b"x" * 11), ("c/ok", b"x" * 10)]))
    assert r.content == (b"Number Files Created: 1\nResponse Body: \nResponse Status: "
                         b"400 Bad Request\nErrors:\nc/big, 413 Request Entity Too Large\n")
