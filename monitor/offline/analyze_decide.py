"""`sitwell analyze`'s engine on a batch, in two halves, keeping only what the tracker reads.

`CushionEngine.read_arrays` makes a `SeatReading` per frame with its reported features (rounded,
in a dict) and its peaks; `sitwell analyze` reports neither, and the tracker reads only the
frame time, `present`, the posture, `left_share` and the sit-bone loads. So:

* `calibrated_front` (stateless after calibration, so in a reader process): calibration and
  the features as `calibrate_arrays` gives them, and the sit-bone loads of every frame with
  peaks, at the peaks as a reading rounds them, with the same arithmetic (`box_loads`; a
  frame's result does not depend on which frames share its batch);
* `decide_front` (this process): the same state steps (`SeatAnalyzer.decide_states`), the
  sit-bone loads of the frames where someone is present, the mounting check.

What the tracker is given is what `read_arrays` would have given it
(tests/offline/test_analyze_fast.py).
"""

from __future__ import annotations

import numpy as np

from monitor.analysis.pyround import round_table
from monitor.analysis.sitbones import box_loads
from monitor.runtime.engine import CalibratedFront, CushionEngine

PEAK_DIGITS = (2, 2, 2, 2)  # the peaks as a SeatReading reports them (seat.py _ROUNDED)


def calibrated_front(
    engine: CushionEngine, t: np.ndarray, cells: np.ndarray, max_value: int
) -> tuple[CalibratedFront, np.ndarray]:
    """`calibrate_arrays`, and the sit-bone loads (n, 2) of its frames: NaN without peaks."""
    front = engine.calibrate_arrays(t, cells, max_value)
    fb = front.features
    assert fb is not None  # calibrate_arrays always computes them (only the fleet path fills them later)
    sitbone = np.full((len(t), 2), np.nan)
    found = np.flatnonzero(fb.peaks_found)
    if len(found):
        peaks = round_table([fb.pl_r[found], fb.pl_c[found], fb.pr_r[found], fb.pr_c[found]], PEAK_DIGITS)
        pk = np.array(peaks, np.float32).reshape(len(found), 2, 2)  # (m, 2 sides, [row, col])
        sitbone[found] = box_loads(front.cal.load[found], pk, engine.analyzer.geometry)
    return front, sitbone


def decide_front(
    engine: CushionEngine, front: CalibratedFront, sitbone_loads: np.ndarray
) -> tuple[list[float], list[bool], list[str], list[float | None], list[tuple[float, float] | None]]:
    """Per frame of `calibrated_front`'s batch, in order: t, present, posture, left_share,
    sit-bone loads (the rounded floats, as tuples)."""
    fb = front.features
    if fb is None:
        raise ValueError("the features of this batch were not computed")
    ts = front.t.tolist()
    present, posture, left_share = engine.analyzer.decide_states(ts, fb)
    sitbone: list[tuple[float, float] | None] = [None] * len(ts)
    have = np.flatnonzero(np.array(present, bool) & fb.peaks_found)
    if len(have):
        for i, (left, right) in zip(have.tolist(), sitbone_loads[have].tolist(), strict=True):
            sitbone[i] = (left, right)
    if not engine.mounting_check.done:
        engine.mounting_check.observe(front.t, front.cells, front.max_value, front.cal.load, present)
    return ts, present, posture, left_share, sitbone
