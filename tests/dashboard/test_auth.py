"""The dashboard's access rules, over real HTTP, with the real daemon in this process.

create_app(require_token=True) is what the daemon uses when it listens beyond loopback.
"""

from __future__ import annotations

import httpx
import pytest

from dashboard.auth import TOKEN_COOKIE, tokens_equal

TOKEN = "s3cret-Token_for-tests"


@pytest.fixture
def secured(inprocess_daemon):
    return inprocess_daemon(token=TOKEN, require_token=True)


@pytest.fixture
def http(secured):
    with httpx.Client(base_url=secured.url, timeout=10) as c:
        yield c


def test_changes_need_the_token(http):
    r = http.post("/api/reminders/x/ack")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert http.post("/api/reminders/x/ack", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert http.post("/api/reminders/x/ack", headers={"X-Sitwell-Token": TOKEN + "x"}).status_code == 403
    # with the token the request reaches the route: there is no such reminder
    assert http.post("/api/reminders/x/ack", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    assert http.post("/api/reminders/x/ack", headers={"X-Sitwell-Token": TOKEN}).status_code == 404
    # "All done" changes state like a single ack
    assert http.post("/api/reminders/ack-all").status_code == 401
    assert http.post("/api/reminders/ack-all", headers={"X-Sitwell-Token": "wrong"}).status_code == 403
    assert http.post("/api/reminders/ack-all", headers={"X-Sitwell-Token": TOKEN}).status_code == 200

    patch = {"rules": {"sit_limit_min": 40}}
    assert http.put("/api/settings", json=patch).status_code == 401
    assert http.get("/api/settings").json()["rules"]["sit_limit_min"] != 40
    assert http.put("/api/settings", json=patch, headers={"X-Sitwell-Token": TOKEN}).status_code == 200
    assert http.get("/api/settings").json()["rules"]["sit_limit_min"] == 40


def test_token_in_the_query_only_counts_for_the_stream(http):
    assert http.post(f"/api/reminders/x/ack?token={TOKEN}").status_code == 401


def test_reads_are_open_but_the_stream_needs_the_token(http, secured):
    assert http.get("/api/status").status_code == 200
    assert http.get("/healthz").json()["status"] == "ok"
    assert http.get("/api/session").json() == {"require_token": True, "token_ok": False}
    assert http.get("/api/session", headers={"X-Sitwell-Token": TOKEN}).json()["token_ok"] is True
    assert http.get("/api/stream").status_code == 401
    assert http.get("/api/stream", params={"token": "nope"}).status_code == 403
    for kwargs in ({"params": {"token": TOKEN}}, {"headers": {"Authorization": f"Bearer {TOKEN}"}}):
        with http.stream("GET", "/api/stream", **kwargs) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")


def test_login_link_sets_a_strict_cookie(http, secured):
    assert http.get("/", params={"token": "wrong"}).status_code == 403
    r = http.get("/", params={"token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN}")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {TOKEN_COOKIE: TOKEN}
    with httpx.Client(base_url=secured.url, cookies=jar, timeout=10) as c:
        assert c.get("/api/session").json()["token_ok"] is True
        # a cookie travels by itself, so a change must also prove it comes from our page
        assert c.post("/api/reminders/x/ack").status_code == 403
        assert c.post("/api/reminders/x/ack", headers={"Origin": "http://evil.example"}).status_code == 403
        assert c.post("/api/reminders/x/ack", headers={"Origin": secured.url}).status_code == 404
        assert c.post("/api/reminders/x/ack", headers={"Referer": secured.url + "/"}).status_code == 404
        with c.stream("GET", "/api/stream") as s:
            assert s.status_code == 200


def test_cross_origin_is_refused_even_with_the_token(http):
    r = http.post("/api/reminders/x/ack", headers={"X-Sitwell-Token": TOKEN, "Origin": "http://evil.example"})
    assert r.status_code == 403


def test_any_host_name_is_served_when_a_token_guards_changes(http):
    # beyond loopback the dashboard is reached by the machine's own name
    assert http.get("/api/status", headers={"Host": "desk-pc.lan:8000"}).status_code == 200


def test_loopback_dashboard_refuses_foreign_host_names(inprocess_daemon):
    open_daemon = inprocess_daemon()
    with httpx.Client(base_url=open_daemon.url, timeout=10) as c:
        assert c.get("/api/status").status_code == 200
        assert c.get("/api/status", headers={"Host": "localhost:1234"}).status_code == 200
        assert c.get("/api/status", headers={"Host": "evil.example"}).status_code == 400
        # no token needed on loopback
        assert c.put("/api/settings", json={"rules": {"sit_limit_min": 30}}).status_code == 200


def test_token_comparison():
    assert tokens_equal("abc", "abc")
    assert not tokens_equal("abc", "abd")
    assert not tokens_equal("abc", "abcd")
    assert not tokens_equal(None, "abc")
    assert not tokens_equal("", "abc")
