"""Posture from scale-free features, by explainable rules, smoothed in time.

Every feature is a share of the frame's own load or a left/right contrast, so body weight and
cushion gain cancel, and shares of the seat's front half / sides do not depend on the grid.

The rules (CONTRACT section 5), checked in this order on time-smoothed features:

| posture | cue | rule |
|---|---|---|
| forward | load moves to the thighs | front_share >= FORWARD_FRONT |
| slouch | sacral sitting: thighs light, load at the back | front_share <= SLOUCH_FRONT |
| cross_left / right | that side's thigh lifts | thigh contrast <= -CROSS / >= +CROSS |
| lean_left / right | that side's sit bone carries clearly more | sit-bone contrast >= +LEAN / <= -LEAN |
| upright | none of the above | |

Contrasts are (left - right) / (left + right) of the front-half load either side of the
sitter's midline (thighs) and of the load around each sit bone (peaks).

Smoothing is in time, not frames: features pass an exponential average (SMOOTH_TAU_S), and a
new posture is taken once the rules have named it continuously for HOLD_S, so a frame rate
of 5 or 50 Hz behaves the same, a fidget does not flicker, and a real change shows within
about two seconds.
"""

from __future__ import annotations

import math
from typing import Mapping

# Thresholds (deviation from an even, upright sitter). Values sit midway between the postures
# as measured on the sample recordings and the project's simulator (docs/accuracy.md).
FORWARD_FRONT = 0.38
SLOUCH_FRONT = 0.15
NEUTRAL_FRONT = 0.23  # a typical upright front share; sensitivity scales distances from it
CROSS = 0.50
LEAN = 0.20
SMOOTH_TAU_S = 0.8
HOLD_S = 1.0

_KEYS = ("front_share", "thigh_c", "peak_c")


def contrasts(f: Mapping[str, float]) -> tuple[float, float, float]:
    """(front_share, thigh contrast, sit-bone contrast) of one frame's features."""
    tl, tr = float(f["thigh_l"]), float(f["thigh_r"])
    thigh_c = (tl - tr) / (tl + tr) if tl + tr > 1e-9 else 0.0
    if f["peaks_found"]:
        pl, pr = float(f["pl_load"]), float(f["pr_load"])
        peak_c = (pl - pr) / (pl + pr) if pl + pr > 1e-9 else 0.0
    else:  # no sit bones found: the side shares stand in
        peak_c = 2.0 * float(f["left_share"]) - 1.0
    return float(f["front_share"]), thigh_c, peak_c


class PostureClassifier:
    """Stateful: smooths features in time and holds the posture against flicker."""

    def __init__(self, sensitivity: float = 1.0) -> None:
        s = max(0.25, min(4.0, float(sensitivity)))
        # Higher sensitivity: thresholds closer to neutral, posture changes flagged sooner.
        k = 1.0 / math.sqrt(s)
        self.forward_front = NEUTRAL_FRONT + (FORWARD_FRONT - NEUTRAL_FRONT) * k
        self.slouch_front = NEUTRAL_FRONT - (NEUTRAL_FRONT - SLOUCH_FRONT) * k
        self.cross = CROSS * k
        self.lean = LEAN * k
        self.hold_s = HOLD_S / s
        self.reset()

    def reset(self) -> None:
        """Forget the sitter (called when the seat empties)."""
        self.smooth: list[float] | None = None
        self.posture = "upright"
        self.confidence = 0.0
        self._cand = "upright"
        self._cand_since: float | None = None
        self._last_t: float | None = None

    def classify(self, front: float, thigh_c: float, peak_c: float) -> tuple[str, float]:
        """The rules on (smoothed) features: posture and a 0..1 margin-based confidence."""
        if front >= self.forward_front:
            return "forward", _conf(front - self.forward_front, self.forward_front - NEUTRAL_FRONT)
        if front <= self.slouch_front:
            return "slouch", _conf(self.slouch_front - front, NEUTRAL_FRONT - self.slouch_front)
        if abs(thigh_c) >= self.cross:
            side = "cross_left" if thigh_c < 0 else "cross_right"
            return side, _conf(abs(thigh_c) - self.cross, self.cross)
        if abs(peak_c) >= self.lean:
            side = "lean_left" if peak_c > 0 else "lean_right"
            return side, _conf(abs(peak_c) - self.lean, self.lean)
        margin = min(
            self.forward_front - front,
            front - self.slouch_front,
            (self.cross - abs(thigh_c)) * (self.forward_front - NEUTRAL_FRONT) / self.cross,
            (self.lean - abs(peak_c)) * (self.forward_front - NEUTRAL_FRONT) / self.lean,
        )
        return "upright", _conf(margin, self.forward_front - NEUTRAL_FRONT)

    def update(self, t: float, features: Mapping[str, float]) -> tuple[str, float]:
        x = contrasts(features)
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 5.0)
        self._last_t = t
        if self.smooth is None or not all(math.isfinite(v) for v in self.smooth):
            self.smooth = list(x)
            first = True
        else:
            a = 1.0 - math.exp(-dt / SMOOTH_TAU_S)
            self.smooth = [s + a * (v - s) for s, v in zip(self.smooth, x)]
            first = False
        cand, conf = self.classify(*self.smooth)
        if first:
            self.posture, self._cand, self._cand_since = cand, cand, t
        elif cand != self._cand:
            self._cand, self._cand_since = cand, t
        elif cand != self.posture and self._cand_since is not None and t - self._cand_since >= self.hold_s:
            self.posture = cand
        self.confidence = conf if cand == self.posture else 0.5 * (1.0 - conf)
        return self.posture, self.confidence


def _conf(margin: float, width: float) -> float:
    """0.5 at the threshold, towards 1 a full `width` past it."""
    return max(0.0, min(1.0, 0.5 + 0.5 * margin / max(width, 1e-6)))
