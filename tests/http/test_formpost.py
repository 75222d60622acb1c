"""FormPost (Swift 2.30's formpost middleware): browser multipart/form-data
uploads signed with a Temp-URL key, no token. Signatures as Swift's
documentation computes them. Run against a real Swift too (SWIFTLET_URL)."""

import base64
import hashlib
import hmac
import time

import pytest
import requests

from conftest import new_session, unique

BOUNDARY = "----swiftletFormBoundary7MA4YWxkTrZu0gW"


def signature(key, path, redirect, max_size, max_count, expires, digest=hashlib.sha1):
    body = "%s\n%s\n%s\n%s\n%s" % (path, redirect, max_size, max_count, expires)
    return hmac.new(key.encode(), body.encode(), digest).hexdigest()


def form(fields, files, boundary=BOUNDARY):
    """fields: [(name, value)]; files: [(field, filename, data, ctype)]."""
    out = b""
    for k, v in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (boundary, k, v)).encode()
    for name, fn, data, ctype in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                % (boundary, name, fn)).encode()
        if ctype:
            out += ("Content-Type: %s\r\n" % ctype).encode()
        out += b"\r\n" + data + b"\r\n"
    return out + ("--%s--\r\n" % boundary).encode()


class Form:
    def __init__(self, base, path, key):
        self.base, self.path, self.key = base, path, key

    def fields(self, redirect="", max_size=1024, max_count=3, expires=None,
               digest=hashlib.sha1, sig=None, extra=()):
        expires = expires or int(time.time() + 60)
        if sig is None:
            sig = signature(self.key, self.path, redirect, max_size, max_count, expires,
                            digest)
        f = [("redirect", redirect)] if redirect else []
        f += [("max_file_size", max_size), ("max_file_count", max_count),
              ("expires", expires), ("signature", sig)]
        return f + list(extra)

    def post(self, body, path=None, boundary=BOUNDARY, headers=None):
        h = {"Content-Type": "multipart/form-data; boundary=" + boundary}
        h.update(headers or {})
        return new_session().post(self.base + (path or self.path), data=body, headers=h,
                                  allow_redirects=False)


@pytest.fixture
def fp(sess, storage_url, container):
    key = unique("k")
    assert sess.post(storage_url, headers={"X-Account-Meta-Temp-URL-Key": key}
                     ).status_code == 204
    base = storage_url.split("/v1/")[0]
    f = Form(base, container[len(base):] + "/up/", key)
    f.container = container
    yield f
    sess.post(storage_url, headers={"X-Remove-Account-Meta-Temp-URL-Key": "x"})


def test_happy_path(sess, fp):
    body = form(fp.fields(), [("f1", "a.txt", b"alpha", "text/x-alpha"),
                              ("f2", "b.txt", b"bravo\r\n--not-a-boundary", None)])
    r = fp.post(body)
    assert r.status_code == 201, r.content
    assert r.content == b"201 Created"
    assert r.headers["Content-Type"] == "text/plain"
    a = sess.get(fp.container + "/up/a.txt")
    assert a.content == b"alpha" and a.headers["Content-Type"] == "text/x-alpha"
    b = sess.get(fp.container + "/up/b.txt")
    assert b.content == b"bravo\r\n--not-a-boundary"
    assert b.headers["Content-Type"] == "text/plain"   # guessed from the name


def test_prefix_without_slash_and_container_path(sess, fp):
    base = fp.base
    cpath = fp.container[len(base):]
    for path, name in ((cpath + "/pre-", "pre-x.bin"), (cpath, "x.bin")):
        f = Form(base, path, fp.key)
        r = f.post(form(f.fields(), [("f", "x.bin", b"data", None)]))
        assert r.status_code == 201, (path, r.content)
        assert sess.get(fp.container + "/" + name).content == b"data"


@pytest.mark.parametrize("digest,name", [(hashlib.sha256, "sha256"),
                                         (hashlib.sha512, "sha512")])
def test_sha2_signatures(sess, fp, digest, name):
    exp = int(time.time() + 60)
    raw = hmac.new(fp.key.encode(), ("%s\n\n1024\n3\n%s" % (fp.path, exp)).encode(),
                   digest).digest()
    for sig in (name + ":" + base64.urlsafe_b64encode(raw).decode().rstrip("="),
                hmac.new(fp.key.encode(), ("%s\n\n1024\n3\n%s" % (fp.path, exp)).encode(),
                         digest).hexdigest()):
        r = fp.post(form(fp.fields(expires=exp, sig=sig), [("f", name, b"x", None)]))
        assert r.status_code == 201, (sig, r.content)
    assert sess.head(fp.container + "/up/" + name).status_code == 200


def test_large_file_streams(sess, fp):
    data = bytes(range(256)) * 4096   # 1 MiB, every byte value, CRLFs included
    body = form(fp.fields(max_size=len(data)), [("f", "big.bin", data, None)])
    r = fp.post(body)
    assert r.status_code == 201, r.content
    got = sess.get(fp.container + "/up/big.bin")
    assert got.content == data
    assert got.headers["Etag"] == hashlib.md5(data).hexdigest()


def test_chunked_upload(sess, fp):
    body = form(fp.fields(), [("f", "c.txt", b"chunky", None)])
    r = fp.post(iter([body[i:i + 7] for i in range(0, len(body), 7)]))
    assert r.status_code == 201, r.content
    assert sess.get(fp.container + "/up/c.txt").content == b"chunky"


def test_redirect(sess, fp):
    r = fp.post(form(fp.fields(redirect="https://example.com/done"),
                     [("f", "r.txt", b"r", None)]))
    assert r.status_code == 303
    loc = "https://example.com/done?status=201&message="
    assert r.headers["Location"] == loc
    assert r.content == ('<html><body><p><a href="%s">Click to continue...</a></p>'
                         '</body></html>' % loc).encode()
    # a redirect that has a query gets '&'; failures redirect too
    r = fp.post(form(fp.fields(redirect="https://e.com/x?a=1", max_count=1),
                     [("f", "r1.txt", b"1", None), ("f", "r2.txt", b"2", None)]))
    assert r.status_code == 303
    assert r.headers["Location"] == \
        "https://e.com/x?a=1&status=400&message=max%20file%20count%20exceeded"
    # the redirect is signed
    r = fp.post(form(fp.fields(redirect="https://e.com/x", sig=signature(
        fp.key, fp.path, "https://evil.example/", 1024, 3, int(time.time() + 60))),
        [("f", "r3.txt", b"3", None)]))
    assert r.status_code == 401


def test_bad_signature(sess, fp):
    cases = [
        fp.fields(sig="0" * 40),
        fp.fields(sig=""),
        fp.fields(sig=signature("wrong", fp.path, "", 1024, 3, int(time.time() + 60))),
        fp.fields(sig="md5:" + base64.b64encode(b"x" * 16).decode()),
        # signed for other limits than the form sends
        fp.fields(sig=signature(fp.key, fp.path, "", 1024, 99, int(time.time() + 60))),
        # signed for another path
        fp.fields(sig=signature(fp.key, fp.path + "x", "", 1024, 3, int(time.time() + 60))),
    ]
    for fields in cases:
        r = fp.post(form(fields, [("f", "bad.txt", b"x", None)]))
        assert r.status_code == 401, (fields, r.content)
        assert r.content == b"FormPost: Invalid Signature"
        assert r.headers["Www-Authenticate"] == 'Swift realm="unknown"'
    assert sess.head(fp.container + "/up/bad.txt").status_code == 404


def test_no_key(sess, storage_url, fp):
    sess.post(storage_url, headers={"X-Remove-Account-Meta-Temp-URL-Key": "x"})
    r = fp.post(form(fp.fields(), [("f", "nokey.txt", b"x", None)]))
    assert r.status_code == 401 and r.content == b"FormPost: Invalid Signature"


def test_container_key(sess, fp, storage_url):
    sess.post(storage_url, headers={"X-Remove-Account-Meta-Temp-URL-Key": "x"})
    assert sess.post(fp.container, headers={"X-Container-Meta-Temp-URL-Key-2": fp.key}
                     ).status_code == 204
    r = fp.post(form(fp.fields(), [("f", "ck.txt", b"x", None)]))
    assert r.status_code == 201, r.content


def test_expired(sess, fp):
    past = int(time.time() - 5)
    r = fp.post(form(fp.fields(expires=past), [("f", "old.txt", b"x", None)]))
    assert r.status_code == 401 and r.content == b"FormPost: Form Expired"
    r = fp.post(form(fp.fields(extra=[("expires", "tomorrow")]), [("f", "o.txt", b"x", None)]))
    assert r.status_code == 400 and r.content == b"FormPost: expired not an integer"
    assert sess.head(fp.container + "/up/old.txt").status_code == 404


def test_too_large(sess, fp):
    r = fp.post(form(fp.fields(max_size=10), [("f", "ok.txt", b"0123456789", None),
                                              ("f", "big.txt", b"0123456789A", None)]))
    assert r.status_code == 400
    assert r.content == b"FormPost: max_file_size exceeded"
    # files before the one too large are kept, as in Swift
    assert sess.get(fp.container + "/up/ok.txt").content == b"0123456789"
    assert sess.head(fp.container + "/up/big.txt").status_code == 404


def test_too_many_files(sess, fp):
    r = fp.post(form(fp.fields(max_count=2), [("f", "1.txt", b"1", None),
                                              ("f", "2.txt", b"2", None),
                                              ("f", "3.txt", b"3", None)]))
    assert r.status_code == 400
    assert r.content == b"400 Bad Request\r\nFormPost: Max File Count Exceeded"
    assert sess.head(fp.container + "/up/1.txt").status_code == 200
    assert sess.head(fp.container + "/up/2.txt").status_code == 200
    assert sess.head(fp.container + "/up/3.txt").status_code == 404


def test_delete_after_and_at(sess, fp):
    r = fp.post(form(fp.fields(extra=[("x_delete_after", "100")]),
                     [("f", "tmp.txt", b"t", None)]))
    assert r.status_code == 201, r.content
    h = sess.head(fp.container + "/up/tmp.txt").headers
    at = int(h["X-Delete-At"])
    assert abs(at - (time.time() + 100)) < 10
    assert at == int(float(h["X-Timestamp"])) + 100   # from the object's own timestamp
    when = int(time.time() + 500)
    r = fp.post(form(fp.fields(extra=[("x_delete_at", str(when))]),
                     [("f", "tmp2.txt", b"t", None)]))
    assert r.status_code == 201
    assert sess.head(fp.container + "/up/tmp2.txt").headers["X-Delete-At"] == str(when)
    r = fp.post(form(fp.fields(extra=[("x_delete_after", "soon")]),
                     [("f", "tmp3.txt", b"t", None)]))
    assert r.status_code == 400
    assert r.content == b"FormPost: x_delete_after not an integer: Number of seconds required."
    r = fp.post(form(fp.fields(extra=[("x_delete_at", "1")]), [("f", "tmp4.txt", b"t", None)]))
    assert r.status_code == 400 and r.content == b"400 Bad Request"


def test_malformed_forms(fp):
    r = fp.post(b"not a form")
    assert r.status_code == 400 and r.content == b"FormPost: invalid starting boundary"
    r = fp.post(b"")
    assert r.status_code == 400 and r.content == b"FormPost: invalid starting boundary"
    r = fp.post(form(fp.fields(), []))
    assert r.status_code == 400
    assert r.content == b"400 Bad Request\r\nFormPost: No Files To Process"
    r = fp.post(form(fp.fields(extra=[("max_file_count", "many")]), [("f", "m", b"x", None)]))
    assert r.status_code == 400 and r.content == b"FormPost: max_file_count not an integer"


def test_missing_container(fp):
    path = "/v1/" + fp.path.split("/")[2] + "/" + unique("nocont")
    f = Form(fp.base, path, fp.key)
    r = f.post(form(f.fields(), [("f", "x", b"x", None)]))
    assert r.status_code == 404 and r.content == b"404 Not Found"


def test_account_path_unsigned(fp):
    path = "/v1/" + fp.path.split("/")[2]
    f = Form(fp.base, path, fp.key)
    r = f.post(form(f.fields(), [("f", "x", b"x", None)]))
    assert r.status_code == 401 and r.content == b"FormPost: Invalid Signature"


def test_not_a_formpost(sess, fp):
    # a POST of another content type is an ordinary object POST: token needed
    r = new_session().post(fp.base + fp.path + "o", data=b"x",
                           headers={"Content-Type": "text/plain"})
    assert r.status_code == 401
    # multipart without a boundary is not a form either
    r = new_session().post(fp.base + fp.path + "o", data=b"x",
                           headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 401
