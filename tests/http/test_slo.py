"""Static large objects (Swift 2.30's slo middleware): manifest PUT and its
validation errors, heartbeat, GET/HEAD of the concatenation with ranges
across segments, nested manifests, ?multipart-manifest=get (and
format=raw), ?multipart-manifest=delete, listings, COPY, /info."""

import base64
import hashlib
import http.client
import json
import re
from urllib.parse import urlparse

import pytest

from conftest import unique

BAD_REQUEST = ("Bad Request\nThe server could not comply with the request "
               "since it is either malformed or otherwise incorrect.")


def md5(b):
    return hashlib.md5(b).hexdigest()


def cpath(url):
    """'/<container>' of a container URL."""
    return "/" + urlparse(url).path.rstrip("/").split("/")[-1]


def put_segments(sess, container, bodies, prefix="seg"):
    """PUT each body as <prefix>-<i>; return [(path, etag, size)]."""
    out = []
    for i, body in enumerate(bodies):
        r = sess.put("%s/%s-%02d" % (container, prefix, i), data=body)
        assert r.status_code == 201, r.status_code
        out.append(("%s/%s-%02d" % (cpath(container), prefix, i), md5(body),
                    len(body)))
    return out


def put_manifest(sess, url, manifest, headers=None, query=""):
    return sess.put(url + "?multipart-manifest=put" + query,
                    data=json.dumps(manifest), headers=headers or {})


@pytest.fixture
def slo(sess, container):
    """A manifest 'm' of a 5-byte segment, bytes 1-3 of a 7-byte segment
    and 3 inline bytes: 'aaaaa' + 'bbb' + 'xyz'."""
    segs = put_segments(sess, container, [b"aaaaa", b"Bbbbbbb"])
    manifest = [{"path": segs[0][0], "etag": segs[0][1], "size_bytes": 5},
                {"path": segs[1][0], "range": "1-3"},
                {"data": base64.b64encode(b"xyz").decode()}]
    r = put_manifest(sess, container + "/m", manifest,
                     {"Content-Type": "text/x-foo"})
    assert r.status_code == 201, r.text
    etag = md5((segs[0][1] + segs[1][1] + ":1-3;" + md5(b"xyz")).encode())
    assert r.headers["Etag"] == '"%s"' % etag
    return {"url": container + "/m", "segs": segs, "etag": etag,
            "body": b"aaaaabbbxyz"}


def test_slo_get_and_head(sess, slo):
    r = sess.get(slo["url"])
    assert r.status_code == 200
    assert r.content == slo["body"]
    assert r.headers["Etag"] == '"%s"' % slo["etag"]
    assert r.headers["Content-Length"] == "11"
    assert r.headers["Content-Type"] == "text/x-foo"
    assert r.headers["X-Static-Large-Object"] == "True"
    assert re.match(r"^[0-9a-f]{32}$", r.headers["X-Manifest-Etag"])
    assert not any(h.lower().startswith("x-object-sysmeta") for h in r.headers)
    h = sess.head(slo["url"])
    assert h.status_code == 200
    assert h.headers["Content-Length"] == "11"
    assert h.headers["Etag"] == '"%s"' % slo["etag"]
    assert h.headers["X-Manifest-Etag"] == r.headers["X-Manifest-Etag"]


def test_slo_conditional_on_large_object_etag(sess, slo):
    r = sess.get(slo["url"], headers={"If-None-Match": '"%s"' % slo["etag"]})
    assert r.status_code == 304
    r = sess.get(slo["url"], headers={"If-Match": "nope"})
    assert r.status_code == 412
    r = sess.get(slo["url"], headers={"If-Match": slo["etag"]})
    assert r.status_code == 200 and r.content == slo["body"]


def test_slo_ranges_across_segments(sess, slo):
    body = slo["body"]
    r = sess.get(slo["url"], headers={"Range": "bytes=3-8"})
    assert r.status_code == 206
    assert r.content == body[3:9]
    assert r.headers["Content-Range"] == "bytes 3-8/11"
    r = sess.get(slo["url"], headers={"Range": "bytes=-4"})
    assert r.status_code == 206 and r.content == body[-4:]
    r = sess.get(slo["url"], headers={"Range": "bytes=0-1,6-9"})
    assert r.status_code == 206
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    boundary = ctype.split("=", 1)[1].encode()
    parts = r.content.split(b"--" + boundary)
    assert parts[-1] == b"--"
    assert b"Content-Range: bytes 0-1/11\r\n\r\naa\r\n" in parts[1]
    assert b"Content-Range: bytes 6-9/11\r\n\r\nbbxy\r\n" in parts[2]
    r = sess.get(slo["url"], headers={"Range": "bytes=20-30"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */11"


def test_slo_manifest_get_and_raw(sess, slo):
    segs = slo["segs"]
    r = sess.get(slo["url"] + "?multipart-manifest=get")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["X-Static-Large-Object"] == "True"
    assert r.headers["Etag"] == md5(r.content)
    stored = json.loads(r.content)
    assert [list(e) for e in stored] == [
        ["name", "bytes", "hash", "content_type", "last_modified"],
        ["name", "bytes", "hash", "content_type", "last_modified", "range"],
        ["data"]]
    assert stored[0]["name"] == segs[0][0] and stored[0]["bytes"] == 5
    assert stored[1]["hash"] == segs[1][1] and stored[1]["range"] == "1-3"
    assert stored[2]["data"] == "eHl6"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$",
                    stored[0]["last_modified"])
    raw = sess.get(slo["url"] + "?multipart-manifest=get&format=raw")
    assert raw.status_code == 200
    assert raw.headers["Content-Type"] == "text/x-foo"
    want = [{"etag": segs[0][1], "path": segs[0][0], "size_bytes": 5},
            {"etag": segs[1][1], "path": segs[1][0], "range": "1-3",
             "size_bytes": 7},
            {"data": "eHl6"}]
    assert raw.content == json.dumps(want, sort_keys=True).encode()
    assert raw.headers["Etag"] == md5(raw.content)


def test_slo_listing_total_size_and_slo_etag(sess, container, slo):
    r = sess.get(container + "?format=json")
    row = [e for e in r.json() if e["name"] == "m"][0]
    assert row["bytes"] == 11
    assert row["slo_etag"] == '"%s"' % slo["etag"]
    manifest = sess.get(slo["url"] + "?multipart-manifest=get")
    assert row["hash"] == manifest.headers["Etag"]
    assert row["content_type"] == "text/x-foo"
    assert list(row)[-1] == "slo_etag"
    x = sess.get(container + "?format=xml").text
    assert ("<name>m</name><hash>%s</hash><bytes>11</bytes>"
            "<content_type>text/x-foo</content_type>"
            % manifest.headers["Etag"]) in x
    assert "slo_etag" not in x


def test_slo_parse_errors(sess, container):
    url = container + "/bad"
    r = sess.put(url + "?multipart-manifest=put", data=b"{nope")
    assert (r.status_code, r.text) == (400, "Manifest must be valid JSON.\n")
    r = sess.put(url + "?multipart-manifest=put", data=b'{"a": 1}')
    assert (r.status_code, r.text) == (400, "Manifest must be a list.\n")
    manifest = [
        "5",
        {"path": "/c/o", "bar": 1, "abc": 2},
        {"path": 7},
        {"path": "/c/o", "etag": 5},
        {"path": "nocontainer"},
        {"path": "/c/o", "size_bytes": "x"},
        {"path": "/c/o", "size_bytes": 0},
        {"path": "%s/bad" % cpath(container)},
        {"path": "/c/o", "range": "junk"},
        {"path": "/c/o", "range": "1-2,4-5"},
        {"path": "/c/o", "range": "10-20", "size_bytes": 5},
        {"data": "!!!"},
        {"data": ""},
        {"path": "/c/o"},
    ]
    r = put_manifest(sess, url, manifest)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "text/plain"
    assert r.text == (
        "Index 0: not a JSON object\n"
        'Index 1: extraneous keys "abc", "bar"\n'
        'Index 2: "path" must be a string\n'
        'Index 3: "etag" must be a string or null (if provided)\n'
        "Index 4: path does not refer to an object. Path must be of the "
        "form /container/object.\n"
        "Index 5: invalid size_bytes\n"
        "Index 6: too small; each segment must be at least 1 byte.\n"
        "Index 7: manifest must not include itself as a segment\n"
        "Index 8: invalid range\n"
        "Index 9: multiple ranges (only one allowed)\n"
        "Index 10: unsatisfiable range\n"
        "Index 11: data must be valid base64\n"
        "Index 12: too small; each segment must be at least 1 byte.\n")
    r = put_manifest(sess, url, [{"data": "eHl6"}])
    assert r.status_code == 400
    assert r.text == ("Inline data segments require at least one "
                      "object-backed segment.\n")


def test_slo_segment_problems_text_and_json(sess, container):
    segs = put_segments(sess, container, [b"12345", b"67890"])
    c = cpath(container)
    manifest = [{"path": c + "/missing"},
                {"path": segs[0][0], "size_bytes": 4},
                {"path": segs[1][0], "etag": "0" * 32},
                {"path": segs[0][0], "range": "9-"}]
    r = put_manifest(sess, container + "/m", manifest)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "text/plain"
    # Swift HEADs the segments concurrently: the order of the lines is the
    # order the HEADs finish in.
    assert r.text.startswith("Errors:\n") and r.text.endswith("\n")
    assert sorted(r.text.split("\n")[1:-1]) == sorted([
        "%s/missing, 404 Not Found" % c, "%s, Size Mismatch" % segs[0][0],
        "%s, Etag Mismatch" % segs[1][0],
        "%s, Unsatisfiable Range" % segs[0][0]])
    r = put_manifest(sess, container + "/m", manifest,
                     {"Accept": "application/json"})
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/json"
    assert list(r.json()) == ["Errors"]
    assert sorted(r.json()["Errors"]) == sorted([
        [c + "/missing", "404 Not Found"], [segs[0][0], "Size Mismatch"],
        [segs[1][0], "Etag Mismatch"], [segs[0][0], "Unsatisfiable Range"]])
    assert sess.head(container + "/m").status_code == 404


def test_slo_client_etag_and_limits(sess, container):
    segs = put_segments(sess, container, [b"12345"])
    manifest = [{"path": segs[0][0]}]
    r = put_manifest(sess, container + "/m", manifest, {"Etag": "0" * 32})
    assert r.status_code == 422
    r = put_manifest(sess, container + "/m", manifest,
                     {"Etag": md5(segs[0][1].encode())})
    assert r.status_code == 201
    too_many = [{"path": segs[0][0]}] * 1001
    r = put_manifest(sess, container + "/m2", too_many)
    assert r.status_code == 413
    assert r.text == "Number of object-backed segments must be <= 1000"
    # answered from the headers, before any body is sent
    u = urlparse(container + "/m3?multipart-manifest=put")
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("PUT", u.path + "?" + u.query)
    c.putheader("X-Auth-Token", sess.headers["X-Auth-Token"])
    c.putheader("Content-Length", str(8 * 1024 * 1024 + 1))
    c.putheader("Expect", "100-continue")
    c.endheaders()
    resp = c.getresponse()
    assert resp.status == 413
    assert resp.read() == b"Manifest File > 8388608 bytes"
    c.close()
    # the copy source's body is the manifest (copy runs before slo)
    r = sess.put(container + "/m4?multipart-manifest=put",
                 headers={"X-Copy-From": segs[0][0][1:]}, data=b"")
    assert (r.status_code, r.text) == (400, "Manifest must be a list.\n")
    assert sess.put(container + "/man.json",
                    data=json.dumps(manifest)).status_code == 201
    r = sess.put(container + "/m5?multipart-manifest=put",
                 headers={"X-Copy-From": cpath(container)[1:] + "/man.json"},
                 data=b"")
    # copy.py sends the source's ETag along: it is not the SLO's
    assert r.status_code == 422


def test_slo_reserved_header(sess, container):
    msg = ("X-Static-Large-Object is a reserved header. To create a static "
           "large object add query param multipart-manifest=put.")
    r = sess.put(container + "/o", data=b"x",
                 headers={"X-Static-Large-Object": "true"})
    assert (r.status_code, r.text) == (400, msg)
    assert sess.put(container + "/o", data=b"x").status_code == 201
    r = sess.post(container + "/o", headers={"X-Static-Large-Object": "true"})
    assert (r.status_code, r.text) == (400, msg)


def test_slo_post_keeps_it_large(sess, slo):
    r = sess.post(slo["url"], headers={"X-Object-Meta-Color": "blue"})
    assert r.status_code == 202
    r = sess.get(slo["url"])
    assert r.content == slo["body"]
    assert r.headers["X-Object-Meta-Color"] == "blue"
    assert r.headers["Etag"] == '"%s"' % slo["etag"]
    r = sess.post(slo["url"], headers={"Content-Type": "text/x-bar"})
    assert r.status_code == 202
    listing = sess.get(slo["url"].rsplit("/", 1)[0] + "?format=json").json()
    row = [e for e in listing if e["name"] == "m"][0]
    assert (row["bytes"], row["content_type"]) == (11, "text/x-bar")
    assert row["slo_etag"] == '"%s"' % slo["etag"]
    assert sess.get(slo["url"]).content == slo["body"]


def test_slo_heartbeat(sess, container):
    segs = put_segments(sess, container, [b"12345"])
    r = put_manifest(sess, container + "/m", [{"path": segs[0][0]}],
                     query="&heartbeat=on")
    assert r.status_code == 202
    assert r.headers["Content-Type"] == "text/plain"
    assert r.content.startswith(b" ")
    head, _, result = r.text.partition("\r\n\r\n")
    assert head.strip() == ""
    etag = md5(segs[0][1].encode())
    lines = result.split("\n")
    assert lines[0] == 'Etag: "%s"' % etag
    assert lines[1].startswith("Last Modified: ")
    assert lines[2:] == ["Response Body: ", "Response Status: 201 Created",
                         "Errors:", ""]
    assert sess.get(container + "/m").content == b"12345"
    r = put_manifest(sess, container + "/m2", [{"path": segs[0][0],
                                                "size_bytes": 9}],
                     {"Accept": "application/json"}, query="&heartbeat=on")
    assert r.status_code == 202
    doc = json.loads(r.text.partition("\r\n\r\n")[2])
    assert doc == {"Response Status": "400 Bad Request",
                   "Response Body": BAD_REQUEST,
                   "Errors": [[segs[0][0], "Size Mismatch"]]}


def test_slo_nested(sess, container):
    segs = put_segments(sess, container, [b"abc", b"defg"])
    inner = [{"path": segs[0][0]}, {"path": segs[1][0]}]
    assert put_manifest(sess, container + "/inner", inner).status_code == 201
    inner_etag = sess.head(container + "/inner").headers["Etag"].strip('"')
    outer = [{"path": cpath(container) + "/inner"},
             {"path": cpath(container) + "/inner", "range": "2-4"},
             {"data": base64.b64encode(b"!").decode()}]
    r = put_manifest(sess, container + "/outer", outer)
    assert r.status_code == 201
    want = md5((inner_etag + inner_etag + ":2-4;" + md5(b"!")).encode())
    assert r.headers["Etag"] == '"%s"' % want
    stored = sess.get(container + "/outer?multipart-manifest=get").json()
    assert stored[0]["sub_slo"] is True and stored[0]["bytes"] == 7
    r = sess.get(container + "/outer")
    assert r.content == b"abcdefg" + b"cde" + b"!"
    assert r.headers["Content-Length"] == "11"
    r = sess.get(container + "/outer", headers={"Range": "bytes=5-8"})
    assert r.status_code == 206 and r.content == b"fgcd"


def test_slo_segment_changed_is_409(sess, container):
    segs = put_segments(sess, container, [b"12345", b"67890"])
    manifest = [{"path": s[0]} for s in segs]
    assert put_manifest(sess, container + "/m", manifest).status_code == 201
    assert sess.put(container + "/seg-00", data=b"other").status_code == 201
    assert sess.get(container + "/m").status_code == 409


def test_slo_delete_manifest_and_segments(sess, container):
    segs = put_segments(sess, container, [b"abc", b"defg"])
    inner = [{"path": segs[0][0]}]
    assert put_manifest(sess, container + "/inner", inner).status_code == 201
    outer = [{"path": cpath(container) + "/inner"}, {"path": segs[1][0]}]
    assert put_manifest(sess, container + "/outer", outer).status_code == 201
    r = sess.delete(container + "/outer?multipart-manifest=delete")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain"
    assert r.text == ("Number Deleted: 4\nNumber Not Found: 0\n"
                      "Response Body: \nResponse Status: 200 OK\nErrors:\n")
    listing = sess.get(container + "?format=json").json()
    assert listing == []


def test_slo_delete_json_not_found_and_not_slo(sess, container):
    segs = put_segments(sess, container, [b"abc"])
    assert put_manifest(sess, container + "/m",
                        [{"path": segs[0][0]}]).status_code == 201
    assert sess.delete(container + "/seg-00").status_code == 204
    r = sess.delete(container + "/m?multipart-manifest=delete",
                    headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"Response Status": "200 OK", "Response Body": "",
                        "Number Deleted": 1, "Number Not Found": 1,
                        "Errors": []}
    r = sess.delete(container + "/m?multipart-manifest=delete",
                    headers={"Accept": "application/json"})
    assert r.json()["Number Not Found"] == 1
    assert r.json()["Response Status"] == "200 OK"
    assert sess.put(container + "/plain", data=b"x").status_code == 201
    r = sess.delete(container + "/plain?multipart-manifest=delete",
                    headers={"Accept": "application/xml"})
    assert r.status_code == 200
    assert r.text == (
        "<delete>\n<number_deleted>0</number_deleted>\n"
        "<number_not_found>0</number_not_found>\n<response_body>"
        "</response_body>\n<response_status>400 Bad Request"
        "</response_status>\n<errors>\n<object><name>%s/plain</name>"
        "<status>Not an SLO manifest</status></object>\n</errors>\n"
        "</delete>\n" % cpath(container))
    assert sess.head(container + "/plain").status_code == 200


def test_slo_copy(sess, container, slo):
    r = sess.request("COPY", slo["url"],
                     headers={"Destination": cpath(container)[1:] + "/flat"})
    assert r.status_code == 201
    r = sess.get(container + "/flat")
    assert r.content == slo["body"]
    assert "X-Static-Large-Object" not in r.headers
    assert r.headers["Etag"] == md5(slo["body"])
    r = sess.request("COPY", slo["url"] + "?multipart-manifest=get",
                     headers={"Destination": cpath(container)[1:] + "/m2"})
    assert r.status_code == 201
    r = sess.get(container + "/m2")
    assert r.headers["X-Static-Large-Object"] == "True"
    assert r.content == slo["body"]
    assert r.headers["Etag"] == '"%s"' % slo["etag"]


def test_slo_info_section(info):
    slo = info["slo"]
    assert slo["max_manifest_segments"] == 1000
    assert slo["max_manifest_size"] == 8 * 1024 * 1024
    assert slo["min_segment_size"] == 1
    assert slo["yield_frequency"] == 10
    assert list(slo)[:4] == ["max_manifest_segments", "max_manifest_size",
                             "yield_frequency", "min_segment_size"]


@pytest.mark.parametrize("mode", ["--use-slo", "dlo"])
def test_swift_cli_segmented_round_trip(server, sess, storage_url, mode,
                                        tmp_path):
    """swift upload -S (SLO and DLO), download byte-identical, delete
    removes the segments too."""
    import os
    import shutil
    import subprocess
    swift = shutil.which("swift") or "/usr/bin/swift"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "ST_", "SWIFT"))}
    env.update(ST_AUTH=server.auth_url, ST_USER=server.user,
               ST_KEY=server.key)

    def run(*args):
        p = subprocess.run([swift] + list(args), env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-2000:])
        return p.stdout.decode()

    cont = unique("cli")
    data = os.urandom(300 * 1024 + 7)
    (tmp_path / "big.bin").write_bytes(data)
    extra = [mode] if mode != "dlo" else []
    run("upload", "-S", str(100 * 1024), *extra, cont, "big.bin")
    h = sess.head("%s/%s/big.bin" % (storage_url, cont))
    assert h.status_code == 200
    assert int(h.headers["Content-Length"]) == len(data)
    if mode == "dlo":
        assert h.headers["X-Object-Manifest"].startswith(cont + "_segments/")
    else:
        assert h.headers["X-Static-Large-Object"] == "True"
    segs = sess.get("%s/%s_segments?format=json" % (storage_url, cont)).json()
    assert len(segs) == 4
    run("download", cont, "big.bin", "-o", "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    run("delete", cont, "big.bin")
    assert sess.get("%s/%s_segments?format=json"
                    % (storage_url, cont)).json() == []
    run("delete", cont)
    run("delete", cont + "_segments")
