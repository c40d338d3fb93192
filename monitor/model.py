"""Plain data types passed between the layers of the data path.

transport (bytes) -> codec (Frame, DeviceInfo) -> calibration (CalibratedFrame, CalibratedBatch)
-> analysis (SeatReading, SitBonePeaks) -> tracker (CushionState, Reminder, Spell) -> sinks.

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

# fullmatch, not match with `$`: `$` also matches before a trailing newline ("desk-1\n").
CUSHION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_GRID, MAX_GRID = 4, 64


def valid_cushion_id(name: str) -> bool:
    return isinstance(name, str) and CUSHION_ID_RE.fullmatch(name) is not None


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
    noise: float = 0.0  # median per-cell noise (full-scale units) after this frame
    gamma: float = 1.0  # the cushion's linearising exponent after this frame (calibration/response.py)


@dataclass(slots=True)
class CalibratedBatch:
    """Frames after calibration, as one stack: what `Calibrator.process_batch` gives.

    `load[i]` is what `Calibrator.process` would have given as frame i's `CalibratedFrame.load`;
    `noise[i]` is the noise floor after frame i, `gamma[i]` the cushion's linearising exponent
    after it (None: 1 for every frame).
    """

    t: np.ndarray  # float64 (n,), frame times
    load: np.ndarray  # float32 (n, rows, cols)
    noise: np.ndarray  # float32 (n,)
    gamma: np.ndarray | None = None  # float32 (n,)

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True, slots=True)
class SitBonePeaks:
    """The two sit-bone load peaks analysis found, in cell coordinates (row, col), rounded to 0.01."""

    left: tuple[float, float]
    right: tuple[float, float]

    def as_json(self) -> list[list[float]]:
        """[[row, col] left, [row, col] right]: what the dashboard draws."""
        return [list(self.left), list(self.right)]


@dataclass(slots=True)
class SeatReading:
    """What analysis says about one frame (before the tracker's debounce)."""

    t: float
    present: bool  # load above the occupancy threshold right now (level hysteresis only)
    posture: str  # one of POSTURES; "empty" when not present
    left_share: float | None  # CONTRACT section 5; None when not present
    total_load: float = 0.0
    confidence: float = 0.0
    features: dict[str, Any] = field(default_factory=dict)  # the reported features, rounded
    peaks: SitBonePeaks | None = None  # None when analysis found no two peaks
    # [left, right] load within 4 cm of each peak (full-scale units), while present; the
    # sit-bone dose integrates it (monitor/analysis/sitbones.py, monitor/tracker/dose.py)
    sitbone_load: tuple[float, float] | None = None


@dataclass(slots=True)
class CushionState:
    """The tracker's view of one cushion at frame time `t` (what /api/status serves).

    `as_json` is the one writer of the state JSON; the other forms are built from it:
    `status_json` (/api/status, CONTRACT section 8) and `second_json` (a `sitwell analyze`
    state line, CONTRACT section 7)."""

    cushion: str
    t: float
    occupied: bool
    posture: str
    left_share: float | None
    spell_s: float  # seconds of the current spell, 0 when none
    spell_start: float | None = None

    @classmethod
    def idle(cls, cushion: str) -> CushionState:
        """A cushion nothing is known of yet: an empty seat."""
        return cls(cushion=cushion, t=0.0, occupied=False, posture="empty", left_share=None, spell_s=0.0)

    def as_json(self) -> dict[str, Any]:
        """The MQTT `<prefix>/<cushion>/state` payload (CONTRACT section 3)."""
        return {
            "cushion": self.cushion,
            "t": round(self.t, 3),
            "occupied": self.occupied,
            "posture": self.posture,
            "left_share": None if self.left_share is None else round(self.left_share, 4),
            "spell_s": round(self.spell_s, 1),
        }

    def status_json(self, connected: bool, last_frame_age_s: float | None) -> dict[str, Any]:
        """An /api/status entry: the state without its frame time, with the input's view."""
        out = self.as_json()
        del out["t"]
        out["connected"] = connected
        out["last_frame_age_s"] = last_frame_age_s
        return out

    def second_json(self, second: int) -> dict[str, Any]:
        """A `sitwell analyze` state line for whole second `second`: posture and left_share
        only while the seat is occupied (the tracker's debounce, not the raw reading)."""
        j = self.as_json()
        occupied = j["occupied"]
        return {
            "type": "state",
            "t": second,
            "occupied": occupied,
            "posture": j["posture"] if occupied else "empty",
            "left_share": j["left_share"] if occupied else None,
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
