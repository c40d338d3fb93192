"""Sit-bone load dose and real offloads, in frame time.

The dose of a side is the time integral of the load under that sit bone (full-scale load
units x seconds, what calibration gives), and the same integral divided by the person's own
upright level of that side ("upright-seconds": 60 means a minute's worth of normal upright
load). Clinical seat monitors credit a weight shift only when the sit bone is really
offloaded, so a side counts as offloaded when its load stays at least `offload_drop`
(30 %) below its upright level for `offload_s` (15 s); standing up (the seat without load
for `offload_s`) offloads both.

Input per frame: `sitbone_load` = (left, right) from `SeatReading.sitbone_load` (the engine
adds it; frames where the sit bones were not found carry none and add no dose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.tracker.rules import EPS

REF_TAU_S = 30.0  # upright level: exponential average over about half a minute of upright sitting
REF_MIN_S = 10.0  # no offload is judged before this much upright sitting has set the level
# The level learns only from frames near it (within half the offload drop), so a shift the
# posture classifier still calls "upright" does not drag the level down with it. Upright
# this long away from the level re-seeds it (the person sits differently now), and an empty
# seat this long forgets it (the next sitter may be someone else).
REF_RESEED_S = 120.0
FORGET_S = 60.0
MAX_DT_S = 5.0  # a longer gap between frames adds only this much (as the minute statistics do)
# An upright level below this (full-scale load units; a sit bone carries ~0.1-5) is no level:
# dividing by it would blow the normalised dose up to infinity.
MIN_LEVEL = 1e-9
SIDES = ("left", "right")
_INF = float("inf")
_NO_DOSE = (0.0, 0.0, 0.0, 0.0)


@dataclass(slots=True)
class Offload:
    """A credited offload: `quality` "stood" (seat empty) or "shifted" (one sit bone offloaded)."""

    cushion: str
    start: float
    end: float | None
    quality: str
    side: str  # "left", "right" or "both"

    @property
    def seconds(self) -> float:
        return 0.0 if self.end is None else self.end - self.start


@dataclass(slots=True)
class _Run:
    since: float | None = None
    credited: bool = False


@dataclass(slots=True)
class DoseStep:
    """What one frame added, and the offloads it credited or closed."""

    added: tuple[float, float, float, float] = _NO_DOSE  # left, right, left_norm, right_norm
    credited: list[Offload] = field(default_factory=list)
    ended: list[Offload] = field(default_factory=list)


class SitBoneDose:
    def __init__(self, cushion: str):
        self.cushion = cushion
        self.ref: list[float | None] = [None, None]
        self.ref_s = 0.0
        self.spell = [0.0, 0.0, 0.0, 0.0]  # this spell's dose (left, right, left_norm, right_norm)
        self._seated_run = [0.0, 0.0, 0.0, 0.0]  # dose since the seat last had load (a spell is back-dated to it)
        self.offloads = 0  # credited in this tracker's life (the store counts per day)
        self._last_t: float | None = None
        self._empty_s = 0.0
        self._away_s = 0.0  # upright but away from the level
        self._shift = [_Run(), _Run()]
        self._stood = _Run()
        self._open: dict[str, Offload] = {}

    def reset_spell(self) -> None:
        """A spell starts: it was back-dated to when the person sat down, and so is its dose."""
        self.spell = list(self._seated_run)

    def update(self, t: float, present: bool, posture: str, loads: Any, drop: float, hold_s: float,
               in_spell: bool = True) -> DoseStep:
        """`in_spell`: someone has been sitting (an empty seat before anyone sat offloads nothing)."""
        # Runs on every frame: builtins, loops and calls are spelled out where it pays
        # (same arithmetic, in the same order, as the plain form).
        step = DoseStep(_NO_DOSE, [], [])  # positionally: cheaper than the default factories
        dt = 0.0
        if self._last_t is not None:
            dt = t - self._last_t  # clamped to [0, MAX_DT_S]
            if dt < 0.0:
                dt = 0.0
            elif dt > MAX_DT_S:
                dt = MAX_DT_S
        self._last_t = t
        lr = _pair(loads) if present else None
        if not present:
            self._seated_run = [0.0, 0.0, 0.0, 0.0]
        if lr is not None and dt > 0:
            left, right = lr
            r0, r1 = self.ref
            nl = left / r0 if r0 is not None and r0 > MIN_LEVEL else 0.0
            nr = right / r1 if r1 is not None and r1 > MIN_LEVEL else 0.0
            a0, a1, a2, a3 = step.added = (left * dt, right * dt, nl * dt, nr * dt)
            sp, run = self.spell, self._seated_run  # new lists: cheaper than adding in place
            self.spell = [sp[0] + a0, sp[1] + a1, sp[2] + a2, sp[3] + a3]
            self._seated_run = [run[0] + a0, run[1] + a1, run[2] + a2, run[3] + a3]
        self._learn_level(lr, posture, present, dt, drop)
        # Each run is tracked only when this frame can change it: a true condition on a run
        # not yet credited, or a false one on a running run (the other cases are no-ops).
        # Standing up offloads both sit bones.
        stood = self._stood
        cond = not present and (in_spell or stood.since is not None)
        if (not stood.credited) if cond else (stood.since is not None):
            self._track(stood, "both", "stood", t, cond, hold_s, step)
        ref = self.ref
        judged = self.ref_s >= REF_MIN_S - EPS  # the level is known well enough
        for i in (0, 1):
            shift, level = self._shift[i], ref[i]
            low = judged and lr is not None and level is not None and level > 0 and lr[i] <= (1.0 - drop) * level + EPS
            if (not shift.credited) if low else (shift.since is not None):
                self._track(shift, SIDES[i], "shifted", t, low, hold_s, step)
        return step

    def _learn_level(self, lr: tuple[float, float] | None, posture: str, present: bool, dt: float, drop: float) -> None:
        if not present:
            self._empty_s += dt
            if self._empty_s >= FORGET_S - EPS:
                self.ref, self.ref_s, self._away_s = [None, None], 0.0, 0.0
            return
        self._empty_s = 0.0
        if lr is None or posture != "upright":
            return
        (v0, v1), (r0, r1) = lr, self.ref
        near = ((r0 is None or abs(v0 - r0) <= 0.5 * drop * r0 + EPS)
                and (r1 is None or abs(v1 - r1) <= 0.5 * drop * r1 + EPS))
        if not near:
            self._away_s += dt
            if self._away_s < REF_RESEED_S - EPS:
                return
            self.ref, self.ref_s = [None, None], 0.0  # re-seed from this frame
            r0 = r1 = None
        self._away_s = 0.0
        a = 1.0
        if self.ref_s > 0:
            a = dt / REF_TAU_S
            if not a < 1.0:  # min(1.0, a)
                a = 1.0
        ref = self.ref
        ref[0] = v0 if r0 is None else r0 + a * (v0 - r0)
        ref[1] = v1 if r1 is None else r1 + a * (v1 - r1)
        self.ref_s += dt

    def _track(self, run: _Run, side: str, quality: str, t: float, cond: bool, hold_s: float, step: DoseStep) -> None:
        key = f"{quality}:{side}"
        if cond:
            if run.since is None:
                run.since = t
            if not run.credited and t - run.since >= hold_s - EPS:
                run.credited = True
                off = Offload(self.cushion, run.since, None, quality, side)
                self._open[key] = off
                self.offloads += 1
                step.credited.append(off)
        else:
            if run.credited and key in self._open:
                off = self._open.pop(key)
                off.end = t
                step.ended.append(off)
            run.since, run.credited = None, False

    def heavier_side(self, imbalance: float) -> tuple[str | None, float | None]:
        """The side whose share of this spell's (raw) dose is `imbalance` or more above half."""
        left, right = self.spell[0], self.spell[1]
        if left + right <= 0:
            return None, None
        share = left / (left + right)
        if abs(share - 0.5) < imbalance - EPS:
            return None, share
        return ("left" if share > 0.5 else "right"), share

    def as_json(self) -> dict[str, Any]:
        left, right, nl, nr = self.spell
        return {
            "spell": {"left": round(left, 3), "right": round(right, 3), "left_norm_s": round(nl, 1),
                      "right_norm_s": round(nr, 1)},
            "left_dose_share": round(left / (left + right), 4) if left + right > 0 else None,
            "upright_level": [None if v is None else round(v, 4) for v in self.ref],
            "offloaded": [k for k in self._open],
        }

    def snapshot(self) -> dict[str, Any]:
        return {"ref": list(self.ref), "ref_s": self.ref_s, "spell": list(self.spell)}

    def load(self, s: dict[str, Any]) -> None:
        ref = s.get("ref") or [None, None]
        self.ref = [None if v is None else float(v) for v in ref[:2]]
        self.ref_s = float(s.get("ref_s") or 0.0)
        sp = s.get("spell") or [0, 0, 0, 0]
        self.spell = [float(v) for v in sp[:4]]


def _pair(loads: Any) -> tuple[float, float] | None:
    try:
        left, right = float(loads[0]), float(loads[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not (0.0 <= left < _INF and 0.0 <= right < _INF):
        return None  # NaN, negative or infinite: not a load
    return left, right
