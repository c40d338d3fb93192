"""Calibration: raw readings -> load in full-scale units, offsets removed, bad cells masked.

`Calibrator` is `StreamCalibrator` (monitor/calibration/stream.py: the learnt state and the
per-frame path, with the method explained there) plus the batch path, which calibrates a run of
frames exactly as the per-frame path one by one would, and persistence: `state_dict()` /
`load_state()` let the daemon keep calibration per cushion across restarts.
"""

from __future__ import annotations

import bisect
import logging
import math
from typing import Any

import numpy as np

from monitor.calibration.cells import NeighbourFill, fill_masked
from monitor.calibration.response import look_rows
from monitor.calibration.stream import (
    BATCH_CELLS,
    CHECK_EVERY_S,
    DEAD_AFTER_S,
    HOT_LOAD,
    STATE_VERSION,
    STUCK_AFTER_S,
    TARE_EVERY_S,
    StreamCalibrator,
)
from monitor.model import CalibratedBatch

log = logging.getLogger(__name__)

__all__ = ["Calibrator", "NeighbourFill", "fill_masked"]


class Calibrator(StreamCalibrator):
    """Per-cushion calibration state; `process(frame)` is cheap and allocation-light,
    `process_batch(t, raw)` gives the same loads for a run of frames at once."""

    _run_window = 1  # frames calibrated ahead at the current offsets (see _calibrate_run)

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
        gamma = np.empty(n, np.float32)
        step = max(1, BATCH_CELLS // self._n_cells)  # bounds the (frames, cells) work arrays
        for i in range(0, n, step):
            self._calibrate_run(t[i : i + step].tolist(), raw[i : i + step], loads[i : i + step], noise[i : i + step],
                                gamma[i : i + step])
        return CalibratedBatch(t=t, load=loads, noise=noise, gamma=gamma)

    def _calibrate_run(self, times: list[float], raw: np.ndarray, loads: np.ndarray, noise: np.ndarray,
                       gamma: np.ndarray) -> None:
        dts = [self._step(x) for x in times]
        self._loads_run(times, dts, raw, loads, noise)
        self.observe_response(loads, dts, noise, gamma)

    def observe_response(self, loads: np.ndarray, dts: list[float], noise: np.ndarray, gamma: np.ndarray) -> None:
        """The response estimate over calibrated frames, in order, as `process` does frame by
        frame (it looks at the calibrated loads only): `gamma[j]` after frame j."""
        looks = self.response.plan(dts)
        ok, rows = look_rows(loads[looks].reshape(len(looks), self._n_cells), noise[looks].astype(np.float64))
        self.response.apply(looks, ok, rows, gamma)

    def _loads_run(self, times: list[float], dts: list[float], raw: np.ndarray, loads: np.ndarray,
                   noise: np.ndarray) -> None:
        n = len(times)
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
        # the run length carries over from the last batch (the daemon's batches are a few
        # frames each): it only decides how much is computed ahead, never the result
        i, window = 0, self._run_window
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
                assert mask is not None  # a change comes with its mask
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
        self._run_window = window

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


    # ---- the once-a-second look for bad cells, remembered ------------------------------------

    _untrusted_key: tuple[bool, bytes, bytes, bytes] | None = None
    _untrusted_one: np.ndarray | None = None

    def _untrusted(self, zero: np.ndarray, clocks: np.ndarray, since_zero: np.ndarray,
                   since_same: np.ndarray) -> np.ndarray:
        """`StreamCalibrator._untrusted`, the same result, remembered for one frame.

        Once a cell has read 0 for DEAD_AFTER_S the mask is looked at the long way every
        second (~100 us of numpy calls on 16x16), though its inputs rarely change: of the
        frame's zeros only "all of them" counts, and of the runs only which have reached
        their limit (tests/calibration/test_untrusted_memo.py holds the two in step)."""
        if len(zero) != 1:
            return super()._untrusted(zero, clocks, since_zero, since_same)
        clock = clocks[:, None]
        key = (bool(np.logical_and.reduce(zero, axis=None)), (clock - since_zero >= DEAD_AFTER_S).tobytes(),
               (clock - since_same >= STUCK_AFTER_S).tobytes(), (self.offset > 0.5).tobytes())
        if key != self._untrusted_key or self._untrusted_one is None:
            self._untrusted_one = super()._untrusted(zero, clocks, since_zero, since_same)
            self._untrusted_key = key
        return self._untrusted_one.copy()

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
            "response": self.response.state_dict(),
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
        self.response.load_state(d.get("response"))
        self._update_noise()
        self._ready = True
        self._warm = []
        return True
