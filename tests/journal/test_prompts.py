"""Optional prompts through the real daemon's API: due at a chosen time, at most N a day, silent
in a pause, in quiet hours and outside working hours, answered by logging; after a long spell."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx


def _earlier(minutes: int) -> str:
    return (datetime.now() - timedelta(minutes=minutes)).strftime("%H:%M")


def _around_now() -> str:
    now = datetime.now()
    return f"{(now - timedelta(minutes=5)).strftime('%H:%M')}-{(now + timedelta(minutes=5)).strftime('%H:%M')}"


def test_prompt_at_a_chosen_time_then_answered_and_limited(inprocess_daemon):
    if datetime.now().hour == 0 and datetime.now().minute < 5:
        time.sleep(300)  # the chosen times must be earlier today
    d = inprocess_daemon({"sim.speed": 1.0, "journal.prompt_times": [_earlier(3), _earlier(2)],
                          "journal.max_prompts_per_day": 1})
    url = d.url + "/api/journal/prompt"
    first = httpx.get(url).json()
    assert first["id"] and first["reason"] == "time" and "pain" in first["message"]
    assert httpx.get(url).json()["id"] == first["id"]  # offered again until answered
    r = httpx.post(d.url + "/api/journal", json={"pain": 3, "prompt_id": first["id"]})
    assert r.status_code == 201 and r.json()["source"] == "prompt"
    # the second chosen time has passed too, but one a day is the limit
    assert httpx.get(url).json() == {"id": None, "silent": "enough_today"}


def test_no_prompt_when_nothing_is_due(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    assert httpx.get(d.url + "/api/journal/prompt").json() == {"id": None, "silent": "nothing_due"}


def test_silent_in_a_pause(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0, "journal.prompt_times": [_earlier(1)]})
    assert httpx.post(d.url + "/api/pause", json={"for": "30m"}).json()["paused"]
    assert httpx.get(d.url + "/api/journal/prompt").json() == {"id": None, "silent": "paused"}
    httpx.delete(d.url + "/api/pause")
    assert httpx.get(d.url + "/api/journal/prompt").json()["reason"] == "time"


def test_silent_in_quiet_hours_and_do_not_disturb(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0, "journal.prompt_times": [_earlier(1)],
                          "rules.quiet_hours": [_around_now()]})
    assert httpx.get(d.url + "/api/journal/prompt").json() == {"id": None, "silent": "quiet_hours"}
    d2 = inprocess_daemon({"sim.speed": 1.0, "journal.prompt_times": [_earlier(1)], "rules.do_not_disturb": True})
    assert httpx.get(d2.url + "/api/journal/prompt").json() == {"id": None, "silent": "do_not_disturb"}


def test_prompt_after_a_long_spell_ends(inprocess_daemon):
    # the workday scenario at 600x: a spell of 10+ frame minutes ends within a few wall seconds
    d = inprocess_daemon({"sim.speed": 600.0, "journal.prompt_after_spell_min": 10, "rules.sit_limit_min": 60})
    url = d.url + "/api/journal/prompt"
    deadline = time.monotonic() + 60
    seen_long = False
    while time.monotonic() < deadline:
        spell = max((c.get("spell_s") or 0 for c in httpx.get(d.url + "/api/status").json()), default=0)
        seen_long = seen_long or spell >= 600
        answer = httpx.get(url).json()
        if answer["id"]:
            assert seen_long and answer["reason"] == "long_spell"
            return
        assert answer["silent"] == "nothing_due"
        time.sleep(0.2)
    raise AssertionError(f"no prompt after a long spell (a spell of 10 min seen: {seen_long})")
