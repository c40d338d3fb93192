"""Explicit calibration (`sitwell calibrate`): offsets, noise and bad cells from an empty seat."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from monitor.calibration.calibrator import Calibrator
from monitor.calibration.cells import NeighbourFill
from monitor.model import Frame


def calibrate_from_frames(
    frames: Iterable[Frame],
    rows: int | None = None,
    cols: int | None = None,
    max_value: int | None = None,
) -> Calibrator:
    """Explicit calibration (`sitwell calibrate`): frames of an empty seat set offsets and noise.

    Dead cells are the ones that read 0 in every frame while others do not; stuck cells the ones
    that never change while others do.
    """
    stack = []
    mv = max_value
    for f in frames:
        stack.append(np.asarray(f.cells))
        if mv is None:
            mv = f.max_value
    if not stack:
        raise ValueError("no frames to calibrate from")
    raw = np.stack(stack)
    r, c = raw.shape[1:]
    cal = Calibrator(rows or r, cols or c, int(mv or 4095))
    scaled = raw.astype(np.float32) * cal.scale
    cal.offset[:] = np.median(scaled, axis=0)
    if len(raw) >= 3:
        dev = scaled - cal.offset
        cal.noise_var[:] = np.maximum((dev * dev).mean(axis=0), 1e-8)
    alive = bool((raw != 0).any())
    dead = (raw == 0).all(axis=0) & alive & (len(raw) >= 3)
    varies = (raw != raw[0]).any(axis=0)
    stuck = (~varies & (raw[0] != 0) & bool(varies.any()) & (len(raw) >= 3)) | (
        cal.offset > 0.5
    )
    cal.mask = ~(dead | stuck)
    if not cal.mask.any():
        cal.mask[:] = True
    cal._filler = None if cal.mask.all() else NeighbourFill(cal.mask)
    cal.tared_s = float(len(raw))
    cal._update_noise()
    cal._ready = True
    return cal
