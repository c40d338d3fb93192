"""Posture from scale-free features, by explainable rules, smoothed in time.

Every feature is a share of the frame's own load or a left/right contrast, so body weight and
cushion gain cancel, and shares of the seat's front half / sides do not depend on the grid.

The rules (CONTRACT section 5), checked in this order on time-smoothed features:

| posture | cue | rule |
|---|---|---|
| forward | load moves to the thighs | front >= max(FORWARD_ABS, FORWARD_REL x baseline) |
| cross_left / right | that side's thigh lifts | thigh contrast <= -CROSS / >= +CROSS, unless left_share moved with it (LEAN_OF_THIGHS) and the front share held (CROSS_FRONT_HOLD): a lean |
| slouch | sacral sitting: thighs light, load at the back centre | front <= SLOUCH_REL x baseline, and, until the baseline is confirmed, sacral >= SACRAL_ABS or front <= SLOUCH_FRONT_ABS |
| lean_left / right | that side carries clearly more | left_share - even >= +LEAN / <= -LEAN (even: what an upright sitter reads here, learnt within 0.5 +- EVEN_BOUND) |
| upright | none of the above | |

`front` is the share of the load on the seat's front half (the thighs), `sacral` the share at
the back centre, the thigh contrast (left - right) / (left + right) of the front-half load
either side of the sitter's midline.

How much of an upright sitter's load the thighs carry differs between people (and body
models: 0.16-0.28 on the sample recordings, 0.21-0.36 on firmware_sim), while a slouch halves
it and leaning forward doubles it for everyone. So front shares are compared with a per-sitter
`baseline`: the smoothed front share while the sitter is in a posture that leaves the
front-back balance alone (upright, lean). It starts from the front share SETTLE_S after
sitting down, capped at BASELINE_PRIOR, or at the prior itself when the sitter looks slouched
(sacral load, or very light thighs), so someone who sits down slouched or perched forward is
still seen against a typical sitter. Thighs lighter than SLOUCH_FRONT_ABS are never learnt.
It is forgotten when the seat has been empty for a minute (a shorter stand is the same
sitter). Until the sitter has sat calmly for BASELINE_CONFIRM_S, slouch also needs that look,
so a wrong start baseline does not turn an upright sitter into a sloucher.

Smoothing is in time, not frames: features pass an exponential average (SMOOTH_TAU_S), and a
new posture is taken once the rules have named it continuously for HOLD_S, so a frame rate
of 5 or 50 Hz behaves the same, a fidget does not flicker, and a real change shows within
about two seconds.
"""  # noqa: E501 (the rules table: a row cannot wrap)

from __future__ import annotations

import math
from collections.abc import Mapping

from monitor.analysis.elapsed import elapsed
from monitor.analysis.profile import SitterProfile

# Thresholds; each sits between the postures as measured on the sample recordings and on
# firmware_sim people of 45-120 kg (docs/accuracy.md). LEAN, CROSS, *_REL are deviations
# from an even, upright sitter that `sensitivity` scales.
FORWARD_ABS = 0.34
FORWARD_REL = 1.5
# ... or the front/back ratio (odds of the front share) up by this factor. A share near 1
# cannot grow 1.5x: on a flattening mat an upright sitter's thighs read 0.4-0.66 and perching
# forward raises that 1.15-1.3x, while the front/back ratio still grows 1.4-2.4x (tuning
# recordings; linear mats ~3x). Below FORWARD_ABS neither counts.
FORWARD_ODDS = 1.35
SLOUCH_REL = 0.75
SACRAL_ABS = 0.045
SLOUCH_FRONT_ABS = (
    0.13  # thighs this light: a slouch for anyone (upright sitters read >= 0.16)
)
CROSS = 0.38
LEAN = 0.08
EVEN_BOUND = 0.04  # the learnt 'even' left_share stays within 0.5 +- this
EVEN_TAU_S = 60.0
# A sitter's own upright thigh contrast: people carry their thighs unevenly (firmware_sim's
# people -0.3..+0.3; a flattening mat's linearised split shows it in full), so a cross is
# measured from it. Taken when the baseline starts, learnt while upright (EVEN_TAU_S), kept
# within +-THIGH_EVEN_BOUND so a crossed leg is never learnt as the sitter's upright.
THIGH_EVEN_BOUND = 0.2
# A lean or a cross? A crossed leg lifts one thigh onto the other: the thighs' contrast swings
# to 0.45-1.2 while the whole seat's left_share moves only 0.13-0.35 of that, and the lifted
# thigh takes load off the front (front share 0.70-0.91 of the baseline). A lean moves the
# body, sit bones and thighs alike: left_share moves 0.40-0.68 of the thighs' contrast and the
# front share holds (0.93-1.01 of the baseline). (Tuning recordings, segment means.) A thigh
# contrast past CROSS is read as a lean when both say lean, and only up to LEAN_THIGH_MAX: a
# shift of the body alone moved the thighs' contrast 0.52 at most (segment means), a larger one
# needs a lifted thigh (a crossed sitter who also leans: the real-physics-10x15-digits sample).
LEAN_OF_THIGHS = 0.38  # left_share's deviation at least this share of the thigh contrast ...
CROSS_FRONT_HOLD = 0.92  # ... and the front share at least this share of the baseline
LEAN_THIGH_MAX = 0.65
BASELINE_PRIOR = 0.30
# A cushion whose response flattens the load (a saturating Velostat divider, a heavy sitter)
# shows upright sitters with thighs at 0.4-0.5 of the load: once a sitter's baseline has been
# confirmed there, the next sitter's start is capped at that instead (up to PRIOR_MAX).
PRIOR_MAX = 0.55
# The same flattening shows in the cushion's linearising exponent (calibration/response.py),
# before any sitter has been confirmed: a mat that needs load ** gamma to read a sitter as a
# linear mat would reads the thighs' share heavier, about gamma times (tuning recordings:
# upright thighs 0.24-0.36 of the load on linear mats, 0.36-0.64 at gamma 1.3-3). So the start
# cap is at least BASELINE_PRIOR x gamma, at most START_CAP_MAX.
START_CAP_MAX = 0.7
SETTLE_S = (
    3.0  # the baseline starts from the sitter as they are this long after sitting down
)
BASELINE_TAU_S = 20.0
BASELINE_CONFIRM_S = (
    10.0  # seconds of calm sitting after which the baseline is trusted alone
)
SMOOTH_TAU_S = 0.8
HOLD_S = 1.0

# Postures that leave the front-back balance alone (a crossed leg lifts a thigh: not these).
NEUTRAL = ("upright", "lean_left", "lean_right")


def contrasts(f: Mapping[str, float]) -> tuple[float, float, float, float]:
    """(front share, thigh contrast, left_share, sacral share) of one frame's features."""
    thigh_c = thigh_contrast(float(f["thigh_l"]), float(f["thigh_r"]))
    return float(f["front_share"]), thigh_c, float(f["left_share"]), float(f["sacral"])


def thigh_contrast(tl: float, tr: float) -> float:
    """(left - right) / (left + right) of the thighs' loads, 0 when they carry nothing."""
    return (tl - tr) / (tl + tr) if tl + tr > 1e-9 else 0.0


class PostureClassifier:
    """Stateful: smooths features in time, learns the sitter's baseline, holds against flicker."""

    def __init__(self, sensitivity: float = 1.0, profile: SitterProfile | None = None) -> None:
        s = max(0.25, min(4.0, float(sensitivity)))
        # Higher sensitivity: thresholds closer to neutral, posture changes flagged sooner.
        k = 1.0 / math.sqrt(s)
        self.forward_rel = 1.0 + (FORWARD_REL - 1.0) * k
        self.forward_abs = FORWARD_ABS
        self.forward_odds = 1.0 + (FORWARD_ODDS - 1.0) * k
        self.slouch_rel = 1.0 - (1.0 - SLOUCH_REL) * k
        self.cross = CROSS * k
        self.lean = LEAN * k
        self.hold_s = HOLD_S / s
        # the sitter's own thresholds and baselines (analysis/profile.py), where known
        self.profile = profile
        self.prior = BASELINE_PRIOR  # what upright sitters read on this cushion (see PRIOR_MAX)
        self.gamma = 1.0  # the cushion's linearising exponent (see START_CAP_MAX), set per frame
        self.baseline: float | None = None
        self.baseline_s = 0.0
        if profile is not None:
            profile.apply_to(self)
        self.reset()

    def reset(self, keep_baseline: bool = False) -> None:
        """Forget the posture (the seat emptied); with keep_baseline, not the sitter's baseline
        (a short stand within a spell: the same person sits down again)."""
        self.smooth: list[float] | None = None
        if not keep_baseline:
            if self.baseline is not None and self.baseline_s >= BASELINE_CONFIRM_S:
                self.prior = max(BASELINE_PRIOR, min(self.baseline, PRIOR_MAX))
            self.baseline = None
            self.baseline_s = 0.0
            self.even = 0.5
            self.thigh_even = 0.0
            if self.profile is not None:
                self.profile.start_baseline(self)
        self.posture = "upright"
        self.confidence = 0.0
        self._cand = "upright"
        self._cand_since: float | None = None
        self._last_t: float | None = None
        self._seated_s = 0.0

    def _start_baseline(self, front: float, sacral: float) -> float:
        """Baseline before one is learnt: the sitter's own front share capped at the prior, or
        the prior if they look slouched already (sacral load with thighs lighter than the
        prior, or very light thighs). Rolling onto the sacrum takes load off the thighs: sacral
        load beside heavy thighs is a coarse grid's blur of the sit bones (8x8 and 10x15
        cushions read upright sitters at 0.05-0.06), not a slouch."""
        if (sacral >= SACRAL_ABS and front < self.prior) or front <= SLOUCH_FRONT_ABS:
            return self.prior
        return min(front, max(self.prior, min(BASELINE_PRIOR * self.gamma, START_CAP_MAX)))

    def classify(
        self, front: float, thigh_c: float, left: float, sacral: float
    ) -> tuple[str, float]:
        """The rules on (smoothed) features: posture and a 0..1 margin-based confidence."""
        base = (
            self.baseline
            if self.baseline is not None
            else self._start_baseline(front, sacral)
        )
        base = max(base, 1e-3)
        # A crossed leg lifts one thigh onto the other, which moves the front share too: cross
        # is checked first (a forward lean or a slouch moves both thighs alike, its thigh
        # contrast stays small).
        thigh_c -= self.thigh_even
        d = left - self.even
        if abs(thigh_c) >= self.cross and not (
            d * thigh_c > 0.0
            and abs(d) >= self.lean
            and abs(d) >= LEAN_OF_THIGHS * abs(thigh_c)
            and abs(thigh_c) < LEAN_THIGH_MAX
            and front >= CROSS_FRONT_HOLD * base
        ):
            side = "cross_left" if thigh_c < 0 else "cross_right"
            return side, _conf(abs(thigh_c) - self.cross, self.cross)
        fwd = max(self.forward_abs, self.forward_rel * base)
        if front >= fwd:
            return "forward", _conf(front / fwd - 1.0, self.forward_rel - 1.0)
        odds = _odds(front) / _odds(base)
        if odds >= self.forward_odds and front >= self.forward_abs:
            return "forward", _conf(odds / self.forward_odds - 1.0, self.forward_odds - 1.0)
        rel = front / base
        confirmed = self.baseline_s >= BASELINE_CONFIRM_S
        cue = (
            max(sacral / SACRAL_ABS, SLOUCH_FRONT_ABS / max(front, 1e-6)) - 1.0
        )  # >= 0: slouch-like
        if rel <= self.slouch_rel and (confirmed or cue >= 0.0):
            m = 1.0 - rel / self.slouch_rel
            if not confirmed:
                m = min(m, cue)
            return "slouch", _conf(m, 1.0 - self.slouch_rel)
        if abs(d) >= self.lean:
            side = "lean_left" if d > 0 else "lean_right"
            return side, _conf(abs(d) - self.lean, self.lean)
        margin = min(
            1.0 - max(front / fwd, odds / self.forward_odds),
            rel / self.slouch_rel - 1.0
            if confirmed
            else max(rel / self.slouch_rel - 1.0, -cue),
            1.0 - abs(thigh_c) / self.cross,
            1.0 - abs(d) / self.lean,
        )
        return "upright", _conf(margin, 1.0)

    def update(self, t: float, features: Mapping[str, float]) -> tuple[str, float]:
        return self.step(t, *contrasts(features))

    def step(
        self, t: float, front: float, thigh_c: float, left: float, sacral: float
    ) -> tuple[str, float]:
        """`update` on a frame's `contrasts` (what SeatAnalyzer calls, once per frame)."""
        # Written out for the per-frame cost: the same arithmetic as a list comprehension over
        # the four features.
        dt = elapsed(self._last_t, t, 5.0)
        self._last_t = t
        self._seated_s += dt
        sm = self.smooth
        isfinite = math.isfinite
        if sm is None or not (
            isfinite(sm[0]) and isfinite(sm[1]) and isfinite(sm[2]) and isfinite(sm[3])
        ):
            sm = self.smooth = [front, thigh_c, left, sacral]
            first = True
        else:
            a = 1.0 - math.exp(-dt / SMOOTH_TAU_S)
            s0, s1, s2, s3 = sm
            sm = self.smooth = [
                s0 + a * (front - s0),
                s1 + a * (thigh_c - s1),
                s2 + a * (left - s2),
                s3 + a * (sacral - s3),
            ]
            first = False
        cand, conf = self.classify(sm[0], sm[1], sm[2], sm[3])
        if first:
            self.posture, self._cand, self._cand_since = cand, cand, t
        elif cand != self._cand:
            self._cand, self._cand_since = cand, t
        elif (
            cand != self.posture
            and self._cand_since is not None
            and t - self._cand_since >= self.hold_s
        ):
            self.posture = cand
        self._learn_baseline(dt, cand)
        self.confidence = conf if cand == self.posture else 0.5 * (1.0 - conf)
        return self.posture, self.confidence

    def _learn_baseline(self, dt: float, cand: str) -> None:
        smooth = self.smooth
        assert smooth is not None  # called after this frame was smoothed
        front, thigh_c, left, sacral = smooth
        # Thighs this light are never an upright sitter's: not learnt, whatever the rules say.
        calm = cand in NEUTRAL and self.posture in NEUTRAL and front > SLOUCH_FRONT_ABS
        if self.baseline is None:
            # Taken once the sitter has settled: the first seconds are the sitting down.
            if self._seated_s >= SETTLE_S:
                self.baseline = self._start_baseline(front, sacral)
                self.thigh_even = max(-THIGH_EVEN_BOUND, min(THIGH_EVEN_BOUND, thigh_c))
        elif calm and dt > 0:
            self.baseline += (1.0 - math.exp(-dt / BASELINE_TAU_S)) * (
                front - self.baseline
            )
            self.baseline_s += dt
        if cand == "upright" and self.posture == "upright" and dt > 0:
            # What 'even' reads on this cushion for this sitter: per-cell gain spread can put
            # an even sitter at 0.46 on one cushion; kept near 0.5 so a lean is never learnt.
            self.even += (1.0 - math.exp(-dt / EVEN_TAU_S)) * (left - self.even)
            self.even = min(0.5 + EVEN_BOUND, max(0.5 - EVEN_BOUND, self.even))
            self.thigh_even += (1.0 - math.exp(-dt / EVEN_TAU_S)) * (thigh_c - self.thigh_even)
            self.thigh_even = min(THIGH_EVEN_BOUND, max(-THIGH_EVEN_BOUND, self.thigh_even))


def _odds(share: float) -> float:
    """share / (1 - share): the front/back ratio of a front share."""
    return share / max(1.0 - share, 1e-6)


def _conf(margin: float, width: float) -> float:
    """0.5 at the threshold, towards 1 a full `width` past it."""
    return max(0.0, min(1.0, 0.5 + 0.5 * margin / max(width, 1e-6)))
