"""One cushion's path from frames to states and reminders.

The daemon and `sitwell analyze` both run frames through a CushionEngine, so what the
offline analysis reports is exactly what the daemon would have done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from monitor.analysis.mounting_check import MountingCheck
from monitor.analysis.seat import SeatAnalyzer
from monitor.analysis.sitbones import LoadTap, sit_bone_loads
from monitor.calibration.mounting import NORMAL, Mounting, map_cells
from monitor.config.settings import AnalysisConfig, RulesConfig
from monitor.model import DeviceInfo, Frame, SeatReading
from monitor.tracker.tracker import CushionTracker, TrackerUpdate


@dataclass(slots=True)
class EngineStep:
    frame: Frame
    reading: SeatReading
    update: TrackerUpdate


class CushionEngine:
    def __init__(
        self,
        cushion: str,
        device: DeviceInfo,
        rules: RulesConfig,
        analysis: AnalysisConfig,
        epoch: datetime,
        tracker: CushionTracker | None = None,
        mounting: Mounting | None = None,
    ):
        self.cushion = cushion
        self.device = device  # as the frames come on the wire
        # how the cushion lies and is wired: undone before calibration (calibration/mounting.py)
        self.mounting = mounting or NORMAL
        rows, cols = self.mounting.mapped_shape(device.rows, device.cols)
        self.analyzer = SeatAnalyzer(replace(device, rows=rows, cols=cols), analysis)
        self.mounting_check = MountingCheck()
        # the sit-bone dose needs the load under each sit bone: see monitor/analysis/sitbones.py
        self._tap = LoadTap(self.analyzer.calibrator)
        self.analyzer.calibrator = self._tap  # type: ignore[assignment]
        self.tracker = tracker or CushionTracker(cushion, rules, epoch)

    def _add_sit_bones(self, readings: list[SeatReading], loads: np.ndarray | None) -> None:
        if loads is None or len(loads) != len(readings):
            return
        peaks = [r.features.get("peaks") if r.present else None for r in readings]
        for reading, pair in zip(readings, sit_bone_loads(loads, peaks, self.analyzer.geometry), strict=True):
            if pair is not None:
                reading.features["sitbone_load"] = pair

    def _mapped(self, frame: Frame) -> Frame:
        if self.mounting.is_normal:
            return frame
        return replace(frame, cells=map_cells(frame.cells, self.mounting, frame.max_value))

    def process(self, frame: Frame) -> EngineStep:
        frame = self._mapped(frame)
        reading = self.analyzer.process(frame)
        loads = self._tap.take_stack()
        loads = None if loads is None else loads[-1:]
        self._add_sit_bones([reading], loads)
        if not self.mounting_check.done:
            self.mounting_check.observe(np.array([frame.t]), frame.cells[None], frame.max_value, loads,
                                        [reading.present])
        return EngineStep(frame, reading, self.tracker.update(reading))

    def process_batch(self, frames: Sequence[Frame]) -> list[EngineStep]:
        """Same results as calling process() on each frame; analysis is vectorised."""
        if not frames:
            return []
        t = np.fromiter((f.t for f in frames), dtype=np.float64, count=len(frames))
        cells = np.stack([f.cells for f in frames])
        if not self.mounting.is_normal:
            cells = map_cells(cells, self.mounting, frames[0].max_value)
            frames = [replace(f, cells=c) for f, c in zip(frames, cells)]
        readings = self.analyzer.process_batch(t, cells)
        loads = self._tap.take_stack()
        self._add_sit_bones(readings, loads)
        if not self.mounting_check.done:
            self.mounting_check.observe(t, cells, frames[0].max_value, loads, [r.present for r in readings])
        update = self.tracker.update
        return [EngineStep(f, r, update(r)) for f, r in zip(frames, readings, strict=True)]
