"""The dashboard's HTTP API, over real HTTP, against `sitwell run` (the real daemon).

One simulated daemon serves the module (a long sitting spell, 120x real time); the tests
that need a reminder shorten the sit limit through the API itself.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.plugins.browser import SitwellProcess, sse_events, wait_for_event

SPEED = "120"
CUSHION = "cushion-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = SitwellProcess(tmp_path_factory.mktemp("api"), ["--speed", SPEED, "--scenario", "long-spell"])
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until the first frames went through the engine
            if any(s["cushion"] == CUSHION for s in c.get("/api/status").json()):
                break
            time.sleep(0.1)
        yield c


def test_healthz_reports_the_input(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    [inp] = [i for i in body["inputs"] if i["cushion"] == CUSHION]
    assert inp["connected"] is True
    assert inp["frames"] > 0
    assert isinstance(inp["drops"], dict)


def test_status_follows_the_contract(client):
    [entry] = [s for s in client.get("/api/status").json() if s["cushion"] == CUSHION]
    assert set(entry) >= {"cushion", "occupied", "posture", "left_share", "spell_s", "connected", "last_frame_age_s"}
    assert entry["posture"] in (
        "empty",
        "upright",
        "lean_left",
        "lean_right",
        "cross_left",
        "cross_right",
        "slouch",
        "forward",
    )
    assert entry["connected"] is True
    assert entry["last_frame_age_s"] < 5


def test_openapi_schema_describes_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/healthz", "get"),
        ("/api/status", "get"),
        ("/api/reminders", "get"),
        ("/api/reminders/{reminder_id}/ack", "post"),
        ("/api/reminders/{reminder_id}/snooze", "post"),
        ("/api/reminders/ack-all", "post"),
        ("/api/stream", "get"),
        ("/api/stats/daily", "get"),
        ("/api/timeline", "get"),
        ("/api/settings", "get"),
        ("/api/settings", "put"),
        ("/api/frame/{cushion}", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from the schema"
    snooze = paths["/api/reminders/{reminder_id}/snooze"]["post"]
    [minutes] = [p for p in snooze["parameters"] if p["name"] == "minutes"]
    assert minutes["required"] is True
    assert (minutes["schema"]["minimum"], minutes["schema"]["maximum"]) == (1, 240)
    reminder = schema["components"]["schemas"]["Reminder"]
    assert set(reminder["required"]) == {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}
    # state never changes through GET
    for path, ops in paths.items():
        if "ack" in path or "snooze" in path:
            assert set(ops) == {"post"}


def test_page_and_its_modules_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    static = Path(__file__).resolve().parents[2] / "dashboard" / "static"
    for name in ["app.js", "api.js", "heatmap.js", "charts.js", "format.js", "settings.js", "style.css"]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.text == (static / name).read_text()
        if name.endswith(".js"):
            assert "javascript" in r.headers["content-type"]
    for f in static.iterdir():  # no CDN, no external fonts: the page works offline
        text = f.read_text()
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), f.name


@pytest.mark.parametrize("path", ["/api/reminders/no-such-id/ack", "/api/reminders/no-such-id/snooze?minutes=15"])
def test_unknown_reminder_is_404(client, path):
    r = client.post(path)
    assert r.status_code == 404
    assert "no-such-id" in r.json()["detail"]


def test_unknown_cushion_frame_is_404(client):
    assert client.get("/api/frame/nobody").status_code == 404


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/api/reminders/x/snooze?minutes=0"),
        ("POST", "/api/reminders/x/snooze?minutes=241"),
        ("POST", "/api/reminders/x/snooze?minutes=soon"),
        ("POST", "/api/reminders/x/snooze"),
        ("GET", "/api/stats/daily?days=0"),
        ("GET", "/api/stats/daily?days=367"),
        ("GET", "/api/reminders?since=yesterday"),
        ("GET", "/api/reminders?cushion=not%20an%20id"),
        ("GET", "/api/timeline?day=2026-13-40"),
        ("GET", "/api/stream?cushion=bad/id"),
    ],
)
def test_bad_parameters_are_422_with_a_message(client, method, path):
    r = client.request(method, path)
    assert r.status_code == 422
    body = r.json()
    assert isinstance(body["message"], str) and body["message"]


def test_state_never_changes_through_get(client):
    assert client.get("/api/reminders/x/ack").status_code == 405
    assert client.get("/api/reminders/x/snooze?minutes=5").status_code == 405


def test_cross_origin_changes_are_refused(client, server):
    assert client.post("/api/reminders/x/ack", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/reminders/x/ack", headers={"Referer": "http://evil.example/page"}).status_code == 403
    r = client.put("/api/settings", json={"rules": {"sit_limit_min": 99}}, headers={"Origin": "null"})
    assert r.status_code == 403
    assert client.get("/api/settings").json()["rules"]["sit_limit_min"] != 99
    # the dashboard's own origin passes the check (and then finds no such reminder)
    assert client.post("/api/reminders/x/ack", headers={"Origin": server.url}).status_code == 404


def test_foreign_host_header_is_refused(client):
    # DNS rebinding: a page on evil.example re-resolved to 127.0.0.1 sends its own Host
    assert client.get("/api/status", headers={"Host": "evil.example"}).status_code == 400


def test_settings_are_validated_and_applied(client):
    before = client.get("/api/settings").json()
    assert set(before) >= {"rules", "analysis"}
    r = client.put("/api/settings", json={"rules": {"sit_limit_min": 31}, "analysis": {"sensitivity": 1.5}})
    assert r.status_code == 200, r.text
    assert r.json()["rules"]["sit_limit_min"] == 31
    after = client.get("/api/settings").json()
    assert after["rules"]["sit_limit_min"] == 31 and after["analysis"]["sensitivity"] == 1.5
    # the live state reports the new limit at once, without a restart
    _, state = wait_for_event(client.base_url, lambda n, p: n == "state" and p.get("sit_limit_s") == 31 * 60, 10)

    for bad in [
        {"rules": {"sit_limit_min": 2}},
        {"rules": {"working_hours": "nine to five"}},
        {"rules": {"working_hours": "09:00-25:00"}},
        {"rules": {"no_such_rule": 1}},
        {"rules": {"sit_limit_min": None}},
        {"nonsense": {}},
    ]:
        r = client.put("/api/settings", json=bad)
        assert r.status_code == 422, bad
        assert isinstance(r.json()["message"], str) and r.json()["message"], bad
    assert "sit_limit_min" in client.put("/api/settings", json={"rules": {"sit_limit_min": 2}}).json()["message"]
    assert client.put("/api/settings", json=[1, 2]).status_code == 422
    assert (
        client.put("/api/settings", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert client.get("/api/settings").json()["rules"]["sit_limit_min"] == 31
    client.put("/api/settings", json=before)


def test_stream_delivers_state_with_the_heatmap_frame(client):
    _, state = wait_for_event(client.base_url, lambda n, p: n == "state" and p.get("frame"), 10, {"cushion": CUSHION})
    frame = state["frame"]
    assert state["cushion"] == CUSHION
    assert len(frame["load"]) == frame["rows"] and all(len(r) == frame["cols"] for r in frame["load"])
    assert all(0.0 <= v <= 1.0 for row in frame["load"] for v in row)
    assert state["sit_limit_s"] > 0
    latest = client.get(f"/api/frame/{CUSHION}").json()
    assert (latest["rows"], latest["cols"]) == (frame["rows"], frame["cols"])


def test_reminder_is_streamed_listed_acknowledged_and_snoozed(client):
    base = client.base_url
    assert client.put("/api/settings", json={"rules": {"sit_limit_min": 5, "repeat_every_min": 5}}).status_code == 200
    try:
        _, reminder = wait_for_event(base, lambda n, p: n == "reminder" and p["kind"] == "sit_too_long", 30)
    finally:
        client.put("/api/settings", json={"rules": {"sit_limit_min": 25}})
    assert set(reminder) >= {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}
    assert reminder["acknowledged"] is False
    assert reminder["spell_s"] >= 5 * 60

    since = (datetime.fromisoformat(reminder["at"]) - timedelta(seconds=1)).astimezone(UTC)
    listed = client.get("/api/reminders", params={"since": since.isoformat(), "cushion": CUSHION}).json()
    assert reminder["id"] in [r["id"] for r in listed]
    ats = [datetime.fromisoformat(r["at"]) for r in listed]
    assert ats == sorted(ats, reverse=True), "newest first"
    later = (datetime.fromisoformat(reminder["at"]) + timedelta(days=1)).isoformat()
    assert reminder["id"] not in [r["id"] for r in client.get("/api/reminders", params={"since": later}).json()]

    # acknowledging it is announced on the stream as reminder_update
    with httpx.Client(timeout=10) as sse_client, sse_client.stream("GET", f"{base}/api/stream") as stream:
        ack = client.post(f"/api/reminders/{reminder['id']}/ack")
        assert ack.status_code == 200
        assert ack.json()["id"] == reminder["id"] and ack.json()["acknowledged"] is True
        seen = next(
            p
            for n, p in sse_events(stream, time.monotonic() + 10)
            if n == "reminder_update" and p["id"] == reminder["id"]
        )
        assert seen["acknowledged"] is True
    listed = client.get("/api/reminders", params={"since": since.isoformat()}).json()
    assert [r for r in listed if r["id"] == reminder["id"]][0]["acknowledged"] is True

    snoozed = client.post(f"/api/reminders/{reminder['id']}/snooze", params={"minutes": 30})
    assert snoozed.status_code == 200, snoozed.text
    body = snoozed.json()
    assert body["reminder"]["id"] == reminder["id"]
    assert body["until_t"] is not None and body["until_t"] >= reminder["t"] + 30 * 60


def test_history_endpoints(client):
    days = client.get("/api/stats/daily", params={"days": 7}).json()
    assert 1 <= len(days) <= 7
    assert [d["date"] for d in days] == sorted(d["date"] for d in days), "oldest first"
    today = datetime.now().date().isoformat()
    assert days[-1]["date"] == today
    assert days[-1]["minutes_seated"] > 0  # the simulated sitter has been sitting today
    assert set(days[-1]["posture_share"]) <= {"upright", "lean_left", "lean_right", "cross_left",
                                              "cross_right", "slouch", "forward"}
    timeline = client.get("/api/timeline", params={"cushion": CUSHION, "day": today})
    assert timeline.status_code == 200
    items = timeline.json()
    assert items and all(item["type"] in ("spell", "break") for item in items)
    assert items[0]["type"] == "spell" and items[0]["start_at"]


# ---- hostile requests (issue 19.3, 19.4): bounded bodies, a 4xx with a message, no traceback


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _put_raw(server, headers: str, chunks) -> bytes:
    """PUT /api/settings over a plain socket: send the head, then body chunks until the server
    answers; the answer."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(server.url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(f"PUT /api/settings HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                  f"Content-Type: application/json\r\n{headers}\r\n".encode())
        s.setblocking(False)
        answer = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):  # nothing to read yet: send on
                answer += s.recv(65536)
            if answer:
                break
            try:
                s.sendall(chunk)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:  # the server answered and hung up
                break
        s.setblocking(True)
        s.settimeout(10)
        while not answer.rstrip().endswith(b"}"):
            more = s.recv(65536)
            if not more:
                break
            answer += more
    return answer


def test_a_200_mib_body_is_refused_before_it_is_read(server, client):
    rss_before = _rss_kb(server.proc.pid)
    mib = b"[" * (1 << 20)
    # streamed without a Content-Length (chunked): counted as it comes, cut off past 64 KiB
    chunked = (f"{len(mib):x}\r\n".encode() + mib + b"\r\n" for _ in range(200))
    answer = _put_raw(server, "Transfer-Encoding: chunked\r\n", chunked)
    assert answer.startswith(b"HTTP/1.1 413") and b"at most 64 KiB" in answer, answer[:300]
    # with one: refused on the header alone, before a byte of the body is sent
    answer = _put_raw(server, f"Content-Length: {200 << 20}\r\n", [])
    assert answer.startswith(b"HTTP/1.1 413") and b"at most 64 KiB" in answer, answer[:300]
    assert _rss_kb(server.proc.pid) - rss_before < 50_000, "the body must not be read into memory"
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("body", [
    b'{"rules": {"sit_limit_min": NaN}}',
    b'{"rules": {"sit_limit_min": Infinity}}',
    b'{"rules": {"sit_limit_min": 1e999}}',
    b'{"rules": {"sit_limit_min": -Infinity}}',
    b'{"analysis": {"max_delay_ms": NaN}}',
])
def test_non_finite_numbers_in_settings_are_a_422_with_a_message(server, client, body):
    r = client.put("/api/settings", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["message"] and "finite" in r.json()["message"].lower()
    assert client.get("/api/settings").json()["rules"]["sit_limit_min"] not in (None,)
    assert "Traceback" not in server.log_path.read_text(errors="replace")


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"for": NaN}'),
    ("application/json", b'{"for": 1e999}'),
    ("application/json", b'{"for": Infinity}'),
    ("text/plain", b"1h"),
    ("application/x-www-form-urlencoded", b"for=1h"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"for\"\r\n\r\n1h\r\n--x--\r\n"),
    ("application/json", b"\xff\xfe not even text"),
    ("application/json", b'"1h"'),
    ("application/json", b"[1, 2]"),
])
def test_bad_pause_bodies_are_a_4xx_with_a_message(server, client, content_type, body):
    r = client.post("/api/pause", content=body, headers={"Content-Type": content_type})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    message = r.json().get("message")
    assert isinstance(message, str) and message, r.text
    assert "Traceback" not in server.log_path.read_text(errors="replace")


def test_two_hundred_bad_requests_log_nothing_like_a_traceback(server, client):
    lines_before = len(server.log_path.read_text(errors="replace").splitlines())
    for i in range(200):
        body = [b'{"for": NaN}', b"1h", b'{"rules": {"sit_limit_min": 1e999}}'][i % 3]
        path = "/api/settings" if i % 3 == 2 else "/api/pause"
        method = client.put if path == "/api/settings" else client.post
        assert method(path, content=body, headers={"Content-Type": "text/plain" if i % 3 == 1 else
                                                    "application/json"}).status_code in (400, 413, 415, 422)
    log = server.log_path.read_text(errors="replace")
    assert len(log.splitlines()) - lines_before < 20 and "Traceback" not in log


def test_ack_all_acknowledges_every_open_reminder_once(client, server):
    """POST /api/reminders/ack-all (the page's "All done"): every open one, announced on the
    stream like a single ack; a second call has nothing left; its filters are checked."""
    assert client.put("/api/settings", json={"rules": {"sit_limit_min": 5, "repeat_every_min": 1}}).status_code == 200
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            open_ones = [r for r in client.get("/api/reminders").json() if not r["acknowledged"]]
            if len(open_ones) >= 2:
                break
            time.sleep(0.2)
    finally:
        client.put("/api/settings", json={"rules": {"sit_limit_min": 120, "repeat_every_min": 60}})
    assert len(open_ones) >= 2, "no open reminders to acknowledge"
    with httpx.Client(timeout=10) as sse_client, sse_client.stream("GET", f"{server.url}/api/stream") as stream:
        done = client.post("/api/reminders/ack-all", params={"cushion": CUSHION})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["count"] == len(body["acknowledged"]) >= len(open_ones)
        assert {r["id"] for r in open_ones} <= set(body["acknowledged"])
        announced = set()
        for name, payload in sse_events(stream, time.monotonic() + 10):
            if name == "reminder_update" and payload["acknowledged"]:
                announced.add(payload["id"])
            if announced >= set(body["acknowledged"]):
                break
        assert announced >= set(body["acknowledged"])
    acked = {r["id"]: r["acknowledged"] for r in client.get("/api/reminders").json()}
    assert all(acked[i] for i in body["acknowledged"])
    # nothing raised since is open (the rules above are quiet again), so nothing is left
    again = client.post("/api/reminders/ack-all", params={"kind": "sit_too_long"}).json()
    assert again["acknowledged"] == [] or all(i not in body["acknowledged"] for i in again["acknowledged"])
    # ids a page shows are acknowledged too; unknown ones are passed over
    extra = client.post("/api/reminders/ack-all", json={"ids": ["no-such-id", body["acknowledged"][0]]})
    assert extra.status_code == 200 and "no-such-id" not in extra.json()["acknowledged"]
    assert client.post("/api/reminders/ack-all", json={"ids": "not a list"}).status_code == 422
    assert client.post("/api/reminders/ack-all", params={"cushion": "not an id"}).status_code == 422
    assert client.post("/api/reminders/ack-all", params={"since": "yesterday"}).status_code == 422
    assert client.get("/api/reminders/ack-all").status_code == 405
    assert client.post("/api/reminders/ack-all", headers={"Origin": "http://evil.example"}).status_code == 403
