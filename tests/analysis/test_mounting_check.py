"""analysis/mounting_check.py on firmware_sim loads turned by numpy, every grid 8x8 to 64x64,
and on inverted raw readings; a normal cushion is confirmed, never flagged."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim import Simulator
from monitor.analysis.mounting_check import (
    ORIENTATIONS,
    MountingCheck,
    orientation_scores,
)
from monitor.calibration.mounting import Mounting, apply_fault

GRIDS = [(8, 8), (12, 20), (16, 16), (32, 32), (64, 64)]


def _seated_frames(rows: int, cols: int, seconds: float = 40.0, seed: int = 5):
    sim = Simulator("tour", rows=rows, cols=cols, rate_hz=4, seed=seed, max_value=4095)
    empty, seated, times = [], [], []
    for f in sim.frames():
        if f.t > 12 + seconds:
            break
        (seated if f.label and f.label.get("occupied") else empty).append(np.asarray(f.cells))
        if f.label and f.label.get("occupied"):
            times.append(f.t)
    return np.stack(empty), (np.stack(seated) if seated else None), np.array(times)


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: f"{g[0]}x{g[1]}")
@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_orientation_is_found_on_every_grid(grid, orientation):
    empty, seated, t = _seated_frames(*grid)
    base = np.median(empty, axis=0)
    loads = (seated - base) / 4095.0  # a plain tare: the check must not depend on calibration details
    m = Mounting(orientation)
    turned = apply_fault(loads, m, 1)
    check = MountingCheck()
    raw = apply_fault(seated, m, 4095)
    check.observe(t, raw, 4095, turned, [True] * len(t))
    f = check.finding
    assert f.state == ("ok" if orientation == "normal" else "fault"), f
    assert f.orientation == orientation
    assert f.seated_s <= 60


def test_inverted_readings_are_found_before_anyone_sits():
    empty, _, _ = _seated_frames(16, 16, seconds=1)
    inverted = apply_fault(empty, Mounting(invert=True), 4095)
    check = MountingCheck()
    t = np.arange(len(inverted)) * 0.25
    check.observe(t, inverted, 4095, None, [False] * len(t))
    assert check.finding.state == "fault" and check.finding.inverted
    assert "inverted" in check.finding.message


def test_an_empty_normal_cushion_is_not_called_inverted():
    empty, _, _ = _seated_frames(16, 16, seconds=1)
    check = MountingCheck()
    t = np.arange(len(empty)) * 0.25
    check.observe(t, empty, 4095, None, [False] * len(t))
    assert check.finding.state == "checking"


def test_no_load_gives_no_vote():
    assert orientation_scores(np.zeros((8, 8))) is None
