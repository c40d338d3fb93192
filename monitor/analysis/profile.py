"""A sitter's own baselines and thresholds on one cushion: `SitterProfile`, what the posture
classifier accepts (`PostureClassifier(sensitivity, profile)`), and how it is made.

Two sources, both optional (without either, sitwell works as it always did):

* the guided set-up (`sitwell setup`, the dashboard's set-up page: offline/setup_session.py)
  measures the sitter's upright front share and left share and where each posture lies, and
  puts each threshold between the sitter's own postures;
* "That's not what I'm doing" corrections (`tune`): each says, for the features the
  classifier saw at that moment, which posture was right. The thresholds move just far enough
  that those features read as the right posture and no longer as the one shown
  (CORRECTION_MARGIN beyond them), within the BOUNDS a sitter's posture can plausibly need.
  Corrections are applied oldest first on top of the set-up profile (or the defaults); an
  undone correction is left out and the profile computed again, so undo is exact.

Every field left None keeps the classifier's own value. Features are those of
analysis/posture.py: `front` (the front-half share), `thigh_c` (thigh contrast, left minus
right), `left` (left share) and `sacral`, with the classifier's `baseline` and `even`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

CORRECTION_MARGIN = 0.1  # thresholds land this far (relative) beyond a corrected frame's feature
BOUNDS = {
    "lean": (0.02, 0.3),
    "cross": (0.08, 0.9),
    "forward_rel": (1.05, 3.0),
    "forward_abs": (0.15, 0.8),
    "slouch_rel": (0.3, 0.97),
}


@dataclass(frozen=True, slots=True)
class SitterProfile:
    """Per-sitter, per-cushion overrides of the posture classifier (None: its default)."""

    lean: float | None = None  # |left_share - even| from which a lean is called
    cross: float | None = None  # |thigh contrast| from which a crossed leg is called
    forward_rel: float | None = None  # front share over baseline from which 'forward'
    forward_abs: float | None = None  # ... and the absolute front share that is always forward
    slouch_rel: float | None = None  # front share over baseline below which 'slouch'
    baseline: float | None = None  # the sitter's upright front share
    even: float | None = None  # the sitter's upright left share
    source: str = "defaults"  # "setup", "corrections", "setup+corrections"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> SitterProfile | None:
        if not d:
            return None
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k not in names:
                continue
            if k == "source":
                kw[k] = str(v)
            elif v is not None:
                kw[k] = float(v)
        return cls(**kw)

    def apply_to(self, classifier: Any) -> None:
        """Set the classifier's thresholds (called by PostureClassifier when it is built)."""
        for name in ("lean", "cross", "forward_rel", "forward_abs", "slouch_rel"):
            value = getattr(self, name)
            if value is not None:
                setattr(classifier, name, float(value))

    def start_baseline(self, classifier: Any) -> None:
        """The sitter's own baseline and even, trusted from the first frame (called on reset)."""
        if self.baseline is not None:
            classifier.baseline = float(self.baseline)
            classifier.baseline_s = float("inf")  # measured in the set-up: confirmed
        if self.even is not None:
            classifier.even = float(self.even)


def _clip(name: str, value: float) -> float:
    lo, hi = BOUNDS[name]
    return min(hi, max(lo, value))


def tune(
    profile: SitterProfile, corrections: Iterable[Mapping[str, Any]], defaults: Mapping[str, float]
) -> SitterProfile:
    """The profile after `corrections` ({"shown", "posture", "features": {front, thigh_c, left,
    sacral, baseline, even}}), oldest first. `defaults`: the classifier's thresholds where the
    profile has none."""
    cur = {name: getattr(profile, name) if getattr(profile, name) is not None else defaults[name] for name in BOUNDS}
    m = CORRECTION_MARGIN
    n = 0
    for c in corrections:
        shown, right, f = c.get("shown"), c.get("posture"), c.get("features") or {}
        if shown == right or not f:
            continue
        n += 1
        front = float(f.get("front", 0.0))
        base = max(float(f.get("baseline") or profile.baseline or 0.3), 1e-3)
        d = abs(float(f.get("left", 0.5)) - float(f.get("even", 0.5)))
        tc = abs(float(f.get("thigh_c", 0.0)))
        rel = front / base
        # make the right posture fire ...
        if right in ("lean_left", "lean_right"):
            cur["lean"] = min(cur["lean"], d * (1 - m))
        if right in ("cross_left", "cross_right"):
            cur["cross"] = min(cur["cross"], tc * (1 - m))
        if right == "forward":
            cur["forward_rel"] = min(cur["forward_rel"], rel * (1 - m))
            cur["forward_abs"] = min(cur["forward_abs"], front * (1 - m))
        if right == "slouch":
            cur["slouch_rel"] = max(cur["slouch_rel"], rel * (1 + m))
        # ... and the one shown no longer, unless the right one needs it
        if shown in ("lean_left", "lean_right") and right not in ("lean_left", "lean_right"):
            cur["lean"] = max(cur["lean"], d * (1 + m))
        if shown in ("cross_left", "cross_right") and right not in ("cross_left", "cross_right"):
            cur["cross"] = max(cur["cross"], tc * (1 + m))
        if shown == "forward":
            cur["forward_rel"] = max(cur["forward_rel"], rel * (1 + m))
            cur["forward_abs"] = max(cur["forward_abs"], front * (1 + m))
        if shown == "slouch":
            cur["slouch_rel"] = min(cur["slouch_rel"], rel * (1 - m))
        # a posture checked before the right one must not catch these features either
        # (posture.py order: forward, cross, slouch, lean)
        if right in ("cross_left", "cross_right", "slouch", "lean_left", "lean_right", "upright"):
            cur["forward_rel"] = max(cur["forward_rel"], rel * (1 + m))
            cur["forward_abs"] = max(cur["forward_abs"], front * (1 + m))
        if right in ("slouch", "lean_left", "lean_right", "upright"):
            cur["cross"] = max(cur["cross"], tc * (1 + m))
        if right in ("lean_left", "lean_right", "upright"):
            cur["slouch_rel"] = min(cur["slouch_rel"], rel * (1 - m))
        for name in BOUNDS:
            cur[name] = _clip(name, cur[name])
    if n == 0:
        return profile
    source = "corrections" if profile.source == "defaults" else f"{profile.source}+corrections"
    return replace(profile, source=source, **cur)
