from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.model import CushionState
from monitor.tracker.aggregate import MinuteAggregator

EPOCH = datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)  # half a minute into 09:00


def st(t, occupied=True, posture="upright", ls=0.5):
    return CushionState("c", t, occupied, posture if occupied else "empty", ls if occupied else None, 0.0)


def test_splits_at_wall_minutes_and_weights_left_share():
    agg = MinuteAggregator("c", EPOCH)
    rows = []
    t = 0.0
    while t < 90:  # 09:00:30 .. 09:02:00
        posture, ls = ("slouch", 0.6) if t < 45 else ("upright", 0.4)
        rows += agg.add(st(t, posture=posture, ls=ls))
        t += 0.5
    rows += agg.add(st(90.0, occupied=False))
    rows += agg.flush()
    assert [r.minute for r in rows] == ["2026-11-24T09:00:00+00:00", "2026-11-24T09:01:00+00:00"]
    first, second = rows
    assert first.observed_s == pytest.approx(30.0) and first.seated_s == pytest.approx(30.0)
    assert dict(first.postures) == {"slouch": pytest.approx(30.0)}
    assert first.mean_left_share == pytest.approx(0.6)
    assert second.observed_s == pytest.approx(60.0)
    assert second.postures["slouch"] == pytest.approx(15.0) and second.postures["upright"] == pytest.approx(45.0)
    assert second.mean_left_share == pytest.approx((15 * 0.6 + 45 * 0.4) / 60)
    d = second.as_dict()
    assert d["seated_s"] == 60.0 and d["postures"]["upright"] == 45.0


def test_gaps_count_only_up_to_max_gap_and_empty_is_not_seated():
    agg = MinuteAggregator("c", EPOCH, max_gap_s=5.0)
    rows = agg.add(st(0.0))
    rows += agg.add(st(600.0, occupied=False))  # 10 minutes without frames
    rows += agg.add(st(610.0, occupied=False))
    rows += agg.flush()
    assert sum(r.seated_s for r in rows) == pytest.approx(5.0)
    assert sum(r.observed_s for r in rows) == pytest.approx(10.0)  # 5 s of each long interval
    assert all(r.mean_left_share in (None, 0.5) for r in rows)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("micro", [0, 123_457, 500_001, 999_999])
def test_one_state_costs_bounded_work_far_from_frame_time_zero(micro):
    """Far from t = 0 (t ~ 1e11, where a float's step is 15 us) rounding could put a minute's
    end at or before the piece it should close: the loop opened the same minute again and
    again, forever (issue 19.1). Now each state touches at most the minutes max_gap_s spans."""
    import time as _time

    epoch = EPOCH.replace(microsecond=micro)
    agg = MinuteAggregator("c", epoch)
    rows = []
    t = 1e11
    started = _time.perf_counter()
    for _ in range(1300):  # a little over two minutes at 10 Hz
        done = agg.add(st(t))
        assert len(done) <= 2
        rows += done
        t += 0.1
    assert _time.perf_counter() - started < 2.0
    assert 2 <= len(rows) <= 4
    assert sum(r.observed_s for r in rows) == pytest.approx(1299 * 0.1 - agg._row.observed_s, abs=0.01)


def test_a_far_jump_in_frame_time_is_one_piece_of_work():
    agg = MinuteAggregator("c", EPOCH)
    agg.add(st(10.0))
    done = agg.add(st(5e10))  # the interval before the jump counts max_gap_s only
    done += agg.add(st(5e10 + 1.0))
    assert len(done) <= 2
    total = sum(r.observed_s for r in done) + (agg._row.observed_s if agg._row else 0.0)
    assert total == pytest.approx(5.0 + 1.0, abs=1e-3)
