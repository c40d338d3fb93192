"""The remembered once-a-second bad-cell look (`Calibrator._untrusted`) gives what the long
way (`StreamCalibrator._untrusted`) gives, whatever the frames' zeros and runs."""

from __future__ import annotations

import numpy as np

from monitor.calibration.calibrator import Calibrator
from monitor.calibration.stream import DEAD_AFTER_S, STUCK_AFTER_S, StreamCalibrator


def test_remembered_untrusted_cells_match_the_long_way():
    rng = np.random.default_rng(7)
    cal = Calibrator(8, 10, 4095)
    cells = 80
    clock = 500.0
    # a few cells long zero or long the same, the rest of the zeros changing every frame:
    # the inputs the memo ignores (which cells read 0) vary, those it keys on mostly do not
    since_zero = np.full(cells, clock - 1.0)
    since_same = np.full(cells, clock - 2.0)
    since_zero[[3, 4, 17, 40, 41, 42]] = clock - 2 * DEAD_AFTER_S
    since_same[[60]] = clock - 2 * STUCK_AFTER_S
    hits = 0
    for k in range(400):
        zero = rng.random(cells) < 0.3
        if k % 50 == 7:
            zero[:] = True  # every cell 0: a quiet cushion, not a dead one
        if k % 37 == 0:  # a run reaches its limit, another ends
            i = int(rng.integers(cells))
            since_zero[i] = clock - (2 * DEAD_AFTER_S if since_zero[i] > clock - DEAD_AFTER_S else 0.5)
        if k % 91 == 0:
            cal.offset.reshape(-1)[int(rng.integers(cells))] = 0.6 if k % 2 else 0.0
        before = cal._untrusted_key
        got = cal._untrusted(zero[None], np.array([clock]), since_zero[None], since_same[None])
        hits += cal._untrusted_key == before
        want = StreamCalibrator._untrusted(cal, zero[None], np.array([clock]), since_zero[None], since_same[None])
        np.testing.assert_array_equal(got, want)
    assert hits > 200  # it is remembered, not recomputed every time
