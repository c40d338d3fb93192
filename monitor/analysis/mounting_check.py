"""Mounting and wiring found from the load itself, within the first minute of sitting.

Anatomy that holds for everyone, whatever their weight or posture:

* the two sit-bone peaks are the seat's highest pressures, towards the BACK of the seat, side
  by side (left and right, ~10-14 cm apart);
* the thighs' load runs FORWARD from them, lower and spread out, so the centre of all the load
  lies in front of the centre of the high pressures.

On each evaluated frame (at most every EVAL_EVERY_S of frame time, only while someone sits)
the check measures, on the calibrated load in grid fractions: where the high pressures are
(the top HIGH_SHARE of the cells), which way the whole load's centre lies from them
(`forward`), and whether the high pressures spread more across the columns or the rows (side
by side, or one behind the other). That gives one vote for normal, rotate180 (turned round),
rotate90 or rotate270 (a quarter turn; as `sitwell sim --mount` names them). After
DECIDE_AFTER_S seconds of clear votes, a share of at least DECIDE_SHARE for one orientation
decides; by FIRST_MINUTE_S of sitting the leading one is taken if it has MIN_SHARE.

Inverted wiring (lower = more pressure) shows on the raw readings before anyone sits: an
empty frame of an inverted cushion sits near full scale, where a normal cushion's sits near
0; a sitter then lowers part of it. A frame whose median raw reading is above
INVERTED_LEVEL of full scale looks inverted; INVERTED_AFTER_S of such frames decide.
While readings look inverted the calibrated load means nothing, so orientation waits for the
invert setting.

A mirrored cushion (left <-> right swapped) cannot be told from the load: a body is left-right
symmetric. `sitwell setup` finds it from a lean to a named side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EVAL_EVERY_S = 0.25
HIGH_SHARE = 0.1  # of the cells, the most loaded: the sit-bone peaks
MIN_VOTE = 0.04  # a frame's score must clear this (grid fractions) to vote
AXIS_WEIGHT = 0.15  # weight of the side-by-side test against the forward offset
BACK_WEIGHT = 0.2  # weight of "the high pressures lie in the back half"
TAIL_WEIGHT = 0.3  # weight of "the load's long tail runs forward"
DECIDE_AFTER_S = 15.0
DECIDE_SHARE = 0.8
FIRST_MINUTE_S = 60.0
MIN_SHARE = 0.6
INVERTED_LEVEL = 0.6
INVERTED_AFTER_S = 5.0
ORIENTATIONS = ("normal", "rotate90", "rotate180", "rotate270")


@dataclass(slots=True)
class MountingFinding:
    """What the check says about a cushion. `state`: "checking" | "ok" | "fault"."""

    state: str = "checking"
    orientation: str | None = None  # what the frames look like, relative to the current mapping
    inverted: bool = False
    seated_s: float = 0.0
    votes: dict[str, float] = field(default_factory=dict)  # seconds of clear votes per orientation
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "orientation": self.orientation, "inverted": self.inverted,
                "seated_s": round(self.seated_s, 1), "votes": {k: round(v, 1) for k, v in self.votes.items()},
                "message": self.message}


def _median(cells: np.ndarray) -> float:
    """np.median of an integer frame, exactly, at a tenth of its cost (a partition, no copy
    to float, none of its generic checks): it runs several times a second per cushion."""
    flat = cells.reshape(-1)
    k = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, k)[k])
    part = np.partition(flat, (k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2.0


_TAILS = np.array([0.05, 0.95])
_add = np.add.reduce  # ndarray.sum without its Python wrapper (the same sums)
_POSITIONS: dict[int, np.ndarray] = {}


def _positions(n: int) -> np.ndarray:
    """Cell centres in grid fractions, 0 ... 1 (cached: the check runs several times a second)."""
    pos = _POSITIONS.get(n)
    if pos is None:
        pos = _POSITIONS[n] = (np.arange(n) + 0.5) / n
    return pos


def _tails(profile: np.ndarray, pos: np.ndarray) -> list[float]:
    """The 5 % and 95 % points of a load profile (linear between cells)."""
    cum = np.cumsum(profile) / _add(profile, None)
    return np.interp(_TAILS, cum, pos).tolist()


def orientation_scores(load: np.ndarray) -> tuple[list[float], float] | None:
    """Per orientation (ORIENTATIONS order) how strongly one calibrated load map says so, and the
    margin between the best and the next; None for a map with no clear load."""
    L = np.maximum(np.asarray(load, np.float64), 0.0)
    R, C = L.shape
    total = float(_add(L, None))
    if total <= 1e-9:
        return None
    y = _positions(R)  # 0 front ... 1 back (as the frames come)
    x = _positions(C)  # 0 left ... 1 right
    row_p, col_p = _add(L, 1), _add(L, 0)
    y0, x0 = float(row_p @ y) / total, float(col_p @ x) / total
    # The high pressures: the top HIGH_SHARE of the cells. A share of the cells, not of the
    # highest load: a saturating cushion under a heavy sitter reads near its top everywhere.
    k = max(2, round(HIGH_SHARE * L.size))
    cut = np.partition(L.reshape(-1), L.size - k)[L.size - k]
    H = np.where(L >= cut, L, 0.0)  # noqa: SIM300 (L is the load map, not a constant)
    h = float(_add(H, None))
    if h <= 0.0:
        return None
    hr, hc = _add(H, 1), _add(H, 0)
    yh, xh = float(hr @ y) / h, float(hc @ x) / h
    var_y = float(hr @ (y - yh) ** 2) / h
    var_x = float(hc @ (x - xh) ** 2) / h
    # > 0: the high pressures lie side by side across the columns (rows run front-back)
    side = (var_x - var_y) / max(var_x + var_y, 1e-9)
    # The load runs further from the high pressures on the thighs' side: the 5 % and 95 %
    # points of the whole load either side of them (a tail, so a shift on the cushion cancels).
    (r05, r95), (c05, c95) = _tails(row_p, y), _tails(col_p, x)
    tail_r = 2.0 * yh - r05 - r95
    tail_c = 2.0 * xh - c05 - c95
    # rows: thighs forward (towards row 0) of the peaks, peaks in the back half
    s_rows = (yh - y0) + TAIL_WEIGHT * tail_r + BACK_WEIGHT * (yh - 0.5)
    s_cols = (xh - x0) + TAIL_WEIGHT * tail_c + BACK_WEIGHT * (xh - 0.5)
    scores = [
        s_rows + AXIS_WEIGHT * side,  # normal
        s_cols - AXIS_WEIGHT * side,  # rotate90: the back at the last column
        -s_rows + AXIS_WEIGHT * side,  # rotate180
        -s_cols - AXIS_WEIGHT * side,  # rotate270: the back at column 0
    ]
    second, best = sorted(scores)[-2:]
    return scores, best - second


class MountingCheck:
    """Stateful per cushion; `observe` takes each batch of frames the engine analysed."""

    def __init__(self) -> None:
        self.finding = MountingFinding()
        self._next_t: float | None = None
        self._last_t: float | None = None
        self._inverted_s = 0.0
        self._normal_level_s = 0.0
        self._votes = dict.fromkeys(ORIENTATIONS, 0.0)
        self.changed = False  # set when the finding changes state; the owner clears it

    @property
    def done(self) -> bool:
        return self.finding.state != "checking"

    def observe(self, t: np.ndarray, raw: np.ndarray, max_value: int, loads: np.ndarray | None,
                present: list[bool]) -> None:
        """Frames at times `t` (n,), raw mapped cells (n, R, C), their calibrated loads (n, R, C)
        and whether someone sits on each (the analysis' occupancy)."""
        if self.done or len(t) == 0:
            return
        times = np.asarray(t, np.float64).tolist()
        for i, ti in enumerate(times):
            if self._next_t is not None and ti < self._next_t:
                continue
            dt = EVAL_EVERY_S if self._last_t is None else min(max(ti - self._last_t, 0.0), 1.0)
            self._last_t = ti
            self._next_t = ti + EVAL_EVERY_S
            self._evaluate(dt, raw[i], max_value, None if loads is None else loads[i], present[i])
            if self.done:
                return

    def _evaluate(self, dt: float, raw: np.ndarray, max_value: int, load: np.ndarray | None, present: bool) -> None:
        level = _median(raw) / max(1, max_value)
        if level >= INVERTED_LEVEL:
            self._inverted_s += dt
            if self._inverted_s >= INVERTED_AFTER_S and self._inverted_s >= 4.0 * self._normal_level_s:
                lowered = float(np.percentile(raw, 5)) / max(1, max_value) < level - 0.1
                self._decide(inverted=True, sitter_seen=lowered)
            return
        self._normal_level_s += dt
        if not present or load is None:
            return
        f = self.finding
        f.seated_s += dt
        got = orientation_scores(load)
        if got is not None:
            scores, margin = got
            if margin >= MIN_VOTE:
                self._votes[ORIENTATIONS[scores.index(max(scores))]] += dt
        total = sum(self._votes.values())
        f.votes = dict(self._votes)
        if total <= 0:
            return
        best = max(self._votes, key=self._votes.__getitem__)
        share = self._votes[best] / total
        if (total >= DECIDE_AFTER_S and share >= DECIDE_SHARE) or (f.seated_s >= FIRST_MINUTE_S and share >= MIN_SHARE):
            self._decide(orientation=best)
        elif f.seated_s >= 2 * FIRST_MINUTE_S:
            f.state, f.message = "unsure", ("the load does not show clearly how the cushion lies"
                                           f" ({', '.join(f'{k} {v:.0f} s' for k, v in self._votes.items() if v)})")
            self.changed = True

    def _decide(self, orientation: str | None = None, inverted: bool = False, sitter_seen: bool = False) -> None:
        f = self.finding
        if inverted:
            f.state, f.inverted = "fault", True
            f.message = ("the readings look inverted: the seat reads near full scale"
                         + (" and a sitter lowers it" if sitter_seen else " while nobody sits")
                         + " (lower = more pressure)")
        elif orientation == "normal":
            f.state, f.orientation = "ok", "normal"
            f.message = "the cushion lies as expected (sit bones at the back, thighs forward)"
        else:
            f.state, f.orientation = "fault", orientation
            f.message = {
                "rotate180": "the cushion looks turned round: the sit bones are at its front edge, the thighs"
                             " run towards its back",
                "rotate90": "the cushion looks turned a quarter: the sit bones lie along its right edge, the"
                            " thighs run to the left",
                "rotate270": "the cushion looks turned a quarter: the sit bones lie along its left edge, the"
                             " thighs run to the right",
            }[orientation or "rotate180"]
        self.changed = True
