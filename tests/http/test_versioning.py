"""Legacy object versioning (X-Versions-Location, X-History-Location), as
Swift 2.30's versioned_writes middleware answers: container headers, the
archive names, stack-mode pops, history-mode delete markers, and what a
missing archive container does."""

import socket
from urllib.parse import quote, urlparse

from conftest import read_head, unique

PRECONDITION = (b"<html><h1>Precondition Failed</h1><p>A precondition for "
                b"this request was not met.</p></html>")
MARKER_TYPE = "application/x-deleted;swift_versions_deleted=1"


def vname(obj, ts):
    """Swift's archive name: '%03x%s/%s' % (len(name), name, timestamp),
    the length in bytes of the UTF-8 name."""
    return "%03x%s/%s" % (len(obj.encode("utf-8")), obj, ts)


def listing(sess, url, **params):
    params["format"] = "json"
    r = sess.get(url, params=params)
    assert r.status_code == 200, r.status_code
    return r.json()


def versioned(sess, make_container, header="X-Versions-Location"):
    """A container versioned into a fresh archive: (url, archive url)."""
    arch_name = unique("arch")
    arch = make_container(arch_name)
    url = make_container()
    r = sess.post(url, headers={header: arch_name})
    assert r.status_code == 204
    return url, arch


def put(sess, url, body, **headers):
    r = sess.put(url, data=body, headers=headers)
    assert r.status_code == 201, (r.status_code, r.content)
    return sess.head(url).headers["X-Timestamp"]


def test_info_lists_versioned_writes(info):
    assert info["versioned_writes"] == {
        "allowed_flags": ["x-versions-location", "x-history-location"]}


def test_container_location_headers(sess, make_container):
    url = make_container()
    r = sess.post(url, headers={"X-Versions-Location": "a%20b"})
    assert r.status_code == 204
    h = sess.head(url).headers
    assert h["X-Versions-Location"] == "a%20b"   # stored as sent
    assert "X-History-Location" not in h
    # the other mode replaces it; other metadata stays
    r = sess.post(url, headers={"X-History-Location": "hist",
                                "X-Container-Meta-Foo": "1"})
    assert r.status_code == 204
    h = sess.get(url).headers
    assert h["X-History-Location"] == "hist"
    assert "X-Versions-Location" not in h
    assert h["X-Container-Meta-Foo"] == "1"
    # either remove header clears either mode
    r = sess.post(url, headers={"X-Remove-Versions-Location": "x"})
    assert r.status_code == 204
    h = sess.head(url).headers
    assert "X-History-Location" not in h and "X-Versions-Location" not in h
    # a location wins over a remove header in the same request
    r = sess.post(url, headers={"X-Versions-Location": "v",
                                "X-Remove-Versions-Location": "x"})
    assert sess.head(url).headers["X-Versions-Location"] == "v"
    # an empty location removes
    r = sess.post(url, headers={"X-Versions-Location": ""})
    assert r.status_code == 204
    assert "X-Versions-Location" not in sess.head(url).headers


def test_container_put_with_location(sess, storage_url, make_container):
    name = unique("c")
    url = make_container(name)   # made and cleaned up by the fixture
    r = sess.put(url, headers={"X-History-Location": "h1"})
    assert r.status_code == 202
    assert sess.head(url).headers["X-History-Location"] == "h1"
    # an empty versions location defers to the history one
    r = sess.put(url, headers={"X-Versions-Location": "",
                               "X-History-Location": "h2"})
    assert r.status_code == 202
    assert sess.head(url).headers["X-History-Location"] == "h2"


def test_both_locations_400(sess, storage_url, make_container):
    url = make_container()
    for method in (sess.put, sess.post):
        r = method(url, headers={"X-Versions-Location": "a",
                                 "X-History-Location": "b"})
        assert r.status_code == 400
        assert r.headers["Content-Type"] == "text/plain"
        assert r.content == (b"Only one of x-versions-location or "
                             b"x-history-location may be specified")
    # nothing was created by the refused PUT either
    other = storage_url + "/" + unique("c")
    r = sess.put(other, headers={"X-Versions-Location": "a",
                                 "X-History-Location": "b"})
    assert r.status_code == 400
    assert sess.head(other).status_code == 404
    h = sess.head(url).headers
    assert "X-History-Location" not in h and "X-Versions-Location" not in h


def test_location_with_slash_412(sess, make_container):
    url = make_container()
    r = sess.post(url, headers={"X-Versions-Location": "a/b"})
    assert r.status_code == 412
    assert r.content == b"Container name cannot contain slashes"
    # an encoded slash is not checked, and the archive is cut at it
    r = sess.post(url, headers={"X-Versions-Location": "a%2Fb"})
    assert r.status_code == 204
    assert sess.head(url).headers["X-Versions-Location"] == "a%2Fb"


def test_stack_mode_archives_and_pops(sess, make_container):
    url, arch = versioned(sess, make_container)
    obj = url + "/obj"
    ts1 = put(sess, obj, b"one", **{"Content-Type": "text/x-one",
                                     "X-Object-Meta-Color": "red",
                                     "Content-Disposition": "inline"})
    assert listing(sess, arch) == []   # nothing to archive the first time
    ts2 = put(sess, obj, b"two", **{"Content-Type": "text/x-two"})
    ts3 = put(sess, obj, b"three")
    rows = listing(sess, arch)
    assert [o["name"] for o in rows] == [vname("obj", ts1), vname("obj", ts2)]
    assert [o["content_type"] for o in rows] == ["text/x-one", "text/x-two"]
    assert [o["bytes"] for o in rows] == [3, 3]
    # the archived copy keeps its content type and stored headers
    r = sess.get(arch + "/" + vname("obj", ts1))
    assert r.content == b"one"
    assert r.headers["Content-Type"] == "text/x-one"
    assert r.headers["X-Object-Meta-Color"] == "red"
    assert r.headers["Content-Disposition"] == "inline"
    assert sess.get(obj).content == b"three"
    assert ts3

    # DELETE pops back through the versions, newest first
    r = sess.delete(obj)
    assert r.status_code == 204
    r = sess.get(obj)
    assert (r.content, r.headers["Content-Type"]) == (b"two", "text/x-two")
    assert [o["name"] for o in listing(sess, arch)] == [vname("obj", ts1)]
    assert sess.delete(obj).status_code == 204
    r = sess.get(obj)
    assert r.content == b"one"
    assert r.headers["Content-Type"] == "text/x-one"
    assert r.headers["X-Object-Meta-Color"] == "red"
    assert r.headers["Content-Disposition"] == "inline"
    assert listing(sess, arch) == []
    assert sess.delete(obj).status_code == 204
    assert sess.get(obj).status_code == 404
    assert sess.delete(obj).status_code == 404


def test_stack_mode_version_named_by_post_timestamp(sess, make_container):
    url, arch = versioned(sess, make_container)
    obj = url + "/o"
    put(sess, obj, b"a")
    r = sess.post(obj, headers={"X-Object-Meta-Late": "yes"})
    assert r.status_code == 202
    ts = sess.head(obj).headers["X-Timestamp"]   # the POST's
    put(sess, obj, b"b")
    rows = listing(sess, arch)
    assert [o["name"] for o in rows] == [vname("o", ts)]
    r = sess.head(arch + "/" + vname("o", ts))
    assert r.headers["X-Object-Meta-Late"] == "yes"


def test_version_name_counts_utf8_bytes(sess, make_container):
    url, arch = versioned(sess, make_container)
    name = "caf\u00e9/x"
    obj = url + "/" + quote(name.encode("utf-8"))
    ts = put(sess, obj, b"1")
    put(sess, obj, b"2")
    rows = listing(sess, arch)
    assert [o["name"] for o in rows] == ["007" + name + "/" + ts]
    # only this object's versions are popped (prefix ends at the '/')
    assert sess.delete(obj).status_code == 204
    assert sess.get(obj).content == b"1"


def test_history_mode_delete_marker(sess, make_container):
    url, arch = versioned(sess, make_container, "X-History-Location")
    obj = url + "/obj"
    ts1 = put(sess, obj, b"one", **{"X-Object-Meta-A": "1"})
    ts2 = put(sess, obj, b"two", **{"Content-Type": "text/x-two"})
    r = sess.delete(obj)
    assert r.status_code == 204
    assert sess.get(obj).status_code == 404
    rows = listing(sess, arch)
    assert [o["name"] for o in rows[:2]] == [vname("obj", ts1),
                                              vname("obj", ts2)]
    assert len(rows) == 3
    marker = rows[2]
    assert marker["name"].startswith("003obj/")
    assert marker["name"] > vname("obj", ts2)
    assert marker["content_type"] == MARKER_TYPE
    assert marker["bytes"] == 0
    assert marker["hash"] == "d41d8cd98f00b204e9800998ecf8427e"
    r = sess.get(arch + "/" + vname("obj", ts2))
    assert r.content == b"two" and r.headers["Content-Type"] == "text/x-two"
    assert sess.head(arch + "/" + vname("obj", ts1)).headers[
        "X-Object-Meta-A"] == "1"
    # deleting what is not there still leaves a marker, and 404s
    r = sess.delete(url + "/nothere")
    assert r.status_code == 404
    rows = listing(sess, arch, prefix="007nothere/")
    assert [o["content_type"] for o in rows] == [MARKER_TYPE]


def test_stack_pop_over_delete_marker(sess, make_container):
    """A history-mode delete marker, then stack mode: the DELETE of the
    gone object restores the version under the marker and removes both."""
    url, arch = versioned(sess, make_container, "X-History-Location")
    obj = url + "/obj"
    ts1 = put(sess, obj, b"one")
    assert sess.delete(obj).status_code == 204
    arch_name = arch.rsplit("/", 1)[1]
    assert sess.post(url, headers={"X-Versions-Location": arch_name}
                     ).status_code == 204
    assert len(listing(sess, arch)) == 2   # the version and the marker
    assert sess.delete(obj).status_code == 204
    assert sess.get(obj).content == b"one"
    assert listing(sess, arch) == []
    # a marker on top while the object exists: only the object goes
    assert sess.post(url, headers={"X-History-Location": arch_name}
                     ).status_code == 204
    assert sess.delete(obj).status_code == 204   # archives "one" + marker
    put(sess, obj, b"again")
    assert sess.post(url, headers={"X-Versions-Location": arch_name}
                     ).status_code == 204
    before = listing(sess, arch)
    assert [o["content_type"] for o in before][-1] == MARKER_TYPE
    assert sess.delete(obj).status_code == 204
    assert sess.get(obj).status_code == 404
    assert listing(sess, arch) == before
    assert ts1


def test_remove_location_stops_versioning(sess, make_container):
    url, arch = versioned(sess, make_container)
    obj = url + "/obj"
    put(sess, obj, b"one")
    put(sess, obj, b"two")
    assert len(listing(sess, arch)) == 1
    r = sess.post(url, headers={"X-Remove-Versions-Location": "x"})
    assert r.status_code == 204
    put(sess, obj, b"three")
    assert len(listing(sess, arch)) == 1
    assert sess.delete(obj).status_code == 204   # no pop any more
    assert sess.get(obj).status_code == 404
    assert len(listing(sess, arch)) == 1


def test_missing_archive_container(sess, storage_url, make_container):
    url = make_container()
    r = sess.post(url, headers={"X-Versions-Location": unique("missing")})
    assert r.status_code == 204
    obj = url + "/obj"
    put(sess, obj, b"one")   # nothing to archive: written
    # an existing object cannot be archived: 412, and it stays
    r = sess.put(obj, data=b"two")
    assert r.status_code == 412
    assert r.content == PRECONDITION
    assert sess.get(obj).content == b"one"
    r = sess.put(obj, headers={"X-Copy-From": url.rsplit("/", 1)[1] + "/obj"})
    assert r.status_code == 412
    # stack mode DELETE: an archive that does not exist lists nothing
    assert sess.delete(obj).status_code == 204
    assert sess.get(obj).status_code == 404
    # history mode DELETE: the marker cannot be written: 412
    put(sess, obj, b"three")
    r = sess.post(url, headers={"X-History-Location": unique("missing")})
    assert r.status_code == 204
    r = sess.delete(obj)
    assert r.status_code == 412
    assert sess.get(obj).content == b"three"
    assert sess.delete(url + "/nothere").status_code == 412


def test_missing_archive_412_before_body(sess, token, make_container):
    """As Swift, the archive step runs before the body is read: a client
    that waits for "100 Continue" gets the 412 instead."""
    url = make_container()
    r = sess.post(url, headers={"X-Versions-Location": unique("missing")})
    assert r.status_code == 204
    put(sess, url + "/obj", b"one")
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=20) as s:
        s.sendall(("PUT %s/obj HTTP/1.1\r\nHost: %s\r\n"
                   "X-Auth-Token: %s\r\nContent-Length: 100\r\n"
                   "Expect: 100-continue\r\nConnection: close\r\n\r\n"
                   % (u.path, u.netloc, token)).encode())
        head, _ = read_head(s)
    assert head.startswith("HTTP/1.1 412 "), head
    assert sess.get(url + "/obj").content == b"one"


def test_copy_onto_versioned_object(sess, make_container):
    url, arch = versioned(sess, make_container)
    cname = url.rsplit("/", 1)[1]
    put(sess, url + "/src", b"src", **{"X-Object-Meta-S": "s"})
    ts = put(sess, url + "/dst", b"dst", **{"X-Object-Meta-D": "d"})
    r = sess.request("COPY", url + "/src",
                     headers={"Destination": cname + "/dst"})
    assert r.status_code == 201
    assert [o["name"] for o in listing(sess, arch)] == [vname("dst", ts)]
    r = sess.get(arch + "/" + vname("dst", ts))
    assert r.content == b"dst" and r.headers["X-Object-Meta-D"] == "d"
    ts2 = sess.head(url + "/dst").headers["X-Timestamp"]
    assert sess.get(url + "/dst").content == b"src"
    # PUT with X-Copy-From versions too
    r = sess.put(url + "/dst", headers={"X-Copy-From": cname + "/src"})
    assert r.status_code == 201
    assert [o["name"] for o in listing(sess, arch)] == [vname("dst", ts),
                                                         vname("dst", ts2)]
    # the copy source itself is not archived
    assert listing(sess, arch, prefix="003src/") == []


def test_manifest_archived_as_manifest(sess, make_container):
    """The current object is archived as stored: a DLO manifest is copied
    as the manifest (zero bytes and its X-Object-Manifest)."""
    url, arch = versioned(sess, make_container)
    cname = url.rsplit("/", 1)[1]
    ts = put(sess, url + "/dlo", b"",
             **{"X-Object-Manifest": cname + "/seg/"})
    put(sess, url + "/dlo", b"new")
    rows = listing(sess, arch)
    assert [(o["name"], o["bytes"]) for o in rows] == [(vname("dlo", ts), 0)]
    r = sess.head(arch + "/" + vname("dlo", ts) + "?multipart-manifest=get")
    assert r.headers["X-Object-Manifest"] == cname + "/seg/"


def test_bulk_delete_passes_through_versioning(sess, make_container, storage_url):
    """A bulk delete's sub-deletes go through versioned writes, as in Swift's
    pipeline (bulk sits before versioned_writes): stack mode pops the
    previous version back, history mode leaves a delete marker."""
    url, arch = versioned(sess, make_container)
    cont = url.rsplit("/", 1)[1]
    put(sess, url + "/obj", b"one")
    put(sess, url + "/obj", b"two")
    r = sess.post(storage_url + "?bulk-delete", data=("/%s/obj\n" % cont).encode(),
                  headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.json()["Number Deleted"] == 1 and r.json()["Errors"] == []
    assert sess.get(url + "/obj").content == b"one"
    assert listing(sess, arch) == []

    hurl, harch = versioned(sess, make_container, "X-History-Location")
    hcont = hurl.rsplit("/", 1)[1]
    put(sess, hurl + "/obj", b"one")
    r = sess.post(storage_url + "?bulk-delete", data=("/%s/obj\n" % hcont).encode(),
                  headers={"Accept": "application/json"})
    assert r.json()["Number Deleted"] == 1
    assert sess.get(hurl + "/obj").status_code == 404
    rows = listing(sess, harch)
    assert len(rows) == 2 and rows[1]["content_type"] == MARKER_TYPE
