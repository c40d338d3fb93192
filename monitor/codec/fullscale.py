"""The one full-scale (max_value) policy, for every input: what a reading of a cushion means.

A cushion's full scale comes, in this order, from what the cushion says about itself (a binary
hello, a recording or MQTT header: `announce`), from the wire (an 8-bit binary packet cannot
exceed 255), or from the configuration (`serial.max_value`, default 4095). Readings that do
not fit the scale in use are never dropped in silence:

* a configured value the user did not set (the default) is a guess: the first reading above it
  replaces it at once with the smallest usual full scale that holds the reading (255, 1023,
  4095, 65535 ...), with a warning;
* a value the user set (`--max-value 1023` on a 12-bit cushion) is trusted a little longer:
  frames above it are dropped as `out_of_range` and counted, and the first one says so at
  WARNING with the fix; once ADOPT_AFTER frames have gone above it the readings win: their
  scale is adopted, said again at WARNING with the setting to change;
* a cushion that announces one scale while the configuration names another is read at the
  announced scale, with a warning naming the setting.

`notice()` is what /healthz, the dashboard and `sitwell doctor` show: the scale in use, where
it came from, and for a mismatch the warning and the fix in words.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Full scales of the usual ADCs (and the 0-9 digit cushions); a reading is put on the smallest
# of these that holds it.
USUAL_SCALES = (9, 255, 1023, 4095, 65535)
# Frames above a full scale the user set before the readings win over it.
ADOPT_AFTER = 5


def scale_for(reading: int) -> int:
    """The smallest usual full scale that holds `reading`."""
    for scale in USUAL_SCALES:
        if reading <= scale:
            return scale
    return 65535


@dataclass(frozen=True, slots=True)
class FullScaleNotice:
    """What a person is told about one cushion's full scale."""

    in_use: int
    source: str  # "config" | "default" | "hello" | "wire" | "readings"
    configured: int
    warning: str | None = None
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"in_use": self.in_use, "source": self.source, "configured": self.configured,
                "warning": self.warning, "fix": self.fix}


class FullScale:
    """One cushion's full scale; `check(top)` per frame says the scale to read it at, or None
    (drop it as out_of_range). Thread-safe: an input thread checks, the web thread reads."""

    def __init__(self, configured: int, explicit: bool, cushion: str = "cushion", setting: str = "serial.max_value",
                 flag: str | None = "--max-value", fix_hint: str | None = None) -> None:
        self.configured = int(configured)
        self.explicit = bool(explicit)
        self.cushion = cushion
        self._setting = setting
        self._flag = flag
        self._fix_hint = fix_hint
        self.in_use = self.configured
        self.source = "config" if explicit else "default"
        self.above = 0  # frames seen above the scale in use (while it was the user's)
        self.top_seen = 0
        self._warning: str | None = None
        self._fix: str | None = None
        self._announced: int | None = None
        self._lock = threading.Lock()

    def _set_fix(self, scale: int) -> str:
        if self._fix_hint:
            return self._fix_hint.format(scale=scale)
        how = f"set {self._setting} = {scale}"
        if self._flag:
            how += f" (or {self._flag} {scale})"
        return how + ", or leave it unset: the cushion's own hello or readings set it"

    def announce(self, max_value: int) -> None:
        """The cushion says its full scale (a hello or header)."""
        with self._lock:
            max_value = int(max_value)
            if max_value == self._announced:
                return  # said again (a retained or periodic hello): what was decided stands
            self._announced = max_value
            self.in_use, self.source, self.above = max_value, "hello", 0
            if self.explicit and max_value != self.configured:
                self._warning = (f"cushion {self.cushion} reports full scale {max_value}, but {self._setting} is "
                                 f"{self.configured}; reading it at {max_value}")
                self._fix = self._set_fix(max_value)
                log.warning("%s; to silence this, %s", self._warning, self._fix)
            else:
                self._warning = self._fix = None

    def check(self, top: int, wire_max: int | None = None) -> int | None:
        """The full scale to read a frame whose highest reading is `top` at, or None to drop it.

        `wire_max`: what the wire format allows at most (255 for an 8-bit binary packet)."""
        with self._lock:
            self.top_seen = max(self.top_seen, top)
            scale = self.in_use
            if wire_max is not None and self.source in ("config", "default") and wire_max < scale:
                scale = wire_max  # an 8-bit packet: its own full scale
            if top <= scale:
                return scale
            self.above += 1
            new = scale_for(top)
            if self.source in ("config", "hello") and self.above < ADOPT_AFTER:
                if self.above == 1:
                    self._warning = (
                        f"cushion {self.cushion}: readings up to {top} are above the full scale "
                        f"{scale} ({self._setting if self.source == 'config' else 'its hello'}); "
                        f"such frames are dropped as out_of_range until "
                        f"{ADOPT_AFTER} have come, then full scale {new} is taken from the readings"
                    )
                    self._fix = self._set_fix(new)
                    log.warning("%s; fix: %s", self._warning, self._fix)
                return None
            was, self.in_use, self.source, self.above = scale, new, "readings", 0
            self._warning = (f"cushion {self.cushion}: readings up to {top} do not fit the full scale {was}; "
                             f"reading it at {new}, the scale its readings show")
            self._fix = self._set_fix(new)
            log.warning("%s; to make it stick, %s", self._warning, self._fix)
            return new

    def notice(self) -> FullScaleNotice:
        with self._lock:
            return FullScaleNotice(self.in_use, self.source, self.configured, self._warning, self._fix)
