"""The simulated cushion: firmware_sim's frames as wire bytes, read like a real cushion's.

This is what `sitwell run` reads when no serial port or broker is configured, so a new user
sees the whole system work before buying hardware. As OctoPrint's virtual printer plugs in
below the protocol, the simulator plugs in below the codec: `VirtualCushion` is a serial port
whose bytes are what a real cushion's firmware sends (a hello, then COBS-framed binary
packets with the device's millisecond clock, from firmware_sim's own wire encoder), each
readable once its time has come (frame time / speed). `SimulatedInput` is the serial input
reading that port, so the simulated frames pass the same binary decoder, device clock,
full-scale policy and health counting as a cushion on a USB port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from firmware_sim import Simulator, load_scenario
from firmware_sim.scenario import Scenario, ScenarioError
from firmware_sim.wire import WireEncoder
from monitor.config.settings import SimConfig
from monitor.transport.device_clock import DeviceClock
from monitor.transport.serial_port import READ_TIMEOUT_S, SerialInput

log = logging.getLogger(__name__)

# At --speed X the cushion would scan X times its rate per wall second; above this many
# frames per wall second the simulated scan rate is lowered (in frame time) instead, so a
# fast demo does not starve the machine.
MAX_WALL_FPS = 100.0


class VirtualCushion:
    """A simulated cushion behind a serial port: the part of pyserial's port that SerialInput uses
    (`in_waiting`, `read`, `cancel_read`, `close`). The scenario plays again with the next seed when
    it ends, its clock running on."""

    def __init__(self, config: SimConfig, scenario: Scenario, cushion: str, rate_hz: float,
                 read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self.config = config
        self.scenario = scenario
        self.cushion = cushion
        self.rate_hz = rate_hz
        self.speed = config.speed
        self.read_timeout_s = read_timeout_s
        self._wall0 = time.monotonic()
        self._cancel = threading.Event()
        self._buf = bytearray()
        self._wire = self._bytes()
        self._next: tuple[float, bytes] | None = next(self._wire)
        self.closed = False

    def _simulator(self, seed: int) -> Simulator:
        c = self.config
        return Simulator(self.scenario, rows=c.rows, cols=c.cols, rate_hz=self.rate_hz, seed=seed, cushion=self.cushion)

    def _bytes(self) -> Iterator[tuple[float, bytes]]:
        """(frame time, the bytes the firmware sends then), for ever."""
        seed = self.config.seed
        sim = self._simulator(seed)
        encoder = WireEncoder("binary", sim.device_info())
        yield 0.0, encoder.hello()  # what a device sends when it starts
        t_offset = 0.0
        while True:
            last_t = t_offset
            for sf in sim.frames():
                t = t_offset + sf.t
                yield t, encoder.frame(encoder.payload(sf.cells, sf.seq, t))
                last_t = t
            # play the scenario again with another seed, time running on
            seed += 1
            t_offset = last_t + 1.0 / self.rate_hz
            log.info("simulated scenario %r finished; playing it again (seed %d)", self.config.scenario, seed)
            sim = self._simulator(seed)

    def _due(self, t: float) -> float:
        return self._wall0 + t / self.speed

    def _pull(self) -> None:
        """Move every packet whose time has come into the port's buffer."""
        now = time.monotonic()
        while self._next is not None and self._due(self._next[0]) <= now:
            self._buf += self._next[1]
            self._next = next(self._wire)

    @property
    def in_waiting(self) -> int:
        self._pull()
        return len(self._buf)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes; waits up to the read timeout for the next packet, as a port does."""
        self._pull()
        if not self._buf and self._next is not None:
            wait = min(self.read_timeout_s, self._due(self._next[0]) - time.monotonic())
            if wait > 0 and self._cancel.wait(wait):
                self._cancel.clear()
                return b""
            self._pull()
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def cancel_read(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self.closed = True


def scenario_problem(name: str) -> str | None:
    """Why `name` is not a scenario the simulated cushion can play, in words; None when it is."""
    try:
        load_scenario(name)
    except ScenarioError as exc:
        return str(exc)
    return None


class SimulatedInput(SerialInput):
    """The serial input, reading a `VirtualCushion` instead of a device file."""

    kind = "sim"

    def __init__(self, config: SimConfig, cushion: str = "cushion-1", gather_s: float = 0.0):
        self.config = config
        self.scenario = load_scenario(config.scenario)  # fail early on a bad name
        self.speed = config.speed
        self.rate_hz = min(config.rate_hz, max(1.0, MAX_WALL_FPS / self.speed))
        if self.rate_hz < config.rate_hz:
            log.info("simulated cushion scans at %.2f Hz (frame time) to play %gx faster", self.rate_hz, self.speed)
        super().__init__(port=f"sim:{config.scenario}", codec="binary", rows=config.rows, cols=config.cols,
                         cushion=cushion, gather_s=gather_s)
        self._health.input = "sim"
        # The virtual cushion's clock runs `speed` times the host's: the policy's lead bound must know.
        self._clock = DeviceClock(f"sim {config.scenario}", speed=self.speed)
        self._port: VirtualCushion | None = None

    def _open_port(self) -> VirtualCushion:  # type: ignore[override]
        # One cushion for the life of the input: a reopen (after a read error) carries on
        # where it was, as a real cushion's clock does across a USB glitch.
        if self._port is None:
            self._port = VirtualCushion(self.config, self.scenario, self.cushion, self.rate_hz)
        return self._port
