"""Per-container write throttling (server/ratelimit.c), black-box.

Every test starts its own `swiftlet serve` with the limiter on and a small
rate from a config file, so a burst of a few dozen requests is enough to
see delays, 498 "Slow down" (mode swift, as Swift's ratelimit middleware)
and 429 + Retry-After (mode reject). The session server of the other tests
runs with --no-ratelimit (conftest.py)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import new_session

pytestmark = pytest.mark.swiftlet_only


@pytest.fixture
def limited(spawn, tmp_path):
    """limited(**settings) -> (server, storage_url, token) of a server whose
    [ratelimit] section holds SETTINGS."""

    def _start(**settings):
        conf = tmp_path / "ratelimit.ini"
        conf.write_text("[ratelimit]\n" + "".join(
            "%s = %s\n" % kv for kv in settings.items()))
        srv = spawn(extra=["-c", str(conf)], ratelimit=True)
        url, tok = srv.auth()
        return srv, url, tok
    return _start


def burst(method, urls, token, body=None):
    """Send one request per URL at once; [(status, seconds, response)]."""
    def one(url):
        with requests.Session() as s:
            t0 = time.monotonic()
            r = s.request(method, url, data=body,
                          headers={"X-Auth-Token": token}, timeout=60)
            return r.status_code, time.monotonic() - t0, r
    with ThreadPoolExecutor(len(urls)) as ex:
        return list(ex.map(one, urls))


def metric(srv, name):
    text = requests.get(srv.base + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric %s" % name)


def make_container(url, token, name):
    r = requests.put(url + "/" + name, headers={"X-Auth-Token": token})
    assert r.status_code == 201, r.status_code
    return url + "/" + name


def test_swift_mode_delays_then_498(limited):
    srv, url, tok = limited(container_ratelimit_0=5, max_sleep_time_seconds=1)
    c = make_container(url, tok, "c")
    res = burst("PUT", ["%s/o%d" % (c, i) for i in range(20)], tok, b"x")
    ok = [r for r in res if r[0] == 201]
    slow = [r for r in res if r[0] == 498]
    assert len(ok) + len(slow) == 20, [r[0] for r in res]
    # 5/s with up to 1 s of waiting: the first goes at once, about 5 wait
    # 0.2, 0.4, ... s, the rest would wait a second or more.
    assert 3 <= len(ok) <= 7, len(ok)
    assert max(r[1] for r in ok) >= 0.5
    for status, secs, r in slow:
        assert r.text == "Slow down"
        assert secs < 0.5     # answered at once, not after sleeping
    assert metric(srv, "swiftlet_ratelimit_delayed_total") >= len(ok) - 2
    assert metric(srv, 'swiftlet_ratelimit_rejected_total{status="498"}') == len(slow)


def test_reject_mode_answers_429_with_retry_after(limited):
    srv, url, tok = limited(container_ratelimit_0=2, mode="reject")
    c = make_container(url, tok, "c")
    res = burst("PUT", ["%s/o%d" % (c, i) for i in range(10)], tok, b"x")
    codes = sorted(r[0] for r in res)
    assert codes.count(201) in (1, 2), codes
    assert codes.count(429) == 10 - codes.count(201), codes
    for status, secs, r in res:
        assert secs < 0.5     # nothing waits in reject mode
        if status == 429:
            assert int(r.headers["Retry-After"]) >= 1
    assert metric(srv, 'swiftlet_ratelimit_rejected_total{status="429"}') == codes.count(429)
    assert metric(srv, "swiftlet_ratelimit_delayed_total") == 0
    # Once the Retry-After has passed, a write goes through again.
    time.sleep(1.0)
    r = requests.put(c + "/again", data=b"y", headers={"X-Auth-Token": tok})
    assert r.status_code == 201


def test_reads_are_never_throttled(limited):
    srv, url, tok = limited(container_ratelimit_0=1, max_sleep_time_seconds=0.5)
    c = make_container(url, tok, "c")
    assert requests.put(c + "/o", data=b"x", headers={"X-Auth-Token": tok}).status_code == 201
    # The container's budget is spent: writes are refused now...
    assert 498 in [r[0] for r in burst("PUT", [c + "/w%d" % i for i in range(5)], tok, b"x")]
    # ...but 60 reads of the object and the listing all pass at once.
    t0 = time.monotonic()
    res = burst("GET", [c + "/o"] * 30 + [c] * 20, tok) + burst("HEAD", [c + "/o"] * 10, tok)
    assert [r[0] for r in res] == [200] * 50 + [200] * 10
    assert time.monotonic() - t0 < 5
    assert metric(srv, "swiftlet_ratelimit_delayed_total") == 0


def test_other_containers_are_not_affected(limited):
    srv, url, tok = limited(container_ratelimit_0=4, max_sleep_time_seconds=2)
    busy = make_container(url, tok, "busy")
    calm = make_container(url, tok, "calm")
    with ThreadPoolExecutor(1) as ex:
        pending = ex.submit(burst, "PUT", ["%s/o%d" % (busy, i) for i in range(16)], tok, b"x")
        time.sleep(0.2)       # the busy container now has a queue of waiters
        t0 = time.monotonic()
        r = requests.put(calm + "/o", data=b"x", headers={"X-Auth-Token": tok})
        took = time.monotonic() - t0
        res = pending.result()
    assert r.status_code == 201 and took < 0.2, took
    assert max(x[1] for x in res if x[0] == 201) >= 1.0      # busy did wait
    assert 498 in [x[0] for x in res]


def test_empty_container_exemption_is_an_option(limited, tmp_path):
    # Default (Cloud Files): even an empty container is limited.
    srv, url, tok = limited(container_ratelimit_0=2, max_sleep_time_seconds=0.5)
    c = make_container(url, tok, "empty")
    codes = [r[0] for r in burst("DELETE", ["%s/n%d" % (c, i) for i in range(12)], tok)]
    assert 498 in codes and set(codes) <= {404, 498}, codes
    srv.stop()
    # exempt_empty_containers = true (Swift): no limit while it holds 0 objects.
    srv, url, tok = limited(container_ratelimit_0=2, max_sleep_time_seconds=0.5,
                            exempt_empty_containers="true")
    c = make_container(url, tok, "empty")
    codes = [r[0] for r in burst("DELETE", ["%s/n%d" % (c, i) for i in range(12)], tok)]
    assert codes == [404] * 12, codes


def test_account_ratelimit_limits_container_puts(limited):
    srv, url, tok = limited(account_ratelimit=2, max_sleep_time_seconds=0.5,
                            container_ratelimit_0=0)
    codes = [r[0] for r in burst("PUT", ["%s/c%d" % (url, i) for i in range(10)], tok)]
    assert 498 in codes and set(codes) <= {201, 498}, codes
    # container_ratelimit_0 = 0: object writes are not limited at all.
    time.sleep(1.5)
    c = make_container(url, tok, "objects")
    codes = [r[0] for r in burst("PUT", ["%s/o%d" % (c, i) for i in range(30)], tok, b"x")]
    assert codes == [201] * 30, codes


def test_per_account_rate_overrides_the_tiers(limited):
    srv, url, tok = limited(container_ratelimit_0=1, max_sleep_time_seconds=0.5,
                            account_container_ratelimit="AUTH_test:0")
    c = make_container(url, tok, "c")
    codes = [r[0] for r in burst("PUT", ["%s/o%d" % (c, i) for i in range(30)], tok, b"x")]
    assert codes == [201] * 30, codes


def test_info_shows_the_settings(limited, spawn):
    srv, url, tok = limited(container_ratelimit_0=100, container_ratelimit_1000=50,
                            account_ratelimit=3, max_sleep_time_seconds=7)
    info = new_session().get(srv.base + "/info").json()
    assert info["ratelimit"] == {
        "account_ratelimit": 3.0,
        "max_sleep_time_seconds": 7.0,
        "container_ratelimits": [[0, 100.0], [1000, 50.0]],
        "container_listing_ratelimits": [],
    }
    srv.stop()
    # The defaults: 100 writes/s per container, Swift's 60 s of sleep.
    srv = spawn(ratelimit=True)
    info = new_session().get(srv.base + "/info").json()
    assert info["ratelimit"]["container_ratelimits"] == [[0, 100.0]]
    assert info["ratelimit"]["max_sleep_time_seconds"] == 60.0
    assert info["ratelimit"]["account_ratelimit"] == 0.0
    # Switched off: no ratelimit section, as a Swift without the filter.
    off = spawn()
    assert "ratelimit" not in new_session().get(off.base + "/info").json()
