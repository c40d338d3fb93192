"""The guided set-up's logic: the steps, what each records, and the sitter's profile from them.

Empty seat (tare), then sit upright, lean left, lean right, cross the left leg, cross the right
leg, slouch, perch forward. Each step waits until the seat shows the step's condition (empty,
or someone sitting), lets the body settle SETTLE_S, then records STEP_S of the posture
classifier's inputs (analysis/posture.py: front share, thigh contrast, left share, sacral
share) and says "got it". The same `SetupSession.feed(t, reading)` runs in `sitwell setup`
(any input: serial, pty, MQTT, the simulator, a recording) and behind the dashboard's set-up
page, so they cannot disagree.

From the recordings (`result()`):

* the sitter's own baseline (upright front share) and even (upright left share);
* each threshold halfway between the sitter's upright and their own posture (lean, crossed
  leg, slouch, forward), within the bounds of analysis/profile.py;
* a mirrored cushion (left <-> right swapped, which no load pattern shows): the lean to the
  LEFT reads more load on the right than the lean to the right; the crossed legs agree. The
  recorded features are then flipped, and the mounting's `mirror` is to be toggled;
* which postures it can tell apart: each step's frames are classified with the new profile,
  and a step read as its own posture less than TELL_APART of the time is named, with what it
  was read as.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from monitor.analysis.posture import PostureClassifier, thigh_contrast
from monitor.analysis.profile import BOUNDS, SitterProfile

STEPS: tuple[tuple[str, str], ...] = (
    ("empty", "Leave the seat empty (nothing on it)"),
    ("upright", "Sit upright, both feet on the floor, as you usually sit"),
    ("lean_left", "Lean your upper body to the LEFT, feet down"),
    ("lean_right", "Lean your upper body to the RIGHT, feet down"),
    ("cross_left", "Cross your LEFT leg over the right"),
    ("cross_right", "Cross your RIGHT leg over the left"),
    ("slouch", "Slouch: slide down, pelvis rolled back"),
    ("forward", "Perch on the front of the seat, leaning forward"),
)
STEP_S = 8.0  # seconds recorded per step (~10 s with the settling)
SETTLE_S = 2.0
GOT_IT_S = 1.5  # "got it" stays up this long before the next step
WAIT_MAX_S = 90.0  # a step whose condition never comes is skipped
TELL_APART = 0.7
# After the first seated step, a step waits until the sitter has moved (their features left
# the previous step's), at most MOVE_WAIT_S: then the body may simply show little change.
MOVE_WAIT_S = 8.0
MOVED = (0.2, 0.15, 0.03, 0.03)  # front (relative to upright), thigh contrast, left share, sacral
MOVE_TAU_S = 0.5
MIRROR_MARGIN = 0.02  # lean left minus lean right in left share, below this: not sure


def features_of(reading: Any) -> tuple[float, float, float, float] | None:
    """(front, thigh contrast, left share, sacral) of one SeatReading, as the classifier gets them."""
    f = reading.features
    try:
        return (float(f["front_share"]), thigh_contrast(float(f["thigh_l"]), float(f["thigh_r"])),
                float(f["raw_left_share"]), float(f["sacral"]))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(slots=True)
class SetupStatus:
    """What a front end shows now."""

    step: int  # 0-based; len(STEPS) when done
    name: str  # the step's posture, or "done"
    instruction: str
    phase: str  # "waiting" | "settling" | "recording" | "got_it" | "done" | "cancelled"
    progress: float  # 0..1 of this step
    seeing: str  # what the cushion shows now, in words
    steps_done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"step": self.step, "steps": len(STEPS), "name": self.name, "instruction": self.instruction,
                "phase": self.phase, "progress": round(self.progress, 3), "seeing": self.seeing,
                "steps_done": list(self.steps_done), "skipped": list(self.skipped)}


@dataclass(slots=True)
class SetupResult:
    profile: SitterProfile
    mirrored: bool
    cannot_tell: list[str]  # sentences: "slouch was read as upright 60 % of the time"
    per_step: dict[str, dict[str, float]]
    skipped: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"profile": self.profile.as_json(), "mirrored": self.mirrored, "cannot_tell": self.cannot_tell,
                "per_step": self.per_step, "skipped": self.skipped}

    def summary_lines(self) -> list[str]:
        lines = []
        if self.mirrored:
            lines.append("Your cushion is mirrored (left and right swapped): sitwell now reads it the right way.")
        if self.cannot_tell:
            lines += [f"Cannot tell apart: {c}." for c in self.cannot_tell]
        else:
            lines.append("sitwell can tell all your postures apart.")
        if self.skipped:
            lines.append(f"Skipped (not seen in time): {', '.join(self.skipped)}; redo the set-up to include them.")
        return lines


class SetupSession:
    """Feed it every analysed frame of one cushion; it walks through STEPS by itself."""

    def __init__(self, step_s: float = STEP_S, settle_s: float = SETTLE_S, wait_max_s: float = WAIT_MAX_S) -> None:
        self.step_s, self.settle_s, self.wait_max_s = step_s, settle_s, wait_max_s
        self.index = 0
        self.phase = "waiting"
        self._since: float | None = None  # when this phase started (frame time)
        self._step_started: float | None = None
        self.samples: dict[str, list[tuple[float, float, float, float]]] = {}
        self.skipped: list[str] = []
        self.done_steps: list[str] = []
        self._seeing = "nothing yet"
        self._t: float | None = None
        self._ema: list[float] | None = None  # the features, smoothed over MOVE_TAU_S
        self._ema_t: float | None = None
        self._previous: tuple[float, ...] | None = None  # the previous seated step's median

    @property
    def done(self) -> bool:
        return self.index >= len(STEPS)

    def cancel(self) -> None:
        self.phase = "cancelled"

    def feed(self, t: float, reading: Any) -> SetupStatus:
        if self.done or self.phase == "cancelled":
            return self.status()
        self._t = t
        name = STEPS[self.index][0]
        present = bool(reading.present)
        self._seeing = "an empty seat" if not present else _words(reading.posture)
        if self._step_started is None:
            self._step_started = t
        wants = (not present) if name == "empty" else present
        f = features_of(reading) if present else None
        self._smooth(t, f)
        if self.phase == "got_it":
            if self._in_phase(t) >= GOT_IT_S:
                self._next(t)
            return self.status()
        if not wants:
            if self.phase != "waiting":
                self.phase, self._since = "waiting", t
                self.samples.pop(name, None)
            if self._in_step(t) >= self.wait_max_s:
                self.skipped.append(name)
                self._next(t)
            return self.status()
        if self.phase == "waiting":
            if name != "empty" and not self._moved(t):
                return self.status()
            self.phase, self._since = "settling", t
        if self.phase == "settling" and self._in_phase(t) >= self.settle_s:
            self.phase, self._since = "recording", t
        if self.phase == "recording":
            if name != "empty" and f is not None and all(math.isfinite(x) for x in f):
                self.samples.setdefault(name, []).append(f)
            if self._in_phase(t) >= self.step_s:
                self.done_steps.append(name)
                got = self.samples.get(name)
                if got:
                    self._previous = tuple(median(x[i] for x in got) for i in range(4))
                self.phase, self._since = "got_it", t
        return self.status()

    def _smooth(self, t: float, f: tuple[float, float, float, float] | None) -> None:
        if f is None or not all(math.isfinite(x) for x in f):
            self._ema = None
            return
        if self._ema is None or self._ema_t is None:
            self._ema = list(f)
        else:
            a = 1.0 - math.exp(-max(0.0, t - self._ema_t) / MOVE_TAU_S)
            self._ema = [e + a * (x - e) for e, x in zip(self._ema, f, strict=True)]
        self._ema_t = t

    def _moved(self, t: float) -> bool:
        """Has the sitter left the previous step's posture (or had MOVE_WAIT_S to)?"""
        if self._previous is None or self._in_step(t) >= MOVE_WAIT_S:
            return True
        if self._ema is None:
            return False
        prev, now = self._previous, self._ema
        base = max(abs(prev[0]), 1e-3)
        return (abs(now[0] - prev[0]) / base >= MOVED[0] or abs(now[1] - prev[1]) >= MOVED[1]
                or abs(now[2] - prev[2]) >= MOVED[2] or abs(now[3] - prev[3]) >= MOVED[3])

    def _in_step(self, t: float) -> float:
        return 0.0 if self._step_started is None else t - self._step_started

    def _in_phase(self, t: float) -> float:
        return 0.0 if self._since is None else t - self._since

    def _next(self, t: float) -> None:
        self.index += 1
        self.phase, self._since, self._step_started = ("done" if self.done else "waiting"), t, t

    def status(self) -> SetupStatus:
        if self.done:
            return SetupStatus(len(STEPS), "done", "All done.", "done", 1.0, self._seeing, list(self.done_steps),
                               list(self.skipped))
        name, instruction = STEPS[self.index]
        progress = 0.0
        if self.phase == "settling":
            progress = 0.0
        elif self.phase == "recording" and self._since is not None and self._t is not None:
            progress = min(1.0, (self._t - self._since) / self.step_s)
        elif self.phase == "got_it":
            progress = 1.0
        return SetupStatus(self.index, name, instruction, self.phase, progress, self._seeing, list(self.done_steps),
                           list(self.skipped))

    # ---- the result ---------------------------------------------------------------------

    def result(self, sensitivity: float = 1.0) -> SetupResult:
        samples = {k: list(v) for k, v in self.samples.items() if v}
        med = {k: tuple(median(s[i] for s in v) for i in range(4)) for k, v in samples.items()}
        mirrored = _mirrored(med)
        if mirrored:  # read as a sitter on a correctly wired cushion would have been
            samples = _flip(samples)
            med = {k: tuple(median(s[i] for s in v) for i in range(4)) for k, v in samples.items()}
        profile = _profile(med, sensitivity)
        cannot = _cannot_tell(samples, profile, sensitivity)
        per_step = {k: {"front": round(v[0], 4), "thigh_c": round(v[1], 4), "left": round(v[2], 4),
                        "sacral": round(v[3], 4)} for k, v in med.items()}
        return SetupResult(profile, mirrored, cannot, per_step, list(self.skipped))


def _words(posture: str) -> str:
    return {"upright": "sitting upright", "lean_left": "leaning left", "lean_right": "leaning right",
            "cross_left": "left leg crossed", "cross_right": "right leg crossed", "slouch": "slouching",
            "forward": "perched forward", "empty": "an empty seat"}.get(posture, posture)


def _mirrored(med: dict[str, tuple]) -> bool:
    """Left and right swapped: the lean to the left shows less load on the left than the lean to
    the right (the crossed legs, where recorded, must not say otherwise)."""
    if "lean_left" not in med or "lean_right" not in med:
        return False
    diff = med["lean_left"][2] - med["lean_right"][2]
    if diff > -MIRROR_MARGIN:
        return False
    # a left leg crossed lifts the left thigh: its contrast (left - right) is the lower one; legs
    # that say the cushion is the right way round leave it in doubt: not changed
    legs_agree = "cross_left" not in med or "cross_right" not in med or med["cross_left"][1] >= med["cross_right"][1]
    return legs_agree


def _flip(samples: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    # the sitter did what each step asked; the mirrored cushion showed its mirror image
    return {k: [(f, -c, 1.0 - ls, s) for f, c, ls, s in v] for k, v in samples.items()}


def _clip(name: str, v: float) -> float:
    lo, hi = BOUNDS[name]
    return min(hi, max(lo, v))


def _between(below: list[float], above: list[float], fallback_low: float) -> float | None:
    """Halfway between the highest of `below` and the lowest of `above` (the posture to call)."""
    if not above:
        return None
    low = max(below) if below else fallback_low
    return 0.5 * (low + min(above))


def _profile(med: dict[str, tuple], sensitivity: float) -> SitterProfile:
    """Each threshold between the sitter's own postures, minding the rules' order (posture.py:
    forward, then cross, slouch, lean): a rule must not catch the postures checked after it."""
    if "upright" not in med:
        return SitterProfile(source="setup")
    uf, _uc, ul, _us = med["upright"]
    even = min(0.6, max(0.4, ul))
    base = max(uf, 1e-3)
    got = lambda names: [med[n] for n in names if n in med]  # noqa: E731
    kw: dict[str, float] = {"baseline": uf, "even": even}
    fwd = _between([f[0] for n, f in med.items() if n != "forward"], [f[0] for f in got(["forward"])], uf)
    if fwd is not None and fwd > uf:
        kw["forward_abs"] = _clip("forward_abs", fwd)
        kw["forward_rel"] = _clip("forward_rel", fwd / base)
    cross = _between([abs(f[1]) for f in got(["upright", "lean_left", "lean_right", "slouch"])],
                     [abs(f[1]) for f in got(["cross_left", "cross_right"])], 0.0)
    if cross is not None:
        kw["cross"] = _clip("cross", cross)
    slouch = _between([-f[0] / base for f in got(["slouch"])],
                      [-f[0] / base for f in got(["upright", "lean_left", "lean_right"])], -1.0)
    if slouch is not None and -slouch < 1.0:
        kw["slouch_rel"] = _clip("slouch_rel", -slouch)
    lean = _between([abs(ul - even)], [abs(f[2] - even) for f in got(["lean_left", "lean_right"])], 0.0)
    if lean is not None:
        kw["lean"] = _clip("lean", lean)
    return SitterProfile(source="setup", **kw)


def _cannot_tell(samples: dict[str, list[tuple]], profile: SitterProfile, sensitivity: float) -> list[str]:
    pc = PostureClassifier(sensitivity, profile)
    out = []
    for name, _ in STEPS[1:]:
        got = samples.get(name)
        if not got:
            continue
        reads = [pc.classify(*f)[0] for f in got]
        right = sum(1 for r in reads if r == name) / len(reads)
        if right < TELL_APART:
            wrong = [r for r in reads if r != name]
            most = max(set(wrong), key=wrong.count)
            out.append(f"{_words(name)} (read as {_words(most)} {100 * (1 - right):.0f} % of the time)")
    return out
