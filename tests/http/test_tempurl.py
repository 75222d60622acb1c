"""TempURL (Swift 2.30's tempurl middleware): signed object URLs that need
no token. Signatures are computed as Swift's documentation shows, with
python's hmac. Run against a real Swift too (SWIFTLET_URL)."""

import base64
import hashlib
import hmac
import time
from urllib.parse import quote

import pytest
import requests

from conftest import new_session, unique

INVALID = b"401 Unauthorized: Temp URL invalid\n"


def sign(key, method, path, expires, digest=hashlib.sha1, prefix=False):
    body = "%s\n%s\n%s%s" % (method, expires, "prefix:" if prefix else "", path)
    return hmac.new(key.encode(), body.encode(), digest).hexdigest()


def sign_b64(key, method, path, expires, digest, name, urlsafe=True):
    body = "%s\n%s\n%s" % (method, expires, path)
    raw = hmac.new(key.encode(), body.encode(), digest).digest()
    enc = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
    return name + ":" + enc.decode()


@pytest.fixture
def tu(sess, storage_url, container):
    """An object with metadata, an account key, and helpers."""
    key = unique("k")
    r = sess.post(storage_url, headers={"X-Account-Meta-Temp-URL-Key": key})
    assert r.status_code == 204
    obj = container + "/dir/o.txt"
    r = sess.put(obj, data=b"hello", headers={
        "X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Color": "red",
        "Content-Type": "text/plain"})
    assert r.status_code == 201
    base = storage_url.split("/v1/")[0]
    path = obj[len(base):]

    class T:
        pass
    t = T()
    t.key, t.base, t.path, t.obj, t.container = key, base, path, obj, container
    t.cpath = container[len(base):]
    t.exp = int(time.time() + 120)
    yield t
    sess.post(storage_url, headers={"X-Remove-Account-Meta-Temp-URL-Key": "x",
                                    "X-Remove-Account-Meta-Temp-URL-Key-2": "x"})


def get(t, method, path, sig, expires, **params):
    q = {"temp_url_sig": sig, "temp_url_expires": expires}
    q.update(params)
    return new_session().request(method, t.base + path, params=q)


def assert_invalid(r, head=False):
    assert r.status_code == 401, (r.status_code, r.content)
    assert r.content == (b"" if head else INVALID)
    assert r.headers["Www-Authenticate"] == 'Swift realm="unknown"'


def test_get_sha1_hex(tu):
    r = get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, tu.exp), tu.exp)
    assert r.status_code == 200
    assert r.content == b"hello"
    # private metadata is hidden, X-Object-Meta-Public-* kept
    assert "X-Object-Meta-Secret" not in r.headers
    assert r.headers["X-Object-Meta-Public-Color"] == "red"
    assert r.headers["Content-Disposition"] == \
        "attachment; filename=\"o.txt\"; filename*=UTF-8''o.txt"
    assert r.headers["Expires"] == time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(tu.exp))


@pytest.mark.parametrize("digest,name", [(hashlib.sha256, "sha256"),
                                         (hashlib.sha512, "sha512")])
def test_get_hex_digests(tu, digest, name):
    r = get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, tu.exp, digest), tu.exp)
    assert r.status_code == 200 and r.content == b"hello"


@pytest.mark.parametrize("digest,name", [(hashlib.sha1, "sha1"),
                                         (hashlib.sha256, "sha256"),
                                         (hashlib.sha512, "sha512")])
@pytest.mark.parametrize("urlsafe", [True, False])
def test_get_base64_digests(tu, digest, name, urlsafe):
    sig = sign_b64(tu.key, "GET", tu.path, tu.exp, digest, name, urlsafe)
    r = get(tu, "GET", tu.path, sig, tu.exp)
    assert r.status_code == 200 and r.content == b"hello"
    # padding is optional
    r = get(tu, "GET", tu.path, sig.rstrip("="), tu.exp)
    assert r.status_code == 200


def test_unknown_digest_name(tu):
    sig = sign_b64(tu.key, "GET", tu.path, tu.exp, hashlib.md5, "md5")
    assert_invalid(get(tu, "GET", tu.path, sig, tu.exp))
    # the name is case-sensitive, as in Swift
    sig = sign_b64(tu.key, "GET", tu.path, tu.exp, hashlib.sha256, "SHA256")
    assert_invalid(get(tu, "GET", tu.path, sig, tu.exp))


def test_iso8601_expires(tu):
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(tu.exp))
    r = get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, tu.exp), iso)
    assert r.status_code == 200
    # the signature covers the Unix time, not the ISO text
    assert_invalid(get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, iso), iso))


def test_filename_and_inline(tu):
    sig = sign(tu.key, "GET", tu.path, tu.exp)
    r = get(tu, "GET", tu.path, sig, tu.exp, filename="my file \u00e4.pdf")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"my file %C3%A4.pdf\"; "
        "filename*=UTF-8''my%20file%20%C3%A4.pdf")
    r = get(tu, "GET", tu.path, sig, tu.exp, inline="")
    assert r.headers["Content-Disposition"] == "inline"
    r = get(tu, "GET", tu.path, sig, tu.exp, inline="", filename="a.pdf")
    assert r.headers["Content-Disposition"] == \
        "inline; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"


def test_stored_disposition_kept(sess, tu):
    r = sess.post(tu.obj, headers={"Content-Disposition": "inline; x=1",
                                   "Content-Type": "text/plain"})
    assert r.status_code == 202
    r = get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, tu.exp), tu.exp)
    assert r.headers["Content-Disposition"] == "inline; x=1"


def test_head_with_get_put_post_signatures(tu):
    for m in ("HEAD", "GET", "PUT", "POST"):
        r = get(tu, "HEAD", tu.path, sign(tu.key, m, tu.path, tu.exp), tu.exp)
        assert r.status_code == 200, m
        assert r.headers["Content-Length"] == "5"
    assert_invalid(get(tu, "HEAD", tu.path, sign(tu.key, "DELETE", tu.path, tu.exp), tu.exp),
                   head=True)


def test_method_bound(tu):
    # a GET signature does not allow PUT, POST or DELETE, and vice versa
    sig = sign(tu.key, "GET", tu.path, tu.exp)
    for m in ("PUT", "POST", "DELETE"):
        assert_invalid(get(tu, m, tu.path, sig, tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sign(tu.key, "PUT", tu.path, tu.exp), tu.exp))
    # COPY is not a TempURL method
    assert_invalid(get(tu, "COPY", tu.path, sign(tu.key, "COPY", tu.path, tu.exp), tu.exp))


def test_put_post_delete(sess, tu):
    path = tu.cpath + "/up.bin"
    r = new_session().put(tu.base + path, data=b"uploaded", params={
        "temp_url_sig": sign(tu.key, "PUT", path, tu.exp), "temp_url_expires": tu.exp})
    assert r.status_code == 201
    assert sess.get(tu.base + path).content == b"uploaded"
    r = new_session().post(tu.base + path, headers={"X-Object-Meta-A": "b"}, params={
        "temp_url_sig": sign(tu.key, "POST", path, tu.exp), "temp_url_expires": tu.exp})
    assert r.status_code == 202
    assert sess.head(tu.base + path).headers["X-Object-Meta-A"] == "b"
    r = new_session().delete(tu.base + path, params={
        "temp_url_sig": sign(tu.key, "DELETE", path, tu.exp), "temp_url_expires": tu.exp})
    assert r.status_code == 204
    assert sess.head(tu.base + path).status_code == 404


@pytest.mark.parametrize("header", ["X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"])
def test_put_disallowed_headers(sess, tu, header):
    path = tu.cpath + "/bad"
    r = new_session().put(tu.base + path, data=b"x", headers={header: "c/o"}, params={
        "temp_url_sig": sign(tu.key, "PUT", path, tu.exp), "temp_url_expires": tu.exp})
    assert r.status_code == 400
    assert r.content == ("The header '%s' is not allowed in this tempurl" % header).encode()
    assert sess.head(tu.base + path).status_code == 404


def test_forged_and_truncated(tu):
    sig = sign(tu.key, "GET", tu.path, tu.exp)
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert_invalid(get(tu, "GET", tu.path, flipped, tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sig[:-2], tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sig[:20], tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sig.upper(), tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sign("wrong", "GET", tu.path, tu.exp), tu.exp))
    assert_invalid(get(tu, "GET", tu.path, "", tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sig, ""))
    assert_invalid(get(tu, "GET", tu.path, sig, "soon"))
    # a sig without expires, and expires without a sig
    r = new_session().get(tu.base + tu.path, params={"temp_url_sig": sig})
    assert_invalid(r)
    r = new_session().get(tu.base + tu.path, params={"temp_url_expires": tu.exp})
    assert_invalid(r)
    # a later expiry than the one signed
    assert_invalid(get(tu, "GET", tu.path, sig, tu.exp + 1))
    sig64 = sign_b64(tu.key, "GET", tu.path, tu.exp, hashlib.sha256, "sha256")
    assert_invalid(get(tu, "GET", tu.path, sig64[:-6], tu.exp))
    assert_invalid(get(tu, "GET", tu.path, sig64 + "AAAA", tu.exp))
    assert_invalid(get(tu, "GET", tu.path, "sha256:!!" + sig64[9:], tu.exp))


def test_expired_and_replayed(tu):
    past = int(time.time() - 1)
    assert_invalid(get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, past), past))
    # a URL that works, then replayed after it expired
    soon = int(time.time() + 4)     # room for a slow (sanitizer) build
    sig = sign(tu.key, "GET", tu.path, soon)
    assert get(tu, "GET", tu.path, sig, soon).status_code == 200
    time.sleep(max(0.0, soon - time.time()) + 1.1)
    assert_invalid(get(tu, "GET", tu.path, sig, soon))


def test_other_object_or_container(sess, tu, storage_url):
    sig = sign(tu.key, "GET", tu.path, tu.exp)
    other = tu.cpath + "/other"
    assert sess.put(tu.base + other, data=b"x").status_code == 201
    assert_invalid(get(tu, "GET", other, sig, tu.exp))
    # nor the container, nor the account (TempURLs name objects only)
    assert_invalid(get(tu, "GET", tu.cpath, sign(tu.key, "GET", tu.cpath, tu.exp), tu.exp))
    apath = storage_url[len(tu.base):]
    assert_invalid(get(tu, "GET", apath, sign(tu.key, "GET", apath, tu.exp), tu.exp))
    # a path that differs only in encoding is another object
    enc = tu.path.replace("o.txt", "o%2Etxt")
    r = new_session().get(tu.base + enc, params={"temp_url_sig": sig,
                                                 "temp_url_expires": tu.exp})
    assert r.status_code == 200   # %2E decodes to the same name
    assert_invalid(get(tu, "GET", tu.path + "x", sig, tu.exp))


def test_other_account(tu):
    # the key of one account does not sign another account's paths
    other = tu.path.replace("/v1/AUTH_test/", "/v1/AUTH_other/")
    assert_invalid(get(tu, "GET", other, sign(tu.key, "GET", other, tu.exp), tu.exp))


def test_prefix(sess, tu):
    for name in ("dir/a", "dir/sub/b", "dirt"):
        assert sess.put(tu.container + "/" + name, data=name.encode()).status_code == 201
    pfx_path = tu.cpath + "/dir/"
    sig = sign(tu.key, "GET", pfx_path, tu.exp, prefix=True)
    for name in ("dir/a", "dir/sub/b"):
        r = get(tu, "GET", tu.cpath + "/" + name, sig, tu.exp, temp_url_prefix="dir/")
        assert r.status_code == 200 and r.content == name.encode()
    # outside the prefix, or the prefix changed after signing
    assert_invalid(get(tu, "GET", tu.cpath + "/dirt", sig, tu.exp, temp_url_prefix="dir/"))
    assert_invalid(get(tu, "GET", tu.cpath + "/dirt", sig, tu.exp, temp_url_prefix="dir"))
    # a prefix signature is not an object signature, nor the reverse
    assert_invalid(get(tu, "GET", tu.cpath + "/dir/a", sig, tu.exp))
    osig = sign(tu.key, "GET", tu.cpath + "/dir/a", tu.exp)
    assert_invalid(get(tu, "GET", tu.cpath + "/dir/a", osig, tu.exp, temp_url_prefix="dir/"))
    # an empty prefix covers the container
    esig = sign(tu.key, "GET", tu.cpath + "/", tu.exp, prefix=True)
    assert get(tu, "GET", tu.cpath + "/dirt", esig, tu.exp,
               temp_url_prefix="").status_code == 200


def test_container_keys_and_key2(sess, storage_url, container):
    base = storage_url.split("/v1/")[0]
    assert sess.put(container + "/o", data=b"c").status_code == 201
    path = container[len(base):] + "/o"
    exp = int(time.time() + 60)
    q = lambda k, m="GET": {"temp_url_sig": sign(k, m, path, exp), "temp_url_expires": exp}
    anon = new_session()
    assert anon.get(base + path, params=q("ck1")).status_code == 401
    assert sess.post(container, headers={"X-Container-Meta-Temp-URL-Key": "ck1",
                                         "X-Container-Meta-Temp-URL-Key-2": "ck2"}
                     ).status_code == 204
    assert anon.get(base + path, params=q("ck1")).status_code == 200
    assert anon.get(base + path, params=q("ck2")).status_code == 200
    # a container key does not sign objects of another container
    other = unique("c")
    account = storage_url.rsplit("/", 1)[1]
    assert sess.put(storage_url + "/" + other).status_code == 201
    try:
        assert sess.put(storage_url + "/" + other + "/o", data=b"x").status_code == 201
        opath = "/v1/%s/%s/o" % (account, other)
        oq = {"temp_url_sig": sign("ck1", "GET", opath, exp), "temp_url_expires": exp}
        assert anon.get(base + opath, params=oq).status_code == 401
    finally:
        sess.delete(storage_url + "/" + other + "/o")
        sess.delete(storage_url + "/" + other)
    # account key -2
    assert sess.post(storage_url, headers={"X-Account-Meta-Temp-URL-Key-2": "ak2"}
                     ).status_code == 204
    try:
        assert anon.get(base + path, params=q("ak2")).status_code == 200
        # removing a key revokes its URLs
        assert sess.post(container, headers={"X-Remove-Container-Meta-Temp-URL-Key": "x"}
                         ).status_code == 204
        assert anon.get(base + path, params=q("ck1")).status_code == 401
        assert anon.get(base + path, params=q("ck2")).status_code == 200
    finally:
        sess.post(storage_url, headers={"X-Remove-Account-Meta-Temp-URL-Key-2": "x"})


def test_keys_shown_to_owner_only(sess, tu, storage_url):
    # the owner sees the keys on the account and the container
    assert sess.post(tu.container, headers={"X-Container-Meta-Temp-URL-Key": "ck"}
                     ).status_code == 204
    assert sess.head(storage_url).headers["X-Account-Meta-Temp-Url-Key"] == tu.key
    assert sess.head(tu.container).headers["X-Container-Meta-Temp-Url-Key"] == "ck"
    # a TempURL request never does
    r = get(tu, "GET", tu.path, sign(tu.key, "GET", tu.path, tu.exp), tu.exp)
    assert r.status_code == 200
    assert not [h for h in r.headers if "temp-url" in h.lower()]


@pytest.mark.swiftlet_only
def test_keys_hidden_from_acl_users(spawn):
    """A user of the account who is not its admin never sees the keys, even
    where an ACL lets it read the account or container."""
    srv = spawn(extra=["--user", "test:reader:rk"])
    url, tok = srv.auth()
    admin = new_session(tok)
    c = url + "/shared"
    assert admin.put(c, headers={"X-Container-Meta-Temp-URL-Key": "ck",
                                 "X-Container-Meta-Color": "blue",
                                 "X-Container-Read": "test:reader"}).status_code == 201
    assert admin.post(url, headers={"X-Account-Meta-Temp-URL-Key": "ak",
                                    "X-Account-Access-Control":
                                        '{"read-only":["test:reader"]}'}).status_code == 204
    r = requests.get(srv.auth_url, headers={"X-Auth-User": "test:reader", "X-Auth-Key": "rk"})
    assert r.status_code == 200
    reader = new_session(r.headers["X-Auth-Token"])
    for target in (url, c):
        for h in (reader.head(target), reader.get(target)):
            # the ACLs let it read, and the other metadata shows, but no key
            assert h.status_code in (200, 204), (target, h.status_code)
            assert not [k for k in h.headers if "temp-url" in k.lower()], h.headers
            if target == c:
                assert h.headers["X-Container-Meta-Color"] == "blue"
    # the owner still sees both
    assert admin.head(url).headers["X-Account-Meta-Temp-URL-Key"] == "ak"
    assert admin.head(c).headers["X-Container-Meta-Temp-URL-Key"] == "ck"


def test_info(info):
    assert info["tempurl"] == {
        "methods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
        "incoming_remove_headers": ["x-timestamp"],
        "incoming_allow_headers": [],
        "outgoing_remove_headers": ["x-object-meta-*"],
        "outgoing_allow_headers": ["x-object-meta-public-*"],
        "allowed_digests": ["sha1", "sha256", "sha512"],
        "deprecated_digests": ["sha1"]}
    assert info["formpost"] == {"allowed_digests": ["sha1", "sha256", "sha512"],
                                "deprecated_digests": ["sha1"]}
    assert info["tempauth"] == {"account_acls": True}


def test_token_requests_unaffected(sess, tu):
    # an ordinary request with a token still works, and a token does not
    # rescue a bad TempURL
    assert sess.get(tu.obj).status_code == 200
    r = sess.get(tu.obj, params={"temp_url_sig": "0" * 40, "temp_url_expires": tu.exp})
    assert r.status_code == 401


def test_keys_not_set_by_non_owners(spawn):
    """A read-write user of the account (not its admin) may change container
    metadata, but the TempURL key headers it sends are ignored, as Swift's
    tempauth treats every swift_owner_header."""
    srv = spawn(extra=["--user", "test:writer:wk"])
    url, tok = srv.auth()
    admin = new_session(tok)
    c = url + "/keyed"
    assert admin.put(c, headers={"X-Container-Meta-Temp-URL-Key": "ck"}).status_code == 201
    assert admin.post(url, headers={"X-Account-Meta-Temp-URL-Key": "ak",
                                    "X-Account-Access-Control":
                                        '{"read-write":["test:writer"]}'}).status_code == 204
    r = requests.get(srv.auth_url, headers={"X-Auth-User": "test:writer", "X-Auth-Key": "wk"})
    writer = new_session(r.headers["X-Auth-Token"])
    r = writer.post(c, headers={"X-Container-Meta-Temp-URL-Key": "evil",
                                "X-Container-Meta-Color": "red"})
    assert r.status_code == 204
    h = admin.head(c).headers
    assert h["X-Container-Meta-Temp-URL-Key"] == "ck"
    assert h["X-Container-Meta-Color"] == "red"
    assert writer.post(url, headers={"X-Account-Meta-Temp-URL-Key": "evil"}).status_code == 403
    assert admin.head(url).headers["X-Account-Meta-Temp-URL-Key"] == "ak"
