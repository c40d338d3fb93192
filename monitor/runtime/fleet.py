"""Many cushions' batches at once: what lets one daemon serve an office floor.

`CushionSlot.process_some` runs one cushion's queued frames through its engine in one
vectorised call; at 1,000 cushions a daemon then makes 1,000 such calls every half second,
and most of their cost is the fixed cost of numpy's calls on small arrays. The features of
a calibrated frame depend on nothing but its load, its noise and the grid
(`monitor.analysis.features.extract_batch`, which gives the same result for a frame in a
stack of any size), so here the batches of every due cushion of one grid are calibrated per
cushion (calibration learns per cushion), their loads stacked, the features computed in one
call, and each cushion's slice of them handed back to its own engine for the stateful rest
(the decision step, sit-bone loads, mounting check, tracker). The steps are exactly those of
`process_some` on each cushion (tests/runtime/test_fleet_batches.py).

A cushion whose calibration or decision step raises falls back to `process_some`'s frame by
frame path for that batch; the other cushions are not held up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from monitor.analysis.features import FeatureBatch, extract_batch
from monitor.analysis.seat import SeatAnalyzer
from monitor.calibration.fleet import calibrate_many
from monitor.model import CalibratedBatch, Frame
from monitor.runtime.engine import CalibratedFront
from monitor.runtime.slots import CushionSlot, NewEngine
from monitor.sinks.base import CushionStep

log = logging.getLogger(__name__)

FLEET_FRAMES = 4096  # frames stacked in one features call (4096 x 32 x 32 float32 is 16 MiB)
_FEATURE_FIELDS = tuple(f.name for f in fields(FeatureBatch))


@dataclass(slots=True)
class _Due:
    slot: CushionSlot
    frames: list[Frame]
    front: CalibratedFront


def process_fleet(
    slots: Sequence[CushionSlot], new_engine_for: Callable[[str], NewEngine]
) -> list[tuple[CushionSlot, list[CushionStep]]]:
    """One batch (up to BATCH_MAX queued frames) of each slot, the features of all of them
    per grid in one call; the steps per slot, in the order given. `new_engine_for(cushion)`
    is the daemon's `engine_maker` (a cushion plugged in with another grid)."""
    taken: list[CushionSlot] = []
    steps_of: dict[int, list[CushionStep]] = {}  # by id(slot)
    dues: dict[int, _Due] = {}
    groups: dict[tuple[int, int, float, float], list[_Due]] = {}
    pending: dict[tuple[int, int, float, float], list[tuple[CushionSlot, list[Frame], tuple]]] = {}
    for slot in slots:
        new_engine: NewEngine = new_engine_for(slot.cushion)
        frames = slot.take_batch(new_engine)
        if not frames:
            continue
        taken.append(slot)
        try:
            arrays = slot.engine.seat_cells(frames)
        except Exception:
            steps_of[id(slot)] = slot.process_frames_one_by_one(frames)
            continue
        geo = slot.engine.analyzer.geometry
        pending.setdefault((geo.rows, geo.cols, geo.width_cm, geo.depth_cm), []).append((slot, frames, arrays))
    for key, batches in pending.items():
        calibrated = calibrate_many([slot.engine.analyzer.calibrator for slot, _, _ in batches],
                                    [a[0] for _, _, a in batches], [a[1] for _, _, a in batches])
        for (slot, frames, (t, cells, max_value)), cal in zip(batches, calibrated, strict=True):
            if isinstance(cal, Exception):  # this cushion's calibration raised (its state untouched)
                steps_of[id(slot)] = slot.process_frames_one_by_one(frames)
                continue
            due = _Due(slot, frames, CalibratedFront(t, cells, max_value, cal, None))
            groups.setdefault(key, []).append(due)
            dues[id(slot)] = due
    for group in groups.values():
        _features_of(group)
    for slot in taken:
        if id(slot) in dues:
            steps_of[id(slot)] = _finish(dues[id(slot)])
    return [(slot, steps_of[id(slot)]) for slot in taken]


def _features_of(group: list[_Due]) -> None:
    """The features of every batch in `group` (one grid), in stacks of up to FLEET_FRAMES."""
    geometry = group[0].slot.engine.analyzer.geometry
    start = 0
    while start < len(group):
        end, frames = start, 0
        while end < len(group) and (end == start or frames + len(group[end].frames) <= FLEET_FRAMES):
            frames += len(group[end].frames)
            end += 1
        part = group[start:end]
        load = np.concatenate([d.front.cal.load for d in part]) if len(part) > 1 else part[0].front.cal.load
        noise = np.concatenate([d.front.cal.noise for d in part]) if len(part) > 1 else part[0].front.cal.noise
        # each cushion's own linearising exponent, frame by frame (calibration/response.py)
        gamma = np.concatenate([_gamma_of(d.front.cal) for d in part])
        fb = extract_batch(geometry, load, noise, gamma)
        rounded = SeatAnalyzer.rounded_features(fb)  # vectorised over the stack (per cushion: round() each)
        at = 0
        for d in part:
            n = len(d.frames)
            d.front.features = FeatureBatch(**{name: getattr(fb, name)[at:at + n] for name in _FEATURE_FIELDS})
            d.front.rounded = rounded[at:at + n]
            at += n
        start = end


def _gamma_of(cal: CalibratedBatch) -> np.ndarray:
    if cal.gamma is None:
        return np.ones(len(cal.load), np.float32)
    return cal.gamma


def _finish(due: _Due) -> list[CushionStep]:
    slot = due.slot
    try:
        steps = slot.engine.finish_batch(due.frames, due.front)
    except Exception:
        return slot.process_frames_one_by_one(due.frames)
    slot.last_step = steps[-1]
    slot.analysed += len(steps)
    return steps
