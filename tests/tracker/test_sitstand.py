"""Sit-stand desk mode in frame time: stand_up after the sitting time, may_sit after the standing time."""

from __future__ import annotations

import pytest

from monitor.config.settings import RulesConfig
from monitor.tracker.tracker import CushionTracker
from tests.plugins.tracker_run import EPOCH, Run

DEBOUNCE = 3.0  # occupied_after_s / empty_after_s: the cycle counts the debounced seat


def test_off_by_default():
    r = Run()
    r.feed(1300).away(600)
    assert r.kinds("stand_up") == r.kinds("may_sit") == []


def test_the_cycle_stand_up_then_may_sit_then_sitting_starts_over():
    r = Run(sitstand=True)
    r.feed(20 * 60 + 5)
    stand, = r.kinds("stand_up")
    assert 1200 <= stand <= 1200 + DEBOUNCE + 1
    assert r.tr.extras()["sitstand"]["phase"] == "stand"
    up = r.t
    r.away(8 * 60 + 5)
    may, = r.kinds("may_sit")
    assert up + 480 <= may <= up + 480 + DEBOUNCE + 1
    msg = [x.message for x in r.reminders if x.kind == "may_sit"][0]
    assert "stood for 8 minutes" in msg and "walk around for 2 minutes" in msg
    assert r.tr.extras()["sitstand"]["phase"] == "move"
    r.away(2 * 60)  # moving done: sitting again starts a fresh 20 minutes
    assert r.tr.extras()["sitstand"]["phase"] == "sit"
    back = r.t
    r.feed(20 * 60 + 5)
    assert len(r.kinds("stand_up")) == 2 and r.kinds("stand_up")[1] >= back + 1200


def test_sitting_down_before_the_standing_time_is_up_brings_stand_up_back():
    r = Run(sitstand=True, repeat_every_min=2)
    r.feed(20 * 60 + 5).away(60).feed(5 * 60)
    times = r.kinds("stand_up")
    assert len(times) >= 2 and times[1] - times[0] >= 120
    assert r.kinds("may_sit") == []
    assert r.tr.extras()["sitstand"]["phase"] == "stand"


def test_sitting_down_while_moving_starts_the_sitting_time():
    r = Run(sitstand=True, sitstand_sit_min=10, sitstand_stand_min=2, sitstand_move_min=5)
    r.feed(10 * 60 + 5).away(2 * 60 + 5)
    assert r.kinds("may_sit") and r.tr.extras()["sitstand"]["phase"] == "move"
    r.feed(10)
    assert r.tr.extras()["sitstand"]["phase"] == "sit"


def test_a_long_break_in_the_sitting_phase_counts_as_standing():
    r = Run(sitstand=True)
    r.feed(15 * 60).away(8 * 60 + 5).feed(15 * 60)
    assert r.kinds("stand_up") == []  # 15 + 15 minutes, but with 8 minutes up in between


def test_stand_up_is_held_back_by_a_pause_and_comes_after_it():
    r = Run(sitstand=True)
    r.feed(19 * 60)
    r.tr.pause(10)
    r.feed(12 * 60)
    times = r.kinds("stand_up")
    assert times and times[0] >= 19 * 60 - 1 + 600


def test_phase_survives_a_restart():
    r = Run(sitstand=True)
    r.feed(20 * 60 + 5).away(60)
    back = CushionTracker.restore(r.tr.snapshot(), RulesConfig(sitstand=True), EPOCH)
    assert back.sitstand.phase == "stand"
    assert back.sitstand.stand_s == pytest.approx(r.tr.sitstand.stand_s)
