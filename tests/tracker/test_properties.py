"""Property tests: the rules hold for any sequence of readings (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings, strategies as st

from monitor.config.settings import RulesConfig, parse_hours
from monitor.model import SEATED_POSTURES, SeatReading
from monitor.tracker.aggregate import MinuteAggregator
from monitor.tracker.tracker import CushionTracker

DT = 1.0
EPOCH = datetime(2026, 11, 24, 8, 40, 17, tzinfo=UTC)

segment = st.tuples(
    st.integers(1, 300),  # seconds
    st.booleans() | st.just(True),  # present (biased towards seated)
    st.sampled_from(SEATED_POSTURES),
    st.floats(0.2, 0.8),
)

rules_st = st.builds(
    RulesConfig,
    sit_limit_min=st.sampled_from([5.0, 7.5, 10.0]),
    repeat_every_min=st.sampled_from([1.0, 2.0, 5.0]),
    min_break_s=st.sampled_from([10.0, 30.0, 60.0]),
    uneven_after_s=st.sampled_from([5.0, 60.0, 120.0]),
    crossed_after_s=st.sampled_from([5.0, 120.0]),
    slouch_after_s=st.sampled_from([5.0, 180.0]),
    cooldown_min=st.sampled_from([0.0, 1.0, 10.0]),
    posture_grace_s=st.just(0.0),
    working_hours=st.sampled_from([None, "09:00-09:20", "08:50-09:40"]),
    quiet_hours=st.sampled_from([[], ["09:05-09:10"]]),
)


def play(rules, segments, snooze_at=None):
    tr = CushionTracker("c", rules, EPOCH)
    agg = MinuteAggregator("c", EPOCH, max_gap_s=5.0)
    readings, updates, minutes = [], [], []
    snooze = None
    t = 0.0
    for seconds, present, posture, ls in segments:
        for _ in range(seconds):
            r = SeatReading(t=t, present=present, posture=posture if present else "empty",
                            left_share=ls if present else None)
            u = tr.update(r)
            readings.append(r)
            updates.append(u)
            minutes += agg.add(u.state)
            if snooze_at is not None and snooze is None and t >= snooze_at[0]:
                kind, mins = snooze_at[1], snooze_at[2]
                snooze = (kind, t, tr.snooze(kind, mins))
            t += DT
    minutes += agg.flush()
    return tr, readings, updates, minutes, snooze


def uneven(r, thr):
    return r.present and r.posture not in ("cross_left", "cross_right") and (
        r.posture in ("lean_left", "lean_right") or abs(r.left_share - 0.5) >= thr - 1e-6)


CONDS = {
    "uneven_load": lambda r, rules: uneven(r, rules.uneven_threshold),
    "crossed_legs": lambda r, rules: r.present and r.posture in ("cross_left", "cross_right"),
    "slouching": lambda r, rules: r.present and r.posture == "slouch",
}


def after_s(rules, kind):
    return {"uneven_load": rules.uneven_after_s, "crossed_legs": rules.crossed_after_s,
            "slouching": rules.slouch_after_s}[kind]


def allowed_at(rules, at: str) -> bool:
    wall = datetime.fromisoformat(at)
    m = wall.hour * 60 + wall.minute
    if rules.working_hours:
        a, b = parse_hours(rules.working_hours)
        if not a <= m < b:
            return False
    for q in rules.quiet_hours:
        a, b = parse_hours(q)
        if a <= m < b:
            return False
    return True


COMMON = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(rules=rules_st, segments=st.lists(segment, min_size=1, max_size=12))
def test_no_reminder_before_its_threshold_and_within_hours(rules, segments):
    tr, readings, updates, _, _ = play(rules, segments)
    by_t = {r.t: r for r in readings}
    last: dict[str, float] = {}
    for u in updates:
        for rem in u.reminders:
            assert u.state.occupied
            assert allowed_at(rules, rem.at)
            assert rem.at == (EPOCH + timedelta(seconds=rem.t)).isoformat()
            if rem.kind == "sit_too_long":
                assert rem.spell_s >= rules.sit_limit_min * 60 - 1e-6
                if "sit_too_long" in last and u.state.spell_start <= last["sit_too_long"]:
                    assert rem.t - last["sit_too_long"] >= rules.repeat_every_min * 60 - 1e-6
            else:
                need = after_s(rules, rem.kind)
                # the condition held on every frame of the last `need` seconds (grace 0)
                k = 0.0
                while k <= need:
                    assert CONDS[rem.kind](by_t[rem.t - k], rules), (rem.kind, rem.t, k)
                    k += DT
                if rem.kind in last:
                    assert rem.t - last[rem.kind] >= rules.cooldown_min * 60 - 1e-6
            last[rem.kind] = rem.t


@COMMON
@given(
    segments=st.lists(segment, min_size=1, max_size=10),
    snooze_t=st.integers(0, 2000),
    kind=st.sampled_from(["sit_too_long", "uneven_load", "crossed_legs", "slouching"]),
    minutes=st.integers(1, 30),
)
def test_nothing_of_a_snoozed_kind_while_snoozed(segments, snooze_t, kind, minutes):
    rules = RulesConfig(sit_limit_min=5, repeat_every_min=1, uneven_after_s=5, crossed_after_s=5,
                        slouch_after_s=5, cooldown_min=0)
    _, _, updates, _, snooze = play(rules, segments, snooze_at=(snooze_t, kind, minutes))
    if snooze is None:
        return
    _, start, until = snooze
    assert until == start + minutes * 60
    for u in updates:
        for rem in u.reminders:
            if rem.kind == kind:
                assert not (start < rem.t < until)


@COMMON
@given(rules=rules_st, segments=st.lists(segment, min_size=1, max_size=12))
def test_spells_never_overlap_and_totals_add_up(rules, segments):
    tr, readings, updates, minutes, _ = play(rules, segments)
    spells = [u.spell_ended for u in updates if u.spell_ended]
    open_spell = tr.finish()
    if open_spell:
        spells.append(open_spell)
    started = [u.spell_started for u in updates if u.spell_started]
    assert len(started) == len(spells)
    prev_end = float("-inf")
    for s in spells:
        assert s.start >= prev_end and s.end >= s.start
        prev_end = s.end
    # breaks between spells are at least min_break
    for a, b in pairwise(spells):
        assert b.start - a.end >= rules.min_break_s - 1e-6
    occupied_s = sum(DT for u in updates[:-1] if u.state.occupied)
    in_spells = sum(s.end - s.start for s in spells)
    assert occupied_s <= in_spells + len(spells) * (rules.occupied_after_s + DT)
    # every occupied frame lies inside a spell
    for u in updates:
        if u.state.occupied:
            # (the debounce keeps a seat "occupied" for empty_after_s after the spell's end)
            assert any(s.start <= u.state.t <= s.end + rules.empty_after_s for s in spells)
    # the minute aggregates account for every second exactly once
    total = readings[-1].t - readings[0].t
    assert abs(sum(m.observed_s for m in minutes) - total) < 1e-6
    assert abs(sum(m.seated_s for m in minutes) - occupied_s) < 1e-6
    for m in minutes:
        assert abs(sum(m.postures.values()) - m.seated_s) < 1e-6
        assert m.seated_s <= m.observed_s + 1e-9 <= 60 + 1e-6
    assert len({m.minute for m in minutes}) == len(minutes)
