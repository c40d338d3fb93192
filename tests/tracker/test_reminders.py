"""Reminder features beyond CONTRACT section 6, in frame time on constructed SeatReadings:
pre-warning, snooze limits, strict mode, timed pause (docs/reminders.md, "Beyond the contract")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from monitor.config.settings import RulesConfig
from monitor.tracker.tracker import CushionTracker, SnoozeRefused
from tests.plugins.tracker_run import EPOCH, Run

# ---------------------------------------------------------------- pre-warning


def test_prewarning_is_off_by_default_and_contract_reminders_unchanged():
    plain, warned = Run(), Run(prewarn=True)
    plain.feed(31 * 60)
    warned.feed(31 * 60)
    assert plain.kinds("sit_warning") == []
    assert warned.kinds("sit_warning") == [1440.0]  # 60 s before 25:00 (spell started at t=0)
    assert warned.kinds("sit_too_long") == plain.kinds("sit_too_long") == [1500.0, 1800.0]
    msg = [r.message for r in warned.reminders if r.kind == "sit_warning"][0]
    assert msg.startswith("In a minute you'll have been sitting for 25 minutes")


def test_prewarning_lead_is_configurable_and_once_per_spell():
    r = Run(prewarn=True, prewarn_s=120)
    r.feed(26 * 60).away(70).feed(26 * 60)
    assert r.kinds("sit_warning") == [1380.0, 1560.0 + 70 + 1380.0]
    assert "In 2 minutes" in [x.message for x in r.reminders if x.kind == "sit_warning"][0]


def test_prewarning_held_back_is_dropped_not_sent_late():
    r = Run(prewarn=True)
    r.feed(1430)
    r.tr.snooze("sit_warning", 1)  # covers 1430..1490, i.e. the whole heads-up window
    r.feed(120)
    assert r.kinds("sit_warning") == []
    assert r.kinds("sit_too_long") == [1500.0]


# ---------------------------------------------------------------- snooze limits and strict mode


def test_snooze_limit_per_spell_then_a_new_spell_has_them_again():
    r = Run(max_snoozes=2)
    r.feed(1500)
    assert r.tr.snoozes_left() == 2
    r.tr.snooze("sit_too_long", 5)
    r.tr.snooze("slouching", 5)
    assert r.tr.snoozes_left() == 0
    with pytest.raises(SnoozeRefused, match="at most 2"):
        r.tr.snooze("sit_too_long", 5)
    r.away(61).feed(10)  # a real break: new spell
    assert r.tr.snoozes_left() == 2
    r.tr.snooze("sit_too_long", 5)


def test_unlimited_snoozes_by_default():
    r = Run()
    r.feed(10)
    for _ in range(20):
        r.tr.snooze("sit_too_long", 1)
    assert r.tr.snoozes_left() is None


def test_strict_mode_repeats_every_minute_until_a_real_break():
    r = Run(strict=True)
    r.feed(1500 + 3 * 60 + 1)
    assert r.kinds("sit_too_long") == [1500.0, 1560.0, 1620.0, 1680.0]
    with pytest.raises(SnoozeRefused, match="strict"):
        r.tr.snooze("sit_too_long", 10)
    r.away(30).feed(90)  # a short absence is not a break: it goes on (while seated)
    assert r.kinds("sit_too_long")[-2:] == [1740.0, 1800.0]
    n = len(r.kinds("sit_too_long"))
    r.away(60).feed(10 * 60)  # a real break (min_break 60 s): a new spell, quiet for 25 min
    assert len(r.kinds("sit_too_long")) == n


def test_strict_off_keeps_the_contract_repeat():
    r = Run()
    r.feed(1500 + 3 * 60 + 1)
    assert r.kinds("sit_too_long") == [1500.0]


# ---------------------------------------------------------------- timed pause


def test_pause_holds_reminders_and_resumes_by_itself():
    r = Run()
    r.feed(1400)
    until = r.tr.pause(30)
    assert until == pytest.approx(1399 + 1800)
    st_ = r.tr.pause_status()
    assert st_["paused"] and st_["remaining_s"] == pytest.approx(1800)
    r.feed(1799)  # frames 1400 .. 3198
    assert r.kinds("sit_too_long") == []
    assert r.tr.pause_status()["remaining_s"] == pytest.approx(1.0)
    r.feed(2)
    # held back, not lost: right after the pause, then every 5 minutes from there
    assert r.kinds("sit_too_long") == [3199.0]
    assert not r.tr.pause_status()["paused"]


def test_pause_off_and_pause_survives_a_snapshot():
    r = Run()
    r.feed(100)
    r.tr.pause(60)
    snap = r.tr.snapshot()
    back = CushionTracker.restore(snap, RulesConfig(), EPOCH)
    assert back.pause_status()["paused"]
    assert back.pause_status()["until_t"] == pytest.approx(99 + 3600)
    back.pause(0)
    assert not back.pause_status()["paused"]


def test_pause_until_tomorrow_ends_at_local_midnight():
    r = Run()
    r.feed(10)
    end = r.tr.pause_until_tomorrow()
    wall = r.tr.wall(end).astimezone()
    assert (wall.hour, wall.minute, wall.second) == (0, 0, 0)
    assert wall.date() > r.tr.wall(9).astimezone().date()


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=90), st.integers(min_value=0, max_value=2000))
def test_no_reminder_of_any_kind_inside_a_pause(minutes, start):
    r = Run(prewarn=True, uneven_after_s=5, slouch_after_s=5)
    r.feed(start, posture="slouch")
    until = r.tr.pause(minutes)
    before = len(r.reminders)
    r.feed(minutes * 60 - 1, posture="slouch")
    assert all(x.t >= until for x in r.reminders[before:])


def test_strict_mode_switched_on_overrides_an_earlier_snooze():
    r = Run()
    r.feed(100)
    r.tr.snooze("sit_too_long", 60)
    r.feed(1500)
    assert r.kinds("sit_too_long") == []  # snoozed until 3699
    r.tr.update_rules(RulesConfig(strict=True))
    r.feed(2)
    assert r.kinds("sit_too_long") == [1600.0]
