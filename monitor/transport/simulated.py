"""The in-process simulated cushion: firmware_sim frames, paced in (scaled) real time.

This is what `sitwell run` reads when no serial port or broker is configured, so a new user
sees the whole system work before buying hardware.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from firmware_sim import Simulator, load_scenario
from monitor.config.settings import SimConfig
from monitor.model import DeviceInfo, Frame
from monitor.transport.base import Emit, FrameInput, InputHealth

log = logging.getLogger(__name__)

# At --speed X the cushion would scan X times its rate per wall second; above this many
# frames per wall second the simulated scan rate is lowered (in frame time) instead, so a
# fast demo does not starve the machine.
MAX_WALL_FPS = 100.0


class SimulatedInput(FrameInput):
    kind = "sim"

    def __init__(self, config: SimConfig, cushion: str = "cushion-1", loop_scenario: bool = True):
        self.config = config
        self.cushion = cushion
        self.loop_scenario = loop_scenario
        self._health = InputHealth("sim", cushion)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scenario = load_scenario(config.scenario)  # fail early on a bad name
        self.speed = config.speed
        self.rate_hz = min(config.rate_hz, max(1.0, MAX_WALL_FPS / self.speed))
        if self.rate_hz < config.rate_hz:
            log.info("simulated cushion scans at %.2f Hz (frame time) to play %gx faster", self.rate_hz, self.speed)

    def _simulator(self, seed: int) -> Simulator:
        c = self.config
        return Simulator(self.scenario, rows=c.rows, cols=c.cols, rate_hz=self.rate_hz, seed=seed)

    def start(self, emit: Emit) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(emit,), name="sim-input", daemon=True)
        self._thread.start()

    def _run(self, emit: Emit) -> None:
        seed = self.config.seed
        t_offset = 0.0
        wall0 = time.monotonic()
        self._health.set_connected(True)
        while not self._stop.is_set():
            sim = self._simulator(seed)
            info = sim.device_info()
            self._health.set_device(
                DeviceInfo(
                    device=self.cushion,
                    rows=info["rows"],
                    cols=info["cols"],
                    max_value=info["max_value"],
                    rate_hz=info.get("rate_hz"),
                    fw=info.get("fw"),
                )
            )
            max_value = int(info["max_value"])
            last_t = t_offset
            for sf in sim.frames():
                t = t_offset + sf.t
                delay = wall0 + t / self.speed - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                if self._stop.is_set():
                    break
                emit(Frame(self.cushion, t, sf.cells, max_value, sf.seq))
                self._health.frame()
                last_t = t
            if not self.loop_scenario:
                break
            # play the scenario again with another seed, time running on
            seed += 1
            t_offset = last_t + 1.0 / self.rate_hz
            log.info("simulated scenario %r finished; playing it again (seed %d)", self.config.scenario, seed)
        self._health.set_connected(False, "simulation stopped")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def health(self) -> list[dict[str, Any]]:
        return [self._health.as_dict()]
