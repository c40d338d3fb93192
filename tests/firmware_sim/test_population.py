"""Who is on the seat under real physics: 40-140 kg sitters, their bias, weak postures, cats, bags."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim import Scenario, Segment, Simulator
from firmware_sim.body import SEAT_CM
from firmware_sim.population import CatMotion, G, generate_session
from firmware_sim.sensor import SensorParams

QUIET = SensorParams.scaled(0.0)


def test_sitters_weigh_40_to_140_kg():
    weights = [Simulator("session", seed=s, physics="people").person.weight_kg for s in range(60)]
    assert 40 <= min(weights) < 52 and 128 < max(weights) <= 140
    # a weight given by hand wins over the draw
    assert Simulator("session", seed=1, physics="people", weight_kg=66).person.weight_kg == 66


def upright_share(asymmetry: float, seed: int = 2) -> float:
    sc = Scenario(
        "t", segments=[Segment("away", 3), Segment("sit", 20, "upright")], person={"fidget": 0.0, "offset_cm": [0, 0]}
    )
    sim = Simulator(sc, rows=16, cols=16, seed=seed, physics=f"people,asymmetry={asymmetry},thigh_asymmetry=0")
    return float(np.mean([f.label["left_share"] for f in sim.frames() if f.label["occupied"] and f.label["seg_t"] > 3]))


def test_a_natural_left_right_bias_moves_the_upright_share():
    assert upright_share(0.0) == pytest.approx(0.5, abs=0.01)
    assert upright_share(0.08) < 0.5 - 0.02  # more on the right: less on the left
    assert upright_share(-0.08) > 0.5 + 0.02


def lean_share(expressiveness: float) -> float:
    sc = Scenario(
        "t", segments=[Segment("away", 3), Segment("sit", 20, "lean_left")], person={"fidget": 0.0, "offset_cm": [0, 0]}
    )
    sim = Simulator(
        sc, rows=16, cols=16, seed=2, physics=f"people,asymmetry=0,thigh_asymmetry=0,expressiveness={expressiveness}"
    )
    return float(np.mean([f.label["left_share"] for f in sim.frames() if f.label["occupied"] and f.label["seg_t"] > 3]))


def test_weak_postures_lean_less():
    weak, strong = lean_share(0.5), lean_share(1.05)
    assert 0.5 < weak < strong
    assert weak - 0.5 == pytest.approx((strong - 0.5) * 0.5 / 1.05, rel=0.25)  # about in proportion


def test_a_cats_whole_weight_is_on_the_seat_and_it_moves():
    cat = CatMotion(np.random.default_rng(4), 10.0)
    kg = np.full(64, 4.0)
    fresh = np.zeros(64, bool)
    fresh[0] = True
    xs = []
    for c in range(40):  # ~4 minutes
        force, xa, _, ya, _ = cat.step_batch(kg, fresh if c == 0 else np.zeros(64, bool))
        assert np.allclose(force.sum(axis=1), 4.0 * G)
        centre = (force * xa).sum(axis=1) / force.sum(axis=1), (force * ya).sum(axis=1) / force.sum(axis=1)
        xs.append(np.stack(centre, axis=1))
    path = np.concatenate(xs)
    assert np.ptp(path[:, 0]) > 3.0 or np.ptp(path[:, 1]) > 3.0  # it wanders
    assert (path > -5).all() and (path < SEAT_CM + 5).all()  # ... about the seat


def test_a_cat_or_a_bag_leaves_the_seat_empty():
    sc = Scenario(
        "t",
        segments=[
            Segment("away", 10),
            Segment("cat", 120, object_kg=4.5),
            Segment("away", 10),
            Segment("object", 60, object_kg=3.0),
            Segment("sit", 20, "upright"),
        ],
    )
    sim = Simulator(sc, rows=16, cols=16, seed=3, sensor_params=QUIET)
    assert sim.real  # a cat needs the real-physics renderer, even with physics off
    frames = list(sim.frames())
    empty = frames[0].cells.astype(float)
    cat = [f for f in frames if f.label["seg"] == "cat"]
    bag = [f for f in frames if f.label["seg"] == "object"]
    assert len(cat) == 1200 and len(bag) == 600
    for f in cat + bag:
        assert f.label["occupied"] is False and f.label["posture"] == "empty" and f.label["left_share"] is None
    # the cat is seen: a load of a few kg that moves; a sitter is far heavier
    cat_load = np.array([(f.cells - empty).sum() for f in cat[30:]])
    sit_load = np.mean([(f.cells - empty).sum() for f in frames[-50:]])
    assert (cat_load > 0).mean() > 0.95 and cat_load.mean() < 0.15 * sit_load


def test_cat_weights_are_drawn_3_to_5_kg_and_appear_in_away_stretches():
    seen = []
    for seed in range(12):
        sim = Simulator("session", seed=seed, physics="cat")
        cats = [s for s in sim.segments if s.kind == "cat"]
        seen += [s.object_kg for s in cats]
        assert sim.draw.cat_kg == pytest.approx(sim.draw.cat_kg) and 3.0 <= sim.draw.cat_kg <= 5.0
        for i, s in enumerate(sim.segments):
            if s.kind == "cat":  # always inside an away stretch: empty seat either side
                assert sim.segments[i - 1].kind == "away" and sim.segments[i + 1].kind == "away"
    assert len(seen) >= 4 and all(3.0 <= kg <= 5.0 for kg in seen)
    assert not any(s.kind == "cat" for s in Simulator("session", seed=1).segments)  # only with the condition


def test_sessions_last_about_15_minutes_with_several_postures():
    for seed in range(10):
        segs = generate_session(np.random.default_rng(seed))
        total = sum(s.duration_s for s in segs)
        assert 13 * 60 <= total <= 20 * 60
        postures = {s.posture for s in segs if s.kind == "sit"}
        assert "upright" in postures and 3 <= len(postures) <= 5
        assert segs[0].kind == "away"
