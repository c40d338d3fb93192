"""The cushion's linearising exponent (monitor/calibration/response.py)."""

from __future__ import annotations

import json

import numpy as np

from monitor.analysis.features import SeatGeometry, extract_batch
from monitor.calibration.calibrator import Calibrator
from monitor.calibration.response import ResponseEstimate
from tests.analysis.test_seat import away, simulate, sit


def sitter_loads(seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated loads of a sitter on the default (linear) simulated cushion, and their times."""
    dev, t, cells, _ = simulate([away(4), sit("upright", 40), sit("lean_left", 20)], 16, 16, 10.0, seed=seed)
    cal = Calibrator(dev.rows, dev.cols, dev.max_value)
    return t, cal.process_batch(t, cells).load


def follow(loads: np.ndarray, t: np.ndarray) -> ResponseEstimate:
    est = ResponseEstimate()
    last = None
    for ti, load in zip(t.tolist(), loads, strict=True):
        est.observe(load, 0.0 if last is None else ti - last, 0.003)
        last = ti
    return est


def test_a_linear_cushion_keeps_its_loads_and_a_flattening_one_is_undone():
    t, loads = sitter_loads()
    assert follow(loads, t).gamma == 1.0
    # The same sitter read through a square-root response (a saturating Velostat divider
    # flattens about so): the lean, squeezed towards even, reads closer to its linear size.
    flat = np.sqrt(np.maximum(loads, 0.0))
    gamma = follow(flat, t).gamma
    assert gamma > 1.25
    geo = SeatGeometry(16, 16)
    lean = slice(-100, None)  # the last 10 s: leaning left
    n = len(loads[lean])
    def left(x: np.ndarray, g: float) -> float:
        fb = extract_batch(geo, x[lean], np.zeros(n, np.float32), np.full(n, g, np.float32))
        return float(np.median(fb.left_share))
    linear, squeezed, undone = left(loads, 1.0), left(flat, 1.0), left(flat, gamma)
    assert squeezed < undone < linear + 0.01
    # part of the way only: this simulated body reads peakier on a linear mat (peak / mean
    # loaded ~8) than the linear mats the target comes from (5.7-7)
    assert linear - undone < 0.75 * (linear - squeezed)


def test_an_empty_seat_or_a_few_loaded_cells_teach_nothing():
    est = ResponseEstimate()
    empty = np.zeros((16, 16), np.float32)
    paws = empty.copy()
    paws[3:5, 3:5] = 0.2  # four cells: a cat's paws, not a sitter
    for _ in range(100):
        est.observe(empty, 0.5, 0.003)
        est.observe(paws, 0.5, 0.003)
    assert est.gamma == 1.0 and est.state_dict()["looks"] == 0


def test_the_exponent_is_kept_with_the_calibration_state():
    t, loads = sitter_loads()
    cal = Calibrator(16, 16, 4095)
    cal.response = follow(np.sqrt(np.maximum(loads, 0.0)), t)
    learnt = cal.response.gamma
    assert learnt > 1.0
    again = Calibrator(16, 16, 4095)
    assert again.load_state(json.loads(json.dumps(cal.state_dict())))
    assert again.response.gamma == learnt
    # an old state without it still loads, with the exponent learnt afresh
    old = cal.state_dict()
    del old["response"]
    fresh = Calibrator(16, 16, 4095)
    assert fresh.load_state(old) and fresh.response.gamma == 1.0


def test_a_look_is_the_mean_of_the_powers_of_the_loaded_cells():
    from monitor.calibration.response import GAMMAS, LOADED, MIN_CELLS, look_rows

    rng = np.random.default_rng(7)
    loads = (rng.random((40, 256)) ** 3 * 0.6).astype(np.float32)
    loads[5] = 0.0  # an empty seat
    loads[6, 4:] = 0.0  # four loaded cells: a cat's paws
    noise = rng.uniform(0.0, 0.006, 40)
    ok, rows = look_rows(loads, noise)
    for frame, sigma, good, row in zip(loads.astype(np.float64), noise, ok, rows, strict=True):
        loaded = frame[frame > max(LOADED, 4.0 * sigma)]
        assert good == (len(loaded) >= MIN_CELLS and loaded.sum() >= 0.012 * 256)
        if good:
            rel = np.log(loaded / loaded.max())
            expected = -np.log(np.mean(np.exp(GAMMAS[:, None] * rel[None, :]), axis=1))
            assert np.allclose(row, expected, rtol=1e-12, atol=1e-12)
    assert not ok[5] and not ok[6] and ok.sum() > 30


def test_a_batch_learns_what_frame_by_frame_learns():
    t, loads = sitter_loads()
    flat = np.sqrt(np.maximum(loads, 0.0))
    by_frame = follow(flat, t)
    cal = Calibrator(16, 16, 4095)
    dts = [0.0, *np.diff(t).tolist()]
    gamma = np.empty(len(t), np.float32)
    for at in range(0, len(t), 7):  # the daemon's batches are a few frames each
        cal.observe_response(flat[at:at + 7], dts[at:at + 7], np.full(7, 0.003, np.float32)[: len(dts[at:at + 7])],
                             gamma[at:at + 7])
    assert cal.response.gamma == by_frame.gamma > 1.0
    assert np.array_equal(cal.response.log_ratio, by_frame.log_ratio)
