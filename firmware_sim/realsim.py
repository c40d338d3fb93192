"""The simulator's frame loop with real-cushion physics on (Simulator.frames delegates here).

The same scenario, person and body movements as the default loop, then: the cushion's
placement and mounting (mounting.py), a cat on the empty seat (population.py), the real
sensor chain (realsensor.py) and the frame clock (jitter, lost stretches). Labels stay in
the sitter's frame: posture from the script, left_share from the noiseless force on the
cushion split at the sitter's midline.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .body import N_BODY, XK, YK, components
from .mounting import Blobs, CushionGeometry, Placement
from .population import CAT_KINDS, CatMotion, apply_asymmetry
from .realsensor import RealSensor

if TYPE_CHECKING:
    from .simulator import SimFrame, Simulator

G = 9.81
SEATED_LOAD_N = 75.0 * G * 0.74  # a typical sitter's seat load: full warmth from the body


class FrameClock:
    """Reported frame times and lost frames.

    With timing on, each frame's time is its nominal time plus a jitter (normal, sd
    `jitter` x the frame period, kept within +-0.45 periods so time never runs backwards),
    rounded to the millisecond like a firmware's ms clock; now and then (`gap_per_min`) a
    stretch of 0.3 s to `gap_max_s` of frames is lost (a busy radio, a USB hiccup).
    """

    def __init__(
        self, rng: np.random.Generator, dt: float, jitter: float, gap_per_min: float, gap_max_s: float, on: bool
    ):
        self.rng, self.dt, self.on = rng, dt, on
        self.jitter, self.gap_p = jitter, gap_per_min / 60.0 * dt
        self.gap_max = max(0.3, gap_max_s)
        self.start = float(rng.uniform(0.0, 0.3)) * dt if on else 0.0
        self.gap_until = -1.0

    def chunk(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(times, keep) for frame numbers idx."""
        nominal = idx * self.dt
        if not self.on:
            return nominal, np.ones(idx.shape[0], bool)
        n = int(idx.shape[0])
        e = np.clip(self.rng.normal(0.0, self.jitter, n), -0.45, 0.45) * self.dt
        t = np.round(nominal + self.start + e, 3)
        starts = (np.asarray(self.rng.random(n)) < self.gap_p).tolist()
        lengths = np.asarray(self.rng.uniform(0.3, self.gap_max, n)).tolist()
        keep = np.ones(n, bool)
        for i, at in enumerate(nominal.tolist()):
            if at < self.gap_until:
                keep[i] = False
            elif starts[i]:
                self.gap_until = at + lengths[i]
                keep[i] = False
        return t, keep


def placement_of(sim: Simulator) -> Placement:
    d, spec = sim.draw, sim.physics
    if "placement" in spec.on:
        return Placement(d.angle_deg, d.shift_x_cm, d.shift_y_cm, d.width_cm, d.depth_cm, spec.mount)
    return Placement(mount=spec.mount)


def real_frames(sim: Simulator) -> Iterator[SimFrame]:
    from .simulator import BLEND_S, CHUNK, Motion, SimFrame

    spec, d = sim.physics, sim.draw
    geom = CushionGeometry(sim.rows, sim.cols, placement_of(sim))
    sensor = RealSensor(
        sim.rows,
        sim.cols,
        np.random.default_rng(sim._phys_seeds[1]),
        d,
        spec.on,
        sim.sensor_params,
        sim.max_value,
        sim.rate_hz,
        spec.invert,
    )
    dt = 1.0 / sim.rate_hz
    motion = Motion(np.random.default_rng(sim._seeds[2]), sim.person.fidget, dt)
    clock = FrameClock(
        np.random.default_rng(sim._phys_seeds[2]), dt, d.jitter, d.gap_per_min, d.gap_max_s, "timing" in spec.on
    )
    cat = CatMotion(np.random.default_rng(sim._phys_seeds[3]), sim.rate_hz)
    starts, froms, targets = sim._segment_poses()
    if "people" in spec.on:
        from .body import POSE_FIELDS

        froms = apply_asymmetry(froms, POSE_FIELDS, d)
        targets = apply_asymmetry(targets, POSE_FIELDS, d)
    segs = sim.segments
    occupied = [s.occupied for s in segs]
    postures = [s.label_posture for s in segs]
    kinds = [s.kind for s in segs]
    cat_kg = np.array([s.object_kg if s.kind == "cat" else 0.0 for s in segs])
    xk = np.concatenate([XK, CAT_KINDS])
    yk = np.concatenate([YK, CAT_KINDS])
    kpa_per_n = 10.0 / geom.cell_area_cm2
    prev_k = -1
    n = sim.n_frames
    for c0 in range(0, n, CHUNK):
        idx = np.arange(c0, c0 + CHUNK)
        t, keep = clock.chunk(idx)
        k = np.maximum(np.searchsorted(starts, t + 1e-9, side="right") - 1, 0)
        a = np.clip((t - starts[k]) / BLEND_S, 0.0, 1.0)
        a = (a * a * (3.0 - 2.0 * a))[:, None]
        pose = froms[k] * (1.0 - a) + targets[k] * a
        jit = motion.chunk(t)
        comp = components(sim.person, pose, jit)
        # a cat jumps on at the start of its segment and off at the end (the next blend)
        before = np.where(k > 0, cat_kg[np.maximum(k - 1, 0)], 0.0)
        kg = np.maximum(cat_kg[k] * a[:, 0], before * (1.0 - a[:, 0]))
        prev = np.concatenate([[prev_k], k[:-1]])
        fresh = (k != prev) & (cat_kg[k] > 0)
        prev_k = int(k[-1])
        cf, cxa, cxb, cya, cyb = cat.step_batch(kg, fresh)
        blobs = Blobs(
            xk,
            yk,
            np.concatenate([comp.force, cf], axis=1),
            np.concatenate([comp.xa, cxa], axis=1),
            np.concatenate([comp.xb, cxb], axis=1),
            np.concatenate([comp.ya, cya], axis=1),
            np.concatenate([comp.yb, cyb], axis=1),
            comp.midline_x,
            N_BODY,
        )
        force, share = geom.render(blobs)
        heat = np.clip(comp.force[:, :N_BODY].sum(axis=1) / SEATED_LOAD_N, 0.0, 1.0)
        cells = sensor.read_batch(force * kpa_per_n, heat)
        m = min(CHUNK, n - c0)
        shares = np.round(share[:m], 4).tolist()
        for i in range(m):
            if not keep[i]:
                continue
            seg = int(k[i])
            occ = occupied[seg]
            sh = shares[i]
            label = {
                "occupied": occ,
                "posture": postures[seg],
                "left_share": sh if occ and not math.isnan(sh) else None,
                "seg": kinds[seg],
                "seg_t": round(max(0.0, float(t[i] - starts[seg])), 3),
            }
            yield SimFrame(round(float(t[i]), 6), int(idx[i]) & 0xFFFF, cells[i], label)
