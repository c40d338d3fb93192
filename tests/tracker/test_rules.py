"""CONTRACT section 6 rules on constructed SeatReading sequences, in frame time (no sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config.settings import RulesConfig
from monitor.model import SeatReading
from tests.plugins.tracker_run import Run

# ---------------------------------------------------------------- occupancy and spells


def test_occupied_after_3s_backdated_to_sitting_down():
    run = Run().away(10).feed(2.0)
    assert not run.updates[-1].state.occupied
    assert run.updates[-1].state.posture == "empty" and run.updates[-1].state.left_share is None
    u = run.step()  # t = 12: present since t = 10, 2 s < 3 s
    assert not u.state.occupied
    u = run.step()  # t = 13: 3 s
    assert u.state.occupied and u.spell_started is not None
    assert u.spell_started.start == 10.0
    assert u.state.spell_s == pytest.approx(3.0)
    assert u.state.posture == "upright" and u.state.left_share == 0.5


def test_short_presence_is_not_a_spell():
    run = Run().away(5).feed(2).away(10).feed(2).away(5)
    assert run.spells_started == []
    assert all(not u.state.occupied for u in run.updates)


def test_empty_after_3s_and_state_while_debouncing():
    run = Run().feed(100, posture="slouch", ls=0.55)
    u = run.step(present=False)
    # 0 s of absence: still occupied, posture held from the last seated frame
    assert u.state.occupied and u.state.posture == "slouch" and u.state.left_share == 0.55
    run.away(2)
    assert run.updates[-1].state.occupied
    u = run.step(present=False)  # 3 s away
    assert not u.state.occupied and u.state.posture == "empty" and u.state.left_share is None
    assert u.state.spell_s > 0  # the spell goes on through a short absence


@pytest.mark.parametrize("absence,ends", [(50, False), (59, False), (60, True), (61, True), (300, True)])
def test_absence_shorter_than_min_break_keeps_the_spell(absence, ends):
    run = Run().feed(600).away(absence).feed(30)
    assert len(run.spells_started) == (2 if ends else 1)
    if ends:
        (ended,) = run.spells_ended
        assert ended.start == 0.0 and ended.end == 600.0  # end = when the seat became empty
        assert run.spells_started[1].start == 600.0 + absence
        assert run.updates[-1].state.spell_s == pytest.approx(29.0)
    else:
        assert run.spells_ended == []
        assert run.updates[-1].state.spell_s == pytest.approx(600 + absence + 29.0)


def test_spell_ends_while_still_away_and_a_break_is_reported():
    run = Run().feed(100).away(200)
    (ended,) = run.spells_ended
    when = next(i for i, u in enumerate(run.updates) if u.spell_ended)
    assert run.updates[when].state.t == pytest.approx(160.0)  # 60 s after getting up at t=100
    assert run.updates[when].break_started.start == 100.0
    run.feed(10)
    ended_break = next(u.break_ended for u in run.updates if u.break_ended)
    assert (ended_break.start, ended_break.end) == (100.0, 300.0)


def test_a_blip_of_presence_during_a_break_does_not_reset_the_absence():
    # a bag put down for 2 s: not a return, and the absence still counts from t=100
    run = Run().feed(100).away(40).feed(2).away(20)
    assert len(run.spells_ended) == 1
    assert run.spells_ended[0].end == 100.0


def test_frame_gap_of_min_break_ends_the_spell():
    run = Run().feed(100)
    run.t += 120  # no frames for 2 minutes
    run.feed(10)
    assert len(run.spells_ended) == 1 and run.spells_ended[0].end == pytest.approx(99.0)
    assert len(run.spells_started) == 2


def test_finish_closes_the_open_spell():
    run = Run().feed(100).away(20)
    spell = run.tr.finish(run.t)
    assert (spell.start, spell.end, spell.open) == (0.0, 100.0, True)
    assert run.tr.finish() is None


# ---------------------------------------------------------------- sit_too_long


def test_sit_too_long_at_25_minutes_then_every_5():
    run = Run().feed(1499 + 1)  # frames t = 0 .. 1499
    assert run.kinds("sit_too_long") == []  # 24:59
    run.step()  # t = 1500 (25:00)
    assert run.kinds("sit_too_long") == [1500.0]
    run.feed(299)
    assert run.kinds("sit_too_long") == [1500.0]
    run.step()  # 30:00
    run.feed(600)
    assert run.kinds("sit_too_long") == [1500.0, 1800.0, 2100.0, 2400.0]
    first = run.reminders[0]
    assert first.spell_s == 1500.0 and "25 minutes" in first.message
    j = first.as_json()
    assert set(j) == {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}
    assert j["at"] == "2026-11-24T09:25:00+00:00" and j["acknowledged"] is False


def test_sit_limit_counts_short_absences_and_waits_until_seated():
    run = Run().feed(1490).away(30).feed(60)
    # due at 1500 while away; fires on sitting back down (confirmed after 3 s)
    assert run.kinds("sit_too_long") == [1523.0]


def test_sit_too_long_restarts_with_a_new_spell():
    run = Run().feed(1200).away(60).feed(1499)
    assert run.kinds("sit_too_long") == []
    run.feed(2)
    assert run.kinds("sit_too_long") == [1260.0 + 1500.0]


def test_fractional_frame_rate_thresholds():
    run = Run(dt=0.1).feed(1500.0)  # t up to 1499.9
    assert run.kinds("sit_too_long") == []
    run.step()
    assert len(run.kinds("sit_too_long")) == 1


# ---------------------------------------------------------------- posture rules


@pytest.mark.parametrize(
    "posture,ls,kind,after",
    [
        ("upright", 0.62, "uneven_load", 120),
        ("upright", 0.38, "uneven_load", 120),
        ("lean_left", 0.55, "uneven_load", 120),
        ("lean_right", 0.5, "uneven_load", 120),
        ("cross_left", 0.4, "crossed_legs", 120),
        ("cross_right", 0.6, "crossed_legs", 120),
        ("slouch", 0.5, "slouching", 180),
    ],
)
def test_posture_reminder_threshold_and_cooldown(posture, ls, kind, after):
    run = Run().feed(60)  # upright and even first
    run.feed(after, posture=posture, ls=ls)  # t = 60 .. 60+after-1: held after-1 s
    assert run.kinds(kind) == []
    run.step(posture=posture, ls=ls)
    assert run.kinds(kind) == [60.0 + after]
    run.feed(599, posture=posture, ls=ls)  # cooldown 10 min
    assert run.kinds(kind) == [60.0 + after]
    run.step(posture=posture, ls=ls)
    assert run.kinds(kind) == [60.0 + after, 60.0 + after + 600]
    others = {r.kind for r in run.reminders} - {kind}
    assert others == set()  # one cause, one reminder kind (crossed legs are not also "uneven")


def test_uneven_threshold_edge():
    run = Run().feed(300, ls=0.59)
    assert run.kinds("uneven_load") == []
    run = Run().feed(300, ls=0.60)
    assert run.kinds("uneven_load") == [120.0]
    assert "left sit bone (60%)" in run.reminders[0].message
    run = Run().feed(300, ls=0.30)
    assert "right sit bone (70%)" in run.reminders[0].message


def test_interruption_restarts_the_posture_timer():
    rules = RulesConfig(posture_grace_s=2.0)
    # even for 3 s (t = 100..102) > grace: the timer restarts at t = 103
    run = Run(rules).feed(100, ls=0.65).feed(3, ls=0.5).feed(120, ls=0.65)
    assert run.kinds("uneven_load") == []
    run.step(ls=0.65)
    assert run.kinds("uneven_load") == [223.0]
    # an interruption within the grace does not restart it
    run = Run(rules).feed(100, ls=0.65).feed(2, ls=0.5).feed(30, ls=0.65)
    assert run.kinds("uneven_load") == [120.0]
    # standing up (a break) restarts it
    run = Run(rules).feed(100, ls=0.65).away(10).feed(100, ls=0.65)
    assert run.kinds("uneven_load") == []


def test_cooldown_spans_a_restarted_condition():
    run = Run().feed(130, ls=0.65).feed(60, ls=0.5).feed(300, ls=0.65)
    # fired at 120; condition back from 190, held 120 s at 310, but the cooldown runs to 720
    assert run.kinds("uneven_load") == [120.0]
    run.feed(300, ls=0.65)
    assert run.kinds("uneven_load") == [120.0, 720.0]


# ---------------------------------------------------------------- snooze and acknowledge


def test_snooze_holds_that_kind_only_and_fires_after():
    run = Run().feed(1501)
    assert run.kinds("sit_too_long") == [1500.0]
    until = run.tr.snooze("sit_too_long", 15)
    assert until == pytest.approx(1500.0 + 900)
    run.feed(899, posture="lean_left")
    assert run.kinds("sit_too_long") == [1500.0]
    assert run.kinds("uneven_load") == [1621.0, 2221.0]  # other kinds are not snoozed
    run.step()
    assert run.kinds("sit_too_long") == [1500.0, 2400.0]
    run.feed(300)
    assert run.kinds("sit_too_long") == [1500.0, 2400.0, 2700.0]


def test_snooze_rejects_unknown_kind():
    with pytest.raises(ValueError):
        Run().tr.snooze("nap", 5)


def test_acknowledge():
    run = Run().feed(1501)
    (r,) = run.reminders
    assert run.tr.acknowledge(r.id) is r and r.acknowledged and r.as_json()["acknowledged"] is True
    assert run.tr.acknowledge("nope") is None


def test_reminder_ids_unique():
    run = Run().feed(3 * 3600, posture="slouch")
    ids = [r.id for r in run.reminders]
    assert len(ids) > 20 and len(set(ids)) == len(ids)


# ---------------------------------------------------------------- hours


def test_working_hours_hold_back_then_fire_when_they_start():
    # epoch 08:30; working hours from 09:00: the 25-minute mark (08:55) is held until 09:00
    epoch = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    run = Run(RulesConfig(working_hours="09:00-17:00"), epoch=epoch).feed(1800)
    assert run.kinds("sit_too_long") == []  # up to 08:59:59
    run.step()
    assert run.kinds("sit_too_long") == [1800.0]
    assert run.reminders[0].at == "2026-11-24T09:00:00+00:00"
    run.feed(300)
    assert run.kinds("sit_too_long") == [1800.0, 2100.0]


def test_working_hours_end_stops_reminders():
    epoch = datetime(2026, 11, 24, 16, 50, tzinfo=UTC)
    run = Run(RulesConfig(working_hours="09:00-17:00"), epoch=epoch).feed(3600, posture="slouch")
    # slouching at 16:53 is inside the hours; the 25-minute mark (17:15) and the
    # slouching repeats (17:03, ...) are after them and never come
    assert [(r.kind, r.at) for r in run.reminders] == [("slouching", "2026-11-24T16:53:00+00:00")]


def test_working_days():
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    run = Run(RulesConfig(working_days=[0, 1, 2, 3, 4]), epoch=saturday).feed(3600)
    assert run.reminders == []
    run = Run(RulesConfig(working_days=[5]), epoch=saturday).feed(1501)
    assert run.kinds("sit_too_long") == [1500.0]


def test_quiet_hours_wrapping_midnight():
    epoch = datetime(2026, 11, 24, 21, 50, tzinfo=UTC)
    run = Run(RulesConfig(quiet_hours=["22:00-06:00"]), epoch=epoch).feed(3600)
    assert run.reminders == []


def test_quiet_hours_release_a_held_reminder_once():
    epoch = datetime(2026, 11, 24, 11, 50, tzinfo=UTC)
    run = Run(RulesConfig(quiet_hours=["12:00-12:30"]), epoch=epoch).feed(2401)
    # due 12:15 (quiet), once at 12:30, then 5 min later
    assert run.kinds("sit_too_long") == [2400.0]


def test_do_not_disturb_and_rules_update_without_restart():
    run = Run(RulesConfig(do_not_disturb=True)).feed(2000, posture="slouch")
    assert run.reminders == []
    run.tr.update_rules(RulesConfig())
    run.step(posture="slouch")
    assert sorted(r.kind for r in run.reminders) == ["sit_too_long", "slouching"]
    assert run.kinds("sit_too_long") == [2000.0]


def test_update_rules_changes_the_limit_mid_spell():
    run = Run().feed(600)
    run.tr.update_rules(RulesConfig(sit_limit_min=10))
    run.feed(2)
    assert run.kinds("sit_too_long") == [600.0]
    run.tr.update_rules(RulesConfig(sit_limit_min=10, repeat_every_min=2))
    run.feed(120)
    assert run.kinds("sit_too_long") == [600.0, 720.0]


def test_time_going_backwards_does_not_break_the_spell():
    run = Run().feed(100)
    run.t = 5.0  # device reset
    run.feed(1500)
    assert len(run.spells_started) == 1
    assert run.tr.time_jumps == 1
    assert run.kinds("sit_too_long") == [1500.0]


def test_bad_values_do_not_break_the_tracker():
    run = Run().feed(10)
    u = run.tr.update(SeatReading(t=float("nan"), present=True, posture="upright", left_share=0.5))
    assert run.tr.bad_readings == 1 and u.state.t == 9.0 and u.reminders == []
    run.feed(200, ls=float("nan"))
    state = run.updates[-1].state
    assert state.occupied and state.left_share is None and state.as_json()["left_share"] is None
    assert run.kinds("uneven_load") == []
    run.feed(200, ls=1.7)  # out of range: not a share either
    assert run.updates[-1].state.left_share is None and run.kinds("uneven_load") == []


def test_a_late_frame_is_ignored_a_clock_reset_is_not():
    run = Run(dt=0.1).feed(10)
    before = run.updates[-1].state
    u = run.tr.update(SeatReading(t=9.5, present=False, posture="empty", left_share=None))
    assert run.tr.late_readings == 1 and run.tr.time_jumps == 0
    assert u.state.t == before.t and u.state.occupied
    run.t = 0.0  # a reset: 10 s back
    run.feed(1)
    assert run.tr.time_jumps == 1 and run.updates[-1].state.t > before.t
