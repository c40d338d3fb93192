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
    done: list[tuple[CushionSlot, list[CushionStep]]] = []
    groups: dict[tuple[int, int, float, float], list[_Due]] = {}
    order: list[CushionSlot | _Due] = []
    for slot in slots:
        new_engine: NewEngine = new_engine_for(slot.cushion)
        frames = slot.take_batch(new_engine)
        if not frames:
            continue
        try:
            front = slot.engine.calibrate_front(frames)
        except Exception:
            order.append(slot)
            done.append((slot, slot.process_frames_one_by_one(frames)))
            continue
        due = _Due(slot, frames, front)
        geo = slot.engine.analyzer.geometry
        groups.setdefault((geo.rows, geo.cols, geo.width_cm, geo.depth_cm), []).append(due)
        order.append(due)
    for group in groups.values():
        _features_of(group)
    for item in order:
        if isinstance(item, _Due):
            done.append((item.slot, _finish(item)))
    return done


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
        at = 0
        for d in part:
            n = len(d.frames)
            d.front.features = FeatureBatch(**{name: getattr(fb, name)[at:at + n] for name in _FEATURE_FIELDS})
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
