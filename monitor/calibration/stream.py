"""The per-frame calibration of one cushion: raw readings -> load, offsets learnt, bad cells masked.

Raw cells carry a per-cell offset, noise, dead cells (stuck at 0) and sometimes stuck cells
(one value for ever). `Calibrator` learns all of it from the stream itself, so a cushion works
from its first minute without a manual step:

* offsets (tare): a first estimate from the first frames, then an exponential average over
  frames that look empty (little structured load), so slow drift is followed whenever the seat
  is free. A frame-wide common-mode floor (a low percentile of the tared frame) is removed from
  every frame, so a uniform drift during a long spell does not read as load either.
* noise floor: the spread of each cell around its offset on empty frames.
* dead cells: a cell that has read exactly 0 for a while although the cushion is alive.
  Stuck cells: a cell that has read one non-zero value for a long while, or whose learnt
  offset is near full scale. Both are masked and filled from their trusted neighbours.

This module holds the learnt state and the per-frame path (`StreamCalibrator.process`);
`monitor.calibration.calibrator.Calibrator` adds the batch path and persistence (`state_dict()`
/ `load_state()`), `monitor.calibration.explicit.calibrate_from_frames()` is the explicit
`sitwell calibrate` (frames of an empty seat).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from monitor.calibration.cells import NeighbourFill, median_into
from monitor.calibration.response import ResponseEstimate
from monitor.model import CalibratedFrame, Frame

log = logging.getLogger(__name__)


STATE_VERSION = 1

# A cell reading exactly 0 this long is dead; one reading one other value this long is stuck.
DEAD_AFTER_S = 5.0
STUCK_AFTER_S = 60.0
# Dead and stuck cells are looked for once a second of frames (the runs are counted every frame).
CHECK_EVERY_S = 1.0
# How fast the tare follows an empty seat (seconds), and how long the start-up estimate runs.
TARE_TAU_S = 20.0
WARMUP_S = 2.0
# The tare learns from one empty frame per this many seconds of empty seat, with the weight of
# all of them: offsets drift over minutes, and a step per frame cost a 50 Hz cushion 50 steps a
# second for nothing (and could not be batched).
TARE_EVERY_S = 0.5
# Mean tared load per cell (full-scale units) below which a frame may be an empty seat.
# A seated adult reads ~0.03-0.06, a 5 kg bag ~0.004 (docs/accuracy.md); the tare only
# learns from frames well under the occupancy threshold.
EMPTY_MEAN_LOAD = 0.006
# A cell this far above its offset (full-scale units) is clearly loaded.
HOT_LOAD = 0.02
# Common-mode floor: this percentile of the tared cells. Even a 120 kg sitter leaves a
# fifth of a seat's cells unloaded, so this percentile is off the body: noise, or drift.
FLOOR_PERCENTILE = 5.0
# A batch is calibrated in chunks of at most this many cells (frames x cells), which bounds
# the bad-cell work arrays (~26 bytes a cell) whatever the grid.
BATCH_CELLS = 1 << 17
# Per-cell noise (full-scale units) assumed before any has been measured.
DEFAULT_NOISE = 0.003



class StreamCalibrator:
    """Per-cushion calibration state; `process(frame)` is cheap and allocation-light."""

    def __init__(self, rows: int, cols: int, max_value: int) -> None:
        self.rows, self.cols, self.max_value = int(rows), int(cols), int(max_value)
        shape = (self.rows, self.cols)
        self.scale = np.float32(1.0 / max(1, self.max_value))
        self.offset = np.zeros(shape, np.float32)  # full-scale units
        self.noise_var = np.full(shape, DEFAULT_NOISE**2, np.float32)
        self.noise = DEFAULT_NOISE  # median per-cell noise (full-scale units)
        self.response = ResponseEstimate()  # how flat the cushion reads a sitter
        # Bad-cell runs as "since when": the clock (seconds of frames, each gap bounded as
        # `_step` bounds it) at each cell's last non-zero frame, and at its last change. A run's
        # length is then clock - since, which a batch computes for all its frames at once.
        self.clock = 0.0
        self._check_bucket = -1  # floor(clock / CHECK_EVERY_S) when the mask was last looked at
        self.zero_since = np.zeros(self.rows * self.cols, np.float64)
        self.same_since = np.zeros(self.rows * self.cols, np.float64)
        self.mask = np.ones(shape, bool)
        self.tared_s = 0.0  # seconds of empty frames the tare has learnt from
        self.empty_s = 0.0
        self._tare_pending_s = 0.0  # empty seconds the tare has not learnt from yet
        self._warm: list[np.ndarray] = []
        self._warm_t0: float | None = None
        self._ready = False
        self._last_raw: np.ndarray | None = None
        self._last_t: float | None = None
        self._filler: NeighbourFill | None = None
        self._n_cells = self.rows * self.cols
        self._k_floor = max(0, round(FLOOR_PERCENTILE / 100.0 * (self._n_cells - 1)))
        # Work arrays, reused every frame: at 8x8-32x32 a numpy call's fixed cost, not its
        # arithmetic, is what a frame costs, so fewer temporaries and calls is what counts.
        self._n_intp = np.intp(self._n_cells)
        self._f1 = np.empty(shape, np.float32)
        self._f2 = np.empty(shape, np.float32)
        self._f3 = np.empty(shape, np.float32)
        self._flat = np.empty(self._n_cells, np.float32)  # partitioned in place
        self._b1 = np.empty(shape, bool)
        self._b2 = np.empty(shape, bool)
        self._b3 = np.empty(shape, bool)
        self._b4 = np.empty(shape, bool)

    # ---- the per-frame path -------------------------------------------------------------

    def process(self, frame: Frame) -> CalibratedFrame:
        raw = np.asarray(frame.cells)
        if raw.shape != (self.rows, self.cols):
            raise ValueError(
                f"frame is {raw.shape}, calibrator is {(self.rows, self.cols)}"
            )
        # Cast first, then scale in float32 (what raw.astype(float32) * scale does), into a
        # work array: `scaled` does not leave this call.
        scaled = self._f3
        np.copyto(scaled, raw, casting="unsafe")
        scaled *= self.scale
        dt = self._step(frame.t)
        self.clock += dt
        if not self._ready:
            self._warm_up(frame.t, scaled)
        flat = raw.reshape(-1)
        zero = np.equal(flat, 0, out=self._b1.reshape(-1))
        self._track_bad_cells(flat, zero)
        if math.floor(self.clock / CHECK_EVERY_S) > self._check_bucket:
            self._check_bucket = math.floor(self.clock / CHECK_EVERY_S)
            self._update_mask(zero, self.clock, self.zero_since, self.same_since)
        load = self._load(scaled, dt)
        # the noise as the batch path holds it (float32), so both look at the same threshold
        gamma = self.response.observe(load, dt, float(np.float32(self.noise)))
        return CalibratedFrame(
            cushion=frame.cushion, t=frame.t, load=load, mask=self.mask, raw=raw, noise=self.noise,
            gamma=gamma,
        )

    def _load(self, scaled: np.ndarray, dt: float) -> np.ndarray:
        """The calibrated load of one frame whose bad cells are tracked; then the tare learns."""
        load = scaled - self.offset
        # Common-mode floor: removes a uniform drift the tare has not caught up with. The 5th
        # percentile of all cells is about the 10th of the unloaded ones under a sitter, i.e.
        # -1.28 sigma of noise (-1.645 on an empty seat); what it rises above that (by more
        # than one sigma, so sampling scatter is left alone) is drift.
        flat = self._flat
        np.copyto(flat, load.reshape(-1))
        flat.partition(self._k_floor)  # the k-th smallest, as np.partition(load, k) gives
        drift = float(flat[self._k_floor]) + 1.28 * self.noise
        if drift > self.noise:
            load -= np.float32(drift)
        if self._filler is not None:
            self._filler.fill(load)
        self._learn_tare(scaled, load, dt)
        return load


    def _step(self, t: float) -> float:
        """Seconds since the previous frame, bounded so a gap in the input does not jump state."""
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 1.0)
        self._last_t = t
        return dt if math.isfinite(dt) else 0.0

    def _warm_up(self, t: float, scaled: np.ndarray) -> None:
        """First estimate of the offsets from the first frames, whoever sits there.

        If the first frames look empty, each cell's median is its offset. If someone already
        sits, the cells under them cannot be known yet: every cell gets the median of the
        frame's low cells, the tare refines it at the first empty moment.
        """
        if self._warm_t0 is None:
            self._warm_t0 = t
        self._warm.append(scaled.copy())
        if (
            len(self._warm) == 1
        ):  # until the estimate below: a uniform offset from this frame
            self.offset[:] = np.float32(np.percentile(scaled, 25))
        if t - self._warm_t0 < WARMUP_S and len(self._warm) < 200:
            return
        stack = np.stack(self._warm)
        med = np.median(stack, axis=0)
        low = float(np.percentile(med, 25))
        # Empty unless many cells stand clearly above the rest (a few stuck cells or a wide
        # spread of offsets do not make a sitter).
        if float(((med - low) > HOT_LOAD).mean()) < 0.1:
            self.offset[:] = med
            dev = stack - med
            if len(stack) >= 3:
                self.noise_var[:] = np.maximum((dev * dev).mean(axis=0), 1e-8)
        else:
            self.offset[:] = low
        self._update_noise()
        self._warm = []
        self._ready = True

    def _track_bad_cells(self, raw: np.ndarray, zero: np.ndarray) -> None:
        """One frame's bad-cell runs (`raw` flat; `zero` is raw == 0): see `_bad_cell_runs`."""
        not_zero = np.logical_not(zero, out=self._b2.reshape(-1))
        np.copyto(self.zero_since, self.clock, where=not_zero)
        if self._last_raw is not None:
            changed = np.not_equal(raw, self._last_raw, out=self._b3.reshape(-1))
            changed |= zero
            np.copyto(self.same_since, self.clock, where=changed)
            self._last_raw[...] = raw
        else:  # the first frame: nothing to compare with, no run starts or ends
            self._last_raw = raw.copy()


    def _untrusted(self, zero: np.ndarray, clocks: np.ndarray, since_zero: np.ndarray,
                   since_same: np.ndarray) -> np.ndarray:
        """Untrusted cells of n frames (n, cells): dead (0 for DEAD_AFTER_S), stuck (one value
        for STUCK_AFTER_S, or an offset above half scale)."""
        dead = clocks[:, None] - since_zero >= DEAD_AFTER_S
        dead &= self._live_around(~dead)
        # A cushion whose every cell reads 0 is a quiet, noiseless one, not a dead one.
        dead[np.logical_and.reduce(zero, axis=1)] = False
        untrusted = clocks[:, None] - since_same >= STUCK_AFTER_S
        untrusted |= self.offset.reshape(-1) > 0.5
        untrusted |= dead
        # Nothing trusted: better the raw cells than nothing.
        untrusted[np.logical_and.reduce(untrusted, axis=1)] = False
        return untrusted

    def _live_around(self, live: np.ndarray) -> np.ndarray:
        """(n, cells): cells whose neighbours either side along a row, or either side along a
        column, are all live (a missing neighbour at the border counts as live).

        A cell reading 0 among live cells is dead; one reading 0 beside other zeros is more
        likely unloaded: a coarse cushion (0-9 digits) reads exactly 0 wherever nobody sits."""
        n = len(live)
        g = live.reshape(n, self.rows, self.cols)
        pad = np.pad(g, ((0, 0), (1, 1), (1, 1)), constant_values=True)
        along_row = pad[:, 1:-1, :-2] & pad[:, 1:-1, 2:]
        along_col = pad[:, :-2, 1:-1] & pad[:, 2:, 1:-1]
        return (along_row | along_col).reshape(n, -1)

    def _update_mask(self, zero: np.ndarray, clock: float, since_zero: np.ndarray, since_same: np.ndarray) -> None:
        """Look for dead and stuck cells after one frame (flat arrays of its cells)."""
        mask = self._mask_after(zero, clock, since_zero, since_same)
        if mask is not None:
            self._set_mask(mask)

    def _mask_after(self, zero: np.ndarray, clock: float, since_zero: np.ndarray, since_same: np.ndarray,
                    ) -> np.ndarray | None:
        """The new mask after a frame, or None if it stays as it is."""
        # ndarray.min()/.max() go through Python wrappers; the ufunc reductions do not.
        if (
            clock - float(np.minimum.reduce(since_zero)) < DEAD_AFTER_S
            and clock - float(np.minimum.reduce(since_same)) < STUCK_AFTER_S
            and float(np.maximum.reduce(self.offset, axis=None)) <= 0.5
        ):
            # Nothing dead or stuck (the usual case): every cell is trusted. Comparisons of
            # NaN are False, so a NaN anywhere goes the long way.
            return None if np.count_nonzero(self.mask) == self._n_cells else np.ones_like(self.mask)
        untrusted = self._untrusted(zero[None], np.array([clock]), since_zero[None], since_same[None])[0]
        # mask == ~untrusted; it changed where untrusted equals the current mask.
        if np.count_nonzero(untrusted == self.mask.reshape(-1)):
            return ~untrusted.reshape(self.mask.shape)
        return None

    def _set_mask(self, mask: np.ndarray) -> None:
        log.debug("calibration mask: %d of %d cells masked", int((~mask).sum()), mask.size)
        self.mask = mask
        self._filler = NeighbourFill(mask)

    def _learn_tare(self, scaled: np.ndarray, load: np.ndarray, dt: float) -> None:
        """Follow the offsets while the seat is empty; a sitter or a bag is never tared away."""
        if not self._ready or dt <= 0.0:
            return
        # Robust to a few stuck cells not masked yet: each counts at most HOT_LOAD towards the
        # mean, and up to 2 % of the cells may stand far above the noise.
        n = self._n_intp
        # The same float32 sum and division as ndarray.mean(), without its Python wrapper.
        capped = np.minimum(load, HOT_LOAD, out=self._f1)
        capped_mean = float(np.float32(np.add.reduce(capped, axis=None) / n))
        hot_cells = np.greater(load, 20.0 * max(self.noise, 1e-4) + HOT_LOAD, out=self._b1)
        hot = float(np.count_nonzero(hot_cells) / n)
        if self._tare_test(capped_mean, hot, dt):
            self._tare_step(scaled)

    def _tare_test(self, capped_mean: float, hot: float, dt: float) -> bool:
        """Does the tare learn from this frame? (Keeps the count of empty seconds.)"""
        if not self._ready or dt <= 0.0:
            return False
        if capped_mean >= EMPTY_MEAN_LOAD or hot > 0.02:
            self.empty_s = self._tare_pending_s = 0.0
            return False
        self.empty_s += dt
        if self.empty_s < 1.0:  # not the tail of a sitter getting up
            return False
        self._tare_pending_s += dt
        return self._tare_pending_s >= TARE_EVERY_S

    def _tare_step(self, scaled: np.ndarray) -> None:
        """Learn from this empty frame with the weight of the empty seconds since the last step."""
        dt, self._tare_pending_s = self._tare_pending_s, 0.0
        trusted = self.mask
        tau = TARE_TAU_S if self.tared_s > 10.0 else 2.0
        a = np.float32(-math.expm1(-dt / tau))  # an exponential average in time, whatever the rate
        dev = np.subtract(scaled, self.offset, out=self._f1)
        # Cells far above their noise are something lying there; leave their offset alone.
        limit = np.sqrt(self.noise_var, out=self._f2)
        limit *= 6.0
        limit += 0.002
        quiet = np.less(np.abs(dev, out=self._f3), limit, out=self._b1)  # scaled may be _f3
        quiet &= trusted
        # Only the quiet cells move (elementwise float32, as the np.where form computed it).
        step = self._f2
        step.fill(0.0)
        np.multiply(a, dev, out=step, where=quiet)
        np.add(self.offset, step, out=self.offset)
        step.fill(0.0)
        var_step = np.multiply(dev, dev, out=self._f3)
        var_step -= self.noise_var
        np.multiply(a, var_step, out=step, where=quiet)
        np.add(self.noise_var, step, out=self.noise_var)
        self.tared_s += dt
        self._update_noise()

    def _update_noise(self) -> None:
        self.noise = float(np.sqrt(median_into(self.noise_var, self._flat)))

