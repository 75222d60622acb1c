"""Access control: tokens, container ACLs, account ACLs (tempauth's rules).

Nobody reaches an account without a valid token of its owner or an ACL
that lets them in: cross-account requests of every verb at every level
are denied (401 without a token, 403 with one), and the ACLs grant
exactly what Swift's tempauth grants. The statuses and bodies were taken
from Swift 2.30.1 with tempauth.

Three users, as the Swift all-in-one configures them: test:tester (admin
of AUTH_test), test2:tester2 (admin of AUTH_test2) and test:tester3 (a
user of AUTH_test without the admin role). Against swiftlet they run on a
server of this module's own, so the account ACLs set here touch nobody
else.
"""

import shutil
import tempfile

import pytest
import requests

from conftest import SWIFTLET_URL, Server, new_session, start_swiftlet, unique

USERS = {
    "owner": ("test:tester", "testing"),
    "other": ("test2:tester2", "testing2"),
    "plain": ("test:tester3", "testing3"),
}
UNAUTHORIZED = ("<html><h1>Unauthorized</h1><p>This server could not verify "
                "that you are authorized to access the document you "
                "requested.</p></html>")
FORBIDDEN = ("<html><h1>Forbidden</h1><p>Access was denied to this "
             "resource.</p></html>")


@pytest.fixture(scope="module")
def acl_server():
    if SWIFTLET_URL:
        yield Server(SWIFTLET_URL)
        return
    data = tempfile.mkdtemp(prefix="swiftlet-acl-")
    args = ["serve", "--data", data, "--user", "test:tester:testing:admin",
            "--user", "test2:tester2:testing2:admin",
            "--user", "test:tester3:testing3"]
    srv = start_swiftlet(args)
    yield srv
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)


class Who:
    def __init__(self, url, token):
        self.url, self.token = url, token
        self.s = new_session(token)


@pytest.fixture(scope="module")
def who(acl_server):
    out = {}
    for name, (user, key) in USERS.items():
        r = requests.get(acl_server.auth_url, timeout=30,
                         headers={"X-Auth-User": user, "X-Auth-Key": key})
        assert r.status_code == 200, (user, r.status_code)
        out[name] = Who(r.headers["X-Storage-Url"], r.headers["X-Auth-Token"])
    out["anon"] = Who(out["owner"].url, None)
    yield out
    for w in out.values():
        w.s.close()


@pytest.fixture
def box(who):
    """A fresh container of the owner with one object "o" ("hi")."""
    owner = who["owner"].s
    url = who["owner"].url + "/" + unique("acl")
    assert owner.put(url).status_code == 201
    assert owner.put(url + "/o", data=b"hi").status_code == 201
    yield url
    for name in [o["name"] for o in owner.get(url + "?format=json").json()]:
        owner.delete(url + "/" + name)
    owner.delete(url)


@pytest.fixture
def account_acl(who):
    """Set the owner's X-Account-Access-Control; cleared afterwards."""
    owner = who["owner"]

    def _set(value):
        r = owner.s.post(owner.url, headers={"X-Account-Access-Control": value})
        assert r.status_code == 204, r.text
    yield _set
    owner.s.post(owner.url, headers={"X-Account-Access-Control": ""})


def set_container(who, url, **headers):
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    r = who["owner"].s.post(url, headers=hdrs)
    assert r.status_code == 204, r.text


def every_request(url):
    """(method, url, headers, body) for each verb at account, container
    and object level of the container url."""
    account = url.rsplit("/", 1)[0]
    name = url.rsplit("/", 1)[1]
    return [
        ("HEAD", account, {}, None), ("GET", account, {}, None),
        ("POST", account, {"X-Account-Meta-Evil": "1"}, None),
        ("PUT", account, {}, None), ("DELETE", account, {}, None),
        ("HEAD", url, {}, None), ("GET", url, {}, None),
        ("POST", url, {"X-Container-Meta-Evil": "1",
                       "X-Container-Read": ".r:*,.rlistings"}, None),
        ("PUT", url, {"X-Container-Read": ".r:*"}, None),
        ("DELETE", url, {}, None),
        ("HEAD", url + "/o", {}, None), ("GET", url + "/o", {}, None),
        ("PUT", url + "/o", {}, b"evil"), ("PUT", url + "/new", {}, b"evil"),
        ("POST", url + "/o", {"X-Object-Meta-Evil": "1"}, None),
        ("DELETE", url + "/o", {}, None),
        ("COPY", url + "/o", {"Destination": name + "/copied"}, None),
        ("PUT", url + "/copied", {"X-Copy-From": name + "/o"}, b""),
    ]


def assert_untouched(who, url):
    owner = who["owner"].s
    r = owner.get(url + "/o")
    assert (r.status_code, r.content) == (200, b"hi")
    assert "X-Object-Meta-Evil" not in r.headers
    r = owner.head(url)
    assert r.status_code == 204
    assert "X-Container-Meta-Evil" not in r.headers
    assert "X-Container-Read" not in r.headers
    assert "X-Account-Meta-Evil" not in owner.head(who["owner"].url).headers
    assert [o["name"] for o in owner.get(url + "?format=json").json()] == ["o"]


def test_no_token_is_401_for_every_verb(who, box):
    for method, url, headers, body in every_request(box):
        r = who["anon"].s.request(method, url, headers=headers, data=body)
        assert r.status_code == 401, (method, url, r.status_code)
        assert r.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'
        if method != "HEAD":
            assert r.text == UNAUTHORIZED
    assert_untouched(who, box)


def test_bad_token_is_401_even_on_a_public_container(who, box):
    set_container(who, box, X_Container_Read=".r:*,.rlistings")
    for token in ("AUTH_tk" + "0" * 32, "AUTH_tkbad", who["owner"].token[:-1]):
        r = new_session(token).get(box + "/o")
        assert r.status_code == 401, token
        assert r.headers["Www-Authenticate"] == 'Swift realm="AUTH_test"'


@pytest.mark.parametrize("name", ["other", "plain"])
def test_token_of_another_account_or_non_admin_is_403(who, box, name):
    """test2:tester2 owns AUTH_test2, not AUTH_test; test:tester3 is in
    AUTH_test but not its admin: neither may do anything there."""
    for method, url, headers, body in every_request(box):
        r = who[name].s.request(method, url, headers=headers, data=body)
        assert r.status_code == 403, (method, url, r.status_code)
        if method != "HEAD":
            assert r.text == FORBIDDEN
    assert_untouched(who, box)


def test_owner_token_never_works_on_another_account(who):
    other = who["other"]
    c = other.url + "/" + unique("mine")
    assert other.s.put(c).status_code == 201
    try:
        assert other.s.put(c + "/o", data=b"x").status_code == 201
        owner = who["owner"].s
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
            for url in (other.url, c, c + "/o"):
                assert owner.request(method, url).status_code == 403, (method, url)
        assert other.s.get(c + "/o").content == b"x"
    finally:
        other.s.delete(c + "/o")
        other.s.delete(c)


def test_public_read_serves_objects_but_not_listings(who, box):
    anon = who["anon"].s
    set_container(who, box, X_Container_Read=".r:*")
    r = anon.get(box + "/o")
    assert (r.status_code, r.content) == (200, b"hi")
    assert anon.head(box + "/o").status_code == 200
    assert anon.get(box + "/missing").status_code == 404
    assert anon.get(box).status_code == 401
    assert anon.head(box).status_code == 401
    for method, url in (("PUT", box + "/x"), ("POST", box + "/o"),
                        ("DELETE", box + "/o"), ("POST", box),
                        ("GET", who["owner"].url)):
        assert anon.request(method, url, data=b"").status_code == 401, method
    # the ACL lets other accounts' users read objects too, not list
    assert who["other"].s.get(box + "/o").status_code == 200
    assert who["other"].s.get(box).status_code == 403

    set_container(who, box, X_Container_Read=".r:*,.rlistings")
    r = anon.get(box)
    assert (r.status_code, r.text) == (200, "o\n")
    # only the owner sees the ACL itself
    assert "X-Container-Read" not in r.headers
    assert "X-Container-Read" not in anon.head(box).headers
    assert who["owner"].s.head(box).headers["X-Container-Read"] == \
        ".r:*,.rlistings"
    assert anon.put(box + "/x", data=b"x").status_code == 401


def test_referrer_allow_and_deny(who, box):
    anon = who["anon"].s
    set_container(who, box,
                  X_Container_Read=".r:.example.com,.r:-bad.example.com")
    for referer, status in ((None, 401),
                            ("http://www.example.com/page", 200),
                            ("https://WWW.Example.COM:8443/", 200),
                            ("//cdn.example.com/x", 200),
                            ("http://bad.example.com/", 401),
                            ("http://example.org/", 401),
                            ("www.example.com", 401)):
        headers = {"Referer": referer} if referer else {}
        r = anon.get(box + "/o", headers=headers)
        assert r.status_code == status, referer
    # a matching referrer without .rlistings still lists nothing
    r = anon.get(box, headers={"Referer": "http://www.example.com/"})
    assert r.status_code == 401


def test_read_acl_for_users_of_other_accounts(who, box):
    other = who["other"].s
    for acl in ("test2", "test2:tester2", "test2%3Atester2", "AUTH_test2"):
        set_container(who, box, X_Container_Read=acl)
        assert other.get(box + "/o").status_code == 200, acl
    r = other.get(box)
    assert (r.status_code, r.text) == (200, "o\n")
    assert "X-Container-Read" not in r.headers
    assert other.put(box + "/x", data=b"x").status_code == 403
    assert other.post(box + "/o").status_code == 403
    assert other.post(box, headers={"X-Container-Read": ".r:*"}).status_code == 403
    # tempauth has no wildcard user; another user name is not the account
    for acl in ("*", "test2:tester", "test"):
        set_container(who, box, X_Container_Read=acl)
        assert other.get(box + "/o").status_code == 403, acl
    # a user of the same account without the admin role, by name
    set_container(who, box, X_Container_Read="test:tester3")
    assert who["plain"].s.get(box + "/o").status_code == 200
    assert who["plain"].s.delete(box + "/o").status_code == 403


def test_write_acl_allows_objects_not_the_container(who, box):
    other = who["other"].s
    set_container(who, box, X_Container_Write="test2")
    assert other.put(box + "/w", data=b"w").status_code == 201
    assert other.post(box + "/w", headers={"X-Object-Meta-A": "b"}).status_code == 202
    assert other.get(box + "/w").status_code == 403  # writing is not reading
    assert other.head(box).status_code == 403
    assert other.get(box).status_code == 403
    for method, headers in (("POST", {"X-Container-Write": "test2,evil"}),
                            ("PUT", {}), ("DELETE", {})):
        assert other.request(method, box, headers=headers).status_code == 403
    assert other.delete(box + "/w").status_code == 204
    assert other.delete(box + "/o").status_code == 204
    assert who["owner"].s.head(box).headers["X-Container-Write"] == "test2"
    assert who["anon"].s.put(box + "/w", data=b"w").status_code == 401


def test_copies_check_both_ends(who, box):
    """Write access to one container must not read another through a
    server-side copy, in the same account or across accounts."""
    other, owner = who["other"], who["owner"]
    src = owner.url + "/" + unique("secret")
    assert owner.s.put(src).status_code == 201
    assert owner.s.put(src + "/s", data=b"secret").status_code == 201
    mine = other.url + "/" + unique("mine")
    assert other.s.put(mine).status_code == 201
    sname, bname = src.rsplit("/", 1)[1], box.rsplit("/", 1)[1]
    try:
        set_container(who, box, X_Container_Write="test2")
        steal = [
            ("PUT", box + "/stolen", {"X-Copy-From": sname + "/s"}),
            ("COPY", src + "/s", {"Destination": bname + "/stolen"}),
            ("PUT", mine + "/stolen", {"X-Copy-From": sname + "/s",
                                       "X-Copy-From-Account": "AUTH_test"}),
            ("COPY", mine.rsplit("/", 1)[0] + "/x", {}),
        ]
        for method, url, headers in steal[:3]:
            r = other.s.request(method, url, headers=headers, data=b"")
            assert r.status_code == 403, (method, url, headers)
        # and copying out of one's own account into a container one may
        # not write is refused as well
        assert other.s.put(mine + "/m", data=b"m").status_code == 201
        r = other.s.request("COPY", mine + "/m", headers={
            "Destination": sname + "/planted",
            "Destination-Account": "AUTH_test"})
        assert r.status_code == 403
        set_container(who, src, X_Container_Read="test2")
        for method, url, headers in steal[:3]:
            r = other.s.request(method, url, headers=headers, data=b"")
            assert r.status_code == 201, (method, url, headers)
        assert other.s.get(mine + "/stolen").content == b"secret"
        names = [o["name"] for o in owner.s.get(src + "?format=json").json()]
        assert names == ["s"]
    finally:
        for url in (src + "/s", box + "/stolen"):
            owner.s.delete(url)
        owner.s.delete(src)
        for url in (mine + "/stolen", mine + "/m"):
            other.s.delete(url)
        other.s.delete(mine)


@pytest.mark.parametrize("header,value,body", [
    ("X-Container-Read", ".r:",
     "No host/domain value after referrer designation in ACL: '.r:'"),
    ("X-Container-Read", ".r:-",
     "No host/domain value after referrer designation in ACL: '.r:-'"),
    ("X-Container-Read", ".x:y", "Unknown designator '.x' in ACL: '.x:y'"),
    ("X-Container-Read", ".rlistings:foo",
     "Unknown designator '.rlistings' in ACL: '.rlistings:foo'"),
    ("X-Container-Write", ".r:*", "Referrers not allowed in write ACL: '.r:*'"),
])
def test_invalid_container_acl_is_400(who, box, header, value, body):
    for method in ("POST", "PUT"):
        r = who["owner"].s.request(method, box, headers={header: value})
        assert r.status_code == 400
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert r.text == body
    # a user who may not touch the container learns nothing about it
    r = who["other"].s.post(box, headers={header: value})
    assert r.status_code == 403
    assert header not in who["owner"].s.head(box).headers


def test_container_acl_is_stored_cleaned(who, box):
    owner = who["owner"].s
    for sent, stored in (("bob , sue,,", "bob,sue"),
                         (".referrer : *, .rlistings", ".r:*,.rlistings"),
                         (".ref:*.example.com", ".r:.example.com")):
        set_container(who, box, X_Container_Read=sent)
        assert owner.head(box).headers["X-Container-Read"] == stored
    set_container(who, box, X_Remove_Container_Read="x")
    assert "X-Container-Read" not in owner.head(box).headers


@pytest.mark.parametrize("value,error", [
    ("{bad", "Syntax error in input ('{bad')"),
    ("[]", "Syntax error in input ('[]')"),
    ("it's", "Syntax error in input (\"it's\")"),
    ('{"foo":[]}', 'Key "foo" not recognized'),
    ('{"admin":"x"}', 'Value for key "admin" must be a list'),
    ('{"admin":[1]}', 'Elements of "admin" list must be strings'),
    ('{"read-only":[null]}', 'Elements of "read-only" list must be strings'),
])
def test_invalid_account_acl_is_400(who, box, value, error):
    body = "X-Account-Access-Control invalid: %s\n\nInput: %s\n" % (error, value)
    # refused on any request that sends it, before anything else is decided
    for name, url in (("owner", who["owner"].url), ("other", who["owner"].url),
                      ("anon", box + "/o")):
        r = who[name].s.post(url, headers={"X-Account-Access-Control": value})
        assert r.status_code == 400, name
        assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
        assert r.text == body
    assert "X-Account-Access-Control" not in \
        who["owner"].s.head(who["owner"].url).headers


def test_account_acl_read_only(who, box, account_acl):
    other = who["other"].s
    account_acl('{"read-only":["test2:tester2"]}')
    r = who["owner"].s.head(who["owner"].url)
    assert r.headers["X-Account-Access-Control"] == '{"read-only":["test2:tester2"]}'
    r = other.get(who["owner"].url)
    assert r.status_code == 200
    assert box.rsplit("/", 1)[1] in r.text.split("\n")
    assert "X-Account-Access-Control" not in r.headers
    assert other.get(box).text == "o\n"
    assert other.get(box + "/o").content == b"hi"
    for method, url in (("PUT", box + "/x"), ("POST", box + "/o"),
                        ("DELETE", box + "/o"), ("POST", box),
                        ("PUT", who["owner"].url + "/" + unique("ro")),
                        ("POST", who["owner"].url)):
        assert other.request(method, url, data=b"").status_code == 403, (method, url)
    # the grant is for that user only
    assert who["plain"].s.get(box + "/o").status_code == 403


def test_account_acl_read_write(who, box, account_acl):
    plain = who["plain"].s
    account_acl('{"read-write":["test:tester3"]}')
    assert plain.head(who["owner"].url).status_code == 204
    assert plain.post(who["owner"].url,
                      headers={"X-Account-Meta-A": "b"}).status_code == 403
    c = who["owner"].url + "/" + unique("rw")
    r = plain.put(c, headers={"X-Container-Meta-A": "b",
                              "X-Container-Read": ".r:*"})
    assert r.status_code == 201
    try:
        # containers and objects are theirs to change, but not the ACLs
        h = who["owner"].s.head(c).headers
        assert h["X-Container-Meta-A"] == "b"
        assert "X-Container-Read" not in h
        assert plain.put(c + "/o", data=b"x").status_code == 201
        assert plain.get(c + "/o").content == b"x"
        assert plain.post(c, headers={"X-Container-Meta-B": "c"}).status_code == 204
        # an invalid ACL is still refused as such
        r = plain.post(c, headers={"X-Container-Read": ".r:"})
        assert r.status_code == 400
        # and the account ACL can only be set by an owner
        r = plain.post(c, headers={"X-Account-Access-Control": '{"admin":["test:tester3"]}'})
        assert r.status_code == 204
        assert who["owner"].s.head(who["owner"].url).headers[
            "X-Account-Access-Control"] == '{"read-write":["test:tester3"]}'
        assert plain.delete(c + "/o").status_code == 204
        assert plain.delete(c).status_code == 204
    finally:
        who["owner"].s.delete(c + "/o")
        who["owner"].s.delete(c)
    assert who["other"].s.get(box + "/o").status_code == 403


def test_account_acl_admin(who, box, account_acl):
    other = who["other"].s
    account_acl('{"admin":["test2"], "read-only":[]}')
    r = other.head(who["owner"].url)
    assert r.status_code == 204
    # an admin is an owner: sees the ACLs ...
    assert r.headers["X-Account-Access-Control"] == \
        '{"admin":["test2"],"read-only":[]}'
    set_container(who, box, X_Container_Read="nobody")
    assert other.head(box).headers["X-Container-Read"] == "nobody"
    # ... and may change everything, the account ACL included
    assert other.post(who["owner"].url,
                      headers={"X-Account-Meta-By": "test2"}).status_code == 204
    assert other.post(box, headers={"X-Container-Write": "x"}).status_code == 204
    assert who["owner"].s.head(box).headers["X-Container-Write"] == "x"
    r = other.post(who["owner"].url,
                   headers={"X-Account-Access-Control": '{"read-only":["test2"]}'})
    assert r.status_code == 204
    assert other.post(who["owner"].url,
                      headers={"X-Account-Meta-By": ""}).status_code == 403
    assert other.get(box + "/o").status_code == 200
    assert other.delete(box + "/o").status_code == 403


def test_empty_account_acl_grants_nothing(who, box, account_acl):
    account_acl("{}")
    assert "X-Account-Access-Control" not in \
        who["owner"].s.head(who["owner"].url).headers
    account_acl('{"admin":[]}')
    assert who["owner"].s.head(who["owner"].url).headers[
        "X-Account-Access-Control"] == '{"admin":[]}'
    assert who["other"].s.head(who["owner"].url).status_code == 403


def test_info_announces_account_acls(info):
    assert info["tempauth"] == {"account_acls": True}
