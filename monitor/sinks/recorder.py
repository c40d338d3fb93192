"""`--record FILE`: keep the raw frames of one cushion as a recording (CONTRACT section 4).

Raw frames are kept only when asked for. A full disk loses frames whole (counted, logged);
analysis goes on either way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from monitor.codec.recording import RecordingWriter
from monitor.model import DeviceInfo, Frame
from monitor.sinks.base import CushionStep

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 5.0  # wall time: a crash loses at most about this much of the recording


class RawRecorder:
    """Records the first cushion it sees; the header takes that cushion's grid.

    A sink (monitor.sinks.base.Sink): the raw frame of every step of that cushion."""

    name = "recorder"

    def __init__(self, path: Path):
        self.path = path
        self.cushion: str | None = None
        self._writer: RecordingWriter | None = None
        self.lost_frames = 0
        self._flushed = time.monotonic()

    def handle(self, step: CushionStep) -> None:
        self.write(step.frame)

    def tick(self) -> None:
        if time.monotonic() - self._flushed >= FLUSH_EVERY_S:
            self.flush()

    def health(self) -> dict[str, Any]:
        return {"path": str(self.path), "cushion": self.cushion, "lost_frames": self.lost_frames}

    def write(self, frame: Frame) -> None:
        if self.cushion is None:
            self.cushion = frame.cushion
            rows, cols = frame.shape
            device = DeviceInfo(device=frame.cushion, rows=rows, cols=cols, max_value=frame.max_value)
            try:
                self._writer = RecordingWriter(self.path, device, frame.cushion)
            except OSError as exc:
                log.error("cannot record to %s: %s (analysis goes on without recording)", self.path, exc)
                return
            log.info("recording raw frames of %s to %s", frame.cushion, self.path)
        if self._writer is not None and frame.cushion == self.cushion:
            self._writer.write(frame)
            self._check()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        if self._writer is not None:
            self._writer.flush()
            self._check()

    def _check(self) -> None:
        assert self._writer is not None
        lost = self._writer.lost_frames
        if lost != self.lost_frames:
            if self.lost_frames == 0 or lost // 1000 != self.lost_frames // 1000:
                log.error(
                    "recording to %s failed (%d frames lost so far): %s", self.path, lost, self._writer.last_error
                )
            self.lost_frames = lost

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._check()
