"""`sitwell pause` as people type it (issue 17.7) and on one clock with the reminders (17.8):
the real CLI as a subprocess against the real daemon and dashboard app over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime

import httpx
import pytest


def _pause(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", "pause", *args, "--url", url],
                          capture_output=True, text=True, timeout=60)


def _wait_for_cushion(base: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(base + "/api/reminders-live").json():
            return
        time.sleep(0.1)
    raise AssertionError("no cushion appeared")


@pytest.mark.parametrize("words, minutes", [(["1 hour"], 60), (["1", "hour"], 60), (["90 min"], 90), (["1h30"], 90)])
def test_pause_takes_durations_as_people_write_them(inprocess_daemon, words, minutes):
    d = inprocess_daemon({"sim.speed": 1.0})
    _wait_for_cushion(d.url)
    proc = _pause(d.url, *words)
    assert proc.returncode == 0, proc.stderr
    assert "reminders paused until" in proc.stdout
    body = httpx.get(d.url + "/api/pause").json()
    assert body["paused"] and minutes * 60 - 15 <= body["remaining_s"] <= minutes * 60
    # the API takes the same words
    r = httpx.post(d.url + "/api/pause", json={"for": " ".join(words)})
    assert r.status_code == 200 and minutes * 60 - 15 <= r.json()["remaining_s"] <= minutes * 60


def test_bad_pause_input_is_explained_in_words(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    _wait_for_cushion(d.url)
    proc = _pause(d.url, "soon")
    assert proc.returncode == 2
    assert "'soon' is not a pause" in proc.stderr and "1 hour" in proc.stderr
    proc = _pause(d.url, "3 days")
    assert proc.returncode == 2 and "days are not a unit here" in proc.stderr
    for bad, words in [("soon", "is not a pause"), ("25h", "at most 24 hours"), ("5x", "'x' is not a unit of time")]:
        r = httpx.post(d.url + "/api/pause", json={"for": bad})
        assert r.status_code == 422, r.text
        message = r.json()["message"]
        assert words in message and "pattern" not in message and "^" not in message, message
        assert not message.startswith("for: Value error")
    assert httpx.get(d.url + "/api/pause").json()["paused"] is False


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_at_speed_a_pause_ends_on_the_reminders_clock(inprocess_daemon):
    """--speed 60: a 30-minute pause lasts 30 minutes of the clock the reminders are stamped
    on (and that the spell timer counts), ends at a time on that clock, and counts down
    60 times faster than the wall."""
    d = inprocess_daemon({"sim.speed": 60.0, "sim.scenario": "long-spell", "rules.sit_limit_min": 5})
    _wait_for_cushion(d.url)
    body = httpx.post(d.url + "/api/pause", json={"for": "30m"}).json()
    assert body["speed"] == 60.0
    assert 1790 <= body["remaining_s"] <= 1800, body  # clock seconds, not the 30 wall seconds
    clock = httpx.get(d.url + "/healthz").json()["clock"]
    assert clock["simulated"] is True and clock["speed"] == 60.0
    ends_in = (_iso(body["until"]) - _iso(clock["now"])).total_seconds()
    assert abs(ends_in - body["remaining_s"]) <= 60, (body, clock)  # the same clock
    time.sleep(2.0)
    later = httpx.get(d.url + "/api/pause").json()
    assert body["remaining_s"] - later["remaining_s"] >= 60  # 2 wall seconds are 2 clock minutes
    assert abs((_iso(later["until"]) - _iso(body["until"])).total_seconds()) <= 2  # the end does not move
    live = httpx.get(d.url + "/api/reminders-live").json()[0]
    assert abs(live["pause"]["remaining_s"] - later["remaining_s"]) <= 120
