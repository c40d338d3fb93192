"""What every sink is handed, and what every sink does with it.

`CushionStep` is one frame's complete step through one cushion's engine
(`monitor.runtime.engine.CushionEngine`): the frame, its calibrated load (what the dashboard's
heatmap draws), the reading (with the typed sit-bone peaks and loads) and the tracker's update
(state, reminders, spells, breaks). The daemon hands each step to each of its `Sink`s, in
order: the store, the SSE broadcaster, the fleet feed, the desktop notifier, the MQTT publisher, the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


class Sink(Protocol):
    """Where steps go. Every method runs on the daemon's event loop: none may block on I/O
    (a sink with slow I/O hands it to its own thread, as the store and MQTT do). An exception
    is logged and counted by the daemon; the other sinks and analysis go on."""

    #: what logs and health call this sink ("store", "sse", "fleet", "desktop", "mqtt", "recorder")
    name: str

    def handle(self, step: CushionStep) -> None:
        """Take one step of one cushion (steps of a cushion come in frame order)."""

    def tick(self) -> None:
        """After each run of steps, and every few seconds while none come: send or flush
        what was held back (a rate-limited state event, buffered recording bytes)."""

    def close(self) -> None:
        """At shutdown, after the last step: write out and release what is held. Idempotent."""

    def health(self) -> dict[str, Any]:
        """Counters for /healthz (may be empty)."""
