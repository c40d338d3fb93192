"""The fleet overview's HTTP side with 1,000 cushions: the real daemon reading 1,000 cushions
(tests/plugins/fleet_input.py), the real app under uvicorn, real HTTP.

The bound stated in docs/dashboard.md ("Fleet"): an open /api/fleet/stream gets at most 2
events a second, each of at most 250 rows, at most 50 kB/s, whatever the number of cushions
and their frame rate; heatmaps (per-cushion state events) are built only for a cushion a page
watches.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests.plugins.browser import sse_events

log = logging.getLogger(__name__)

# the 1,000-cushion tests run one after another on one worker (scripts/test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("fleet1000")

FLEET = 1000
MAX_EVENTS_PER_S = 2
MAX_ROWS = 250
MAX_BYTES_PER_S = 50_000


def wait_for_fleet(url: str, n: int, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = httpx.get(url + "/api/fleet", timeout=10).json()
        if len(snap["rows"]) >= n and any(r[1] for r in snap["rows"]):
            return snap
        time.sleep(0.5)
    raise AssertionError(f"the fleet did not reach {n} cushions within {timeout} s")


def sse_health(url: str) -> dict:
    return httpx.get(url + "/healthz", timeout=10).json()["sinks"]


@pytest.fixture
def fleet(fleet_daemon):
    d = fleet_daemon(FLEET)
    wait_for_fleet(d.url, FLEET)
    return d


def test_the_snapshot_has_every_cushion_in_compact_rows(fleet):
    response = httpx.get(fleet.url + "/api/fleet", timeout=10)
    snap = response.json()
    assert snap["fields"] == ["cushion", "occupied", "posture", "spell_s", "open_reminders"]
    assert [r[0] for r in snap["rows"]] == [f"desk-{i:04d}" for i in range(1, FLEET + 1)]
    occupied = [r for r in snap["rows"] if r[1]]
    assert 0 < len(occupied) < FLEET and {r[2] for r in occupied} - {"empty"}
    assert all(r[2] == "empty" and r[3] == 0 for r in snap["rows"][3::4])  # every 4th cushion stays empty
    assert len(response.content) < 60 * FLEET  # compact: well under 60 bytes a cushion
    log.info("snapshot of %d cushions: %d bytes", FLEET, len(response.content))


def test_the_fleet_stream_stays_under_its_bound_with_1000_cushions(fleet):
    seconds = 10.0
    events = rows = 0
    biggest = 0
    received = 0
    start = time.monotonic()
    with httpx.Client(timeout=15) as client, client.stream("GET", fleet.url + "/api/fleet/stream") as r:
        r.raise_for_status()
        buf = b""
        for chunk in r.iter_raw():
            received += len(chunk)
            buf += chunk
            while b"\r\n\r\n" in buf or b"\n\n" in buf:
                sep = b"\r\n\r\n" if b"\r\n\r\n" in buf else b"\n\n"
                block, buf = buf.split(sep, 1)
                text = block.decode()
                if "event: fleet" in text:
                    import json

                    data = json.loads(text.split("data: ", 1)[1])
                    events += 1
                    rows += len(data["rows"])
                    biggest = max(biggest, len(data["rows"]))
            if time.monotonic() - start > seconds:
                break
    took = time.monotonic() - start
    log.info("fleet stream, %d cushions, %.1f s: %d events (%.2f/s), %d rows (%.1f/s), %d bytes (%.0f B/s),"
             " biggest event %d rows", FLEET, took, events, events / took, rows, rows / took, received,
             received / took, biggest)
    assert events > 0 and rows > 0, "the stream sent nothing: the bound proves nothing"
    assert events <= MAX_EVENTS_PER_S * took + 1
    assert biggest <= MAX_ROWS
    assert received / took <= MAX_BYTES_PER_S
    # and far less than every cushion's state: most tiles change once a minute of frame time
    assert rows / took < FLEET


def test_heatmaps_are_built_only_for_the_cushion_a_page_watches(fleet):
    before = sse_health(fleet.url)["sse"]
    time.sleep(2.0)
    idle = sse_health(fleet.url)["sse"]
    assert idle["sent"]["state"] == before["sent"]["state"], "state events built with no page open"
    assert idle["skipped"] > before["skipped"]  # the steps came, nothing was built for them

    states = []
    deadline = time.monotonic() + 4.0
    with httpx.Client(timeout=10) as client, client.stream(
            "GET", fleet.url + "/api/stream", params={"cushion": "desk-0002"}) as r:
        for name, payload in sse_events(r, deadline):
            if name == "state":
                states.append(payload)
    after = sse_health(fleet.url)["sse"]
    assert states and {s["cushion"] for s in states} == {"desk-0002"}
    assert all(s["frame"] and s["frame"]["rows"] == 16 for s in states)  # the watched cushion has its heatmap
    built = after["sent"]["state"] - idle["sent"]["state"]
    # one page on one of 1,000 cushions: that cushion's events (the first comes from subscribe), no others
    assert built <= len(states) + 2, f"{built} state events built for {len(states)} sent to the one page"
    log.info("one cushion watched of %d: %d state events in 4 s; %d steps skipped meanwhile", FLEET,
             len(states), after["skipped"] - idle["skipped"])


def test_the_fleet_stream_needs_the_token_when_the_dashboard_does(fleet_daemon):
    d = fleet_daemon(3, token="s3cret", require_token=True)
    assert httpx.get(d.url + "/api/fleet/stream", timeout=5).status_code == 401
    assert httpx.get(d.url + "/api/fleet/stream", params={"token": "wrong"}, timeout=5).status_code == 403
    with httpx.Client(timeout=10) as client, client.stream(
            "GET", d.url + "/api/fleet/stream", params={"token": "s3cret"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert httpx.get(d.url + "/api/fleet", timeout=5).status_code == 200  # reading, like /api/status


def test_one_cushions_page_polls_only_its_own_health(fleet):
    """The main page polls /healthz every few seconds; with 1,000 cushions it asks for its own."""
    whole = httpx.get(fleet.url + "/healthz", timeout=10)
    one = httpx.get(fleet.url + "/healthz", params={"cushion": "desk-0007"}, timeout=10)
    assert len(whole.json()["inputs"]) == FLEET and whole.json()["inputs_total"] == FLEET
    body = one.json()
    assert [h["cushion"] for h in body["inputs"]] == ["desk-0007"] and body["inputs_total"] == FLEET
    assert body["status"] == "ok" and "store" in body and "sinks" in body  # the rest is all there
    log.info("/healthz with %d cushions: %d bytes whole, %d for one cushion",
             FLEET, len(whole.content), len(one.content))
    assert len(one.content) * 20 < len(whole.content)
    assert httpx.get(fleet.url + "/healthz", params={"cushion": "no such/desk"}, timeout=10).status_code == 422
