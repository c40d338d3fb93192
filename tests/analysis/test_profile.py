"""analysis/profile.py: a correction moves just the thresholds that make the corrected features
read as the right posture; undo (leaving it out) gives the classifier back exactly; a profile
from the set-up starts the sitter's baseline at once."""

from __future__ import annotations

import pytest

from monitor.analysis.posture import PostureClassifier
from monitor.analysis.profile import BOUNDS, SitterProfile, tune

DEFAULTS = {name: float(getattr(PostureClassifier(), name)) for name in BOUNDS}


def _classify(profile: SitterProfile | None, f: dict) -> str:
    pc = PostureClassifier(1.0, profile)
    pc.baseline, pc.baseline_s, pc.even = f["baseline"], 100.0, f["even"]
    return pc.classify(f["front"], f["thigh_c"], f["left"], f["sacral"])[0]


CASES = [
    # (features, shown, right)
    ({"front": 0.25, "thigh_c": 0.05, "left": 0.555, "sacral": 0.01,
      "baseline": 0.25, "even": 0.5}, "upright", "lean_left"),
    ({"front": 0.25, "thigh_c": 0.0, "left": 0.40, "sacral": 0.01,
      "baseline": 0.25, "even": 0.5}, "lean_right", "upright"),
    ({"front": 0.25, "thigh_c": -0.30, "left": 0.49, "sacral": 0.01,
      "baseline": 0.25, "even": 0.5}, "upright", "cross_left"),
    ({"front": 0.20, "thigh_c": 0.0, "left": 0.50, "sacral": 0.02,
      "baseline": 0.25, "even": 0.5}, "upright", "slouch"),
    ({"front": 0.33, "thigh_c": 0.0, "left": 0.50, "sacral": 0.0,
      "baseline": 0.25, "even": 0.5}, "upright", "forward"),
    ({"front": 0.40, "thigh_c": 0.1, "left": 0.52, "sacral": 0.0,
      "baseline": 0.25, "even": 0.5}, "forward", "upright"),
]


@pytest.mark.parametrize(("features", "shown", "right"), CASES, ids=[f"{c[1]}->{c[2]}" for c in CASES])
def test_a_correction_makes_those_features_read_as_the_right_posture(features, shown, right):
    assert _classify(None, features) == shown  # what was on the card
    tuned = tune(SitterProfile(), [{"shown": shown, "posture": right, "features": features}], DEFAULTS)
    assert tuned.source == "corrections"
    assert _classify(tuned, features) == right
    # undo: the correction left out, nothing of it remains
    assert tune(SitterProfile(), [], DEFAULTS) == SitterProfile()


def test_a_truly_even_upright_sitter_cannot_be_corrected_into_a_lean():
    f = {"front": 0.25, "thigh_c": 0.0, "left": 0.5, "sacral": 0.01, "baseline": 0.25, "even": 0.5}
    tuned = tune(SitterProfile(), [{"shown": "upright", "posture": "lean_left", "features": f}], DEFAULTS)
    assert tuned.lean == BOUNDS["lean"][0]  # as low as a lean can plausibly be, no lower
    assert _classify(tuned, f) == "upright"


def test_a_setup_profile_sets_thresholds_and_starts_the_baseline():
    p = SitterProfile(lean=0.05, baseline=0.22, even=0.47, source="setup")
    pc = PostureClassifier(1.0, p)
    assert pc.lean == 0.05 and pc.baseline == 0.22 and pc.even == 0.47
    pc.reset()
    assert pc.baseline == 0.22  # a new sitting starts from the sitter's own baseline
    again = SitterProfile.from_json(p.as_json())
    assert again == p
