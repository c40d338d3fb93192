"""One cushion's path from frames to states and reminders.

The daemon and `sitwell analyze` both run frames through a CushionEngine, so what the
offline analysis reports is exactly what the daemon would have done. Each frame comes out
as one `CushionStep` (monitor/sinks/base.py): frame, calibrated load, reading, tracker update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from monitor.analysis.seat import SeatAnalyzer
from monitor.analysis.sitbones import sit_bone_loads
from monitor.config.settings import AnalysisConfig, RulesConfig
from monitor.model import DeviceInfo, Frame, SeatReading
from monitor.sinks.base import CushionStep
from monitor.tracker.tracker import CushionTracker


class CushionEngine:
    """Calibration -> analysis -> sit-bone loads -> tracker, for one cushion (one grid)."""

    def __init__(
        self,
        cushion: str,
        device: DeviceInfo,
        rules: RulesConfig,
        analysis: AnalysisConfig,
        epoch: datetime,
        tracker: CushionTracker | None = None,
    ):
        self.cushion = cushion
        self.device = device
        self.analyzer = SeatAnalyzer(device, analysis)
        self.tracker = tracker or CushionTracker(cushion, rules, epoch)

    def _add_sit_bones(self, readings: list[SeatReading], loads: np.ndarray) -> None:
        """The sit-bone dose needs the load under each sit bone: see monitor/analysis/sitbones.py."""
        peaks = [r.peaks if r.present else None for r in readings]
        for reading, pair in zip(readings, sit_bone_loads(loads, peaks, self.analyzer.geometry)):
            if pair is not None:
                reading.sitbone_load = (pair[0], pair[1])

    def process(self, frame: Frame) -> CushionStep:
        cal = self.analyzer.calibrator.process(frame)
        reading = self.analyzer.analyze_frame(cal)
        self._add_sit_bones([reading], cal.load[None])
        return CushionStep(frame, cal.load, reading, self.tracker.update(reading))

    def process_batch(self, frames: Sequence[Frame]) -> list[CushionStep]:
        """Same results as calling process() on each frame; analysis is vectorised."""
        if not frames:
            return []
        t = np.fromiter((f.t for f in frames), dtype=np.float64, count=len(frames))
        cells = np.stack([f.cells for f in frames])
        cal = self.analyzer.calibrator.process_batch(t, cells)
        readings = self.analyzer.analyze(cal)
        self._add_sit_bones(readings, cal.load)
        update = self.tracker.update
        return [CushionStep(f, load, r, update(r)) for f, load, r in zip(frames, cal.load, readings)]
