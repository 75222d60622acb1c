"""Account and container operations: HEAD/GET/PUT/POST/DELETE semantics."""

import re

from conftest import unique

TS_RE = re.compile(r"^\d{10}\.\d{5}$")
HTTP_DATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
    r"Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")
LM_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
ACCEPTED = (b"<html><h1>Accepted</h1><p>The request is accepted for "
            b"processing.</p></html>")
NOT_FOUND = (b"<html><h1>Not Found</h1><p>The resource could not be "
             b"found.</p></html>")
CONFLICT = (b"<html><h1>Conflict</h1><p>There was a conflict when trying to "
            b"complete your request.</p></html>")


# ---------------------------------------------------------------- account


def test_account_head(sess, storage_url, container):
    r = sess.head(storage_url)
    assert r.status_code == 204
    h = r.headers
    assert h["Content-Type"] == "text/plain; charset=utf-8"
    assert h["Content-Length"] == "0"
    assert h["Accept-Ranges"] == "bytes"
    assert int(h["X-Account-Container-Count"]) >= 1
    assert int(h["X-Account-Object-Count"]) >= 0
    assert int(h["X-Account-Bytes-Used"]) >= 0
    assert TS_RE.match(h["X-Timestamp"])


def test_account_get_formats(sess, storage_url, make_container):
    pfx = unique("acct")
    names = [pfx + "-a", pfx + "-b", pfx + "-c"]
    for n in names:
        make_container(n)

    r = sess.get(storage_url, params={"prefix": pfx})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == "".join(n + "\n" for n in names)
    assert int(r.headers["X-Account-Container-Count"]) >= 3

    r = sess.get(storage_url, params={"prefix": pfx, "format": "json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    rows = r.json()
    assert [row["name"] for row in rows] == names
    for row in rows:
        assert set(row) == {"name", "count", "bytes", "last_modified"}
        assert row["count"] == 0 and row["bytes"] == 0
        assert LM_RE.match(row["last_modified"])

    r = sess.get(storage_url, params={"prefix": pfx, "format": "xml",
                                      "limit": "1"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    lm = rows[0]["last_modified"]
    assert r.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<account name="AUTH_test">\n'
        "<container><name>%s</name><count>0</count><bytes>0</bytes>"
        "<last_modified>%s</last_modified></container>\n"
        "</account>" % (names[0], lm))

    r = sess.get(storage_url, params={"prefix": pfx, "marker": names[0],
                                      "end_marker": names[2]})
    assert r.text == names[1] + "\n"
    r = sess.get(storage_url, params={"prefix": pfx, "reverse": "true"})
    assert r.text == "".join(n + "\n" for n in reversed(names))
    r = sess.get(storage_url, params={"prefix": pfx},
                 headers={"Accept": "application/json"})
    assert [row["name"] for row in r.json()] == names


def test_account_get_empty_prefix(sess, storage_url):
    r = sess.get(storage_url, params={"prefix": unique("nothing")})
    assert r.status_code == 204
    assert r.content == b""
    r = sess.get(storage_url, params={"prefix": unique("nothing"),
                                      "format": "json"})
    assert r.status_code == 200
    assert r.content == b"[]"


def test_account_post_metadata(sess, storage_url):
    key = "X-Account-Meta-" + unique("m")
    try:
        r = sess.post(storage_url, headers={key: "value one"})
        assert r.status_code == 204
        assert r.content == b""
        r = sess.head(storage_url)
        assert r.headers[key] == "value one"
        r = sess.get(storage_url, params={"limit": "1"})
        assert r.headers[key] == "value one"
        r = sess.post(storage_url, headers={key: "two"})
        assert sess.head(storage_url).headers[key] == "two"
        rm = key.replace("X-Account-Meta-", "X-Remove-Account-Meta-")
        r = sess.post(storage_url, headers={rm: "x"})
        assert r.status_code == 204
        assert key not in sess.head(storage_url).headers
        # an empty value removes as well
        sess.post(storage_url, headers={key: "3"})
        sess.post(storage_url, headers={key: ""})
        assert key not in sess.head(storage_url).headers
    finally:
        sess.post(storage_url, headers={key: ""})


# ---------------------------------------------------------------- container


def test_container_put_created_then_accepted(sess, storage_url):
    url = storage_url + "/" + unique("c")
    try:
        r = sess.put(url)
        assert r.status_code == 201
        assert r.content == b""
        assert r.headers["Content-Length"] == "0"
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
        r = sess.put(url)
        assert r.status_code == 202
        assert r.content == ACCEPTED
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    finally:
        sess.delete(url)


def test_container_head(sess, container):
    r = sess.head(container)
    assert r.status_code == 204
    h = r.headers
    assert h["Content-Type"] == "text/plain; charset=utf-8"
    assert h["Content-Length"] == "0"
    assert h["X-Container-Object-Count"] == "0"
    assert h["X-Container-Bytes-Used"] == "0"
    assert h["Accept-Ranges"] == "bytes"
    assert h["X-Storage-Policy"] == "Policy-0"
    assert TS_RE.match(h["X-Timestamp"])
    assert HTTP_DATE_RE.match(h["Last-Modified"])
    sess.put(container + "/a", data=b"12345")
    sess.put(container + "/b", data=b"123")
    h = sess.head(container).headers
    assert h["X-Container-Object-Count"] == "2"
    assert h["X-Container-Bytes-Used"] == "8"


def test_container_get_empty(sess, container):
    name = container.rsplit("/", 1)[1]
    r = sess.get(container)
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = sess.get(container, params={"format": "json"})
    assert r.status_code == 200
    assert r.content == b"[]"
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    r = sess.get(container, params={"format": "xml"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert r.text == ('<?xml version="1.0" encoding="UTF-8"?>\n'
                      '<container name="%s" />' % name)


def test_container_missing(sess, storage_url):
    url = storage_url + "/" + unique("missing")
    r = sess.head(url)
    assert r.status_code == 404
    assert r.headers["Content-Length"] == "0"
    for method in ("GET", "POST", "DELETE"):
        r = sess.request(method, url)
        assert r.status_code == 404, method
        assert r.content == NOT_FOUND
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    r = sess.put(url + "/obj", data=b"x")
    assert r.status_code == 404
    assert r.content == NOT_FOUND


def test_container_metadata(sess, container):
    r = sess.post(container, headers={"X-Container-Meta-A": "1",
                                      "X-Container-Meta-B": "2"})
    assert r.status_code == 204
    assert r.content == b""
    r = sess.post(container, headers={"X-Container-Meta-C": "3",
                                      "X-Remove-Container-Meta-A": "x"})
    assert r.status_code == 204
    h = sess.head(container).headers
    assert "X-Container-Meta-A" not in h
    assert h["X-Container-Meta-B"] == "2"
    assert h["X-Container-Meta-C"] == "3"
    # empty value removes, names are case-insensitive
    sess.post(container, headers={"x-container-meta-b": ""})
    h = sess.get(container).headers
    assert "X-Container-Meta-B" not in h
    assert h["X-Container-Meta-C"] == "3"
    # PUT on an existing container merges metadata too
    r = sess.put(container, headers={"X-Container-Meta-D": "4"})
    assert r.status_code == 202
    h = sess.head(container).headers
    assert h["X-Container-Meta-C"] == "3"
    assert h["X-Container-Meta-D"] == "4"


def test_container_put_with_metadata(sess, storage_url):
    url = storage_url + "/" + unique("c")
    try:
        r = sess.put(url, headers={"X-Container-Meta-Color": "Blue Green",
                                   "X-Container-Meta-Utf8": "f\u00fc\u00df"
                                   .encode("utf-8")})
        assert r.status_code == 201
        h = sess.head(url).headers
        assert h["X-Container-Meta-Color"] == "Blue Green"
        assert h["X-Container-Meta-Utf8"].encode("latin-1") == \
            "f\u00fc\u00df".encode("utf-8")
    finally:
        sess.delete(url)


def test_container_delete(sess, storage_url):
    url = storage_url + "/" + unique("c")
    assert sess.put(url).status_code == 201
    assert sess.put(url + "/obj", data=b"data").status_code == 201
    r = sess.delete(url)
    assert r.status_code == 409
    assert r.content == CONFLICT
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert sess.delete(url + "/obj").status_code == 204
    r = sess.delete(url)
    assert r.status_code == 204
    assert r.content == b""
    r = sess.delete(url)
    assert r.status_code == 404
    assert r.content == NOT_FOUND
    assert sess.head(url).status_code == 404


def test_container_listed_in_account(sess, storage_url, container):
    name = container.rsplit("/", 1)[1]
    r = sess.get(storage_url, params={"prefix": name, "format": "json"})
    assert [c["name"] for c in r.json()] == [name]


def test_container_unicode_name(sess, storage_url, make_container):
    name = unique("c") + "-\u00e9\u4e2d"
    url = make_container(name)
    assert sess.head(url).status_code == 204
    r = sess.get(storage_url, params={"prefix": name, "format": "json"})
    assert [c["name"] for c in r.json()] == [name]
    r = sess.put(url + "/o", data=b"x")
    assert r.status_code == 201
    r = sess.get(url)
    assert r.text == "o\n"


def test_swiftclient_container_roundtrip(conn):
    name = unique("c")
    conn.put_container(name, headers={"X-Container-Meta-K": "v"})
    try:
        h = conn.head_container(name)
        assert h["x-container-meta-k"] == "v"
        conn.put_object(name, "x/y.txt", b"hello", content_type="text/plain")
        hdrs, objs = conn.get_container(name)
        assert [o["name"] for o in objs] == ["x/y.txt"]
        assert objs[0]["bytes"] == 5
        assert objs[0]["content_type"] == "text/plain"
        hdrs, body = conn.get_object(name, "x/y.txt")
        assert body == b"hello"
        conn.delete_object(name, "x/y.txt")
    finally:
        conn.delete_container(name)
    try:
        conn.head_container(name)
        raise AssertionError("container still there")
    except Exception as e:  # swiftclient.ClientException
        assert getattr(e, "http_status", None) == 404

