"""The one device-clock policy: a cushion's own time (from the wire, untrusted) -> frame time.

Serial and MQTT inputs both use `DeviceClock`; frame time drives the rules (spells, breaks,
reminders) and, through the epoch fixed at a cushion's first frame, every date sitwell
shows or stores. So one frame's time must never cost more than a frame's work nor move a
cushion's clock where no date can follow. The policy:

- Frame time never runs backwards.
- A step forward is taken as it comes (the device's clock knows best how long it was away:
  a 3 h jump is a 3 h break) as long as frame time stays at most `max_lead_s` (1 day) ahead
  of the host's clock since the cushion's clock base (times `speed` for a cushion that
  plays faster than real time, e.g. the simulator). A u32 millisecond clock (`wrap`) wraps
  after 49.7 days: a step back by more than half the range is a wrap only if the step it
  stands for is within that bound, so fake wraps cannot push dates into later centuries.
- Anything else is a reconnect, as for a rebooted cushion: a new clock base, and frame
  time moves on by the host's elapsed time since the last frame, so a long outage is a
  real gap for the spell logic and a short glitch is not. This covers a clock that jumps
  back (reboot), one that leaps ahead (t = 1e11 from a bad frame or a forged message) and
  the fake wraps. Logged at INFO (the log filter collapses repeats).
- A step back of at most `stale_s` is a stale frame (a QoS 1 redelivery, reordering):
  `to_t` answers None and the caller drops it as `stale` (MQTT uses 1 s; serial, which
  cannot reorder, 0).
- A first frame whose time is negative or beyond `FIRST_T_MAX` (no date can be
  `now - t`) starts frame time at 0 instead: the cushion is analysed all the same.

The host clock is CLOCK_BOOTTIME where there is one (it counts a laptop's suspend, which
CLOCK_MONOTONIC does not), so a cushion that slept with the laptop still shows the gap.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_LEAD_S = 86_400.0  # frame time may run ahead of the host's clock by at most a day
FIRST_T_MAX = 2.0**32  # s (136 years): a first frame later than this cannot date `now - t`
U32_MS_WRAP_S = (1 << 32) / 1000.0  # the binary codec's device_ms wraps after 49.7 days


def host_seconds() -> float:
    """Seconds on the host's clock that counts suspend (CLOCK_BOOTTIME), else monotonic."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        return time.clock_gettime(boottime)
    return time.monotonic()


class DeviceClock:
    """Device seconds -> frame time for one cushion (see the module docstring)."""

    def __init__(
        self,
        name: str = "cushion",
        *,
        stale_s: float = 0.0,
        max_lead_s: float = MAX_LEAD_S,
        speed: float = 1.0,
        wall: Callable[[], float] = host_seconds,
    ) -> None:
        self.name = name
        self.stale_s = stale_s
        self.max_lead_s = max_lead_s
        self.speed = speed
        self._wall = wall
        self.last_raw: float | None = None  # the device's own time of the last frame taken
        self.last_t: float | None = None  # its frame time
        self._last_wall = 0.0
        self._base_t = 0.0  # frame time and host time at the clock base (first frame, reconnect)
        self._base_wall = 0.0
        self.reconnects = 0  # jumps treated as a reconnect (for health and tests)

    def to_t(self, raw: float, wrap: float | None = None) -> float | None:
        """Frame time for device time `raw` (seconds; `wrap`: the period it wraps at, if
        any), or None for a stale frame or a time that is no number."""
        if not math.isfinite(raw):
            return None
        now = self._wall()
        if self.last_raw is None or self.last_t is None:
            t = raw if 0.0 <= raw <= FIRST_T_MAX else 0.0
            if t != raw:
                log.info("%s: first device time %.6g s cannot date a frame; frame time starts at 0", self.name, raw)
            self._rebase(t, now)
        else:
            step = raw - self.last_raw
            if wrap is not None and step < -wrap / 2:
                step += wrap * math.ceil(-step / wrap)  # across the wrap, if within the bound below
            if -self.stale_s <= step < 0:
                return None
            t = self.last_t + step
            if step < 0 or t - self._base_t > (now - self._base_wall) * self.speed + self.max_lead_s:
                gap = max(0.0, now - self._last_wall) * self.speed
                self.reconnects += 1
                log.info("%s: device clock %s %.6g s (%s); taken as a reconnect, frame time moves on by the"
                         " host's %.1f s", self.name, "went back" if step < 0 else "leapt ahead", abs(step),
                         "reboot?" if step < 0 else "more than a day ahead of the host", gap)
                t = self.last_t + gap
                self._rebase(t, now)
        self.last_raw, self.last_t, self._last_wall = raw, t, now
        return t

    def seconds(self, device_ms: int) -> float:
        """The binary codec's u32 milliseconds -> frame time (never stale: `stale_s` 0 takes
        every backward step as a reboot)."""
        t = self.to_t(device_ms / 1000.0, wrap=U32_MS_WRAP_S)
        return t if t is not None else (self.last_t or 0.0)

    def _rebase(self, t: float, now: float) -> None:
        self._base_t, self._base_wall = t, now
