"""The load under each sit bone, per frame: what the sit-bone dose (monitor/tracker/dose.py) integrates.

Analysis finds the two sit-bone peaks (`SeatReading.features["peaks"]`, left then right, in
cell coordinates) but does not hand on the load around them, so the engine measures it here
from the calibrated load map: the load within PEAK_BOX_CM (4 cm) of each peak, the same box
analysis uses for its own peak loads, with the outermost cells counted by the part inside.
Units: full-scale load units (what calibration gives).

`LoadTap` wraps the analyzer's calibrator so the engine sees each calibrated map exactly as
analysis did, in the per-frame and the batch path alike (the batch path calibrates all
frames before it extracts features, so reading the calibrator afterwards would not do).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .analysis.features import PEAK_BOX_CM, SeatGeometry


class LoadTap:
    """Passes everything to the calibrator; keeps the calibrated load of each frame processed."""

    def __init__(self, inner: Any):
        self._inner = inner
        self.loads: list[np.ndarray] = []

    def process(self, frame: Any) -> Any:
        cal = self._inner.process(frame)
        self.loads.append(cal.load)
        return cal

    def process_batch(self, t: Any, raw: Any) -> tuple[np.ndarray, np.ndarray]:
        loads, noise = self._inner.process_batch(t, raw)
        self.loads.extend(loads)
        return loads, noise

    def take(self) -> list[np.ndarray]:
        loads, self.loads = self.loads, []
        return loads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def sit_bone_loads(loads: list[np.ndarray], peaks: list[Any], geo: SeatGeometry) -> list[list[float] | None]:
    """For each frame: [left, right] load within PEAK_BOX_CM of each peak, or None where the
    peaks were not found. Vectorised over the frames (a batch costs about what one frame does)."""
    n = len(loads)
    have = np.array([bool(p) and len(p) >= 2 for p in peaks], dtype=bool)
    out: list[list[float] | None] = [None] * n
    if not have.any():
        return out
    idx = np.flatnonzero(have)
    stack = np.maximum(np.stack([loads[i] for i in idx]), 0.0, dtype=np.float32)  # (m, R, C)
    pk = np.array([peaks[i][:2] for i in idx], dtype=np.float32)  # (m, 2 sides, [row, col])
    rows, cols = stack.shape[1:]
    half_r, half_c = PEAK_BOX_CM / geo.cell_d_cm, PEAK_BOX_CM / geo.cell_w_cm
    wr = np.clip(half_r + 0.5 - np.abs(np.arange(rows, dtype=np.float32)[None, None, :] - pk[:, :, 0:1]), 0.0, 1.0)
    wc = np.clip(half_c + 0.5 - np.abs(np.arange(cols, dtype=np.float32)[None, None, :] - pk[:, :, 1:2]), 0.0, 1.0)
    box = np.einsum("msr,mrc,msc->ms", wr, stack, wc)  # (m, 2)
    for j, i in enumerate(idx):
        out[i] = [round(float(box[j, 0]), 6), round(float(box[j, 1]), 6)]
    return out
