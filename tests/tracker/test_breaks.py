"""Sit-bone dose, real offloads and seat-confirmed breaks, in frame time; their statistics in the store."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from monitor.analysis.features import SeatGeometry
from monitor.analysis.sitbones import sit_bone_loads
from monitor.model import SitBonePeaks
from monitor.sinks.store import Store
from tests.plugins.tracker_run import Run

EPOCH = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
EVEN = (1.0, 1.0)


def credited(run: Run):
    return [o for u in run.updates for o in u.offloads_credited]


def ended(run: Run):
    return [o for u in run.updates for o in u.offloads_ended]


# ---------------------------------------------------------------- dose


def test_dose_is_the_load_time_integral_per_side():
    r = Run()
    r.feed(100, loads=(2.0, 1.0))
    spell = r.tr.dose.spell
    assert spell[0] == pytest.approx(2.0 * 99) and spell[1] == pytest.approx(1.0 * 99)
    assert r.tr.dose.as_json()["left_dose_share"] == pytest.approx(2 / 3, abs=1e-4)
    # normalised by the person's own upright level: 1 upright-second per second
    assert spell[2] == pytest.approx(98, abs=1.5) and spell[3] == pytest.approx(98, abs=1.5)


def test_frames_without_sit_bones_add_no_dose():
    r = Run()
    r.feed(50, loads=None)
    assert r.tr.dose.spell == [0.0, 0.0, 0.0, 0.0]
    assert not any(u.dose for u in r.updates)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0, 5), st.integers(1, 30)), min_size=1, max_size=8))
def test_dose_adds_up_over_any_load_sequence(segments):
    r = Run()
    expected_l = expected_r = 0.0
    prev = None
    for left, right, seconds in segments:
        for _ in range(seconds):
            if prev is not None:
                expected_l += left
                expected_r += right
            r.step(loads=(left, right))
            prev = (left, right)
    total = np.sum([u.dose for u in r.updates if u.dose], axis=0) if any(u.dose for u in r.updates) else [0, 0]
    assert r.tr.dose.spell[0] == pytest.approx(expected_l, abs=1e-6)
    assert r.tr.dose.spell[1] == pytest.approx(expected_r, abs=1e-6)
    assert total[0] == pytest.approx(expected_l, abs=1e-6)


# ---------------------------------------------------------------- offloads


def test_a_shift_counts_only_when_the_sit_bone_is_really_offloaded_long_enough():
    r = Run()
    r.feed(60, loads=EVEN)  # the upright level: 1.0 each side
    r.feed(30, posture="lean_right", loads=(0.75, 1.25))  # only 25 % down: not an offload
    assert credited(r) == []
    r.feed(14, posture="lean_right", loads=(0.7, 1.3))  # 30 % down, but 14 s
    r.feed(5, loads=EVEN)
    assert credited(r) == []
    r.feed(16, posture="lean_right", loads=(0.7, 1.3))  # 30 % down for 15 s: credited
    got = credited(r)
    assert [(o.quality, o.side) for o in got] == [("shifted", "left")]
    assert got[0].start == pytest.approx(109.0)
    r.feed(5, loads=EVEN)
    assert [(o.quality, o.side, o.seconds) for o in ended(r)] == [("shifted", "left", pytest.approx(16.0))]


def test_standing_up_offloads_both_and_an_empty_seat_before_anyone_sat_does_not():
    r = Run()
    r.away(40)
    assert credited(r) == []
    r.feed(60, loads=EVEN).away(20).feed(10, loads=EVEN)
    assert [(o.quality, o.side) for o in credited(r)] == [("stood", "both")]
    assert ended(r)[0].seconds == pytest.approx(20.0)


def test_offload_thresholds_are_settings():
    r = Run(offload_drop=0.5, offload_s=5)
    r.feed(60, loads=EVEN)
    r.feed(10, loads=(0.6, 1.4))
    assert credited(r) == []
    r.feed(6, loads=(0.5, 1.5))
    assert [o.side for o in credited(r)] == ["left"]


# ---------------------------------------------------------------- break outcomes and the message


def outcomes(run: Run):
    return [o for u in run.updates for o in u.outcomes]


def test_reminder_outcomes_taken_by_a_shift_skipped_by_the_next_and_taken_by_standing():
    r = Run()
    r.feed(1501, loads=EVEN)  # sit_too_long at 1500
    first, = [x for x in r.reminders if x.kind == "sit_too_long"]
    r.feed(20, loads=(0.5, 1.5))  # the left sit bone offloaded for 15 s: taken (shifted)
    assert outcomes(r) == [(first.id, "taken", "shifted")]
    r.feed(300, loads=EVEN)  # next at 1800: open
    second = [x for x in r.reminders if x.kind == "sit_too_long"][-1]
    r.feed(300, loads=EVEN)  # a third at 2100: the second was skipped
    assert (second.id, "skipped", None) in outcomes(r)
    third = [x for x in r.reminders if x.kind == "sit_too_long"][-1]
    r.away(20).feed(5, loads=EVEN)
    assert outcomes(r)[-1] == (third.id, "taken", "stood")


def test_sit_too_long_names_the_side_that_carried_more_when_the_imbalance_persists():
    even, uneven = Run(), Run()
    even.feed(1501, loads=(1.0, 1.05))
    uneven.feed(1501, loads=(1.6, 1.0))  # left 62 % of the dose
    assert "sit bone" not in [x for x in even.reminders if x.kind == "sit_too_long"][0].message
    msg = [x for x in uneven.reminders if x.kind == "sit_too_long"][0].message
    assert msg.startswith("You've been sitting for 25 minutes")
    assert "Your left sit bone has carried more of the load (62%)" in msg and "shift your weight off it" in msg


def test_sit_bone_loads_from_a_load_map():
    geo = SeatGeometry(16, 16)
    load = np.zeros((16, 16), np.float32)
    load[11, 4] = 2.0
    load[11, 11] = 1.0
    load[0, 0] = 5.0  # far from both: not a sit bone's
    got = sit_bone_loads([load, load], [SitBonePeaks((11.0, 4.0), (11.0, 11.0)), None], geo)
    assert got[0] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert got[1] is None


# ---------------------------------------------------------------- in the store


def test_daily_stats_count_breaks_taken_skipped_snoozed_offloads_and_dose(tmp_path):
    store = Store(tmp_path / "s.db", tz=UTC, writer=False)
    r = Run()
    r.feed(1501, loads=(1.2, 1.0))
    r.feed(20, loads=(0.5, 1.5))  # taken (shifted)
    r.feed(600, loads=(1.2, 1.0))  # 1800 skipped by 2100
    r.away(90).feed(30, loads=(1.2, 1.0))  # 2100 taken by standing; a new spell
    for u in r.updates:
        store.record("desk-1", None, u)
    sits = [x for x in r.reminders if x.kind == "sit_too_long"]
    store.snooze_reminder(sits[1].id, 5)
    store.close()
    store = Store(tmp_path / "s.db", tz=UTC, writer=False)
    day, = store.daily_stats(1, today="2026-11-24")
    assert len(sits) == 3
    assert (day["breaks_taken"], day["breaks_skipped"], day["breaks_snoozed"]) == (2, 1, 1)
    assert day["offloads"] == {"stood": 1, "shifted": 1}
    assert day["offload_minutes"]["stood"] == pytest.approx(1.5)
    dose = day["sitbone_dose"]
    assert dose["left"] == pytest.approx(sum(u.dose[0] for u in r.updates if u.dose), abs=0.1)
    assert 0.5 < dose["left_share"] < 0.6
    breaks = store.offloads(day="2026-11-24")
    assert [(b["quality"], b["side"]) for b in breaks] == [("shifted", "left"), ("stood", "both")]
    assert breaks[1]["seconds"] == pytest.approx(90.0)
    store.close()


def test_a_gap_in_the_frames_is_no_confirmed_break():
    r = Run()
    r.feed(1501, loads=EVEN)
    r.t += 120  # the cushion was unplugged for two minutes
    r.feed(10, loads=EVEN)
    assert any(u.spell_ended for u in r.updates)  # the gap ended the spell ...
    assert outcomes(r) == []  # ... but nobody saw the person get up


def test_a_vanishing_upright_level_does_not_blow_up_the_normalised_dose():
    r = Run()
    r.feed(60, loads=(5e-324, 5e-324))  # a level no real sit bone has (hypothesis found it)
    r.feed(10, loads=(1.0, 1.0))
    assert all(np.isfinite(r.tr.dose.spell))
