"""Timed pause through the real daemon: HTTP API, `sitwell pause` and the dashboard page;
snooze limits and strict mode as the API answers them."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from monitor.runtime.controls import parse_pause


@pytest.mark.parametrize(
    "spec, minutes",
    [("30m", 30.0), ("1h", 60.0), ("2h", 120.0), ("45", 45.0), ("1.5 h", 90.0), ("tomorrow", "tomorrow"),
     ("off", None), ("0", None)],
)
def test_parse_pause(spec, minutes):
    assert parse_pause(spec) == minutes


@pytest.mark.parametrize("spec", ["5x", "-1h", "25h", "soon", "1d"])
def test_parse_pause_refuses_nonsense(spec):
    with pytest.raises(ValueError):
        parse_pause(spec)


def _wait_for_cushion(base: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(base + "/api/reminders-live").json():
            return
        time.sleep(0.1)
    raise AssertionError("no cushion appeared")


def test_pause_api_round_trip_and_cli(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    base = d.url
    _wait_for_cushion(base)
    assert httpx.get(base + "/api/pause").json()["paused"] is False

    r = httpx.post(base + "/api/pause", json={"for": "30m"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["paused"] is True and 1790 <= body["remaining_s"] <= 1800
    tracker = next(iter(d.daemon.slots.values())).engine.tracker
    assert d.call(lambda: tracker.pause_status()["paused"])

    assert httpx.post(base + "/api/pause", json={"for": "soon"}).status_code == 422
    assert httpx.post(base + "/api/pause", json={"for": "25h"}).status_code == 422
    assert httpx.post(base + "/api/pause").status_code == 422

    out = CliRunner().invoke(main, ["pause", "--url", base])
    assert out.exit_code == 0 and "paused until" in out.output and "left" in out.output
    out = CliRunner().invoke(main, ["pause", "off", "--url", base])
    assert out.exit_code == 0 and "not paused" in out.output
    assert not d.call(lambda: tracker.pause_status()["paused"])
    out = CliRunner().invoke(main, ["pause", "2h", "--url", base])
    assert out.exit_code == 0 and ("1:59:" in out.output or "2:00:00" in out.output), out.output
    out = CliRunner().invoke(main, ["pause", "tomorrow", "--url", base])
    assert out.exit_code == 0 and "paused until" in out.output
    assert httpx.delete(base + "/api/pause").json()["paused"] is False


def test_pause_resumes_by_itself_in_frame_time(inprocess_daemon):
    # 600x: a 1-minute pause lasts 0.1 s of wall time
    d = inprocess_daemon({"sim.speed": 600.0})
    _wait_for_cushion(d.url)
    assert httpx.post(d.url + "/api/pause", json={"for": "1"}).json()["paused"] is True
    deadline = time.monotonic() + 10
    while httpx.get(d.url + "/api/pause").json()["paused"]:
        assert time.monotonic() < deadline, "the pause did not end by itself"
        time.sleep(0.05)


def test_snooze_limit_and_strict_mode_answer_409(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 600.0, "sim.scenario": "long-spell", "rules.max_snoozes": 1,
                          "rules.sit_limit_min": 5})
    deadline = time.monotonic() + 30
    reminder = None
    while reminder is None and time.monotonic() < deadline:
        got = [r for r in httpx.get(d.url + "/api/reminders").json() if r["kind"] == "sit_too_long"]
        reminder = got[0] if got else None
        time.sleep(0.1)
    assert reminder is not None
    # The spell may have ended meanwhile at 600x; snooze until one is refused within a spell.
    first = httpx.post(f"{d.url}/api/reminders/{reminder['id']}/snooze", params={"minutes": 1})
    assert first.status_code in (200, 409)
    tracker = next(iter(d.daemon.slots.values())).engine.tracker
    left = d.call(tracker.snoozes_left)
    if left == 0:
        refused = httpx.post(f"{d.url}/api/reminders/{reminder['id']}/snooze", params={"minutes": 1})
        assert refused.status_code == 409 and "at most 1" in refused.json()["message"]
    assert httpx.put(d.url + "/api/settings", json={"rules": {"strict": True, "max_snoozes": None}}).status_code == 200
    strict = httpx.post(f"{d.url}/api/reminders/{reminder['id']}/snooze", params={"minutes": 1})
    assert strict.status_code == 409 and "strict" in strict.json()["message"]
    live = httpx.get(d.url + "/api/reminders-live").json()[0]
    assert live["strict"] is True and "dose" in live and "pause" in live


def test_the_daemon_sends_heads_ups_and_records_seat_confirmed_breaks(inprocess_daemon):
    """The real daemon on the long-spell scenario at 600x: sit_warning before sit_too_long over
    the API, outcomes and offloads in the store, the day's break statistics."""
    d = inprocess_daemon({"sim.speed": 600.0, "sim.scenario": "long-spell", "rules.sit_limit_min": 5,
                          "rules.prewarn": True})
    # 40 s at 600x is hours of seated time: started late in the day, the breaks and reminders
    # fall on tomorrow too, so both days are read (the API's default day is the wall clock's).
    today = date.today()
    days = [today, today + timedelta(days=1)]
    store = d.daemon.runtime.store
    deadline = time.monotonic() + 40
    stats: list[dict] = []
    breaks: list[dict] = []
    while time.monotonic() < deadline:
        got = httpx.get(d.url + "/api/reminders").json()
        kinds = [r["kind"] for r in got]
        stats = [d.call(store.daily_stats, 1, None, day)[-1] for day in days]
        breaks = [b for day in days for b in httpx.get(d.url + "/api/breaks", params={"day": str(day)}).json()]
        outcomes = sum(s["breaks_taken"] + s["breaks_skipped"] for s in stats)
        if "sit_warning" in kinds and outcomes >= 1 and breaks:
            break
        time.sleep(0.2)
    warning = [r for r in got if r["kind"] == "sit_warning"][-1]
    sit_after = [r for r in got if r["kind"] == "sit_too_long" and r["t"] > warning["t"]]
    assert sit_after and 59 <= min(r["t"] for r in sit_after) - warning["t"] <= 61
    assert sum(s["breaks_taken"] + s["breaks_skipped"] for s in stats) >= 1
    assert {b["quality"] for b in breaks} <= {"stood", "shifted"} and breaks
    assert sum(s["sitbone_dose"]["left"] for s in stats) > 0 and sum(s["sitbone_dose"]["right"] for s in stats) > 0
