"""The load under each sit bone, per frame: what the sit-bone dose (monitor/tracker/dose.py) integrates.

Analysis finds the two sit-bone peaks (`SeatReading.peaks`, in cell coordinates) but does
not hand on the load around them, so the engine measures it here from the calibrated load map
it ran analysis on (`CalibratedBatch.load`): the load within PEAK_BOX_CM (4 cm) of each peak,
the same box analysis uses for its own peak loads, with the outermost cells counted by the
part inside. Units: full-scale load units (what calibration gives).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor.analysis.features import PEAK_BOX_CM, SeatGeometry
from monitor.analysis.pyround import round_table
from monitor.model import SitBonePeaks


def sit_bone_loads(
    loads: Sequence[np.ndarray] | np.ndarray, peaks: Sequence[SitBonePeaks | None], geo: SeatGeometry
) -> list[list[float] | None]:
    """For each frame: [left, right] load within PEAK_BOX_CM of each peak, or None where the
    peaks were not found. Vectorised over the frames (a batch costs about what one frame does).
    `loads` is a list of (rows, cols) maps or one (n, rows, cols) array."""
    n = len(loads)
    have = [p is not None for p in peaks]
    out: list[list[float] | None] = [None] * n
    if not any(have):
        return out
    if all(have):
        idx: Sequence[int] = range(n)
        picked = loads if isinstance(loads, np.ndarray) else np.stack(loads)
    else:
        idx = np.flatnonzero(have).tolist()
        picked = loads[idx] if isinstance(loads, np.ndarray) else np.stack([loads[i] for i in idx])
    found = [p for p in (peaks[i] for i in idx) if p is not None]
    pk = np.array([(p.left, p.right) for p in found], dtype=np.float32)  # (m, 2 sides, [row, col])
    for i, pair in zip(idx, box_loads(picked, pk, geo), strict=True):
        out[i] = pair
    return out


def box_loads(picked: np.ndarray, pk: np.ndarray, geo: SeatGeometry) -> list[list[float]]:
    """[left, right] load within PEAK_BOX_CM of each peak of m frames: `picked` their loads
    (m, rows, cols), `pk` their peaks (m, 2 sides, [row, col]) float32."""
    # C order, as np.stack gave: einsum's summation order may depend on the layout
    stack = np.maximum(picked, 0.0, dtype=np.float32, order="C")  # (m, R, C)
    half_r, half_c = PEAK_BOX_CM / geo.cell_d_cm, PEAK_BOX_CM / geo.cell_w_cm
    # Box weights, the outermost cells by the part inside: clip(half + 0.5 - distance, 0, 1),
    # with minimum/maximum, which give the same here (no NaN, no -0.0) for less call cost.
    # geo.ri / geo.ci are the float32 aranges over rows / columns.
    wr = np.minimum(np.maximum(half_r + 0.5 - np.abs(geo.ri[None, None, :] - pk[:, :, 0:1]), 0.0), 1.0)
    wc = np.minimum(np.maximum(half_c + 0.5 - np.abs(geo.ci[None, None, :] - pk[:, :, 1:2]), 0.0), 1.0)
    box = np.einsum("msr,mrc,msc->ms", wr, stack, wc)  # (m, 2)
    # round(float(v), 6) of every value, per column (exactly Python's round; see pyround)
    return round_table([box[:, 0], box[:, 1]], (6, 6))
