"""firmware_sim body + sensor model: reproducible, labelled right, physically sane."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim import Scenario, Segment, Simulator
from firmware_sim.body import ForceRenderer, Person, components, pose_for


def scripted(postures: list[str], seconds: float = 8.0, weight: float = 75.0, offset=(0.0, 0.0), **seg) -> Scenario:
    segs = [Segment("away", 4.0)] + [Segment("sit", seconds, p, **seg) for p in postures]
    return Scenario("test", segments=segs, person={"weight_kg": weight, "offset_cm": list(offset), "fidget": 1.0})


def settled(sim: Simulator) -> dict[str, np.ndarray]:
    """Mean tared reading (minus the empty seat) per posture, from frames after the 2 s blend."""
    frames = list(sim.frames())
    empty = np.mean([f.cells for f in frames if not f.label["occupied"] and f.t > 1.0], axis=0)
    seg_start = {}
    out: dict[str, list] = {}
    for f in frames:
        p = f.label["posture"]
        seg_start.setdefault(p, f.t)
        if f.label["occupied"] and f.t - seg_start[p] > 2.5:
            out.setdefault(p, []).append(f.cells.astype(float) - empty)
    return {p: np.mean(v, axis=0) for p, v in out.items()}


def shares(sim: Simulator) -> dict[str, float]:
    got: dict[str, list] = {}
    for f in sim.frames():
        if f.label["occupied"]:
            got.setdefault(f.label["posture"], []).append(f.label["left_share"])
    return {p: float(np.mean(v[len(v) // 3 :])) for p, v in got.items()}


ALL = ["upright", "lean_left", "lean_right", "cross_left", "cross_right", "slouch", "forward"]


def test_same_seed_same_frames_other_seed_other_frames():
    a = list(Simulator("tour", seed=5, duration_s=40).frames())
    b = list(Simulator("tour", seed=5, duration_s=40).frames())
    c = list(Simulator("tour", seed=6, duration_s=40).frames())
    assert len(a) == len(b) == 400
    assert all(
        np.array_equal(x.cells, y.cells) and x.label == y.label and x.t == y.t for x, y in zip(a, b, strict=True)
    )
    assert not all(np.array_equal(x.cells, y.cells) for x, y in zip(a, c, strict=True))
    # and a second pass over the same Simulator replays the same run
    sim = Simulator("fidgety", seed=3, duration_s=5)
    assert [f.cells.tobytes() for f in sim.frames()] == [f.cells.tobytes() for f in sim.frames()]


def test_a_shorter_run_is_a_prefix_of_a_longer_one():
    short = list(Simulator("fidgety", seed=8, duration_s=7.3).frames())
    long = list(Simulator("fidgety", seed=8, duration_s=20).frames())
    assert len(short) == 73
    assert all(np.array_equal(a.cells, b.cells) and a.label == b.label for a, b in zip(short, long, strict=False))


def test_labels_follow_the_script():
    sc = Scenario(
        "s",
        segments=[
            Segment("away", 3), Segment("sit", 5, "lean_left"), Segment("stand", 2),
            Segment("sit", 4, "slouch"), Segment("object", 3, object_kg=4.0), Segment("away", 2),
        ],
        person={"weight_kg": 70},
    )
    sim = Simulator(sc, rate_hz=10, seed=2)
    frames = list(sim.frames())
    assert len(frames) == 190 and sim.duration_s == 19
    expect = ["empty"] * 30 + ["lean_left"] * 50 + ["empty"] * 20 + ["slouch"] * 40 + ["empty"] * 50
    assert [f.label["posture"] for f in frames] == expect
    occupied = [f.label["occupied"] for f in frames]
    assert occupied == [p != "empty" for p in expect]
    for f in frames:
        if f.label["occupied"]:
            assert 0.0 < f.label["left_share"] < 1.0
        else:
            assert f.label["left_share"] is None
    assert [f.seq for f in frames] == list(range(190))
    assert [f.label["seg"] for f in frames[28:32]] == ["away", "away", "sit", "sit"]
    assert frames[31].label["seg_t"] == pytest.approx(0.1) and frames[100].label["seg"] == "sit"
    assert frames[95].label["seg"] == "stand" and frames[95].label["seg_t"] == pytest.approx(1.5)
    assert frames[37].t == pytest.approx(3.7)


@pytest.mark.parametrize("weight,offset", [(45, (-4, 4)), (75, (0, 0)), (120, (4, -4)), (60, (3, 2))])
def test_posture_physics(weight, offset):
    sim = Simulator(scripted(ALL, weight=weight, offset=offset), rows=16, cols=16, seed=weight)
    ls = shares(sim)
    # measured from the sitter's own midline, even sitting off-centre reads about 0.5
    assert 0.45 < ls["upright"] < 0.55
    assert 0.45 < ls["slouch"] < 0.55 and 0.45 < ls["forward"] < 0.55
    assert 0.58 < ls["lean_left"] < 0.8 and 0.2 < ls["lean_right"] < 0.42
    assert ls["cross_left"] < 0.45 and ls["cross_right"] > 0.55

    m = settled(sim)
    r, c = m["upright"].shape
    front_l = lambda a: a[: r // 2, : c // 2].sum()  # noqa: E731
    front_r = lambda a: a[: r // 2, c // 2 :].sum()  # noqa: E731
    # the crossed leg's thigh is lifted: its front quarter loses most of its contact
    assert front_l(m["cross_left"]) < 0.5 * front_r(m["cross_left"])
    assert front_r(m["cross_right"]) < 0.5 * front_l(m["cross_right"])
    assert front_l(m["upright"]) > 0.6 * front_r(m["upright"])

    def cop_row(a):
        a = np.clip(a, 0, None)
        return float((a.sum(axis=1) * np.arange(r)).sum() / a.sum())

    # slouch: load moves back (towards the last row) and appears at the back centre
    assert cop_row(m["slouch"]) > cop_row(m["upright"]) + 0.4
    back_centre = lambda a: a[-3:, c // 2 - 2 : c // 2 + 2].sum() / a.sum()  # noqa: E731
    assert back_centre(m["slouch"]) > 1.5 * back_centre(m["upright"])
    # forward: load moves to the front, thighs heavier, sit-bone peaks lighter
    assert cop_row(m["forward"]) < cop_row(m["upright"]) - 0.8
    front_share = lambda a: a[: r // 2].sum() / a.sum()  # noqa: E731
    assert front_share(m["forward"]) > front_share(m["upright"]) + 0.1
    assert m["forward"].max() < 0.8 * m["upright"].max()
    # lean: the peak on the leaning side is clearly higher
    left_peak = lambda a: a[:, : c // 2].max()  # noqa: E731
    right_peak = lambda a: a[:, c // 2 :].max()  # noqa: E731
    assert left_peak(m["lean_left"]) > 1.2 * right_peak(m["lean_left"])
    assert right_peak(m["lean_right"]) > 1.2 * left_peak(m["lean_right"])


def test_two_sit_bone_peaks_10_to_13_cm_apart_behind_the_thighs():
    person = Person(weight_kg=75, bone_spacing=12.0)
    r = ForceRenderer(64, 64)  # 0.625 cm cells
    force = r.render(components(person, pose_for("upright")))
    back = force[32:]  # sit bones sit in the back half of the seat
    left = np.unravel_index(np.argmax(back[:, :32]), (32, 32))
    right = np.unravel_index(np.argmax(back[:, 32:]), (32, 32))
    spacing_cm = (right[1] + 32 - left[1]) * 40 / 64
    assert 10.0 <= spacing_cm <= 14.0
    assert abs(left[0] - right[0]) <= 1
    # thighs: both front quarters carry load, less per cell than the sit-bone peaks
    assert force[:20, :32].sum() > 0.05 * force.sum() and force[:20, 32:].sum() > 0.05 * force.sum()
    assert force[:20].max() < 0.5 * force.max()


def test_magnitudes_like_a_real_cushion():
    """Raw sums, peaks and offsets in the range of the independent sample recordings."""
    sim = Simulator(scripted(["upright"], seconds=10, weight=75), rows=16, cols=16, seed=4)
    frames = list(sim.frames())
    empty = np.array([f.cells for f in frames[5:35]], float)
    sitting = np.array([f.cells for f in frames[-50:]], float)
    offsets = empty.mean(axis=0)
    live = offsets[offsets > 0]
    assert 15 < np.median(live) < 60  # per-cell zero offsets, counts
    assert (offsets == 0).sum() >= 1  # dead cells read 0
    assert 3 < np.median(empty.std(axis=0)) < 25  # noise
    raw_sum = sitting.sum(axis=(1, 2)).mean()
    assert 35_000 < raw_sum < 80_000
    peak = sitting.max(axis=0).max() / 4095
    assert 0.35 < peak < 0.95


def test_load_grows_with_weight_and_sums_scale_with_the_grid():
    def tared_sum(weight, rows, cols):
        sim = Simulator(scripted(["upright"], seconds=6, weight=weight), rows=rows, cols=cols, seed=1, noise_level=0.0)
        frames = list(sim.frames())
        return frames[-1].cells.astype(float).sum() - frames[20].cells.astype(float).sum()

    light, mid, heavy = (tared_sum(w, 16, 16) for w in (45, 75, 120))
    assert light < mid < heavy
    assert 1.8 < heavy / light < 3.2
    # a pressure mat: 4x the cells, ~4x the sum
    assert 3.0 < tared_sum(75, 32, 32) / mid < 5.0
    assert 0.18 < tared_sum(75, 8, 8) / mid < 0.33


@pytest.mark.parametrize("rows,cols", [(4, 4), (8, 8), (12, 20), (32, 32), (64, 64), (5, 37)])
def test_any_grid(rows, cols):
    sim = Simulator(scripted(["lean_left"], seconds=3), rows=rows, cols=cols, seed=1)
    frames = list(sim.frames())
    assert all(f.cells.shape == (rows, cols) and f.cells.dtype == np.uint16 for f in frames)
    # the label comes from the fine force map, whatever the grid
    ref = list(Simulator(scripted(["lean_left"], seconds=3), rows=16, cols=16, seed=1).frames())
    assert [f.label for f in frames] == [f.label for f in ref]


@pytest.mark.parametrize("max_value", [255, 4095, 65535])
def test_full_scale(max_value):
    sim = Simulator(scripted(["lean_right"], seconds=6, weight=120), seed=2, max_value=max_value)
    frames = list(sim.frames())
    top = max(int(f.cells.max()) for f in frames)
    assert top <= max_value
    assert top > 0.4 * max_value  # a heavy lean uses most of the range, any bit depth
    assert sim.device_info()["max_value"] == max_value


def test_posture_changes_blend_over_two_seconds():
    sim = Simulator(scripted(["upright"], seconds=6), rate_hz=20, seed=1, noise_level=0.0)
    sums = {round(f.t, 2): float(f.cells.astype(float).sum()) for f in sim.frames()}
    base = sums[3.5]
    full = sums[9.0] - base
    at = lambda s: (sums[round(4.0 + s, 2)] - base) / full  # noqa: E731 - load share s seconds after sitting down
    assert at(0.25) < 0.15
    assert 0.3 < at(1.0) < 0.7
    assert at(2.5) > 0.93


def test_object_on_seat_is_light_and_unoccupied():
    sc = Scenario(
        "bag",
        segments=[Segment("away", 4), Segment("object", 6, object_kg=4.5), Segment("sit", 6)],
        person={"weight_kg": 60},
    )
    frames = list(Simulator(sc, seed=3).frames())
    empty = np.mean([f.cells for f in frames[10:40]], axis=0)
    bag = np.mean([f.cells for f in frames[70:100]], axis=0) - empty
    person = np.mean([f.cells for f in frames[-20:]], axis=0) - empty
    assert all(not f.label["occupied"] for f in frames[:100])
    assert bag.sum() > 0.02 * person.sum()  # it is visible ...
    assert bag.sum() < 0.15 * person.sum()  # ... but far lighter than any sitter


def test_micro_movements_keep_a_seated_frame_alive():
    """Breathing and fidgeting move the load even with a noiseless sensor."""
    sim = Simulator(scripted(["upright"], seconds=30), seed=9, noise_level=0.0)
    frames = [f for f in sim.frames() if f.t > 8]
    ls = np.array([f.label["left_share"] for f in frames])
    assert ls.std() > 0.002
    assert np.abs(ls - 0.5).max() < 0.08


def test_sensor_creep_rises_under_load_and_leaves_a_residue():
    from firmware_sim import SensorParams

    sc = Scenario(
        "creep",
        segments=[Segment("away", 5), Segment("sit", 120), Segment("away", 60)],
        person={"weight_kg": 80, "fidget": 0.0},
    )

    def sums(creep: float) -> dict[float, float]:
        quiet = SensorParams(
            noise=0, noise_rel=0, gain_spread=0, offset_sd=0, dead_fraction=0, stuck_fraction=0, drift=0, creep=creep
        )
        sim = Simulator(sc, rows=8, cols=8, rate_hz=5, seed=1, sensor_params=quiet)
        return {round(f.t, 1): float(f.cells.astype(float).sum()) for f in sim.frames()}

    plain, creepy = sums(0.0), sums(0.03)
    base = plain[2.0]
    rise = lambda s, t: s[t] - base  # noqa: E731
    assert rise(creepy, 10.0) < 1.01 * rise(plain, 10.0)  # hardly any creep yet
    assert 1.012 < rise(creepy, 124.0) / rise(plain, 124.0) < 1.03  # ~2 % after two minutes
    residue = creepy[130.0] - base  # 3 s after standing up
    assert 0.008 < residue / rise(plain, 124.0) < 0.03
    assert creepy[184.0] - base < 0.5 * residue  # and it fades
    assert abs(plain[130.0] - base) < 1.0
