"""Calibration: raw readings -> load in full-scale units, offsets removed, bad cells masked.

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

`state_dict()` / `load_state()` let the daemon keep calibration per cushion across restarts;
`calibrate_from_frames()` is the explicit `sitwell calibrate` (frames of an empty seat).
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from monitor.model import CalibratedBatch, CalibratedFrame, Frame

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


class Calibrator:
    """Per-cushion calibration state; `process(frame)` is cheap and allocation-light."""

    def __init__(self, rows: int, cols: int, max_value: int) -> None:
        self.rows, self.cols, self.max_value = int(rows), int(cols), int(max_value)
        shape = (self.rows, self.cols)
        self.scale = np.float32(1.0 / max(1, self.max_value))
        self.offset = np.zeros(shape, np.float32)  # full-scale units
        self.noise_var = np.full(shape, DEFAULT_NOISE**2, np.float32)
        self.noise = DEFAULT_NOISE  # median per-cell noise (full-scale units)
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
        return CalibratedFrame(
            cushion=frame.cushion, t=frame.t, load=load, mask=self.mask, raw=raw, noise=self.noise
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

    # ---- the batch path: the same steps, vectorised where the state allows ----------------

    def process_batch(self, t: np.ndarray, raw: np.ndarray) -> CalibratedBatch:
        """Calibrate frames in order, exactly as `process` one by one would.

        Returns the loads (n, rows, cols) and the noise after each frame (n,). The bad-cell
        runs depend on the raw cells only, so they are computed for the whole batch at once.
        Between tare steps and mask changes the offsets, noise and mask stay put, so the load,
        floor, fill and the tare's emptiness test of a run of frames are computed at once
        (`_ahead`); a frame that moves the tare or the mask ends the run.
        """
        t = np.asarray(t, np.float64)
        raw = np.asarray(raw)
        n = len(t)
        if raw.shape != (n, self.rows, self.cols):
            raise ValueError(f"frames are {raw.shape}, calibrator is {(self.rows, self.cols)}")
        loads = np.empty((n, self.rows, self.cols), np.float32)
        noise = np.empty(n, np.float32)
        step = max(1, BATCH_CELLS // self._n_cells)  # bounds the (frames, cells) work arrays
        for i in range(0, n, step):
            self._calibrate_run(t[i : i + step].tolist(), raw[i : i + step], loads[i : i + step], noise[i : i + step])
        return CalibratedBatch(t=t, load=loads, noise=noise)

    def _calibrate_run(self, times: list[float], raw: np.ndarray, loads: np.ndarray, noise: np.ndarray) -> None:
        n = len(times)
        dts = [self._step(x) for x in times]
        clock, clocks, checks = self.clock, [], []
        bucket = self._check_bucket
        for j, dt in enumerate(dts):  # the same float additions and checks as `process`
            clock += dt
            clocks.append(clock)
            if math.floor(clock / CHECK_EVERY_S) > bucket:
                bucket = math.floor(clock / CHECK_EVERY_S)
                checks.append(j)
        self.clock, self._check_bucket = clock, bucket
        at_check = self._bad_cell_checks(raw.reshape(n, -1), np.array(clocks), checks)
        i, window = 0, 1
        while i < n:
            if not self._ready:  # warm-up: the per-frame path
                scaled = self._f3
                np.copyto(scaled, raw[i], casting="unsafe")
                scaled *= self.scale
                self._warm_up(times[i], scaled)
                if i in at_check:
                    self._update_mask(*at_check[i])
                loads[i] = self._load(scaled, dts[i])
                noise[i] = self.noise
                i += 1
                continue
            end = min(n, i + window)
            change, mask = self._first_mask_change(at_check, i, end)
            if change == i:  # this frame's fill differs: the one-frame path
                self._set_mask(mask)
                scaled = self._f3
                np.copyto(scaled, raw[i], casting="unsafe")
                scaled *= self.scale
                tared_s = self.tared_s
                loads[i] = self._load(scaled, dts[i])
                noise[i] = self.noise
                window = 1 if self.tared_s != tared_s else 2
                i += 1
                continue
            if change is not None:
                end = change
            scaled, load, capped_mean, hot = self._ahead(raw[i:end])
            noise_before, stepped = self.noise, None
            for j in range(end - i):
                if self._tare_test(capped_mean[j], hot[j], dts[i + j]):
                    self._tare_step(scaled[j])
                    stepped = j
                    break
            if stepped is None:
                loads[i:end] = load
                noise[i:end] = noise_before
                window = min(2 * window, 512)
            else:  # frames after the step are computed again, at the new offsets
                end = i + stepped + 1
                loads[i:end] = load[: stepped + 1]
                noise[i : end - 1] = noise_before
                noise[end - 1] = self.noise
                # no further step within TARE_EVERY_S of frames
                window = max(1, bisect.bisect_right(times, times[end - 1] + TARE_EVERY_S, lo=end) - end)
            i = end

    def _ahead(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, list, list]:
        """`_load`'s arithmetic for a run of frames at the current offsets, noise and mask:
        scaled, load, and the tare's two emptiness figures per frame (lists of floats)."""
        m = len(raw)
        scaled = np.empty(raw.shape, np.float32)
        np.copyto(scaled, raw, casting="unsafe")
        scaled *= self.scale
        load = scaled - self.offset
        flat = load.reshape(m, -1)
        part = flat.copy()
        part.partition(self._k_floor, axis=1)  # in place: np.partition's wrapper costs more
        kth = part[:, self._k_floor]
        noise = self.noise
        drift = [float(x) + 1.28 * noise for x in kth.tolist()]
        shift = np.array([d if d > noise else 0.0 for d in drift], np.float32)
        # x - 0 is x, so frames without drift may pass through the same subtraction
        np.subtract(load, shift[:, None, None], out=load)
        if self._filler is not None:
            self._filler.fill_many(flat)
        capped = np.minimum(flat, HOT_LOAD)
        n = self._n_intp
        # Per row the same float32 sum, the division in float64 rounded to float32, as
        # ndarray.mean() does on one frame.
        capped_mean = (np.add.reduce(capped, axis=1) / n).astype(np.float32).tolist()
        hot_n = np.count_nonzero(flat > 20.0 * max(noise, 1e-4) + HOT_LOAD, axis=1)
        hot = (hot_n / n).tolist()
        return scaled, load, capped_mean, hot

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

    def _bad_cell_checks(self, raw: np.ndarray, clocks: np.ndarray, checks: list[int]) -> dict[int, tuple]:
        """`_track_bad_cells` over n frames (n, cells) at once; returns, for each frame in
        `checks`, what `_update_mask` looks at after it: (zero, clock, since_zero, since_same)."""
        n = len(raw)
        zero = raw == 0
        changed = np.empty_like(zero)
        np.not_equal(raw[1:], raw[:-1], out=changed[1:])
        if self._last_raw is not None:
            np.not_equal(raw[0], self._last_raw, out=changed[0])
        changed |= zero
        if self._last_raw is None:
            changed[0] = False  # the first frame: nothing to compare with (as in _track_bad_cells)
        # The runs at the ends of the stretches between checks (and at the last frame):
        # per stretch the last frame that broke each cell's run, carried over the stretches.
        ends = checks if checks and checks[-1] == n - 1 else [*checks, n - 1]
        starts = [0, *(e + 1 for e in ends[:-1])]
        frame = np.arange(n, dtype=np.int32)[:, None]

        def since_at_ends(broke: np.ndarray, before: np.ndarray) -> np.ndarray:
            last = np.maximum.reduceat(np.where(broke, frame, np.int32(-1)), starts, axis=0)
            np.maximum.accumulate(last, axis=0, out=last)
            return np.where(last >= 0, clocks[last], before)

        since_zero = since_at_ends(~zero, self.zero_since)
        since_same = since_at_ends(changed, self.same_since)
        self.zero_since = since_zero[-1].copy()
        self.same_since = since_same[-1].copy()
        self._last_raw = raw[-1].copy()
        return {e: (zero[e], float(clocks[e]), since_zero[k], since_same[k]) for k, e in enumerate(checks)}

    def _untrusted(self, zero: np.ndarray, clocks: np.ndarray, since_zero: np.ndarray,
                   since_same: np.ndarray) -> np.ndarray:
        """Untrusted cells of n frames (n, cells): dead (0 for DEAD_AFTER_S), stuck (one value
        for STUCK_AFTER_S, or an offset above half scale)."""
        dead = clocks[:, None] - since_zero >= DEAD_AFTER_S
        # A cushion whose every cell reads 0 is a quiet, noiseless one, not a dead one.
        dead[np.logical_and.reduce(zero, axis=1)] = False
        untrusted = clocks[:, None] - since_same >= STUCK_AFTER_S
        untrusted |= self.offset.reshape(-1) > 0.5
        untrusted |= dead
        # Nothing trusted: better the raw cells than nothing.
        untrusted[np.logical_and.reduce(untrusted, axis=1)] = False
        return untrusted

    def _update_mask(self, zero: np.ndarray, clock: float, since_zero: np.ndarray, since_same: np.ndarray) -> None:
        """Look for dead and stuck cells after one frame (flat arrays of its cells)."""
        mask = self._mask_after(zero, clock, since_zero, since_same)
        if mask is not None:
            self._set_mask(mask)

    def _mask_after(self, zero, clock, since_zero, since_same) -> np.ndarray | None:
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

    def _first_mask_change(self, at_check: dict[int, tuple], i: int, end: int) -> tuple[int | None, np.ndarray | None]:
        """`_update_mask` over frames i..end-1 at the current offsets, without changing anything:
        the first frame after which the mask differs from the current one, and that mask."""
        for k in range(i, end):
            if k not in at_check:
                continue
            zero, clock, since_zero, since_same = at_check[k]
            mask = self._mask_after(zero, clock, since_zero, since_same)
            if mask is not None:
                return k, mask
        return None, None

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
        self.noise = float(np.sqrt(_median(self.noise_var, self._flat)))

    # ---- persistence and explicit calibration --------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "rows": self.rows,
            "cols": self.cols,
            "max_value": self.max_value,
            "offset": self.offset.round(6).tolist(),
            "noise_var": self.noise_var.tolist(),
            "mask": self.mask.tolist(),
            "tared_s": self.tared_s,
        }

    def load_state(self, d: dict[str, Any]) -> bool:
        """Take a saved state if it fits this cushion; returns False (and keeps learning) if not."""
        try:
            if (d.get("version"), d["rows"], d["cols"], d["max_value"]) != (
                STATE_VERSION,
                self.rows,
                self.cols,
                self.max_value,
            ):
                log.warning(
                    "calibration state does not fit this cushion; learning afresh"
                )
                return False
            offset = np.asarray(d["offset"], np.float32)
            noise_var = np.asarray(d["noise_var"], np.float32)
            mask = np.asarray(d["mask"], bool)
            if (
                offset.shape != self.offset.shape
                or noise_var.shape != offset.shape
                or mask.shape != offset.shape
            ):
                raise ValueError("shape")
            if not (np.isfinite(offset).all() and np.isfinite(noise_var).all()):
                raise ValueError("not finite")
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("calibration state unreadable (%s); learning afresh", exc)
            return False
        self.offset[:] = offset
        self.noise_var[:] = np.maximum(noise_var, 1e-8)
        self.mask = mask.copy() if mask.any() else np.ones_like(mask)
        self._filler = None if self.mask.all() else NeighbourFill(self.mask)
        self.tared_s = float(d.get("tared_s", 0.0))
        self._update_noise()
        self._ready = True
        self._warm = []
        return True


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


def _median(a: np.ndarray, work: np.ndarray) -> np.floating:
    """np.median(a) of a float array, the same value, for a fraction of its cost.

    np.median partitions a copy and averages the middle one or two elements in a's dtype; so
    does this, in `work` (a flat array of a.size). A NaN anywhere makes the median NaN.
    """
    np.copyto(work, a.reshape(-1))
    n = work.size
    k = n // 2
    if n % 2:
        work.partition((k, n - 1))
        mid = work[k]
    else:
        work.partition((k - 1, k, n - 1))
        mid = np.add(work[k - 1], work[k]) / 2
        mid = work.dtype.type(mid)
    if np.isnan(work[n - 1]):
        return work.dtype.type(np.nan)
    return mid


class NeighbourFill:
    """Fills untrusted cells with the mean of their trusted 8-neighbours (0 if none), in place.

    The neighbour lists are built once per mask, so a frame costs one gather and one sum.
    """

    def __init__(self, mask: np.ndarray) -> None:
        rows, cols = mask.shape
        bad = np.flatnonzero(~mask)
        idx = np.zeros((len(bad), 8), np.intp)
        w = np.zeros((len(bad), 8), np.float32)
        for k, flat in enumerate(bad):
            r, c = divmod(int(flat), cols)
            j = 0
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (
                        (dr or dc)
                        and 0 <= rr < rows
                        and 0 <= cc < cols
                        and mask[rr, cc]
                    ):
                        idx[k, j] = rr * cols + cc
                        w[k, j] = 1.0
                        j += 1
            if j:
                w[k, :j] /= j
        self.bad, self.idx, self.w = bad, idx, w

    def fill(self, load: np.ndarray) -> None:
        flat = load.reshape(-1)
        flat[self.bad] = (flat[self.idx] * self.w).sum(axis=1)

    def fill_many(self, flat: np.ndarray) -> None:
        """`fill` on each row of an (n, cells) array (a view of n load maps), in place."""
        # The product must be C-ordered: numpy sums a row of 8 pairwise when it is contiguous
        # (as in `fill`) but one by one along a strided layout, which rounds differently.
        prod = np.empty((len(flat),) + self.w.shape, np.float32)
        np.multiply(flat[:, self.idx], self.w, out=prod)
        flat[:, self.bad] = prod.sum(axis=2)


def fill_masked(load: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of `load` with untrusted cells replaced by their trusted neighbours' mean."""
    out = np.array(load, np.float32, copy=True)
    if not mask.all():
        NeighbourFill(mask).fill(out)
    return out
