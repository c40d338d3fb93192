"""Mounting and wiring: raw readings of a cushion laid or wired wrong -> CONTRACT orientation.

The first step after the codec, before calibration. The settings name how the cushion IS
mounted, the same words `sitwell sim --mount/--invert` uses to make the fault, and this module
undoes it, so `--orientation rotate90` reads a cushion that `sitwell sim --mount rotate90`
turned:

| setting | the cushion as mounted (a = CONTRACT-oriented readings) | undone by |
|---|---|---|
| `orientation = rotate180` | turned round, front <-> back: `a[::-1, ::-1]` | the same flip |
| `orientation = rotate90` | a quarter turn: `np.rot90(a, 1)` | `np.rot90(x, -1)` |
| `orientation = rotate270` | a quarter turn the other way: `np.rot90(a, -1)` | `np.rot90(x, 1)` |
| `mirror = true` | left <-> right (laid face down, columns wired in reverse): `a[:, ::-1]` | the same flip |
| `invert = true` | lower = more pressure: `max_value - a` | the same |

The wrong mountings are composed as the simulator composes them: the mirror acts on the
CONTRACT-oriented cushion first, then the turn. A quarter turn of an R x C cushion delivers
C x R frames; the mapped frame is R x C again. Pure numpy views plus one copy: a few
microseconds a frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Orientation = Literal["normal", "rotate90", "rotate180", "rotate270"]
ORIENTATIONS: tuple[str, ...] = ("normal", "rotate90", "rotate180", "rotate270")


@dataclass(frozen=True, slots=True)
class Mounting:
    """How one cushion lies and is wired (what to undo)."""

    orientation: str = "normal"
    mirror: bool = False
    invert: bool = False

    def __post_init__(self) -> None:
        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {', '.join(ORIENTATIONS)}, not {self.orientation!r}")

    @property
    def is_normal(self) -> bool:
        return self.orientation == "normal" and not self.mirror and not self.invert

    @property
    def quarter_turn(self) -> bool:
        return self.orientation in ("rotate90", "rotate270")

    def wire_shape(self, rows: int, cols: int) -> tuple[int, int]:
        """The shape frames come in on the wire for a CONTRACT-oriented rows x cols cushion."""
        return (cols, rows) if self.quarter_turn else (rows, cols)

    def mapped_shape(self, rows: int, cols: int) -> tuple[int, int]:
        """The CONTRACT-oriented shape of frames that come in as rows x cols."""
        return (cols, rows) if self.quarter_turn else (rows, cols)

    def as_json(self) -> dict[str, Any]:
        return {"orientation": self.orientation, "mirror": self.mirror, "invert": self.invert}

    def describe(self) -> str:
        parts = {"normal": [], "rotate90": ["turned a quarter (rotate90)"], "rotate180": ["turned round (rotate180)"],
                 "rotate270": ["turned a quarter the other way (rotate270)"]}[self.orientation]
        if self.mirror:
            parts.append("mirrored left-right")
        if self.invert:
            parts.append("inverted readings")
        return ", ".join(parts) or "as the contract lays it"


NORMAL = Mounting()


def map_cells(cells: np.ndarray, mounting: Mounting, max_value: int) -> np.ndarray:
    """One frame (rows, cols) or a stack (n, rows, cols) of raw readings, CONTRACT-oriented.

    Returns `cells` itself when nothing is to be undone (the usual case costs nothing)."""
    if mounting.is_normal:
        return cells
    out = cells
    # undo in the reverse order of the fault: the turn first, then the mirror
    if mounting.orientation == "rotate180":
        out = out[..., ::-1, ::-1]
    elif mounting.orientation == "rotate90":
        out = np.rot90(out, -1, axes=(-2, -1))
    elif mounting.orientation == "rotate270":
        out = np.rot90(out, 1, axes=(-2, -1))
    if mounting.mirror:
        out = out[..., :, ::-1]
    if mounting.invert:
        # readings above the full scale would wrap round in an unsigned dtype: clip first
        top = np.asarray(max_value, dtype=np.int64)
        return (top - np.minimum(out.astype(np.int64), top)).astype(cells.dtype, copy=False)
    return np.ascontiguousarray(out)


def apply_fault(cells: np.ndarray, mounting: Mounting, max_value: int) -> np.ndarray:
    """The inverse of map_cells: CONTRACT-oriented readings as a cushion mounted so delivers them
    (what tests and `sitwell sim --mount` make). mirror first, then the turn, then inversion."""
    out = cells[..., :, ::-1] if mounting.mirror else cells
    if mounting.orientation == "rotate180":
        out = out[..., ::-1, ::-1]
    elif mounting.orientation == "rotate90":
        out = np.rot90(out, 1, axes=(-2, -1))
    elif mounting.orientation == "rotate270":
        out = np.rot90(out, -1, axes=(-2, -1))
    if mounting.invert:
        top = np.asarray(max_value, dtype=np.int64)
        return (top - np.minimum(out.astype(np.int64), top)).astype(cells.dtype, copy=False)
    return np.ascontiguousarray(out)


def compose(current: Mounting, found: Mounting) -> Mounting:
    """The setting to use when frames already mapped by `current` still look mounted as `found`
    (detection runs on mapped frames). Orientations are turns: they add; mirror and invert flip."""
    turns = {"normal": 0, "rotate90": 1, "rotate180": 2, "rotate270": 3}
    names = {v: k for k, v in turns.items()}
    # With a mirror in `current`, a turn seen after it runs the other way on the wire.
    seen = turns[found.orientation]
    if current.mirror:
        seen = (-seen) % 4
    orientation = names[(turns[current.orientation] + seen) % 4]
    return Mounting(orientation, current.mirror != found.mirror, current.invert != found.invert)
