"""Body model: the force a seated person puts on a 40 x 40 cm seat, per posture.

Coordinates are centimetres on the seat: x from the sitter's LEFT edge (column 0) to the
right, y from the FRONT edge (row 0, towards the knees) to the back (last row).

The force map is a sum of a few soft components (two sit-bone peaks, the buttock tissue
around them, two thighs, the sacrum when slouching, a bag on the seat). Each component is
the product of a 1-D profile along x and a 1-D profile along y. That keeps the model
separable: a component's share of every grid cell is the outer product of its 1-D shares
of the cell's column and row, and those shares are exact differences of the profile's
integral (erf for a Gaussian, log cosh for a soft plateau) at the cell edges. A frame on
any grid 4x4..64x64, square or not, is thus integrated exactly (the same as rendering at
infinite resolution and summing) at the cost of a handful of small array operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

SEAT_CM = 40.0  # the seat is SEAT_CM x SEAT_CM
G = 9.81

# profile kinds
GAUSS, PLATEAU = 0, 1


@dataclass(frozen=True, slots=True)
class Person:
    """Who sits: fixed for a scenario run. Lengths in cm."""

    weight_kg: float = 75.0
    offset_x: float = 0.0  # + is towards the sitter's right
    offset_y: float = 0.0  # + is towards the back
    bone_spacing: float = 11.5  # distance between the two sit-bone centres
    thigh_spacing: float = 17.0  # distance between the thigh centre lines
    spread: float = 1.0  # per-person tissue softness (scales the widths)
    fidget: float = 1.0  # how much this person moves while seated

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        weight_kg: float | None = None,
        offset_cm: tuple[float, float] | None = None,
        fidget: float | None = None,
    ) -> "Person":
        """A plausible adult; anything given explicitly is kept, the rest drawn from rng."""
        w = float(weight_kg) if weight_kg is not None else float(rng.uniform(45.0, 120.0))
        if offset_cm is None:
            ox, oy = (float(v) for v in rng.uniform(-4.0, 4.0, size=2))
        else:
            ox, oy = float(offset_cm[0]), float(offset_cm[1])
        # heavier people are wider: thigh spacing and soft tissue grow slowly with weight
        size = (w / 75.0) ** 0.35
        return cls(
            weight_kg=w,
            offset_x=ox,
            offset_y=oy,
            bone_spacing=float(rng.uniform(10.0, 13.0)),
            thigh_spacing=float(rng.uniform(15.5, 18.5) * size**0.5),
            spread=float(rng.uniform(0.9, 1.12) * size),
            fidget=float(fidget) if fidget is not None else float(rng.uniform(0.6, 1.4)),
        )


@dataclass(frozen=True, slots=True)
class Pose:
    """The numbers that distinguish postures. Blending two poses is linear in every field."""

    seat_frac: float = 0.74  # share of body weight carried by the seat (rest: feet, backrest)
    pelvis_l: float = 1.0  # load multipliers of the left/right sit bone + buttock
    pelvis_r: float = 1.0
    thigh_l: float = 1.0  # load multipliers of the thighs
    thigh_r: float = 1.0
    thigh_cut_l: float = 0.0  # cm the thigh's front contact end moves back (lifted leg)
    thigh_cut_r: float = 0.0
    bone_dy: float = 0.0  # cm the sit bones move back (+) or forward (-)
    bone_sharp: float = 1.0  # share of the pelvis load in the sharp sit-bone peak vs tissue
    sacrum: float = 0.0  # load multiplier of the sacrum/coccyx at the back centre
    shift_x: float = 0.0  # cm the trunk's load shifts sideways (+ right)
    bag_kg: float = 0.0  # a light object on the seat

    def blend(self, other: "Pose", a: float) -> "Pose":
        """(1 - a) * self + a * other."""
        if a <= 0.0:
            return self
        if a >= 1.0:
            return other
        return Pose(*((1.0 - a) * getattr(self, f.name) + a * getattr(other, f.name) for f in fields(Pose)))


EMPTY_POSE = Pose(seat_frac=0.0)


def pose_for(posture: str, intensity: float = 1.0) -> Pose:
    """The pose of a CONTRACT section 5 posture; intensity 0 is upright, 1 typical, 1.5 strong."""
    i = float(intensity)
    up = Pose()
    if posture == "empty":
        return EMPTY_POSE
    if posture == "upright":
        return up
    if posture in ("lean_left", "lean_right"):
        # the sit bone on the leaning side carries clearly more; both thighs stay down
        s = -1.0 if posture == "lean_left" else 1.0
        p = replace(
            up,
            pelvis_l=1.0 - s * 0.42 * i,
            pelvis_r=1.0 + s * 0.42 * i,
            thigh_l=1.0 - s * 0.2 * i,
            thigh_r=1.0 + s * 0.2 * i,
            shift_x=s * 0.8 * i,
        )
        return p
    if posture in ("cross_left", "cross_right"):
        # the crossed leg's thigh lifts off the front of the seat, its weight rests on the
        # other thigh, and the pelvis rolls towards the supporting side
        left = posture == "cross_left"
        lift, keep = 1.0 - 0.85 * i, 1.0 + 0.4 * i
        pl, pr = 1.0 - 0.15 * i, 1.0 + 0.2 * i
        return replace(
            up,
            thigh_l=lift if left else keep,
            thigh_r=keep if left else lift,
            thigh_cut_l=12.0 * i if left else 0.0,
            thigh_cut_r=0.0 if left else 12.0 * i,
            pelvis_l=pl if left else pr,
            pelvis_r=pr if left else pl,
            shift_x=(1.0 if left else -1.0) * 0.6 * i,
        )
    if posture == "slouch":
        # pelvis rolled back: peaks move back, the sacrum/coccyx loads the back centre
        return replace(
            up,
            seat_frac=0.74 + 0.06 * i,
            bone_dy=3.2 * i,
            sacrum=0.55 * i,
            thigh_l=1.0 - 0.45 * i,
            thigh_r=1.0 - 0.45 * i,
            thigh_cut_l=3.0 * i,
            thigh_cut_r=3.0 * i,
            bone_sharp=1.0 - 0.15 * i,
        )
    if posture == "forward":
        # perched on the front: weight onto thighs and feet, peaks lighter and further front
        return replace(
            up,
            seat_frac=0.74 - 0.12 * i,
            bone_dy=-4.0 * i,
            pelvis_l=1.0 - 0.45 * i,
            pelvis_r=1.0 - 0.45 * i,
            thigh_l=1.0 + 0.8 * i,
            thigh_r=1.0 + 0.8 * i,
            bone_sharp=1.0 - 0.4 * i,
        )
    raise ValueError(f"unknown posture {posture!r}")


@dataclass(slots=True)
class Jitter:
    """Micro-movements added to a pose for one instant (breathing, fidgeting)."""

    dx: float = 0.0  # cm, whole body
    dy: float = 0.0
    balance: float = 0.0  # + moves pelvis load to the right
    load: float = 0.0  # relative change of the seat load


@dataclass(slots=True)
class Components:
    """Soft components of one force map: weights in newtons, 1-D profile parameters in cm."""

    force: np.ndarray  # (K,) newtons each component would put down on an infinite seat
    xk: np.ndarray  # (K,) profile kind along x
    xa: np.ndarray  # (K,) centre (gauss) or start (plateau)
    xb: np.ndarray  # (K,) sigma (gauss) or end (plateau)
    yk: np.ndarray
    ya: np.ndarray
    yb: np.ndarray
    midline_x: float | None  # halfway between the sit-bone centres; None without a sitter


# Shares of the seat load in upright sitting (sum 1): sit bones, buttock tissue, thighs.
BONE_SHARE, TISSUE_SHARE, THIGH_SHARE = 0.12, 0.19, 0.19
SACRUM_SHARE = 0.12
BONE_Y_CM = 29.0  # sit-bone centres from the front edge for a centred sitter
BONE_Y_MAX_CM = 34.5
SACRUM_Y_MAX_CM = 38.5
PLATEAU_SOFT_CM = 3.0  # cm over which a plateau's edge fades (thigh contact, a bag)


def components(person: Person, pose: Pose, jitter: Jitter | None = None) -> Components:
    """The soft components of `person` sitting in `pose` (possibly a blend), plus a bag."""
    j = jitter or Jitter()
    rows: list[tuple[float, int, float, float, int, float, float]] = []
    midline = None
    if pose.seat_frac > 1e-4:
        load_n = person.weight_kg * G * pose.seat_frac * (1.0 + j.load)
        sp = person.spread
        cx = SEAT_CM / 2 + person.offset_x + j.dx
        # the backrest stops the pelvis: sit bones no further back than BONE_Y_MAX_CM
        by = min(BONE_Y_CM + person.offset_y + pose.bone_dy, BONE_Y_MAX_CM) + j.dy
        half = person.bone_spacing / 2
        xl, xr = cx - half, cx + half
        midline = cx
        sharp = max(0.05, pose.bone_sharp)
        bal = j.balance
        # normalise so the multipliers redistribute load rather than add it
        pl, pr = max(0.0, pose.pelvis_l - bal), max(0.0, pose.pelvis_r + bal)
        raw = (
            (BONE_SHARE * sharp + TISSUE_SHARE + (1 - sharp) * BONE_SHARE) * (pl + pr)
            + THIGH_SHARE * (pose.thigh_l + pose.thigh_r)
            + SACRUM_SHARE * pose.sacrum
        )
        k = load_n / max(raw, 1e-9)
        bone_w = BONE_SHARE * sharp
        tissue_w = TISSUE_SHARE + BONE_SHARE * (1 - sharp)
        tx = pose.shift_x  # the trunk's sideways shift moves the soft tissue, not the bones
        for side, x, p in ((-1, xl, pl), (1, xr, pr)):
            rows.append((k * bone_w * p, GAUSS, x, 1.5 * sp**0.5, GAUSS, by, 1.7 * sp**0.5))
            rows.append(
                (k * tissue_w * p, GAUSS, x + side * 1.0 + 0.6 * tx, 3.6 * sp, GAUSS, by + 0.6, 4.2 * sp)
            )
        thigh_back = by - 5.0
        for side, t, cut in ((-1, pose.thigh_l, pose.thigh_cut_l), (1, pose.thigh_r, pose.thigh_cut_r)):
            x = cx + side * person.thigh_spacing / 2 + 0.3 * tx
            # thighs run from beyond the front edge back towards the sit bones
            front = 3.0 + cut
            rows.append((k * THIGH_SHARE * t, GAUSS, x, 3.3 * sp, PLATEAU, front, max(front + 2.0, thigh_back)))
        if pose.sacrum > 1e-4:
            rows.append((k * SACRUM_SHARE * pose.sacrum, GAUSS, cx, 2.4 * sp, GAUSS, min(by + 7.0, SACRUM_Y_MAX_CM), 2.2 * sp))
    if pose.bag_kg > 1e-4:
        # a bag: a soft slab with two firmer spots (its contents), off the seat centre
        f = pose.bag_kg * G
        rows.append((0.7 * f, PLATEAU, 11.0, 29.0, PLATEAU, 14.0, 30.0))
        rows.append((0.15 * f, GAUSS, 15.0, 2.5, GAUSS, 20.0, 2.5))
        rows.append((0.15 * f, GAUSS, 24.0, 3.0, GAUSS, 25.0, 2.0))
    if not rows:
        z = np.zeros(0)
        return Components(z, z.astype(int), z, z, z.astype(int), z, z, None)
    a = np.array(rows, dtype=float)
    return Components(
        force=a[:, 0],
        xk=a[:, 1].astype(int),
        xa=a[:, 2],
        xb=a[:, 3],
        yk=a[:, 4].astype(int),
        ya=a[:, 5],
        yb=a[:, 6],
        midline_x=midline,
    )


_SQRT2 = math.sqrt(2.0)
_LOG2 = math.log(2.0)


def _erf(x: np.ndarray) -> np.ndarray:
    """Vectorised error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7; no scipy needed)."""
    ax = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * ax)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.copysign(1.0 - poly * np.exp(-ax * ax), x)


def _logcosh(u: np.ndarray) -> np.ndarray:
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - _LOG2


def _cdf(kind: np.ndarray, a: np.ndarray, b: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K, P): share of each component's unit mass at coordinates below each point (cm).

    Gaussians integrate to erf; a plateau 0.5*(tanh((u-a)/s) - tanh((u-b)/s)) integrates to
    log cosh, so cell shares are exact differences of these at the cell edges.
    """
    out = np.empty((kind.size, points.size))
    g = kind == GAUSS
    if g.any():
        out[g] = 0.5 * (1.0 + _erf((points[None, :] - a[g][:, None]) / (b[g][:, None] * _SQRT2)))
    p = ~g
    if p.any():
        lo, hi = a[p][:, None], b[p][:, None]
        s = PLATEAU_SOFT_CM
        inner = 0.5 * s * (_logcosh((points - lo) / s) - _logcosh((points - hi) / s))
        out[p] = (inner + 0.5 * (hi - lo)) / (hi - lo)
    return out


class ForceRenderer:
    """Integrates components into a rows x cols grid (newtons per cell)."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.y_edges = np.linspace(0.0, SEAT_CM, rows + 1)
        self.x_edges = np.linspace(0.0, SEAT_CM, cols + 1)

    def render(self, comp: Components) -> np.ndarray:
        return self.render_with_share(comp)[0]

    def render_with_share(self, comp: Components) -> tuple[np.ndarray, float | None]:
        """Newtons per cell, and the left share of the on-seat force (None without a sitter).

        The share splits at the sitter's midline (halfway between the sit-bone centres),
        exactly, like CONTRACT section 5 splits a cell the midline crosses by area.
        """
        if comp.force.size == 0:
            return np.zeros((self.rows, self.cols)), None
        cx = _cdf(comp.xk, comp.xa, comp.xb, self.x_edges)
        cy = _cdf(comp.yk, comp.ya, comp.yb, self.y_edges)
        px = np.diff(cx, axis=1)  # (K, cols) share of each component per column
        py = np.diff(cy, axis=1)  # (K, rows)
        force = (py.T * comp.force) @ px
        if comp.midline_x is None:
            return force, None
        m = min(max(comp.midline_x, 0.0), SEAT_CM)
        cm = _cdf(comp.xk, comp.xa, comp.xb, np.array([m]))[:, 0]
        wy = comp.force * (cy[:, -1] - cy[:, 0])  # on-seat share front to back
        total = float(np.dot(wy, cx[:, -1] - cx[:, 0]))
        if total <= 0:
            return force, None
        return force, float(np.dot(wy, cm - cx[:, 0])) / total
