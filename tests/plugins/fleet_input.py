"""Many cushions for the dashboard's fleet tests: a real FrameInput handing the real daemon
frames of N cushions, played from firmware_sim's "tour" scenario (every posture in turn).

Each cushion starts on a few empty frames (calibration learns the empty seat), then plays
the tour from its own place in it, so at any time the cushions sit in different postures;
every fourth one stays empty. To keep 1,000 cushions within a test machine's CPU, each cushion
sends one frame every `period_s` wall seconds, its frame time moving `step_s` per frame
(frame time runs step_s / period_s times the wall clock); the frames of one period are
spread over it in small bursts, as independent cushions' frames would be.

`fleet_daemon(n)`: the real Daemon and dashboard (tests/plugins/browser.py InProcessDaemon)
reading N such cushions, with the daemon's cushion limit raised to N.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from firmware_sim import Simulator
from monitor.model import Frame
from monitor.transport.base import Emit, FrameInput, InputHealth

EMPTY_FRAMES = 3
BURSTS_PER_PERIOD = 20
# rules that raise reminders within a short test (frame time runs 5x the wall clock)
FLEET_RULES = {"rules.sit_limit_min": 5, "rules.uneven_after_s": 5, "rules.crossed_after_s": 5,
               "rules.slouch_after_s": 5, "rules.cooldown_min": 2}


def cushion_names(n: int) -> list[str]:
    return [f"desk-{i:04d}" for i in range(1, n + 1)]


def tour_cells(step_s: float) -> list[np.ndarray]:
    """The tour's frames, one every step_s seconds of frame time."""
    sim = Simulator("tour", rate_hz=1.0, seed=3, cushion="fleet")
    every = max(1, round(step_s))
    return [f.cells for i, f in enumerate(sim.frames()) if i % every == 0]


class FleetInput(FrameInput):
    kind = "fleet"

    def __init__(self, n: int, period_s: float = 2.0, step_s: float = 10.0) -> None:
        self.names = cushion_names(n)
        self.period_s = period_s
        self.step_s = step_s
        self.cells = tour_cells(step_s)
        self.healths = {name: InputHealth("fleet", name) for name in self.names}
        self._stop = threading.Event()
        self.silenced: set[str] = set()  # cushions that send nothing now (as if unplugged)
        self._thread: threading.Thread | None = None
        self.sent = 0

    def _cells(self, i: int, k: int) -> np.ndarray:
        if k < EMPTY_FRAMES or i % 4 == 3:
            return self.cells[k % EMPTY_FRAMES]
        playing = len(self.cells) - EMPTY_FRAMES
        return self.cells[EMPTY_FRAMES + (i * 7 + k - EMPTY_FRAMES) % playing]

    def start(self, emit: Emit) -> None:
        for h in self.healths.values():
            h.set_connected(True)

        def run() -> None:
            k = 0
            chunk = max(1, len(self.names) // BURSTS_PER_PERIOD)
            next_burst = time.monotonic()
            while not self._stop.is_set():
                for start in range(0, len(self.names), chunk):
                    for i in range(start, min(start + chunk, len(self.names))):
                        name = self.names[i]
                        if name in self.silenced:
                            continue
                        emit(Frame(name, k * self.step_s, self._cells(i, k), 4095, k))
                        self.healths[name].frame()
                        self.sent += 1
                    next_burst += self.period_s / BURSTS_PER_PERIOD
                    if self._stop.wait(max(0.0, next_burst - time.monotonic())):
                        return
                k += 1

        self._thread = threading.Thread(target=run, name="fleet-input", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def health(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in self.healths.values()]


@pytest.fixture
def fleet_daemon(tmp_path):
    """Factory: fleet_daemon(n, **app_kwargs) -> InProcessDaemon with `fleet_input` (FleetInput)."""
    from tests.plugins.browser import InProcessDaemon

    started: list[InProcessDaemon] = []

    def start(n: int, period_s: float = 2.0, **app_kwargs: Any) -> InProcessDaemon:
        workdir = tmp_path / f"fleet{len(started)}"
        workdir.mkdir()
        frame_input = FleetInput(n, period_s=period_s)
        d = InProcessDaemon(workdir, dict(FLEET_RULES), app_kwargs, frame_input=frame_input, max_cushions=n)
        d.fleet_input = frame_input  # type: ignore[attr-defined]
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()
