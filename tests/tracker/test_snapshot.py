"""Restart mid-spell: snapshot/restore continues the spell and never re-sends a reminder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.settings import RulesConfig
from monitor.tracker.tracker import CushionTracker
from tests.plugins.tracker_run import EPOCH, Run


def restarted(run: Run, down_s: float, sent=(), snapshot=None) -> Run:
    """The daemon goes down after `run`'s last frame and is back `down_s` later with a new
    time base (frame time 0 = the restart), as a fresh process would be."""
    snap = json.loads(json.dumps(snapshot or run.tr.snapshot()))  # it must survive JSON
    last_wall = EPOCH + timedelta(seconds=run.tr.last_t)
    new_epoch = last_wall + timedelta(seconds=down_s)
    tr = CushionTracker.restore(snap, RulesConfig(), new_epoch, cushion="desk-1", sent=sent)
    return Run(tracker=tr, epoch=new_epoch)


def test_restart_within_min_break_continues_the_spell():
    run = Run().feed(1000)
    again = restarted(run, down_s=30).feed(600)
    assert again.spells_started == [] and again.spells_ended == []
    # the spell began 1000 + 29 s before the new epoch (last frame was t=999)
    assert again.updates[-1].state.spell_s == pytest.approx(999 + 30 + 599)
    # the 25-minute mark (1500 s after sitting down) fires once, at new t = 1500 - 1029
    assert again.kinds("sit_too_long") == [pytest.approx(471.0)]
    r = again.reminders[0]
    assert r.at == (EPOCH + timedelta(seconds=1500)).isoformat()


def test_restart_after_min_break_starts_a_new_spell():
    run = Run().feed(1000)
    again = restarted(run, down_s=61).feed(600)
    assert len(again.spells_ended) == 1 and len(again.spells_started) == 1
    ended = again.spells_ended[0]
    assert ended.end - ended.start == pytest.approx(999.0)
    assert again.spells_started[0].start == 0.0
    assert again.kinds("sit_too_long") == []


def test_restart_never_resends_a_reminder_already_sent():
    run = Run().feed(1501, posture="slouch")
    assert sorted(run.kinds("sit_too_long") + run.kinds("slouching")) == [180.0, 780.0, 1380.0, 1500.0]
    again = restarted(run, down_s=5).feed(200, posture="slouch")
    assert again.reminders == []


def test_stale_snapshot_plus_store_reminders_no_double_send():
    # the snapshot was saved before the reminder went out; the store knows it was sent
    run = Run().feed(1490)
    stale = run.tr.snapshot()
    run.feed(20)
    (sent,) = run.reminders
    again = restarted(run, down_s=5, snapshot=stale, sent=[sent.as_json()]).feed(100)
    assert again.reminders == []
    again.feed(300)  # the repeat is 5 min after the one sent
    assert [r.at for r in again.reminders] == [(EPOCH + timedelta(seconds=1800)).isoformat()]


def test_snooze_survives_a_restart():
    run = Run().feed(1501)
    run.tr.snooze("sit_too_long", 20)
    again = restarted(run, down_s=10).feed(900)
    assert again.reminders == []


def test_bad_snapshots_give_a_fresh_tracker():
    for snap in (None, {}, {"version": 99}, {"version": 1, "cushion": "desk-1", "last_t": "x"},
                 {"version": 1, "cushion": "other"}):
        tr = CushionTracker.restore(snap, RulesConfig(), EPOCH, cushion="desk-1")
        assert tr.spell is None and tr.last_t is None and tr.cushion == "desk-1"


def test_restore_ignores_other_cushions_reminders():
    run = Run().feed(1000)
    other = {"cushion": "desk-2", "kind": "sit_too_long", "at": EPOCH.isoformat(), "t": 0}
    again = restarted(run, down_s=5, sent=[other, {"garbage": 1}]).feed(600)
    assert len(again.kinds("sit_too_long")) == 1


def test_epoch_naive_and_aware_snapshot_roundtrip():
    naive = datetime(2026, 11, 24, 9, 0)
    tr = CushionTracker("desk-1", RulesConfig(), naive)
    r = Run(tracker=tr, epoch=naive).feed(100)
    back = CushionTracker.restore(r.tr.snapshot(), RulesConfig(), naive + timedelta(seconds=100))
    assert back.spell is not None and back.spell.start == pytest.approx(-100.0)
    assert back.epoch.tzinfo is None and EPOCH.tzinfo is UTC
