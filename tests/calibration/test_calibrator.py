"""Calibration: tare learnt from the stream, noise floor, dead and stuck cells, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monitor.calibration import Calibrator, calibrate_from_frames, fill_masked
from monitor.model import Frame

ROWS, COLS, MAXV = 16, 14, 4095


def body(rows=ROWS, cols=COLS, amp=1500.0) -> np.ndarray:
    rr, cc = np.mgrid[0:rows, 0:cols].astype(float)

    def g(r: float, c: float, s: float) -> np.ndarray:
        return np.exp(-0.5 * (((rr - r) / s) ** 2 + ((cc - c) / s) ** 2))

    # Two sit bones and two thighs, leaving the seat's rim unloaded as a real body does.
    return amp * (g(11.0, 4.0, 1.0) + g(11.0, 9.5, 1.0)) + 0.2 * amp * (
        g(3.5, 4.0, 1.4) + g(3.5, 9.5, 1.4)
    )


class Cushion:
    """Raw readings with per-cell offsets, noise and optional dead cells, like CONTRACT section 1."""

    def __init__(self, seed=1, noise=10.0, dead=()):
        self.rng = np.random.default_rng(seed)
        self.offset = np.clip(self.rng.normal(30, 12, (ROWS, COLS)), 0, None)
        self.noise = noise
        self.dead = list(dead)
        self.t = 0.0

    def frame(
        self, load: np.ndarray | float = 0.0, drift: float = 0.0, dt: float = 0.1
    ) -> Frame:
        raw = self.offset + drift + load + self.rng.normal(0, self.noise, (ROWS, COLS))
        raw = np.clip(np.rint(raw), 0, MAXV).astype(np.uint16)
        for r, c in self.dead:
            raw[r, c] = 0
        f = Frame("c", self.t, raw, MAXV)
        self.t += dt
        return f


def run(cal: Calibrator, cushion: Cushion, n: int, **kw):
    out = None
    for _ in range(n):
        out = cal.process(cushion.frame(**kw))
    return out


def test_tare_from_an_empty_start_and_noise_floor():
    cu = Cushion()
    cal = Calibrator(ROWS, COLS, MAXV)
    out = run(cal, cu, 100)
    assert np.abs(cal.offset * MAXV - cu.offset).mean() < 4.0  # counts
    assert cal.noise * MAXV == pytest.approx(10.0, rel=0.35)
    assert abs(float(out.load.mean())) < 0.002
    seated = run(cal, cu, 20, load=body())
    want = body() / MAXV
    assert float(seated.load.sum()) == pytest.approx(float(want.sum()), rel=0.03)


def test_someone_already_seated_at_start_then_tare_learnt_when_they_leave():
    cu = Cushion(seed=2)
    cal = Calibrator(ROWS, COLS, MAXV)
    first = run(cal, cu, 60, load=body())
    # Without an empty frame, the offset is a uniform guess: the load is right within ~10 %.
    assert float(first.load.sum()) == pytest.approx(float(body().sum() / MAXV), rel=0.1)
    run(cal, cu, 300)  # 30 s empty: the tare learns every cell
    assert np.abs(cal.offset * MAXV - cu.offset).mean() < 4.0
    again = run(cal, cu, 20, load=body())
    assert float(again.load.sum()) == pytest.approx(
        float(body().sum() / MAXV), rel=0.03
    )


def test_drift_is_followed_while_empty_and_removed_while_seated():
    cu = Cushion(seed=3)
    cal = Calibrator(ROWS, COLS, MAXV)
    run(cal, cu, 100)
    # A uniform drift of +60 counts arrives during a long spell: uncorrected it would add
    # half the body's load again; the common-mode floor keeps the error within 10 %.
    seated = run(cal, cu, 50, load=body(), drift=60.0)
    assert float(seated.load.sum()) == pytest.approx(
        float(body().sum() / MAXV), rel=0.1
    )
    empty = run(cal, cu, 600, drift=60.0)  # the seat empties: tare follows the drift
    assert abs(float(empty.load.mean())) < 0.001
    assert np.abs(cal.offset * MAXV - (cu.offset + 60.0)).mean() < 5.0


def test_a_bag_on_the_seat_is_not_tared_away():
    cu = Cushion(seed=4)
    cal = Calibrator(ROWS, COLS, MAXV)
    run(cal, cu, 100)
    bag = np.zeros((ROWS, COLS))
    bag[3:6, 3:7] = 300.0
    out = run(cal, cu, 1200, load=bag)  # two minutes
    assert float(out.load[3:6, 3:7].mean()) * MAXV == pytest.approx(300.0, rel=0.1)


def test_dead_cell_is_masked_and_filled_from_neighbours():
    cu = Cushion(seed=5, dead=[(11, 4)])
    cal = Calibrator(ROWS, COLS, MAXV)
    run(cal, cu, 100)  # 10 s: longer than DEAD_AFTER_S
    out = run(cal, cu, 20, load=body())
    assert not out.mask[11, 4]
    assert out.mask.sum() == ROWS * COLS - 1
    nb = out.load[10:13, 3:6].copy()
    nb[1, 1] = np.nan
    assert out.load[11, 4] == pytest.approx(float(np.nanmean(nb)), rel=1e-4)
    assert out.load[11, 4] > 0.1  # it carries load, as its neighbours do


def test_noiseless_quiet_cushion_is_not_all_dead():
    cal = Calibrator(ROWS, COLS, MAXV)
    for i in range(100):
        out = cal.process(Frame("c", i * 0.1, np.zeros((ROWS, COLS), np.uint16), MAXV))
    assert out.mask.all()


def test_state_round_trip_is_json_and_refuses_another_grid():
    cu = Cushion(seed=6, dead=[(0, 0)])
    cal = Calibrator(ROWS, COLS, MAXV)
    run(cal, cu, 100)
    state = json.loads(json.dumps(cal.state_dict()))
    fresh = Calibrator(ROWS, COLS, MAXV)
    assert fresh.load_state(state)
    np.testing.assert_allclose(fresh.offset, cal.offset, atol=1e-5)
    assert not fresh.mask[0, 0]
    f = cu.frame(load=body())
    np.testing.assert_allclose(fresh.process(f).load, cal.process(f).load, atol=1e-3)
    assert not Calibrator(ROWS + 1, COLS, MAXV).load_state(state)
    assert not Calibrator(ROWS, COLS, MAXV).load_state({"garbage": 1})


def test_calibrate_from_frames():
    cu = Cushion(seed=7, dead=[(2, 2)])
    frames = [cu.frame() for _ in range(50)]
    stuck = 2000
    for f in frames:
        f.cells[5, 5] = stuck
    cal = calibrate_from_frames(frames)
    assert not cal.mask[2, 2]
    assert not cal.mask[5, 5]
    assert np.abs(cal.offset * MAXV - cu.offset)[cal.mask].mean() < 4.0


def test_fill_masked_copies():
    load = np.arange(16, dtype=np.float32).reshape(4, 4)
    mask = np.ones((4, 4), bool)
    mask[0, 0] = False
    out = fill_masked(load, mask)
    assert out[0, 0] == pytest.approx((1 + 4 + 5) / 3)
    assert load[0, 0] == 0  # the input is untouched


def test_stuck_cells_and_wide_offsets_do_not_stop_the_tare():
    """A poor cushion (wide offset spread, two cells stuck high) still tares and finds its noise."""
    cu = Cushion(seed=8, noise=20.0)
    cu.offset = np.clip(cu.rng.normal(32, 24, (ROWS, COLS)), 0, None)
    stuck = [(2, 3, 3500), (9, 9, 1800)]
    cal = Calibrator(ROWS, COLS, MAXV)
    out = None
    for _ in range(300):
        f = cu.frame()
        for r, c, v in stuck:
            f.cells[r, c] = v
        out = cal.process(f)
    assert cal.noise * MAXV == pytest.approx(20.0, rel=0.35)
    assert abs(float(out.load.mean())) < 0.002
    assert not out.mask[2, 3]  # an offset above half of full scale: masked at once
