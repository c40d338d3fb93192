"""Where the cushion lies: exact resampling, placement recovered from the load, mounting faults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_sim import Scenario, Segment, Simulator
from firmware_sim.body import (
    N_BODY,
    XK,
    YK,
    ForceRenderer,
    Person,
    components,
    pose_array,
    pose_for,
)
from firmware_sim.mounting import Blobs, CushionGeometry, Placement
from firmware_sim.sensor import SensorParams

QUIET = SensorParams.scaled(0.0)


def blobs(posture: str = "lean_left", frames: int = 3, **person) -> tuple[Blobs, object]:
    comp = components(Person(75.0, **person), pose_array([pose_for(posture)] * frames))
    return Blobs(XK, YK, comp.force, comp.xa, comp.xb, comp.ya, comp.yb, comp.midline_x, N_BODY), comp


@pytest.mark.parametrize("rows, cols", [(8, 8), (16, 16), (10, 15), (32, 32)])
def test_an_untilted_cushion_is_the_exact_integral_and_a_tilted_one_within_a_percent(rows, cols):
    b, comp = blobs(offset_x=1.3)
    ref, ref_share = ForceRenderer(rows, cols).render_batch(comp)
    cells, share = CushionGeometry(rows, cols, Placement()).render(b)
    assert np.allclose(cells, ref, rtol=0, atol=1e-9 * ref.max())
    assert np.allclose(share, ref_share)
    # a tiny tilt goes through the fine grid: the same force to well under a percent
    cells, share = CushionGeometry(rows, cols, Placement(angle_deg=1e-3)).render(b)
    assert np.abs(cells - ref).max() < 0.01 * ref.max()
    assert np.allclose(share, ref_share, atol=2e-4)


def test_a_big_cushion_catches_all_the_force_whatever_its_tilt():
    b, comp = blobs("upright")
    total = CushionGeometry(24, 24, Placement(0.0, 1.0, -1.0, 56.0, 56.0)).render(b)[0][0].sum()
    assert total == pytest.approx(comp.force[0].sum(), rel=0.01)  # nearly all of the load
    for angle in (-12.0, 5.0, 12.0):
        cells, share = CushionGeometry(24, 24, Placement(angle, 1.0, -1.0, 56.0, 56.0)).render(b)
        assert cells[0].sum() == pytest.approx(total, rel=0.002)
        assert share[0] == pytest.approx(0.5, abs=0.002)  # the sitter's frame: still an even split


def settled_map(sim: Simulator) -> np.ndarray:
    frames = list(sim.frames())
    empty = np.mean([f.cells for f in frames if not f.label["occupied"]], axis=0)
    seated = [f.cells.astype(float) for f in frames if f.label["occupied"] and f.label["seg_t"] > 3]
    return np.mean(seated, axis=0) - empty


def still(posture: str = "upright", seconds: float = 12.0) -> Scenario:
    return Scenario(
        "t",
        segments=[Segment("away", 4), Segment("sit", seconds, posture)],
        person={"weight_kg": 75, "offset_cm": [0.0, 0.0], "fidget": 0.0},
    )


def body_axis_deg(m: np.ndarray, width: float, depth: float) -> tuple[float, float, float]:
    """The angle of the load's long (front-back) axis from the cushion's column axis, and its centroid."""
    rows, cols = m.shape
    w = np.clip(m, 0, None)
    u = (np.arange(cols) + 0.5) * width / cols - width / 2
    v = (np.arange(rows) + 0.5) * depth / rows - depth / 2
    U, V = np.meshgrid(u, v)
    cu, cv = (w * U).sum() / w.sum(), (w * V).sum() / w.sum()
    cov = np.cov(np.stack([U.ravel() - cu, V.ravel() - cv]), aweights=w.ravel())
    vals, vecs = np.linalg.eigh(cov)
    du, dv = vecs[:, 1]  # the major axis: the sitter's front-back
    ang = math.degrees(math.atan2(du, dv))
    ang = (ang + 90) % 180 - 90
    return ang, cu, cv


@pytest.mark.parametrize("angle", [-12.0, -4.0, 7.0, 12.0])
def test_the_rotation_is_recovered_from_the_bodys_axis(angle):
    sim = Simulator(
        still(),
        rows=32,
        cols=32,
        seed=3,
        sensor_params=QUIET,
        physics=f"placement,angle_deg={angle},shift_x_cm=0,shift_y_cm=0,width_cm=44,depth_cm=44,response",
    )
    ang, _, _ = body_axis_deg(settled_map(sim), 44.0, 44.0)
    # the sitter's y axis seen from the cushion: turned by -angle (u = sin a, v = cos a)
    assert ang == pytest.approx(angle, abs=1.5)


def test_the_shift_moves_the_load_by_as_much():
    kw = dict(rows=32, cols=32, seed=3, sensor_params=QUIET)
    _, u0, v0 = body_axis_deg(
        settled_map(
            Simulator(still(), **kw, physics="placement,angle_deg=0,shift_x_cm=0,shift_y_cm=0,width_cm=44,depth_cm=44")
        ),
        44,
        44,
    )
    _, u1, v1 = body_axis_deg(
        settled_map(
            Simulator(still(), **kw, physics="placement,angle_deg=0,shift_x_cm=4,shift_y_cm=-3,width_cm=44,depth_cm=44")
        ),
        44,
        44,
    )
    # the cushion moved +4 cm right and 3 cm forward: the load sits 4 cm left and 3 cm back on it
    assert u1 - u0 == pytest.approx(-4.0, abs=0.3)
    assert v1 - v0 == pytest.approx(3.0, abs=0.3)


def test_cushion_sizes_scale_the_pressure():
    small = settled_map(
        Simulator(
            still(),
            rows=16,
            cols=16,
            seed=3,
            sensor_params=QUIET,
            physics="placement,angle_deg=0,shift_x_cm=0,shift_y_cm=0,width_cm=36,depth_cm=36",
        )
    )
    big = settled_map(
        Simulator(
            still(),
            rows=16,
            cols=16,
            seed=3,
            sensor_params=QUIET,
            physics="placement,angle_deg=0,shift_x_cm=0,shift_y_cm=0,width_cm=48,depth_cm=48",
        )
    )
    # same force, bigger cells: the readings sum to (36/48)^2 as much (a mat reads pressure)
    assert big.sum() / small.sum() == pytest.approx((36 / 48) ** 2, rel=0.03)


def run(mount: str | None = None, invert: bool = False, rows: int = 16, cols: int = 16, posture: str = "lean_left"):
    # gain_sd=0 keeps the default (quiet) sensor but through the real-physics path, as a mount does
    sim = Simulator(
        still(posture),
        rows=rows,
        cols=cols,
        seed=5,
        sensor_params=QUIET,
        physics="gain,gain_sd=0",
        mount=mount,
        invert=invert,
    )
    return list(sim.frames()), sim


def tared(frames) -> list[np.ndarray]:
    return [f.cells.astype(float) - frames[0].cells for f in frames]


@pytest.mark.parametrize(
    "mount, relation",
    [
        ("rotate180", lambda a: a[::-1, ::-1]),
        ("mirror", lambda a: a[:, ::-1]),
        ("rotate90", lambda a: np.rot90(a, 1)),
        ("rotate270", lambda a: np.rot90(a, -1)),
    ],
)
def test_mounting_faults_move_the_load_and_keep_the_labels(mount, relation):
    ref, _ = run()
    got, sim = run(mount)
    assert sim.physics_info()["mount"] == mount
    assert got[-1].cells.max() > 0.3 * sim.max_value
    for i in range(0, len(ref), 17):
        assert np.abs(tared(got)[i] - relation(tared(ref)[i])).max() <= 1.0
        assert ref[i].label == got[i].label  # posture and left_share stay in the sitter's frame


def test_a_quarter_turn_of_an_oblong_cushion_lays_its_rows_across_the_sitter():
    ref, _ = run(rows=12, cols=20, posture="cross_left")
    got, _ = run("rotate90", rows=12, cols=20, posture="cross_left")
    assert got[-1].cells.shape == (12, 20)
    assert got[-1].label == ref[-1].label
    # the 20 columns now run front to back: the load's long axis lies along the columns
    m = tared(got)[-1]
    rows_spread = np.average((np.arange(12) - 5.5) ** 2, weights=np.clip(m, 0, None).sum(axis=1))
    cols_spread = np.average((np.arange(20) - 9.5) ** 2, weights=np.clip(m, 0, None).sum(axis=0))
    assert cols_spread > rows_spread


def test_inverted_wiring_reads_lower_for_more_pressure():
    ref, sim = run()
    got, _ = run(invert=True)
    for a, b in zip(ref[::23], got[::23], strict=True):
        assert np.abs(a.cells.astype(int) + b.cells.astype(int) - sim.max_value).max() <= 1
        assert a.label == b.label
    seated = got[-1].cells.astype(int)
    empty = got[0].cells.astype(int)
    assert (seated <= empty + 1).all() and seated.min() < 0.7 * sim.max_value
