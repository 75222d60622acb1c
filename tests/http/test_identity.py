"""Identity: Rackspace / Keystone v2.0 and Keystone v3 logins, tokens shared
with v1.0, `swiftlet user` and its users database, and the Cloud Files
documentation's own shell upload script.

Swift itself has no v2.0 or v3 identity service (it delegates to an external
Keystone), so these tests are swiftlet_only."""

import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import urlparse

import pytest
import requests

from conftest import SWIFTLET_BIN, new_session, unique

pytestmark = pytest.mark.swiftlet_only

TOKEN_RE = re.compile(r"^AUTH_tk[0-9a-f]{32}$")
JSON = {"Content-Type": "application/json"}


def v2_apikey(user="tester", key="testing", tenant=None):
    auth = {"RAX-KSKEY:apiKeyCredentials": {"username": user, "apiKey": key}}
    if tenant:
        auth["tenantName"] = tenant
    return {"auth": auth}


def v2_password(user="tester", key="testing", **tenant):
    auth = {"passwordCredentials": {"username": user, "password": key}}
    auth.update(tenant)
    return {"auth": auth}


def v3_body(user="tester", key="testing", project="test", domain=None,
            scope=True):
    u = {"name": user, "domain": domain or {"name": "Default"},
         "password": key}
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": u}}}}
    if scope:
        body["auth"]["scope"] = {"project": {"name": project,
                                             "domain": {"name": "Default"}}}
    return body


def v2_login(base, body, **kw):
    return requests.post(base + "/v2.0/tokens", json=body, timeout=30, **kw)


def v3_login(base, body, **kw):
    return requests.post(base + "/v3/auth/tokens", json=body, timeout=30,
                         **kw)


def v2_token(base, **kw):
    r = v2_login(base, v2_apikey(**kw))
    assert r.status_code == 200, r.text
    access = r.json()["access"]
    return access["token"]["id"], \
        access["serviceCatalog"][0]["endpoints"][0]["publicURL"]


def swiftlet_user(data_dir, *args, key=None):
    """Run `swiftlet --data DIR user ARGS...` with KEY on standard input."""
    return subprocess.run([SWIFTLET_BIN, "--data", data_dir, "user"] + list(args),
                          input=(key + "\n") if key is not None else "",
                          capture_output=True, text=True, timeout=30)


def parse_iso(s):
    return datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# v2.0


def test_v2_apikey_response_shape(server):
    r = v2_login(server.base, v2_apikey())
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    access = r.json()["access"]
    token = access["token"]
    assert TOKEN_RE.match(token["id"])
    assert token["tenant"] == {"id": "test", "name": "test"}
    exp = parse_iso(token["expires"])
    assert 3600 < (exp - datetime.now(timezone.utc)).total_seconds() <= 86400
    assert token["RAX-AUTH:authenticatedBy"] == ["APIKEY"]
    user = access["user"]
    assert user["name"] == "tester"
    assert user["RAX-AUTH:defaultRegion"] == "RegionOne"
    cat = {s["name"]: s for s in access["serviceCatalog"]}
    files, cdn = cat["cloudFiles"], cat["cloudFilesCDN"]
    assert files["type"] == "object-store"
    assert cdn["type"] == "rax:object-cdn"
    ep = files["endpoints"][0]
    assert ep["publicURL"] == server.base + "/v1/AUTH_test"
    assert ep["internalURL"] == server.base + "/v1/AUTH_test"
    assert ep["region"] == "RegionOne"
    assert ep["tenantId"] == "AUTH_test"
    assert cdn["endpoints"][0]["tenantId"] == "AUTH_test"
    # the token works on the catalog's storage URL
    s = new_session(token["id"])
    assert s.head(ep["publicURL"]).status_code in (200, 204)


@pytest.mark.parametrize("body", [
    v2_password(),
    v2_password(tenantName="test"),
    v2_password(tenantId="test"),
    v2_password(tenantId="AUTH_test"),
    v2_password(user="test:tester"),
    v2_apikey(tenant="test"),
])
def test_v2_password_and_tenants(server, body):
    r = v2_login(server.base, body)
    assert r.status_code == 200, r.text
    token = r.json()["access"]["token"]
    want = "APIKEY" if "RAX-KSKEY:apiKeyCredentials" in body["auth"] \
        else "PASSWORD"
    assert token["RAX-AUTH:authenticatedBy"] == [want]
    assert token["tenant"]["name"] == "test"


APIKEY_401 = {"unauthorized": {"code": 401,
                               "message": "Username or api key is invalid."}}
PASSWORD_401 = {"unauthorized": {
    "code": 401,
    "message": "Unable to authenticate user with credentials provided."}}


@pytest.mark.parametrize("body,want", [
    (v2_apikey(key="wrong"), APIKEY_401),
    (v2_apikey(user="nobody"), APIKEY_401),
    (v2_apikey(tenant="other"), APIKEY_401),
    (v2_password(key="wrong"), PASSWORD_401),
    (v2_password(tenantName="nosuch"), PASSWORD_401),
    (v2_password(user="other:tester"), PASSWORD_401),
    # kinds of credential swiftlet does not take: 401, so that clients
    # (ncw/swift in rclone and restic) fall back to the API key
    ({"auth": {"token": {"id": "AUTH_tk" + "0" * 32},
               "tenantName": "test"}}, None),
    ({"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": "1"}}}, None),
])
def test_v2_unauthorized(server, body, want):
    r = v2_login(server.base, body)
    assert r.status_code == 401
    assert r.headers["Content-Type"].startswith("application/json")
    assert "X-Subject-Token" not in r.headers
    doc = r.json()
    assert doc["unauthorized"]["code"] == 401
    if want:
        assert doc == want


BAD_BODIES = [
    b"",
    b"{",
    b"not json at all",
    b"[]",
    b"null",
    b'{"auth": []}',
    b'{"auth": {"passwordCredentials": {"username": "tester"}}}',
    b'{"auth": {"passwordCredentials": {"password": "testing"}}}',
    b'{"auth": {"passwordCredentials": "tester"}}',
    b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": 5, "apiKey": "x"}}}',
    b'{"auth": {"passwordCredentials": {"username": "tes\\u0000ter", '
    b'"password": "testing"}}}',
    b'{"auth": {"passwordCredentials": {"username": "tester", "password": '
    b'"testing"}, "tenantName": ["test"]}}',
    b"[" * 100000,
    b"[" * 3000,
    b"{\"auth\": " * 1500,
    b'{"auth": {"passwordCredentials": {"username": "\xff\xfe", '
    b'"password": "x"}}}',
]


@pytest.mark.parametrize("path", ["/v2.0/tokens", "/v3/auth/tokens"])
@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_bodies(server, path, body):
    r = requests.post(server.base + path, data=body, headers=JSON, timeout=30)
    assert r.status_code in (400, 401), (body[:60], r.status_code)
    doc = r.json()
    if path.startswith("/v2.0"):
        assert list(doc) in (["badRequest"], ["unauthorized"])
    else:
        assert doc["error"]["code"] == r.status_code
    assert requests.get(server.base + "/healthcheck").status_code == 200


def expect_continue_status(base, path, length):
    """Announce a LENGTH-byte JSON body with Expect: 100-continue (as curl
    does for large uploads) and return the status of the first answer."""
    u = urlparse(base)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                      "application/json\r\nContent-Length: %d\r\nExpect: "
                      "100-continue\r\n\r\n" % (path, u.netloc, length)).encode())
        head = sock.recv(4096).decode("latin-1")
    return int(head.split()[1])


@pytest.mark.parametrize("path", ["/v2.0/tokens", "/v3/auth/tokens"])
def test_huge_and_mistyped_bodies(server, path):
    url = server.base + path
    good = json.dumps(v2_apikey() if "v2" in path else v3_body()).encode()
    # huge bodies: refused before they are sent when announced as such ...
    assert expect_continue_status(server.base, path, 1 << 30) == 400
    # ... and read no further than the cap otherwise (Content-Length or
    # chunked), still answered with a 400
    r = requests.post(url, data=b" " * (256 << 10) + good, headers=JSON)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/json"
    r = requests.post(url, data=iter([b" " * 16384] * 16 + [good]),
                      headers=JSON)
    assert r.status_code == 400
    # past the drain limit the server cuts the upload short
    try:
        r = requests.post(url, data=iter([b" " * 65536] * 64 + [good]),
                          headers=JSON, timeout=30)
        assert r.status_code == 400
    except requests.ConnectionError:
        pass
    # a body that is not JSON by its type
    for ct in ("application/x-www-form-urlencoded", "text/plain",
               "multipart/form-data; boundary=x"):
        r = requests.post(url, data=good, headers={"Content-Type": ct})
        assert r.status_code == 400, ct
    # JSON with a charset, and JSON without any Content-Type, are fine
    r = requests.post(url, data=good,
                      headers={"Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code in (200, 201)
    r = requests.post(url, data=good)
    assert r.status_code in (200, 201)
    # other verbs
    assert requests.get(url).status_code == 405
    assert requests.put(url, data=good, headers=JSON).status_code == 405
    assert requests.get(server.base + "/healthcheck").status_code == 200


# --------------------------------------------------------------------------
# v3


def test_v3_password_login(server):
    r = v3_login(server.base, v3_body())
    assert r.status_code == 201, r.text
    tok = r.headers["X-Subject-Token"]
    assert TOKEN_RE.match(tok)
    t = r.json()["token"]
    assert t["methods"] == ["password"]
    assert t["user"]["name"] == "tester"
    assert t["user"]["domain"] == {"id": "default", "name": "Default"}
    assert t["project"]["name"] == "test"
    assert t["project"]["domain"]["name"] == "Default"
    assert t["roles"][0]["name"] == "admin"
    exp = parse_iso(t["expires_at"])
    assert (exp - datetime.now(timezone.utc)).total_seconds() > 3600
    svc = [s for s in t["catalog"] if s["type"] == "object-store"]
    assert len(svc) == 1
    eps = {e["interface"]: e for e in svc[0]["endpoints"]}
    assert set(eps) >= {"public", "internal"}
    assert eps["public"]["url"] == server.base + "/v1/AUTH_test"
    assert eps["public"]["region"] == "RegionOne"
    s = new_session(tok)
    assert s.head(eps["public"]["url"]).status_code in (200, 204)


@pytest.mark.parametrize("body", [
    v3_body(domain={"id": "default"}),
    v3_body(scope=False),          # unscoped: the user's own project
    {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": "test:tester", "password": "testing"}}},
        "scope": {"project": {"id": "test"}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "tester", "domain": {"name": "Default"},
                 "password": "testing"}}},
        "scope": {"project": {"id": "AUTH_test"}}}},
])
def test_v3_variants(server, body):
    r = v3_login(server.base, body)
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["id"] == "test"


@pytest.mark.parametrize("body", [
    v3_body(key="wrong"),
    v3_body(user="nobody"),
    v3_body(project="other"),
    v3_body(domain={"name": "Elsewhere"}),
    {"auth": {"identity": {"methods": ["token"],
                           "token": {"id": "AUTH_tk" + "0" * 32}}}},
    {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "tester", "domain": {"name": "Default"},
                 "password": "testing"}}},
        "scope": {"domain": {"id": "default"}}}},
])
def test_v3_unauthorized(server, body):
    r = v3_login(server.base, body)
    assert r.status_code == 401
    assert "X-Subject-Token" not in r.headers
    assert r.json() == {"error": {
        "code": 401, "title": "Unauthorized",
        "message": "The request you have made requires authentication."}}
    assert r.headers["WWW-Authenticate"] == \
        'Keystone uri="%s/v3"' % server.base


# --------------------------------------------------------------------------
# tokens


def test_tokens_interchangeable(server):
    v1 = requests.get(server.auth_url, headers={"X-Auth-User": "test:tester",
                                                "X-Auth-Key": "testing"})
    t1, url = v1.headers["X-Auth-Token"], v1.headers["X-Storage-Url"]
    t2, url2 = v2_token(server.base)
    t3 = v3_login(server.base, v3_body()).headers["X-Subject-Token"]
    assert url == url2
    c = url + "/" + unique("ids")
    assert new_session(t2).put(c).status_code == 201
    assert new_session(t3).put(c + "/o", data=b"via v3").status_code == 201
    r = new_session(t1).get(c + "/o")
    assert r.status_code == 200 and r.content == b"via v3"
    assert new_session(t2).delete(c + "/o").status_code == 204
    assert new_session(t1).delete(c).status_code == 204


@pytest.fixture
def short_ttl(spawn):
    return spawn(conf="[server]\ntoken_ttl = 1\n")


def test_expired_tokens_401(short_ttl):
    srv = short_ttl
    tok, url = v2_token(srv.base)
    tok3 = v3_login(srv.base, v3_body()).headers["X-Subject-Token"]
    assert new_session(tok).head(url).status_code in (200, 204)
    time.sleep(2.2)
    for t in (tok, tok3):
        r = new_session(t).head(url)
        assert r.status_code == 401
    # clients re-authenticate and get a fresh token
    new, _ = v2_token(srv.base)
    assert new != tok
    assert new_session(new).head(url).status_code in (200, 204)


def test_catalog_internal_url(spawn):
    srv = spawn(conf="[auth]\nregion = DFW\ninternal_url = http://snet.invalid:8081\n")
    r = v2_login(srv.base, v2_apikey())
    access = r.json()["access"]
    ep = access["serviceCatalog"][0]["endpoints"][0]
    assert ep["internalURL"] == "http://snet.invalid:8081/v1/AUTH_test"
    assert ep["publicURL"] == srv.base + "/v1/AUTH_test"
    assert ep["region"] == "DFW"
    assert access["user"]["RAX-AUTH:defaultRegion"] == "DFW"
    t = v3_login(srv.base, v3_body()).json()["token"]
    eps = {e["interface"]: e for e in t["catalog"][0]["endpoints"]}
    assert eps["internal"]["url"] == "http://snet.invalid:8081/v1/AUTH_test"
    assert eps["public"]["region"] == "DFW"


# --------------------------------------------------------------------------
# clients


def test_keystoneauth1_sessions(server):
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v2, v3
    for plugin in (
            v2.Password(auth_url=server.base + "/v2.0", username="tester",
                        password="testing", tenant_name="test"),
            v3.Password(auth_url=server.base + "/v3", username="tester",
                        password="testing", project_name="test",
                        user_domain_name="Default",
                        project_domain_name="Default")):
        sess = ks_session.Session(auth=plugin)
        assert TOKEN_RE.match(sess.get_token())
        for iface in ("public", "internal"):
            assert sess.get_endpoint(service_type="object-store",
                                     interface=iface) == \
                server.base + "/v1/AUTH_test"


@pytest.mark.parametrize("auth", [
    ["-V", "2.0", "-A", "{base}/v2.0", "-U", "tester", "-K", "testing",
     "--os-tenant-name", "test"],
    ["--auth-version", "3", "--os-auth-url", "{base}/v3", "--os-username",
     "tester", "--os-password", "testing", "--os-project-name", "test",
     "--os-user-domain-name", "Default", "--os-project-domain-name",
     "Default"],
], ids=["v2.0", "v3"])
def test_swift_cli(server, tmp_path, auth):
    args = [a.format(base=server.base) for a in auth]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ST_", "OS_"))}
    c = unique("cli")
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello over keystone\n")

    def swift(*cmd):
        p = subprocess.run(["swift"] + args + list(cmd), capture_output=True,
                           text=True, timeout=60, cwd=str(tmp_path), env=env)
        assert p.returncode == 0, p.stderr
        return p.stdout

    assert "Account: AUTH_test" in swift("stat")
    swift("upload", c, "hello.txt")
    assert swift("list", c).split() == ["hello.txt"]
    swift("delete", c)


CLOUD_FILES_SCRIPT = r"""#!/bin/bash
# Upload every file of a directory to a Cloud Files container.
USERNAME='tester'
APIKEY='testing'
CONTAINER='%(container)s'

# This section simply retrieves the TOKEN
TOKEN=`curl -X POST -d '{ "auth":{"RAX-KSKEY:apiKeyCredentials": { "username":"'$USERNAME'", "apiKey": "'$APIKEY'" }} }' -H "Content-type: application/json" https://identity.api.rackspacecloud.com/v2.0/tokens |  python -mjson.tool | grep -A5 token | grep id | cut -d '"' -f4`

# Create the container, then upload each file
curl -i -X PUT -H "X-Auth-Token: $TOKEN" https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/$CONTAINER
for file in *; do
    curl -i -X PUT -T $file -H "X-Auth-Token: $TOKEN" https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/$CONTAINER/$file
done
"""


def python_on_path(tmp_path):
    """A PATH whose `python` is Debian's python3 (the script calls `python`;
    on Debian that name comes from python-is-python3)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(sys.executable if sys.executable else "/usr/bin/python3",
               bindir / "python")
    return str(bindir) + os.pathsep + os.environ.get("PATH", "")


def test_cloud_files_upload_script(server, sess, tmp_path):
    c = unique("cf")
    script = CLOUD_FILES_SCRIPT % {"container": c}
    # only the host names change (and https, which swiftlet's test server
    # does not terminate)
    script = script.replace("https://identity.api.rackspacecloud.com",
                            server.base)
    script = script.replace(
        "https://storage101.dfw1.clouddrive.com/v1/"
        "MossoCloudFS_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        server.base + "/v1/AUTH_test")
    work = tmp_path / "files"
    work.mkdir()
    files = {"a.txt": b"alpha\n", "b.bin": os.urandom(70000),
             "c.log": b"x" * 10}
    for name, data in files.items():
        (work / name).write_bytes(data)
    (tmp_path / "upload.sh").write_text(script)
    p = subprocess.run(["bash", str(tmp_path / "upload.sh")], cwd=str(work),
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PATH=python_on_path(tmp_path)))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("HTTP/1.1 201 Created") == 1 + len(files), p.stdout
    url = server.base + "/v1/AUTH_test/" + c
    for name, data in files.items():
        r = sess.get(url + "/" + name)
        assert r.status_code == 200
        assert r.content == data
        assert r.headers["Etag"] == hashlib.md5(data).hexdigest()
        sess.delete(url + "/" + name)
    sess.delete(url)


@pytest.mark.parametrize("sort", [False, True], ids=["py3-order", "sorted"])
def test_token_recipe_pipeline(server, tmp_path, sort):
    # The recipe against both key orders json.tool produces: Python 3
    # keeps ours, Python 2 (and --sort-keys) sorts them.
    tool = "python -mjson.tool" + (" --sort-keys" if sort else "")
    cmd = ("curl -s -X POST -d '%s' -H 'Content-Type: application/json' %s | "
           "%s | grep -A5 token | grep id | cut -d '\"' -f4" % (
               json.dumps(v2_password(tenantName="test")),
               server.base + "/v2.0/tokens", tool))
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                       timeout=30,
                       env=dict(os.environ, PATH=python_on_path(tmp_path)))
    assert p.returncode == 0, p.stderr
    tok, _ = v2_token(server.base)
    assert p.stdout == tok + "\n"


# --------------------------------------------------------------------------
# --ephemeral and swiftlet user


def test_ephemeral_prints_all_three(server):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        out = f.read()
    m2 = re.search(r"^auth v2\.0: (\S+)  username: (\S+)  apiKey \(or password\): "
                   r"(\S+)  tenant: (\S+)$", out, re.M)
    m3 = re.search(r"^auth v3: (\S+)  user: (\S+)  domain: (\S+)  password: (\S+)  "
                   r"project: (\S+)  project domain: (\S+)$", out, re.M)
    assert m2 and m3, out[-2000:]
    url, user, key, tenant = m2.groups()
    assert (user, key, tenant) == ("tester", "testing", "test")
    assert requests.post(url + "/tokens", json=v2_apikey(user, key, tenant)
                         ).status_code == 200
    assert requests.post(url + "/tokens", json=v2_password(
        user, key, tenantName=tenant)).status_code == 200
    url, user, domain, key, project, pdomain = m3.groups()
    assert (user, domain, project) == ("tester", "Default", "test")
    assert v3_login(url[:-3], v3_body(user, key, project)).status_code == 201


def test_user_command(spawn):
    srv = spawn()
    d = srv.data_dir
    p = swiftlet_user(d, "add", "test:alice", "member", key="alice-key-1")
    assert p.returncode == 0, p.stderr
    assert swiftlet_user(d, "add", "ops:root", "reseller",
                         key="root-key-1").returncode == 0
    assert swiftlet_user(d, "add", "other:bob", key="bob-key-1").returncode == 0
    p = swiftlet_user(d, "add", "test:alice", key="again")
    assert p.returncode == 1 and "exists" in p.stderr
    assert swiftlet_user(d, "add", "nocolon", key="k").returncode == 2
    assert swiftlet_user(d, "add", "test:x", "god", key="k").returncode == 2

    listing = swiftlet_user(d, "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [ln.split()[:2] for ln in lines] == [
        ["ops:root", "reseller"], ["other:bob", "admin"], ["test:alice", "member"]]
    assert "key" not in listing.stdout.lower()
    # keys are stored hashed, never in plain text
    assert os.stat(os.path.join(d, "users.db")).st_mode & 0o777 == 0o600
    raw = open(os.path.join(d, "users.db"), "rb").read()
    assert b"alice-key-1" not in raw and b"root-key-1" not in raw
    db = sqlite3.connect(os.path.join(d, "users.db"))
    for salt, h, it in db.execute("SELECT salt, hash, iterations FROM users"):
        assert len(salt) == 16 and len(h) == 32 and it >= 10000
        assert h not in listing.stdout.encode()
    db.close()

    # the running server sees them at once, through all three APIs
    base, test_url = srv.base, srv.base + "/v1/AUTH_test"
    r = requests.get(srv.auth_url, headers={"X-Auth-User": "test:alice",
                                            "X-Auth-Key": "alice-key-1"})
    assert r.status_code == 200
    alice, _ = v2_token(base, user="alice", key="alice-key-1")
    assert alice == r.headers["X-Auth-Token"]
    assert v3_login(base, v3_body("alice", "alice-key-1")).status_code == 201
    # a member owns nothing without ACLs
    assert new_session(alice).get(test_url).status_code == 403

    # read-only: reads its account, writes nothing
    admin = new_session(srv.auth()[1])
    assert admin.put(test_url + "/shared").status_code == 201
    assert swiftlet_user(d, "set-role", "test:alice", "read-only").returncode == 0
    ro, _ = v2_token(base, user="alice", key="alice-key-1")
    assert ro != alice
    s = new_session(ro)
    assert s.get(test_url).status_code == 200
    assert s.head(test_url + "/shared").status_code == 204
    for method in ("PUT", "POST", "DELETE"):
        assert s.request(method, test_url + "/shared").status_code == 403
    assert s.put(test_url + "/shared/o", data=b"x").status_code == 403
    assert s.get(base + "/v1/AUTH_other").status_code == 403

    # an account admin of another account is kept out; a reseller is not
    bob, bob_url = v2_token(base, user="bob", key="bob-key-1")
    assert bob_url == base + "/v1/AUTH_other"
    assert new_session(bob).head(bob_url).status_code in (200, 204)
    assert new_session(bob).get(test_url).status_code == 403
    assert new_session(bob).put(test_url + "/x").status_code == 403
    root, _ = v2_token(base, user="root", key="root-key-1")
    assert new_session(root).head(test_url + "/shared").status_code == 204
    assert new_session(root).head(bob_url).status_code in (200, 204)

    # set-key: the old key stops working at once
    assert swiftlet_user(d, "set-key", "test:alice",
                         key="alice-key-2").returncode == 0
    assert v2_login(base, v2_apikey("alice", "alice-key-1")).status_code == 401
    assert v2_login(base, v2_apikey("alice", "alice-key-2")).status_code == 200
    # del: no more logins
    assert swiftlet_user(d, "del", "test:alice").returncode == 0
    assert swiftlet_user(d, "del", "test:alice").returncode == 1
    assert v2_login(base, v2_apikey("alice", "alice-key-2")).status_code == 401
    assert requests.get(srv.auth_url, headers={
        "X-Auth-User": "test:alice", "X-Auth-Key": "alice-key-2"}
    ).status_code == 401
    # the config's user still works alongside the database
    assert v2_login(base, v2_apikey()).status_code == 200
    admin.delete(test_url + "/shared")


def test_user_command_generates_key(data_dir):
    # With a terminal on stdin the command makes up a key and prints it
    # once; without one (here /dev/null: nothing to read) it refuses.
    p = subprocess.run([SWIFTLET_BIN, "--data", data_dir, "user", "add",
                        "test:carol"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "no key" in p.stderr
    master, slave = os.openpty()
    try:
        p = subprocess.run([SWIFTLET_BIN, "--data", data_dir, "user", "add",
                            "test:carol", "read-only"], stdin=slave,
                           capture_output=True, text=True, timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 0, p.stderr
    m = re.match(r"^key: ([0-9a-f]{36})$", p.stdout.strip())
    assert m, p.stdout
    listing = swiftlet_user(data_dir, "list", "test").stdout
    assert listing.startswith("test:carol read-only ")
    assert m.group(1) not in listing


def test_logins_logged_without_secrets(spawn):
    srv = spawn()
    d = srv.data_dir
    assert swiftlet_user(d, "add", "test:dave", key="dave-secret-9").returncode == 0
    toks = []
    r = requests.get(srv.auth_url, headers={"X-Auth-User": "test:tester",
                                            "X-Auth-Key": "testing"})
    toks.append(r.headers["X-Auth-Token"])
    toks.append(v2_token(srv.base, user="dave", key="dave-secret-9")[0])
    toks.append(v3_login(srv.base, v3_body("dave", "dave-secret-9"))
                .headers["X-Subject-Token"])
    assert v2_login(srv.base, v2_apikey(key="v2-wrong-key")).status_code == 401
    assert v2_login(srv.base, v2_password(key="v2-wrong-pass")).status_code == 401
    assert v3_login(srv.base, v3_body(key="v3-wrong-pass")).status_code == 401
    assert requests.post(srv.base + "/v2.0/tokens", data=b'{"auth": {"x"',
                         headers=JSON).status_code == 400
    time.sleep(0.2)
    log = open(srv.log_path, encoding="utf-8", errors="replace").read()
    for secret in ["testing", "dave-secret-9", "v2-wrong-key", "v2-wrong-pass",
                   "v3-wrong-pass"] + toks:
        assert secret not in log, secret
    assert re.search(r'msg="login" tx=\S+ api=v1\.0 user="test:tester"', log)
    assert re.search(r'msg="login" tx=\S+ api=v2\.0 user="dave" tenant="-"', log)
    assert re.search(r'msg="login" tx=\S+ api=v3 user="dave" tenant="test"', log)
    assert re.search(r'msg="login refused" tx=\S+ api=v2\.0 user="tester" '
                     r'tenant="-" why=credentials', log)
    assert re.search(r'msg="login refused" tx=\S+ api=v3 user="tester"', log)
    assert re.search(r'msg="login refused" tx=\S+ api=v2\.0 why=body', log)


def test_info_lists_login_apis(server):
    info = requests.get(server.base + "/info").json()
    assert info["swiftlet"]["auth"] == {"v1.0": "/auth/v1.0",
                                        "v2.0": "/v2.0/tokens",
                                        "v3": "/v3/auth/tokens"}


def test_print_connect_shows_all_three(spawn):
    # `make run` is `serve --data var --user test:tester:testing:admin
    # --print-connect`: the same lines as --ephemeral, plus examples.
    srv = spawn(extra=["--print-connect"])
    deadline = time.monotonic() + 10
    while "stop with Ctrl-C" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    out = srv.log()
    assert "auth v2.0: %s/v2.0  username: tester  apiKey (or password): " \
           "testing  tenant: test" % srv.base in out
    assert "auth v3: %s/v3  user: tester  domain: Default  password: testing  " \
           "project: test  project domain: Default" % srv.base in out
    m = re.search(r"^  (swift --auth-version 3 .*)$", out, re.M)
    assert m, out
    p = subprocess.run(m.group(1).split(), capture_output=True, text=True,
                       timeout=60, env={k: v for k, v in os.environ.items()
                                        if not k.startswith(("ST_", "OS_"))})
    assert p.returncode == 0 and "Account: AUTH_test" in p.stdout, p.stderr
    m = re.search(r"^  (curl -s -X POST .*/v2\.0/tokens)$", out, re.M)
    assert m, out
    p = subprocess.run(["bash", "-c", m.group(1)], capture_output=True,
                       text=True, timeout=30)
    assert TOKEN_RE.match(json.loads(p.stdout)["access"]["token"]["id"])
