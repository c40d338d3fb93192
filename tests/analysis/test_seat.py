"""SeatAnalyzer end to end on frames from the project's simulator (firmware_sim)."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from firmware_sim import Scenario, Segment, Simulator
from monitor.analysis.seat import SeatAnalyzer
from monitor.config.settings import AnalysisConfig
from monitor.model import POSTURES, DeviceInfo, Frame


def simulate(
    segments,
    rows=16,
    cols=16,
    rate=10.0,
    seed=1,
    weight=70.0,
    offset=(0.0, 0.0),
    max_value=4095,
    noise=1.0,
    fidget=None,
):
    person = {} if fidget is None else {"fidget": fidget}
    sc = Scenario(name="test", segments=list(segments), person=person)
    sim = Simulator(
        sc,
        rows=rows,
        cols=cols,
        rate_hz=rate,
        seed=seed,
        max_value=max_value,
        weight_kg=weight,
        offset_cm=offset,
        noise_level=noise,
    )
    frames = list(sim.frames())
    t = np.array([f.t for f in frames])
    cells = np.stack([f.cells for f in frames])
    labels = [f.label for f in frames]
    dev = DeviceInfo(rows=rows, cols=cols, max_value=max_value, rate_hz=rate)
    return dev, t, cells, labels


def away(s=10.0):
    return Segment(kind="away", duration_s=s, posture="empty")


def sit(posture, s=30.0, intensity=1.0):
    return Segment(kind="sit", duration_s=s, posture=posture, intensity=intensity)


def test_batch_gives_exactly_the_per_frame_readings():
    dev, t, cells, _ = simulate(
        [away(8), sit("upright", 15), sit("lean_left", 12), away(6)],
        12,
        20,
        20.0,
        seed=3,
    )
    one = SeatAnalyzer(dev)
    per_frame = [
        one.process(Frame("c", float(t[i]), cells[i], dev.max_value))
        for i in range(len(t))
    ]
    batch = SeatAnalyzer(dev)
    half = len(t) // 2  # two batches: state carries over between them
    readings = batch.process_batch(t[:half], cells[:half]) + batch.process_batch(
        t[half:], cells[half:]
    )
    assert len(readings) == len(per_frame)
    for a, b in zip(per_frame, readings, strict=True):
        assert a == b


@pytest.mark.parametrize(
    "rows,cols,rate,weight,offset,seed",
    [
        (16, 16, 10.0, 70.0, (0.0, 0.0), 11),
        (8, 8, 5.0, 45.0, (4.0, 0.0), 12),
        (12, 20, 25.0, 120.0, (-4.0, 2.0), 13),
        (32, 32, 10.0, 95.0, (2.0, -3.0), 14),
    ],
)
def test_every_posture_is_recognised(rows, cols, rate, weight, offset, seed):
    postures = [
        "upright",
        "lean_left",
        "lean_right",
        "cross_left",
        "cross_right",
        "upright",
        "slouch",
        "upright",
        "forward",
    ]
    segs = [away(8)] + [sit(p, 20) for p in postures]
    dev, t, cells, _ = simulate(segs, rows, cols, rate, seed, weight, offset)
    readings = SeatAnalyzer(dev).process_batch(t, cells)
    # Each segment: the last 12 s (5 s after the change) must read the truth almost always.
    start = 8.0
    for p in postures:
        sel = [r.posture for r in readings if start + 8.0 <= r.t < start + 20.0]
        share = Counter(sel)[p] / len(sel)
        assert share >= 0.95, (p, Counter(sel))
        start += 20.0
    assert all(r.posture in POSTURES for r in readings)


def test_left_share_follows_the_truth_and_midline_features_for_the_dashboard():
    dev, t, cells, labels = simulate(
        [away(6), sit("upright", 20), sit("lean_right", 20), sit("cross_left", 20)],
        16,
        16,
        10.0,
        seed=21,
        offset=(3.0, 0.0),
    )
    readings = SeatAnalyzer(dev).process_batch(t, cells)
    err = [
        abs(r.left_share - lab["left_share"])
        for r, lab in zip(readings, labels, strict=True)
        if lab["occupied"] and r.present and r.t > 12.0
    ]
    assert np.mean(err) < 0.02
    seated = readings[-1]
    f = seated.features
    peaks = seated.peaks
    assert peaks is not None and len(peaks.left) == 2 and len(peaks.right) == 2
    assert peaks.left[1] < f["midline_col"] < peaks.right[1]
    assert 0 <= f["cop"][0] < 16 and 0 <= f["cop"][1] < 16
    empty = readings[0]
    assert (
        empty.present is False and empty.left_share is None and empty.posture == "empty"
    )


@pytest.mark.parametrize("kg", [3.0, 4.8])
def test_a_light_bag_is_not_a_sitter_but_a_light_person_is(kg):
    segs = [
        away(10),
        Segment(kind="object", duration_s=40, object_kg=kg),
        away(10),
        sit("forward", 20),
    ]
    dev, t, cells, _ = simulate(segs, 16, 16, 10.0, seed=31, weight=45.0)
    readings = SeatAnalyzer(dev).process_batch(t, cells)
    bag = [r.present for r in readings if 12.0 <= r.t < 50.0]
    assert not any(bag)
    person = [r.present for r in readings if 65.0 <= r.t < 80.0]
    assert all(person)


def test_steady_fidgety_sitter_does_not_flicker():
    dev, t, cells, _ = simulate(
        [away(5), sit("upright", 120)], 16, 16, 50.0, seed=41, fidget=3.0
    )
    readings = SeatAnalyzer(dev).process_batch(t, cells)
    seq = [r.posture for r in readings if r.t > 10.0]
    changes = sum(a != b for a, b in itertools.pairwise(seq))
    assert changes <= 2, Counter(seq)


@pytest.mark.parametrize("rate", [5.0, 50.0])
def test_a_real_change_shows_within_a_few_seconds_at_any_rate(rate):
    dev, t, cells, _ = simulate(
        [away(5), sit("upright", 30), sit("cross_right", 30)], 16, 16, rate, seed=51
    )
    readings = SeatAnalyzer(dev).process_batch(t, cells)
    first = next(r.t for r in readings if r.t > 35.0 and r.posture == "cross_right")
    assert first - 35.0 < 4.5  # includes the simulator's 2 s blend


def test_sensitivity_moves_thresholds_towards_neutral():
    dev, t, cells, _ = simulate(
        [away(5), sit("lean_left", 40, intensity=0.45)], 16, 16, 10.0, seed=61
    )
    calm = SeatAnalyzer(dev, AnalysisConfig(sensitivity=0.5)).process_batch(t, cells)
    keen = SeatAnalyzer(dev, AnalysisConfig(sensitivity=4.0)).process_batch(t, cells)
    n_calm = sum(r.posture == "lean_left" for r in calm)
    n_keen = sum(r.posture == "lean_left" for r in keen)
    assert n_keen > n_calm


def test_state_dict_round_trip():
    dev, t, cells, _ = simulate([away(10), sit("upright", 40)], 16, 16, 10.0, seed=71)
    a = SeatAnalyzer(dev)
    a.process_batch(t, cells)
    b = SeatAnalyzer(dev)
    b.load_state(a.state_dict())
    assert b.occupancy.seated_ref == pytest.approx(a.occupancy.seated_ref)
    np.testing.assert_allclose(b.calibrator.offset, a.calibrator.offset, atol=1e-6)


def test_batch_gives_exactly_the_per_frame_readings_on_a_saturating_cushion():
    """Real-cushion physics (a divider read-out): the learnt exponent is above 1, and the
    batch path still gives the per-frame readings bit for bit."""
    sim = Simulator("session", seed=113, physics="real", duration_s=150.0)  # 8x8, 10 Hz
    frames = list(sim.frames())
    t = np.array([f.t for f in frames])
    cells = np.stack([f.cells for f in frames])
    dev = DeviceInfo(rows=sim.rows, cols=sim.cols, max_value=sim.max_value, rate_hz=sim.rate_hz)
    one = SeatAnalyzer(dev)
    per_frame = [one.process(Frame("c", float(t[i]), cells[i], dev.max_value)) for i in range(len(t))]
    assert one.calibrator.response.gamma > 1.2
    batch = SeatAnalyzer(dev)
    third = len(t) // 3
    readings = (batch.process_batch(t[:third], cells[:third]) + batch.process_batch(t[third:], cells[third:]))
    assert readings == per_frame
