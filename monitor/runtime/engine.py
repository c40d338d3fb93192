"""One cushion's path from frames to states and reminders.

The daemon and `sitwell analyze` both run frames through a CushionEngine, so what the
offline analysis reports is exactly what the daemon would have done. Each frame comes out
as one `CushionStep` (monitor/sinks/base.py): frame, calibrated load, reading, tracker update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from monitor.analysis.features import FeatureBatch
from monitor.analysis.mounting_check import MountingCheck
from monitor.analysis.profile import SitterProfile
from monitor.analysis.seat import SeatAnalyzer
from monitor.analysis.sitbones import sit_bone_loads
from monitor.calibration.mounting import NORMAL, Mounting, map_cells
from monitor.config.settings import AnalysisConfig, RulesConfig
from monitor.model import CalibratedBatch, DeviceInfo, Frame, SeatReading
from monitor.sinks.base import CushionStep
from monitor.tracker.tracker import CushionTracker


class CushionEngine:
    """Mounting undone -> calibration -> analysis -> sit-bone loads -> tracker, for one cushion (one grid)."""

    def __init__(
        self,
        cushion: str,
        device: DeviceInfo,
        rules: RulesConfig,
        analysis: AnalysisConfig,
        epoch: datetime,
        tracker: CushionTracker | None = None,
        mounting: Mounting | None = None,
        profile: SitterProfile | None = None,
    ):
        self.cushion = cushion
        self.device = device  # as the frames come on the wire
        # how the cushion lies and is wired: undone before calibration (calibration/mounting.py)
        self.mounting = mounting or NORMAL
        rows, cols = self.mounting.mapped_shape(device.rows, device.cols)
        self.analyzer = SeatAnalyzer(replace(device, rows=rows, cols=cols), analysis, profile)
        self.mounting_check = MountingCheck()
        self.tracker = tracker or CushionTracker(cushion, rules, epoch)

    def _add_sit_bones(self, readings: list[SeatReading], loads: np.ndarray) -> None:
        """The sit-bone dose needs the load under each sit bone: see monitor/analysis/sitbones.py."""
        peaks = [r.peaks if r.present else None for r in readings]
        for reading, pair in zip(readings, sit_bone_loads(loads, peaks, self.analyzer.geometry), strict=True):
            if pair is not None:
                reading.sitbone_load = (pair[0], pair[1])

    def posture_features(self) -> dict[str, float | None] | None:
        """What the posture classifier sees now (smoothed features, the sitter's baseline and
        even), for a correction to tune from; None while nobody sits."""
        pc = self.analyzer.posture
        if pc.smooth is None:
            return None
        front, thigh_c, left, sacral = pc.smooth
        return {"front": round(front, 5), "thigh_c": round(thigh_c, 5), "left": round(left, 5),
                "sacral": round(sacral, 5), "baseline": None if pc.baseline is None else round(pc.baseline, 5),
                "even": round(pc.even, 5)}

    def process(self, frame: Frame) -> CushionStep:
        """One frame; the step's `frame` is the frame as it came, its `load` is as the seat lies."""
        mapped = frame if self.mounting.is_normal else replace(
            frame, cells=map_cells(frame.cells, self.mounting, frame.max_value))
        cal = self.analyzer.calibrator.process(mapped)
        reading = self.analyzer.analyze_frame(cal)
        loads = cal.load[None]
        self._add_sit_bones([reading], loads)
        if not self.mounting_check.done:
            self.mounting_check.observe(np.array([frame.t]), mapped.cells[None], frame.max_value, loads,
                                        [reading.present])
        return CushionStep(frame, cal.load, reading, self.tracker.update(reading))

    def process_batch(self, frames: Sequence[Frame]) -> list[CushionStep]:
        """Same results as calling process() on each frame; analysis is vectorised."""
        if not frames:
            return []
        t = np.fromiter((f.t for f in frames), dtype=np.float64, count=len(frames))
        front = self.calibrate_arrays(t, np.stack([f.cells for f in frames]), frames[0].max_value)
        readings = self.read_arrays(front)
        update = self.tracker.update
        return [CushionStep(f, load, r, update(r)) for f, load, r in zip(frames, front.cal.load, readings, strict=True)]

    # process_batch without the features, and its end: the daemon computes the features of
    # many cushions' batches in one call (monitor/runtime/fleet.py).

    def calibrate_front(self, frames: Sequence[Frame]) -> CalibratedFront:
        """Mounting undone and calibration of `frames`; its `features` are the caller's to fill
        (`extract_batch` on its `cal`, alone or stacked with other cushions' of this grid)."""
        t, cells, max_value = self.seat_cells(frames)
        cal = self.analyzer.calibrator.process_batch(t, cells)
        return CalibratedFront(t, cells, max_value, cal, None)

    def seat_cells(self, frames: Sequence[Frame]) -> tuple[np.ndarray, np.ndarray, int]:
        """The times, cells as the seat lies (mounting undone) and full scale of `frames`:
        what its calibrator takes (the fleet path calibrates many cushions' at once)."""
        t = np.fromiter((f.t for f in frames), dtype=np.float64, count=len(frames))
        cells = np.stack([f.cells for f in frames])
        max_value = frames[0].max_value
        if not self.mounting.is_normal:
            cells = map_cells(cells, self.mounting, max_value)
        return t, cells, max_value

    def finish_batch(self, frames: Sequence[Frame], front: CalibratedFront) -> list[CushionStep]:
        """The steps of `calibrate_front(frames)` once its features are filled in."""
        readings = self.read_arrays(front)
        update = self.tracker.update
        return [CushionStep(f, load, r, update(r)) for f, load, r in zip(frames, front.cal.load, readings, strict=True)]

    # The two halves of process_batch, for `sitwell analyze` to run in two processes: the
    # first holds only the mapping and calibration state, the second the rest.

    def calibrate_arrays(self, t: np.ndarray, cells: np.ndarray, max_value: int) -> CalibratedFront:
        """Mounting undone, calibration and the features of frames (t (n,), cells (n, rows, cols))."""
        if not self.mounting.is_normal:
            cells = map_cells(cells, self.mounting, max_value)
        cal = self.analyzer.calibrator.process_batch(t, cells)
        return CalibratedFront(t, cells, max_value, cal, self.analyzer.features(cal))

    def read_arrays(self, front: CalibratedFront) -> list[SeatReading]:
        """The readings of `calibrate_arrays`' frames (the decision step, sit-bone loads, the
        mounting check); the tracker is the caller's to update, in order."""
        t, cells, cal = front.t, front.cells, front.cal
        if front.features is None:
            raise ValueError("the features of this batch were not computed")
        readings = self.analyzer.decide(cal, front.features, front.rounded)
        self._add_sit_bones(readings, cal.load)
        if not self.mounting_check.done:
            self.mounting_check.observe(t, cells, front.max_value, cal.load, [r.present for r in readings])
        return readings


@dataclass(slots=True)
class CalibratedFront:
    """What `CushionEngine.calibrate_arrays` gives `read_arrays` (plain arrays: picklable)."""

    t: np.ndarray
    cells: np.ndarray  # as the seat lies (mounting undone)
    max_value: int
    cal: CalibratedBatch
    features: FeatureBatch | None  # None until filled in (calibrate_front: the fleet path fills it)
    rounded: list[list[float]] | None = None  # the features rounded, when the fleet path did a stack at once
