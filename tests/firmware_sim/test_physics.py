"""Real-cushion sensor physics, each effect against the figure docs/simulator.md states for it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_sim import Scenario, Segment, Simulator
from firmware_sim.physics import CONDITIONS, CushionDraw, draw_cushion, parse_physics
from firmware_sim.realsensor import (
    CreepState,
    RealSensor,
    crosstalk,
    divider,
    power_law,
    quantise,
)
from firmware_sim.sensor import SensorParams

QUIET = SensorParams.scaled(0.0)  # no noise, no gain spread, no dead cells: one effect at a time


def sitting(seconds: float, rest_s: float = 10.0, after_s: float = 0.0, **person) -> Scenario:
    segs = [Segment("away", rest_s), Segment("sit", seconds, "upright")]
    if after_s:
        segs.append(Segment("away", after_s))
    return Scenario("t", segments=segs, person={"weight_kg": 75, "offset_cm": [0.0, 0.0], "fidget": 0.0, **person})


def tared_sums(sim: Simulator) -> tuple[np.ndarray, np.ndarray, list]:
    frames = list(sim.frames())
    empty = np.mean([f.cells for f in frames if f.t < 9.0], axis=0)
    t = np.array([f.t for f in frames])
    sums = np.array([(f.cells.astype(float) - empty).sum() for f in frames])
    return t, sums, frames


def test_power_law_response_saturates_with_the_cushions_exponent():
    p = np.array([2.0, 4.0, 8.0, 16.0, 32.0])
    for exponent in (0.5, 0.9, 1.2):
        g = power_law(p, half_kpa=16.0, exponent=exponent)
        slopes = np.diff(np.log(g)) / np.diff(np.log(p))
        assert np.allclose(slopes, exponent)  # a straight line on log-log axes
        assert g[3] == pytest.approx(1.0)  # half_kpa reads half of full scale ...
        assert divider(g)[3] == pytest.approx(0.5)
    reading = divider(power_law(np.linspace(1, 400, 400), 16.0, 0.9))
    steps = np.diff(reading)
    assert (steps > 0).all() and (np.diff(steps) < 0).all()  # ... and saturates: each kPa adds less
    assert reading[-1] < 1.0
    assert power_law(np.array([0.3]), 16.0, 0.9, act_kpa=0.5)[0] == 0.0  # below actuation: nothing


def test_gain_spread_matches_the_drawn_sigma_up_to_25_percent():
    for sd in (0.05, 0.25):
        draw = CushionDraw(gain_sd=sd)
        s = RealSensor(32, 32, np.random.default_rng(3), draw, frozenset({"gain"}), QUIET, 4095, 10.0)
        assert s.gain.mean() == pytest.approx(1.0, abs=0.03)
        assert np.std(np.log(s.gain)) == pytest.approx(sd, rel=0.1)
    # every real draw stays within the stated spread
    sds = [draw_cushion(np.random.default_rng(i), parse_physics("real")).gain_sd for i in range(200)]
    assert min(sds) >= 0.04 and max(sds) <= 0.25 and max(sds) > 0.2


def test_crosstalk_ghost_lies_along_loaded_rows_and_columns_and_adds_its_fraction():
    g = np.zeros((1, 6, 6))
    g[0, 1, 1] = g[0, 4, 4] = 2.0
    out = crosstalk(g, 0.1)
    # cells whose row and column both carry load read a ghost: (1, 4) and (4, 1)
    assert out[0, 1, 4] == pytest.approx(0.1 * 2.0 * 2.0 / 4.0)
    assert out[0, 4, 1] == pytest.approx(out[0, 1, 4])
    assert out[0, 0, 0] == 0.0 and out[0, 1, 0] == 0.0  # nothing where the row or column is unloaded
    assert (out.sum() - g.sum()) / g.sum() == pytest.approx(0.1)  # ghost load = the fraction
    lone = np.zeros((1, 4, 4))
    lone[0, 2, 1] = 1.0
    ghost = crosstalk(lone, 0.1) - lone
    assert np.count_nonzero(ghost) == 1  # a lone loaded cell has no ghost elsewhere

    # end to end (linear response, no noise): the tared load grows by the fraction
    base = Simulator(
        sitting(20), rows=16, cols=16, seed=2, sensor_params=QUIET, physics="traces,dead_fraction=0,stuck_fraction=0"
    )
    xt = Simulator(
        sitting(20),
        rows=16,
        cols=16,
        seed=2,
        sensor_params=QUIET,
        physics="traces,dead_fraction=0,stuck_fraction=0,crosstalk=0.08",
    )
    _, a, _ = tared_sums(base)
    _, b, _ = tared_sums(xt)
    assert b[-50:].mean() / a[-50:].mean() == pytest.approx(1.08, abs=0.01)


def test_creep_reaches_about_19_percent_over_20_minutes_of_constant_load():
    state = CreepState((1, 1), 10.0, creep=0.19, creep_tau_s=300.0, hysteresis=0.0, hysteresis_tau_s=1.0)
    out = state.step_batch(np.ones((12000, 1, 1)))  # 20 min at 10 Hz
    assert out[-1, 0, 0] - 1.0 == pytest.approx(0.19 * (1 - math.exp(-4.0)), rel=0.01)
    assert 0.18 < out[-1, 0, 0] - 1.0 < 0.19
    # the layers part when unloaded: no creep is read off the load, and it is forgotten slowly
    released = state.step_batch(np.zeros((3000, 1, 1)))  # 5 min unloaded
    assert released.max() == 0.0
    again = state.step_batch(np.ones((1, 1, 1)))[0, 0, 0]
    assert again - 1.0 == pytest.approx(0.19 * (1 - math.exp(-4.0)) * math.exp(-1.0), rel=0.02)

    # the whole simulator (linear response, no noise): against the same sitter on a mat
    # without creep, the readings rise by 19 % x (1 - exp(-t / tau)) from sitting down
    kw = dict(rows=16, cols=16, rate_hz=2, seed=4, sensor_params=QUIET)
    t, creeping, _ = tared_sums(Simulator(sitting(1200), **kw, physics="creep,creep=0.19,creep_tau_s=300,hysteresis=0"))
    _, still, _ = tared_sums(Simulator(sitting(1200), **kw, physics="creep,creep=0,hysteresis=0"))
    for at in (60.0, 300.0, 1199.0):
        i = int(np.searchsorted(t, 10.0 + at))
        assert creeping[i] / still[i] == pytest.approx(1 + 0.19 * (1 - math.exp(-at / 300)), abs=0.005)


def test_hysteresis_a_released_load_still_reads_its_fraction_then_fades():
    state = CreepState((1, 1), 10.0, creep=0.0, creep_tau_s=60.0, hysteresis=0.1, hysteresis_tau_s=20.0)
    load = np.concatenate([np.ones(600), np.zeros(1200)])[:, None, None]
    out = state.step_batch(load)[:, 0, 0]
    assert out[599] == pytest.approx(1.0)  # on the loading curve: no excess
    assert out[600] == pytest.approx(0.1 * math.exp(-0.1 / 20.0), rel=0.01)  # just released
    assert out[600 + 200] == pytest.approx(0.1 * math.exp(-20.1 / 20.0), rel=0.02)  # one time constant on
    # loading again from half way: the unloading curve lies above the loading one
    state2 = CreepState((1, 1), 10.0, 0.0, 60.0, 0.1, 20.0)
    up = state2.step_batch(np.linspace(0, 1, 100)[:, None, None])[:, 0, 0]
    down = state2.step_batch(np.linspace(1, 0, 100)[:, None, None])[:, 0, 0]
    assert (down[::-1][10:90] > up[10:90]).all()


def test_offset_drifts_with_the_mats_warmth():
    draw = CushionDraw(warm_c=10.0, warm_tau_s=60.0, offset_per_c=0.002, gain_per_c=0.004)
    s = RealSensor(16, 16, np.random.default_rng(5), draw, frozenset({"drift"}), QUIET, 4095, 10.0)
    zero = np.zeros((64, 16, 16))
    cold = s.read_batch(zero, np.zeros(64)).astype(float).mean()
    for _ in range(100):  # 640 s warming under a seated body (> 10 time constants)
        warm = s.read_batch(zero, np.ones(64)).astype(float).mean()
    assert warm - cold == pytest.approx(0.002 * 10.0 * 4095, rel=0.1)  # ~82 counts
    assert s.warmth == pytest.approx(10.0, rel=0.01)


def test_broken_trace_dead_and_stuck_cells():
    sim = Simulator(
        sitting(30), rows=16, cols=16, seed=6, physics="traces,broken=row:11,dead_fraction=0.03,stuck_fraction=0.01"
    )
    frames = list(sim.frames())
    seated = np.array([f.cells for f in frames if f.label["occupied"]], dtype=float)
    assert seated[:, 11, :].max() < 0.01 * 4095  # the whole row reads (almost) nothing under the sitter
    assert seated[:, 12, :].max() > 0.2 * 4095  # the sit bones
    still = (seated.std(axis=0) == 0) & (seated.mean(axis=0) > 0)
    assert still.sum() == round(0.01 * 256)  # stuck cells: a fixed reading
    assert (seated.max(axis=0) == 0).sum() >= round(0.03 * 256) - 4  # dead (a few fall in the broken row)
    col = Simulator(sitting(10), rows=12, cols=20, seed=6, physics="traces,broken=col:3")
    seated = np.array([f.cells for f in col.frames() if f.label["occupied"]], dtype=float)
    assert seated[:, :, 3].max() < 0.01 * 4095


@pytest.mark.parametrize("max_value, levels", [(9, 10), (255, 256)])
def test_coarse_quantisation(max_value, levels):
    sim = Simulator(sitting(20), rows=10, cols=15, seed=7, max_value=max_value, physics="response")
    cells = np.array([f.cells for f in sim.frames() if f.label["occupied"]])
    assert cells.min() >= 0 and cells.max() <= max_value
    used = np.unique(cells)
    assert len(used) >= (4 if max_value == 9 else 60) and len(used) <= levels
    # a digit cushion: a 10-bit ADC reading shown as one digit, code * 10 // 1024
    assert quantise(np.array([0.0, 0.5, 4.5, 8.99, 9.0, 12.0]), 9).tolist() == [0, 0, 5, 9, 9, 9]


def test_jittered_frame_times_and_lost_stretches():
    sc = Scenario("t", segments=[Segment("sit", 1800, "upright")])
    sim = Simulator(sc, rows=8, cols=8, rate_hz=10, seed=8, physics="timing,jitter=0.08,gap_per_min=1,gap_max_s=3")
    frames = list(sim.frames())
    t = np.array([f.t for f in frames])
    seq = np.array([f.seq for f in frames])
    assert (np.diff(t) > 0).all()
    assert np.allclose(t, np.round(t, 3))  # a millisecond clock
    err = t - seq * 0.1
    assert np.std(err) == pytest.approx(0.08 * 0.1, rel=0.15)
    lost = 1 - len(frames) / sim.n_frames
    assert 0.012 < lost < 0.05  # ~1 gap a minute, 0.3-3 s each: ~2.75 %
    gaps = np.diff(t)[np.diff(seq) > 1]
    assert len(gaps) > 10 and gaps.max() <= 3.0 + 0.2


def test_every_condition_switches_alone_and_the_others_draws_stay():
    real = draw_cushion(np.random.default_rng(11), parse_physics("real"))
    for name in CONDITIONS:
        alone = draw_cushion(np.random.default_rng(11), parse_physics(name))
        without = draw_cushion(np.random.default_rng(11), parse_physics(f"real,-{name}"))
        default = CushionDraw()
        for field in real.__dataclass_fields__:
            from firmware_sim.physics import PARAM_CONDITION

            mine = PARAM_CONDITION[field] == name
            assert getattr(alone, field) == (getattr(real, field) if mine else getattr(default, field))
            assert getattr(without, field) == (getattr(default, field) if mine else getattr(real, field))


def test_real_draws_are_reproducible_and_vary():
    a = Simulator("session", seed=21, physics="real", duration_s=20)
    b = Simulator("session", seed=21, physics="real", duration_s=20)
    c = Simulator("session", seed=22, physics="real", duration_s=20)
    fa, fb = list(a.frames()), list(b.frames())
    assert [f.cells.tobytes() for f in fa] == [f.cells.tobytes() for f in fb]
    assert [f.t for f in fa] == [f.t for f in fb] and [f.label for f in fa] == [f.label for f in fb]
    assert a.physics_info() != c.physics_info()
    short = list(Simulator("session", seed=21, physics="real", duration_s=9).frames())
    assert [f.cells.tobytes() for f in short] == [f.cells.tobytes() for f in fa[: len(short)]]
    grids = {
        (s.rows, s.cols, s.max_value, s.rate_hz)
        for s in (Simulator("session", seed=i, physics="real") for i in range(40))
    }
    assert len({g[:2] for g in grids}) >= 6 and {g[2] for g in grids} == {9, 255, 1023, 4095}
    assert min(g[3] for g in grids) >= 2 and max(g[3] for g in grids) <= 50


def test_physics_off_is_the_default_simulator():
    plain = Simulator("tour", seed=3, duration_s=30)
    off = Simulator("tour", seed=3, duration_s=30, physics="off")
    assert not plain.real and plain.physics_info() is None
    assert [f.cells.tobytes() for f in plain.frames()] == [f.cells.tobytes() for f in off.frames()]
