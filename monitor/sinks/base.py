"""What every sink is handed, and what every sink does with it.

`CushionStep` is one frame's complete step through one cushion's engine
(`monitor.runtime.engine.CushionEngine`): the frame, its calibrated load (what the dashboard's
heatmap draws), the reading (with the typed sit-bone peaks and loads) and the tracker's update
(state, reminders, spells, breaks). The daemon hands each step to each of its sinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.model import CushionState, Frame, Reminder, SeatReading
from monitor.tracker.tracker import TrackerUpdate


@dataclass(slots=True)
class CushionStep:
    """One frame of one cushion, all the way through analysis and the tracker."""

    frame: Frame
    load: np.ndarray  # float32 (rows, cols): the calibrated load analysis ran on (full-scale units)
    reading: SeatReading
    update: TrackerUpdate

    @property
    def cushion(self) -> str:
        return self.frame.cushion

    @property
    def state(self) -> CushionState:
        return self.update.state

    @property
    def reminders(self) -> list[Reminder]:
        return self.update.reminders
