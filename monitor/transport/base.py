"""The interface every frame input shares (simulated, serial, MQTT).

An input runs in its own thread(s) — pyserial and paho are blocking/threaded — and hands
each decoded `Frame` to `emit`, which the daemon guarantees is thread-safe. Inputs never
raise on bad data: they count it by reason in their `InputHealth` and carry on.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.codec.fullscale import FullScale
from monitor.model import DeviceInfo, DropCounter, Frame

Emit = Callable[[Frame], None]


class FrameInput(ABC):
    """A source of frames for one or more cushions."""

    #: short kind name used in health dicts ("serial", "mqtt", "sim")
    kind: str = "input"
    #: how long the input lets bytes gather between reads: a frame may reach `emit` this late
    gather_s: float = 0.0

    @abstractmethod
    def start(self, emit: Emit) -> None:
        """Start reading in a background thread; call `emit(frame)` for every frame.

        Returns at once. Must not block the caller (usually the asyncio loop)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop reading and release the device; returns within about 1 s. Idempotent."""

    @abstractmethod
    def health(self) -> list[dict[str, Any]]:
        """One dict per cushion this input serves (see `InputHealth.as_dict`)."""

    def health_of(self, cushion: str) -> dict[str, Any] | None:
        """One cushion's dict of `health()`, or None; an input serving many cushions answers
        without building every other cushion's (the dashboard's state events ask per cushion)."""
        return next((h for h in self.health() if h.get("cushion") == cushion), None)


class LockedDropCounter(DropCounter):
    """A DropCounter a decoder can write from a reader thread while health() reads it.

    Decoders call `drop()`; the increment takes the lock so a concurrent snapshot
    (`dict(counter)` under the same lock via `snapshot()`) never sees a torn dict.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def drop(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self[reason] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self)


@dataclass
class InputHealth:
    """Thread-safe counters and status of one cushion on one input.

    The reader thread calls `frame()`, `drop()`, `set_connected()`, `set_device()`;
    the daemon thread calls `as_dict()` at any time.
    """

    input: str
    cushion: str
    connected: bool = False
    frames: int = 0
    error: str | None = None
    device: DeviceInfo | None = None
    # the cushion's full-scale policy (monitor/codec/fullscale.py): its notice is in as_dict
    full_scale: FullScale | None = None
    # pass `health.drops` to a decoder: it counts into the same locked counter
    drops: LockedDropCounter = field(default_factory=lambda: LockedDropCounter())
    _last_frame_mono: float | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def frame(self, n: int = 1) -> None:
        """Count `n` frames delivered now."""
        with self._lock:
            self.frames += n
            self._last_frame_mono = time.monotonic()

    def drop(self, reason: str, n: int = 1) -> None:
        self.drops.drop(reason, n)

    def set_connected(self, connected: bool, error: str | None = None) -> None:
        """Connected clears the error; disconnected keeps the given reason."""
        with self._lock:
            self.connected = connected
            self.error = None if connected else error

    def set_error(self, error: str | None) -> None:
        with self._lock:
            self.error = error

    def set_device(self, device: DeviceInfo | None) -> None:
        with self._lock:
            self.device = device

    @property
    def last_frame_age_s(self) -> float | None:
        with self._lock:
            last = self._last_frame_mono
        return None if last is None else max(0.0, time.monotonic() - last)

    def as_dict(self) -> dict[str, Any]:
        """{"input","cushion","connected","frames","drops","last_frame_age_s","error","device"}."""
        with self._lock:
            last = self._last_frame_mono
            device = self.device
            out: dict[str, Any] = {
                "input": self.input,
                "cushion": self.cushion,
                "connected": self.connected,
                "frames": self.frames,
                "drops": self.drops.snapshot(),
                "last_frame_age_s": None if last is None else round(max(0.0, time.monotonic() - last), 3),
                "error": self.error,
            }
        out["device"] = (
            None
            if device is None
            else {
                "device": device.device,
                "rows": device.rows,
                "cols": device.cols,
                "max_value": device.max_value,
                "rate_hz": device.rate_hz,
                "fw": device.fw,
            }
        )
        if self.full_scale is not None:
            out["full_scale"] = self.full_scale.notice().as_json()
        return out
