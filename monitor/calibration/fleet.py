"""Calibration of many cushions of one grid at once: the daemon's fleet path.

`Calibrator.process_batch` on a batch of 5 frames costs ~30 numpy calls whatever the batch
size, so at 1,000 cushions most of the calibration is the fixed cost of those calls on small
arrays. Here the batches of all the cushions of one grid are stacked and the steps that do
not depend on one cushion's history frame by frame are computed for the whole stack at once:
the bad-cell runs (`Calibrator._bad_cell_checks`, with each cushion's run carried in from its
own state), the look for dead and stuck cells, and `Calibrator._ahead`'s load, floor and the
tare's emptiness test. What stays per cushion is the tare itself (a few Python comparisons a
frame, and the tare step where the seat was empty long enough), done by the cushion's own
`Calibrator` methods. The result is exactly that of each cushion's `process_batch`
(tests/runtime/test_fleet_batches.py compares every load and noise figure).

A cushion in its warm-up, one whose mask would change in this batch, or at its first frame,
goes its own `process_batch` way (its state untouched before that): those are rare and
short-lived, and their per-frame branches are not worth stacking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from monitor.calibration.calibrator import Calibrator
from monitor.calibration.response import GAMMAS, look_rows
from monitor.calibration.stream import CHECK_EVERY_S, DEAD_AFTER_S, HOT_LOAD, STUCK_AFTER_S
from monitor.model import CalibratedBatch

STACK_FRAMES = 4096  # frames stacked in one pass (4096 x 1024 cells of int32 is 16 MiB)
# fewer cushions than this go their own way: a stack of one costs ~1.6 times a cushion's own
# `process_batch` and a stack of two ~1.1 times; from four on it is cheaper (~0.75, then ~0.5)
MIN_STACK = 3


class _Prelude:
    """One cushion's clock over its batch, computed without changing its state."""

    __slots__ = ("cal", "t", "raw", "dts", "clocks", "checks", "clock", "bucket", "last_t")

    def __init__(self, cal: Calibrator, t: np.ndarray, raw: np.ndarray) -> None:
        self.cal, self.t, self.raw = cal, t, raw
        self.last_t = cal._last_t
        times = t.tolist()
        self.dts = [cal._step(x) for x in times]  # moves _last_t; put back if it falls back
        clock, bucket = cal.clock, cal._check_bucket
        self.clocks: list[float] = []
        self.checks: list[int] = []
        for j, dt in enumerate(self.dts):  # the same float additions and checks as `process`
            clock += dt
            self.clocks.append(clock)
            if math.floor(clock / CHECK_EVERY_S) > bucket:
                bucket = math.floor(clock / CHECK_EVERY_S)
                self.checks.append(j)
        self.clock, self.bucket = clock, bucket


def calibrate_many(cals: Sequence[Calibrator], times: Sequence[np.ndarray], raws: Sequence[np.ndarray],
                   ) -> list[CalibratedBatch | Exception]:
    """`cals[i].process_batch(times[i], raws[i])` for every i, the same results, the shared
    steps of the cushions (all of one grid) computed at once. Where a cushion's own
    `process_batch` raises (a frame of another shape, say), its exception in its place."""
    out: list[CalibratedBatch | Exception | None] = [None] * len(cals)
    stackable: list[tuple[int, _Prelude]] = []
    for i, (cal, t, raw) in enumerate(zip(cals, times, raws, strict=True)):
        t = np.asarray(t, np.float64)
        raw = np.asarray(raw)
        if (cal._ready and cal._last_raw is not None and len(t)
                and raw.shape == (len(t), cal.rows, cal.cols)
                and (not stackable or (cal.rows, cal.cols) == (stackable[0][1].cal.rows, stackable[0][1].cal.cols))):
            stackable.append((i, _Prelude(cal, t, raw)))
        else:
            out[i] = _own_batch(cal, t, raw)
    start = 0
    while start < len(stackable):
        end, frames = start, 0
        while end < len(stackable) and (end == start or frames + len(stackable[end][1].t) <= STACK_FRAMES):
            frames += len(stackable[end][1].t)
            end += 1
        part = stackable[start:end]
        # a stack's fixed cost is more than one or two cushions' own: those go their own way
        stacked = _calibrate_stack([p for _, p in part]) if len(part) >= MIN_STACK else [None] * len(part)
        for (i, p), batch in zip(part, stacked, strict=True):
            if batch is None:  # its mask changes in this batch (or no stack): its own path, from where it was
                p.cal._last_t = p.last_t
                out[i] = _own_batch(p.cal, p.t, p.raw)
            else:
                out[i] = batch
        start = end
    assert all(b is not None for b in out)
    return out  # type: ignore[return-value]


def _own_batch(cal: Calibrator, t: np.ndarray, raw: np.ndarray) -> CalibratedBatch | Exception:
    try:
        return cal.process_batch(t, raw)
    except Exception as exc:  # the caller takes this cushion its frame-by-frame way
        return exc


def _calibrate_stack(part: list[_Prelude]) -> list[CalibratedBatch | None]:
    counts = np.array([len(p.t) for p in part])
    ends = np.cumsum(counts)
    starts = ends - counts
    m = int(ends[-1])
    cells = part[0].cal.rows * part[0].cal.cols
    raw = np.concatenate([p.raw.reshape(len(p.t), cells) for p in part])
    clocks = np.array([c for p in part for c in p.clocks])
    row_of = np.repeat(np.arange(len(part)), counts)

    # -- the bad-cell runs (Calibrator._bad_cell_checks), every cushion's carried in ---------
    zero = raw == 0
    changed = np.empty_like(zero)
    np.not_equal(raw[1:], raw[:-1], out=changed[1:])
    changed[starts] = raw[starts] != np.stack([p.cal._last_raw for p in part])  # type: ignore[misc]
    changed |= zero
    # rows whose runs are looked at: each cushion's checks and its last frame
    checked = {int(s) + j for p, s in zip(part, starts, strict=True) for j in p.checks}
    at_rows = sorted(checked | {int(e) - 1 for e in ends})
    at = np.array(at_rows)
    frame = np.arange(m, dtype=np.int32)[:, None]
    first_of = starts[row_of[at]][:, None]

    def since_at(broke: np.ndarray, before: np.ndarray) -> np.ndarray:
        last = np.where(broke, frame, np.int32(-1))
        np.maximum.accumulate(last, axis=0, out=last)  # carried across cushions: cut at each one's first row
        last = last[at]
        return np.where(last >= first_of, clocks[np.maximum(last, 0)], before[row_of[at]])

    since_zero = since_at(~zero, np.stack([p.cal.zero_since for p in part]))
    since_same = since_at(changed, np.stack([p.cal.same_since for p in part]))
    # the look for dead and stuck cells (_mask_after's usual case: nothing dead or stuck, all
    # cells trusted already, so the mask stays); a cushion where it would not hold falls back
    offset = np.stack([p.cal.offset.reshape(-1) for p in part])
    at_clock = clocks[at]
    quiet = ((at_clock - np.minimum.reduce(since_zero, axis=1) < DEAD_AFTER_S)
             & (at_clock - np.minimum.reduce(since_same, axis=1) < STUCK_AFTER_S))
    is_check = np.ones(len(at), bool)
    last_rows = set((ends - 1).tolist())
    for k, r in enumerate(at_rows):  # a last frame that is no check looks at nothing
        if r in last_rows:
            p = part[int(row_of[r])]
            is_check[k] = bool(p.checks) and p.checks[-1] == len(p.t) - 1
    offset_ok = np.maximum.reduce(offset, axis=1) <= 0.5
    usual = quiet & offset_ok[row_of[at]]
    all_trusted = np.array([p.cal._filler is None for p in part])
    # the usual case leaves a mask of all cells trusted as it is, any other becomes that
    falls_back = np.zeros(len(part), bool)
    falls_back[row_of[at[is_check & usual & ~all_trusted[row_of[at]]]]] = True
    # elsewhere `_mask_after`'s long way, each cushion's checks in one call: the mask changes
    # where a cell's untrusted equals its trusted
    longer = np.flatnonzero(is_check & ~usual)
    for c in np.unique(row_of[at[longer]]).tolist():
        rows = longer[row_of[at[longer]] == c]
        cal = part[c].cal
        untrusted = cal._untrusted(zero[at[rows]], at_clock[rows], since_zero[rows], since_same[rows])
        falls_back[c] |= bool(np.count_nonzero(untrusted == cal.mask.reshape(1, -1)))

    # -- Calibrator._ahead on every frame at its cushion's current offsets ---------------------
    scales = np.array([p.cal.scale for p in part], np.float32)
    scaled = np.empty(raw.shape, np.float32)
    np.copyto(scaled, raw, casting="unsafe")
    if (scales == scales[0]).all():
        scaled *= scales[0]
    else:
        scaled *= scales[row_of][:, None]
    load = scaled - offset[row_of]
    sorted_part = load.copy()
    k_floor = part[0].cal._k_floor
    sorted_part.partition(k_floor, axis=1)
    noise = np.array([p.cal.noise for p in part], np.float64)[row_of]
    drift = sorted_part[:, k_floor].astype(np.float64) + 1.28 * noise
    shift = np.where(drift > noise, drift, 0.0).astype(np.float32)
    np.subtract(load, shift[:, None], out=load)
    for c in np.flatnonzero(~all_trusted).tolist():
        part[c].cal._filler.fill_many(load[starts[c]:ends[c]])  # type: ignore[union-attr]
    capped = np.minimum(load, HOT_LOAD)
    n = part[0].cal._n_intp
    capped_mean = (np.add.reduce(capped, axis=1) / n).astype(np.float32).tolist()
    # the threshold as `load > python float` compares it: in float32
    hot_at = (20.0 * np.maximum(noise, 1e-4) + HOT_LOAD).astype(np.float32)
    hot = (np.count_nonzero(load > hot_at[:, None], axis=1) / n).tolist()

    results: list[CalibratedBatch | None] = []
    loads = load.reshape(m, part[0].cal.rows, part[0].cal.cols)
    scaled3 = scaled.reshape(loads.shape)
    for c, p in enumerate(part):
        if falls_back[c]:
            results.append(None)
            continue
        cal, a, b = p.cal, int(starts[c]), int(ends[c])
        cal.clock, cal._check_bucket = p.clock, p.bucket
        k = at_rows.index(b - 1)
        cal.zero_since = since_zero[k].copy()
        cal.same_since = since_same[k].copy()
        cal._last_raw = p.raw[-1].reshape(-1).copy()  # flat, as _bad_cell_checks keeps it
        results.append(_tare_run(cal, p, loads[a:b], scaled3[a:b], capped_mean[a:b], hot[a:b]))
    _observe_responses(part, results, cells)
    return results


def _observe_responses(part: list[_Prelude], results: list[CalibratedBatch | None], cells: int) -> None:
    """Each cushion's response estimate over its calibrated frames, as `observe_response`
    does, with the looks of all of them in one call: at 10 Hz a cushion's batch holds about
    one look, and a look alone costs a dozen numpy calls."""
    plans = [(p.cal.response, b, p.cal.response.plan(p.dts)) for p, b in zip(part, results, strict=True)
             if b is not None]
    picked = [(b, looks) for _, b, looks in plans if looks]
    ok, rows = np.zeros(0, bool), np.zeros((0, len(GAMMAS)))
    if picked:
        ok, rows = look_rows(np.concatenate([b.load[looks].reshape(len(looks), cells) for b, looks in picked]),
                             np.concatenate([b.noise[looks] for b, looks in picked]).astype(np.float64))
    at = 0
    for response, batch, looks in plans:
        assert batch.gamma is not None
        response.apply(looks, ok[at:at + len(looks)], rows[at:at + len(looks)], batch.gamma)
        at += len(looks)


def _tare_run(cal: Calibrator, p: _Prelude, load: np.ndarray, scaled: np.ndarray,
              capped_mean: list[float], hot: list[float]) -> CalibratedBatch:
    """The tare over one cushion's frames computed ahead; after a tare step the frames left
    are computed again at the new offsets (by its own `_ahead`), as `_calibrate_run` does."""
    n = len(p.t)
    loads = np.empty((n, cal.rows, cal.cols), np.float32)
    noise = np.empty(n, np.float32)
    i = 0
    while i < n:
        noise_before, stepped = cal.noise, None
        for j in range(n - i):
            if cal._tare_test(capped_mean[j], hot[j], p.dts[i + j]):
                cal._tare_step(scaled[j])
                stepped = j
                break
        if stepped is None:
            loads[i:] = load
            noise[i:] = noise_before
            break
        end = i + stepped + 1
        loads[i:end] = load[: stepped + 1]
        noise[i : end - 1] = noise_before
        noise[end - 1] = cal.noise
        i = end
        if i < n:
            scaled, load3, capped_mean, hot = cal._ahead(p.raw[i:])
            load = load3
    # gamma: filled in by _observe_responses, for every cushion of the stack at once
    return CalibratedBatch(t=p.t, load=loads, noise=noise, gamma=np.empty(n, np.float32))
