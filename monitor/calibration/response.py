"""How flat a cushion reads a sitter: a linearising exponent learnt from the load map itself.

A Velostat or FSR mat read through a divider saturates: its conductance rises as a power
(0.5-1.2) of the pressure and the divider squeezes the high readings towards full scale. The
sit bones, which carry several times the mean pressure, then read barely above the thighs, and
every share the analysis computes (left/right, front/back) is flattened towards even: a lean
that moves 0.15 of the load reads as 0.05-0.08.

What anatomy puts under a seated person does not depend on the mat: on linear mats (the
shared sample recordings, five cushions from 8x8 to 32x32) the most loaded cell carries 5.7-7
times the mean of the loaded cells; a saturating mat reads 1.8-4.5. So the cushion's
flattening shows in its own readings, and `load ** gamma` with the gamma that brings that
ratio back to PEAK_TO_MEAN undoes most of it (on the tuning recordings the leans then read
0.8-1.1 of their true size instead of 0.4-0.7). A linear mat keeps gamma = 1, the loads as
they are.

Postures move the ratio too (a slouch or perching forward spreads the load and reads 0.1-0.4
flatter, a lean peakier), while the response is the cushion's. So the ratio is the median
over the last WINDOW_S of seated-looking frames (one every EVERY_S seconds), for each of a few
candidate exponents: a posture held for less than half of that window does not move it, a
new sitter (a heavy one flattens a mat more) does within minutes. gamma is where the median
ratio crosses PEAK_TO_MEAN; it is kept with the calibration across restarts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

GAMMAS = np.linspace(1.0, 3.0, 9)  # candidate exponents (3: a strongly saturating divider), by quarters
PEAK_TO_MEAN = 6.0  # what a linear mat reads: peak cell / mean loaded cell (5.7-7 on the samples)
EVERY_S = 0.5  # one frame per half second of seated frames is looked at
WINDOW_S = 600.0  # ... and the last this many seconds of them count
MEDIAN_EVERY = 10
KEEP_ON_LOAD = 60  # a saved estimate counts as this many looks after a restart
LOADED = 0.01  # a cell this far above its offset (full-scale units, > 3 sigma of noise) is loaded
MIN_CELLS = 8  # fewer loaded cells than this is no sitter (a cat's paws, a bag's corner)
SEATED_MEAN = 0.012  # load on loaded cells per cell of the grid: occupancy's default threshold


class ResponseEstimate:
    """The linearising exponent of one cushion, learnt frame by frame in order.

    A frame's look is in three parts so that a batch of frames (`plan`, `look_rows`, `apply`),
    or the batches of many cushions at once (calibration/fleet.py), cost a few numpy calls
    rather than a dozen a look; `observe` is the three on one frame, with the same result."""

    def __init__(self) -> None:
        n = int(WINDOW_S / EVERY_S)
        # ring of log(peak / mean loaded), one row per exponent (each row contiguous: the
        # median along it partitions contiguous memory)
        self._looks = np.zeros((len(GAMMAS), n))
        self._count = 0  # looks so far (the ring holds the last n)
        self.log_ratio = np.zeros(len(GAMMAS))  # their median
        self.gamma = 1.0
        self._pending_s = 0.0

    def observe(self, load: np.ndarray, dt: float, noise: float) -> float:
        """The exponent after this frame (`load` one calibrated frame, `dt` seconds since the last)."""
        if not self.plan([dt]):
            return self.gamma
        ok, rows = look_rows(load.reshape(1, -1), np.array([noise]))
        gamma = np.empty(1, np.float32)
        self.apply([0], ok, rows, gamma)
        return self.gamma

    def plan(self, dts: Sequence[float]) -> list[int]:
        """The frames of a batch (by their seconds since the one before) that are looked at:
        one per EVERY_S, whatever it finds."""
        looks, pending = [], self._pending_s
        for j, dt in enumerate(dts):
            pending += dt
            if pending >= EVERY_S:
                pending = 0.0
                looks.append(j)
        self._pending_s = pending
        return looks

    def apply(self, looks: Sequence[int], ok: np.ndarray, rows: np.ndarray, gamma: np.ndarray) -> None:
        """Take the looks of a batch in order (`looks` from `plan`, `ok` and `rows` from
        `look_rows` on those frames): `gamma[j]` is the exponent after frame j."""
        at = 0
        ring = self._looks
        size = ring.shape[1]
        for j, good, row in zip(looks, ok.tolist(), rows, strict=True):
            gamma[at:j] = self.gamma
            at = j
            if not good:
                continue
            ring[:, self._count % size] = row
            self._count += 1
            # the median of up to 1200 looks costs ~50 us: after the first MEDIAN_EVERY looks it
            # is taken every MEDIAN_EVERY looks (5 s), ample for what a cushion's response does
            if self._count <= MEDIAN_EVERY or self._count % MEDIAN_EVERY == 0:
                self.log_ratio = np.median(ring[:, : min(self._count, size)], axis=1)
                self.gamma = gamma_for(self.log_ratio)
        gamma[at:] = self.gamma

    def state_dict(self) -> dict[str, Any]:
        return {"log_ratio": [round(float(x), 6) for x in self.log_ratio], "looks": min(self._count, KEEP_ON_LOAD)}

    def load_state(self, d: Any) -> None:
        """Take a saved estimate if it is one (else keep learning from scratch)."""
        if not isinstance(d, dict):
            return
        ratio = d.get("log_ratio")
        looks = d.get("looks")
        if (
            isinstance(ratio, list) and len(ratio) == len(GAMMAS)
            and all(isinstance(x, (int, float)) and math.isfinite(x) for x in ratio)
            and isinstance(looks, int) and 0 < looks <= KEEP_ON_LOAD
        ):  # fmt: skip
            self.log_ratio = np.asarray(ratio, np.float64)
            self._looks[:, :looks] = self.log_ratio[:, None]
            self._count = looks
            self.gamma = gamma_for(self.log_ratio)


def look_rows(loads: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The looks at calibrated frames (`loads` one flat frame a row, `noise` each one's):
    whether each is a seated-looking frame, and its log(peak**g / mean(loaded**g)) for each
    candidate exponent g (zeros where it is not)."""
    loaded = loads > np.maximum(LOADED, 4.0 * noise)[:, None]  # compared in float64
    count = np.count_nonzero(loaded, axis=1)
    rows = np.zeros((len(loads), len(GAMMAS)))
    some = count > 0
    if not some.any():
        return some, rows
    cells = loads[loaded].astype(np.float64)  # the loaded cells, frame after frame
    n = count[some]
    starts = np.cumsum(n) - n
    mass = np.add.reduceat(cells, starts)
    ok = some.copy()
    ok[some] = (n >= MIN_CELLS) & (mass >= SEATED_MEAN * loads.shape[1])
    # (loaded / peak) ** g for every candidate g: GAMMAS step by quarters from 1, so each is
    # the one before times the fourth root (two square roots and a product, not exp and log)
    x = cells / np.repeat(np.maximum.reduceat(cells, starts), n)
    quarter = np.sqrt(np.sqrt(x))
    powers = np.empty((len(GAMMAS), len(x)))
    powers[0] = x
    for k in range(1, len(GAMMAS)):
        np.multiply(powers[k - 1], quarter, out=powers[k])
    mean = np.add.reduceat(powers, starts, axis=1) / n
    rows[some] = -np.log(mean).T
    rows[~ok] = 0.0
    return ok, rows


def gamma_for(log_ratio: np.ndarray) -> float:
    """The exponent at which the averaged peak/mean ratio reaches PEAK_TO_MEAN (1 to 3),
    rounded to 0.01 so a state saved and loaded gives the same loads."""
    target = math.log(PEAK_TO_MEAN)
    if log_ratio[0] >= target:
        return 1.0
    if log_ratio[-1] <= target:
        return float(GAMMAS[-1])
    k = int(np.argmax(log_ratio >= target))  # first exponent at or past the target
    lo, hi = log_ratio[k - 1], log_ratio[k]
    g = GAMMAS[k - 1] + (GAMMAS[k] - GAMMAS[k - 1]) * (target - lo) / max(hi - lo, 1e-9)
    return round(float(g), 2)
