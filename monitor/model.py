"""Plain data types passed between the layers of the data path.

transport (bytes) -> codec (Frame, DeviceInfo) -> calibration (CalibratedFrame)
-> analysis (SeatReading) -> tracker (CushionState, Reminder, Spell) -> sinks.

Every layer imports from here, and from no layer further down the path.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

POSTURES: tuple[str, ...] = (
    "empty",
    "upright",
    "lean_left",
    "lean_right",
    "cross_left",
    "cross_right",
    "slouch",
    "forward",
)
SEATED_POSTURES: tuple[str, ...] = POSTURES[1:]

REMINDER_KINDS: tuple[str, ...] = ("sit_too_long", "uneven_load", "crossed_legs", "slouching")

CUSHION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_GRID, MAX_GRID = 4, 64


def valid_cushion_id(name: str) -> bool:
    return bool(CUSHION_ID_RE.match(name))


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a cushion says about itself (binary hello packet, recording header, config)."""

    device: str = "cushion-1"
    rows: int = 16
    cols: int = 16
    max_value: int = 4095
    rate_hz: float | None = None
    fw: str | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One scan of the cushion as it came off the wire: raw readings, frame time.

    `t` is seconds in the cushion's own time base (device clock or recording `t`);
    every rule downstream runs on it, never on the wall clock.
    """

    cushion: str
    t: float
    cells: np.ndarray  # (rows, cols), integer, raw readings incl. offsets and dead cells
    max_value: int
    seq: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.cells.shape


class DropCounter(Counter):
    """Dropped input counted by reason ("bad_crc", "bad_length", "garbage_line", ...)."""

    def drop(self, reason: str, n: int = 1) -> None:
        self[reason] += n

    @property
    def total(self) -> int:  # type: ignore[override]
        return sum(self.values())


@dataclass(slots=True)
class CalibratedFrame:
    """A frame after tare and dead-cell masking.

    `load` is in units of the sensor's full scale (0..~1 per cell), offsets removed,
    masked cells filled from their neighbours; `mask` is True where a cell is trusted.
    """

    cushion: str
    t: float
    load: np.ndarray  # float32 (rows, cols)
    mask: np.ndarray  # bool (rows, cols)
    raw: np.ndarray | None = None


@dataclass(slots=True)
class SeatReading:
    """What analysis says about one frame (before the tracker's debounce)."""

    t: float
    present: bool  # load above the occupancy threshold right now (level hysteresis only)
    posture: str  # one of POSTURES; "empty" when not present
    left_share: float | None  # CONTRACT section 5; None when not present
    total_load: float = 0.0
    confidence: float = 0.0
    features: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CushionState:
    """The tracker's view of one cushion at frame time `t` (what /api/status serves)."""

    cushion: str
    t: float
    occupied: bool
    posture: str
    left_share: float | None
    spell_s: float  # seconds of the current spell, 0 when none
    spell_start: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "cushion": self.cushion,
            "t": round(self.t, 3),
            "occupied": self.occupied,
            "posture": self.posture,
            "left_share": None if self.left_share is None else round(self.left_share, 4),
            "spell_s": round(self.spell_s, 1),
        }


@dataclass(slots=True)
class Spell:
    cushion: str
    start: float
    end: float | None = None  # None while it lasts

    @property
    def seconds(self) -> float:
        return 0.0 if self.end is None else self.end - self.start


@dataclass(slots=True)
class Reminder:
    """CONTRACT section 6 reminder object."""

    id: str
    cushion: str
    kind: Literal["sit_too_long", "uneven_load", "crossed_legs", "slouching"]
    t: float
    at: str  # ISO-8601
    message: str
    spell_s: float
    acknowledged: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        d = {
            "id": self.id,
            "cushion": self.cushion,
            "kind": self.kind,
            "t": round(self.t, 3),
            "at": self.at,
            "message": self.message,
            "spell_s": round(self.spell_s, 1),
            "acknowledged": self.acknowledged,
        }
        d.update(self.extra)
        return d
