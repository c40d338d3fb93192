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
    expressiveness: float = 1.0  # scales how far this person leans, crosses, slouches
    thigh_front_cm: float = 3.0  # where thigh contact starts, from the front edge (leg length)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        weight_kg: float | None = None,
        offset_cm: tuple[float, float] | None = None,
        fidget: float | None = None,
    ) -> Person:
        """A plausible adult; anything given explicitly is kept, the rest drawn from rng.

        Every trait is always drawn, so overriding one (say the weight) leaves the others
        of the same seed as they were.
        """
        r = rng.uniform(0.0, 1.0, size=9).tolist()
        w = float(weight_kg) if weight_kg is not None else 45.0 + 75.0 * r[0]
        if offset_cm is None:
            ox, oy = -4.0 + 8.0 * r[1], -4.0 + 8.0 * r[2]
        else:
            ox, oy = float(offset_cm[0]), float(offset_cm[1])
        # heavier people are wider: thigh spacing and soft tissue grow slowly with weight
        size = (w / 75.0) ** 0.35
        return cls(
            weight_kg=w,
            offset_x=ox,
            offset_y=oy,
            bone_spacing=10.0 + 3.0 * r[3],
            thigh_spacing=(15.5 + 3.0 * r[4]) * size**0.5,
            spread=(0.9 + 0.22 * r[5]) * size,
            fidget=float(fidget) if fidget is not None else 0.6 + 0.8 * r[6],
            expressiveness=0.8 + 0.4 * r[7],
            thigh_front_cm=1.0 + 5.0 * r[8],
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

    def blend(self, other: Pose, a: float) -> Pose:
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
            bone_dy=3.8 * i,
            sacrum=0.7 * i,
            thigh_l=1.0 - 0.5 * i,
            thigh_r=1.0 - 0.5 * i,
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
            pelvis_l=1.0 - 0.4 * i,
            pelvis_r=1.0 - 0.4 * i,
            thigh_l=1.0 + 0.6 * i,
            thigh_r=1.0 + 0.6 * i,
            bone_sharp=1.0 - 0.4 * i,
        )
    raise ValueError(f"unknown posture {posture!r}")


POSE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Pose))
_F = {name: i for i, name in enumerate(POSE_FIELDS)}


def pose_array(poses: list[Pose]) -> np.ndarray:
    """(N, F) matrix of poses, columns in POSE_FIELDS order (for blending many frames at once)."""
    return np.array([[getattr(p, f) for f in POSE_FIELDS] for p in poses], dtype=float).reshape(-1, len(POSE_FIELDS))


@dataclass(slots=True)
class Jitter:
    """Micro-movements added to a pose for one instant (breathing, fidgeting)."""

    dx: float = 0.0  # cm, whole body
    dy: float = 0.0
    balance: float = 0.0  # + moves pelvis load to the right
    load: float = 0.0  # relative change of the seat load

    def array(self) -> np.ndarray:
        return np.array([[self.dx, self.dy, self.balance, self.load]])


@dataclass(slots=True)
class Components:
    """Soft components of B force maps: (B, K) forces in newtons, 1-D profile parameters in cm.

    The K components are fixed (see COMPONENTS); an absent one has force 0.
    """

    force: np.ndarray  # (B, K) newtons each component would put down on an infinite seat
    xa: np.ndarray  # (B, K) centre (gauss) or start (plateau) along x
    xb: np.ndarray  # (B, K) sigma (gauss) or end (plateau)
    ya: np.ndarray
    yb: np.ndarray
    midline_x: np.ndarray  # (B,) halfway between the sit-bone centres
    body_force: np.ndarray  # (B, K) the sitter's components at unit load (for left_share)


# The fixed component list and each one's profile kind along x and y.
COMPONENTS = (
    "bone_l", "bone_r", "tissue_l", "tissue_r", "thigh_l", "thigh_r", "sacrum", "bag", "bag_spot1", "bag_spot2",
)
XK = np.array([GAUSS, GAUSS, GAUSS, GAUSS, GAUSS, GAUSS, GAUSS, PLATEAU, GAUSS, GAUSS])
YK = np.array([GAUSS, GAUSS, GAUSS, GAUSS, PLATEAU, PLATEAU, GAUSS, PLATEAU, GAUSS, GAUSS])
N_BODY = 7  # the first N_BODY components are the sitter

# Shares of the seat load in upright sitting (sum 1): sit bones, buttock tissue, thighs.
BONE_SHARE, TISSUE_SHARE, THIGH_SHARE = 0.14, 0.21, 0.15
SACRUM_SHARE = 0.12
BONE_Y_CM = 29.0  # sit-bone centres from the front edge for a centred sitter
BONE_Y_MAX_CM = 34.5
SACRUM_Y_MAX_CM = 38.5
PLATEAU_SOFT_CM = 3.0  # cm over which a plateau's edge fades (thigh contact, a bag)


def components(person: Person, pose: Pose | np.ndarray, jitter: Jitter | np.ndarray | None = None) -> Components:
    """The soft components of `person` in `pose` (a Pose, or a (B, F) array of blended poses)
    with micro-movements `jitter` (a Jitter or a (B, 4) array: dx, dy, balance, load)."""
    P = pose_array([pose]) if isinstance(pose, Pose) else np.asarray(pose, dtype=float)
    B = P.shape[0]
    if jitter is None:
        J = np.zeros((B, 4))
    else:
        J = jitter.array() if isinstance(jitter, Jitter) else np.asarray(jitter, dtype=float)
    col = lambda name: P[:, _F[name]]  # noqa: E731
    dx, dy, bal, dload = J[:, 0], J[:, 1], J[:, 2], J[:, 3]
    sp = person.spread
    cx = SEAT_CM / 2 + person.offset_x + dx
    # the backrest stops the pelvis: sit bones no further back than BONE_Y_MAX_CM
    by = np.minimum(BONE_Y_CM + person.offset_y + col("bone_dy"), BONE_Y_MAX_CM) + dy
    half = person.bone_spacing / 2
    sharp = np.maximum(0.05, col("bone_sharp"))
    pl = np.maximum(0.0, col("pelvis_l") - bal)
    pr = np.maximum(0.0, col("pelvis_r") + bal)
    tl, tr = np.maximum(0.0, col("thigh_l")), np.maximum(0.0, col("thigh_r"))
    sac = np.maximum(0.0, col("sacrum"))
    # normalise so the multipliers redistribute the load rather than add to it
    raw = (BONE_SHARE + TISSUE_SHARE) * (pl + pr) + THIGH_SHARE * (tl + tr) + SACRUM_SHARE * sac
    unit = 1.0 / np.maximum(raw, 1e-9)
    bone_w = BONE_SHARE * sharp
    tissue_w = TISSUE_SHARE + BONE_SHARE * (1 - sharp)
    tx = col("shift_x")  # the trunk's sideways shift moves the soft tissue, not the bones

    body = np.zeros((B, len(COMPONENTS)))
    body[:, 0], body[:, 1] = bone_w * pl, bone_w * pr
    body[:, 2], body[:, 3] = tissue_w * pl, tissue_w * pr
    body[:, 4], body[:, 5] = THIGH_SHARE * tl, THIGH_SHARE * tr
    body[:, 6] = SACRUM_SHARE * sac
    body *= unit[:, None]
    load_n = person.weight_kg * G * col("seat_frac") * (1.0 + dload)
    force = body * load_n[:, None]
    bag_n = col("bag_kg") * G
    force[:, 7], force[:, 8], force[:, 9] = 0.7 * bag_n, 0.15 * bag_n, 0.15 * bag_n

    ones = np.ones(B)
    xl, xr = cx - half, cx + half
    bone_sx, bone_sy = 1.9 * sp**0.5, 2.1 * sp**0.5
    thigh_back = by - 5.0
    front_l, front_r = person.thigh_front_cm + col("thigh_cut_l"), person.thigh_front_cm + col("thigh_cut_r")
    ts = person.thigh_spacing / 2
    # columns: bone_l, bone_r, tissue_l, tissue_r, thigh_l, thigh_r, sacrum, bag (a soft slab
    # off the seat centre), and two firmer spots of its contents
    xa = np.stack([xl, xr, xl - 1.0 + 0.6 * tx, xr + 1.0 + 0.6 * tx, cx - ts + 0.3 * tx, cx + ts + 0.3 * tx, cx,
                   11.0 * ones, 15.0 * ones, 24.0 * ones], axis=1)
    xb = np.stack([bone_sx * ones, bone_sx * ones, 3.6 * sp * ones, 3.6 * sp * ones, 3.3 * sp * ones,
                   3.3 * sp * ones, 2.4 * sp * ones, 29.0 * ones, 2.5 * ones, 3.0 * ones], axis=1)
    # thighs run from near the front edge back towards the sit bones (a lifted leg: from further back)
    ya = np.stack([by, by, by + 0.6, by + 0.6, front_l, front_r, np.minimum(by + 7.0, SACRUM_Y_MAX_CM),
                   14.0 * ones, 20.0 * ones, 25.0 * ones], axis=1)
    yb = np.stack([bone_sy * ones, bone_sy * ones, 4.2 * sp * ones, 4.2 * sp * ones,
                   np.maximum(front_l + 2.0, thigh_back), np.maximum(front_r + 2.0, thigh_back),
                   2.2 * sp * ones, 30.0 * ones, 2.5 * ones, 2.0 * ones], axis=1)
    return Components(force, xa, xb, ya, yb, cx, body)


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


def profile_cdf(kind: np.ndarray, a: np.ndarray, b: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(B, K, P): share of each component's unit mass at coordinates below each point (cm).

    `kind` (K,), `a`/`b` (B, K), `points` (P,) or (B, P). Gaussians integrate to erf; a
    plateau 0.5*(tanh((u-a)/s) - tanh((u-b)/s)) integrates to log cosh, so cell shares are
    exact differences of these at the cell edges.
    """
    pts = points[:, None, :] if points.ndim == 2 else points[None, None, :]
    out = np.empty((a.shape[0], a.shape[1], pts.shape[-1]))
    g = kind == GAUSS
    ga, gb = a[:, g, None], b[:, g, None]
    out[:, g] = 0.5 * (1.0 + _erf((pts - ga) / (gb * _SQRT2)))
    p = ~g
    if p.any():
        lo, hi = a[:, p, None], b[:, p, None]
        s = PLATEAU_SOFT_CM
        inner = 0.5 * s * (_logcosh((pts - lo) / s) - _logcosh((pts - hi) / s))
        out[:, p] = (inner + 0.5 * (hi - lo)) / (hi - lo)
    return out


class ForceRenderer:
    """Integrates components into rows x cols grids (newtons per cell)."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.y_edges = np.linspace(0.0, SEAT_CM, rows + 1)
        self.x_edges = np.linspace(0.0, SEAT_CM, cols + 1)

    def render(self, comp: Components) -> np.ndarray:
        """(rows, cols) for a single frame, (B, rows, cols) for a batch."""
        force, _ = self.render_batch(comp)
        return force[0] if force.shape[0] == 1 else force

    def render_with_share(self, comp: Components) -> tuple[np.ndarray, float | None]:
        force, share = self.render_batch(comp)
        return force[0], (None if np.isnan(share[0]) else float(share[0]))

    def render_batch(self, comp: Components) -> tuple[np.ndarray, np.ndarray]:
        """(B, rows, cols) newtons per cell, and (B,) left shares (NaN where nobody sits).

        The share is the sitter's on-seat force left of their midline (halfway between the
        sit-bone centres), split exactly like CONTRACT section 5 splits a crossed cell by
        area; it does not depend on the load, so it is defined while sitting down too.
        """
        B = comp.force.shape[0]
        xpts = np.concatenate([np.broadcast_to(self.x_edges, (B, self.cols + 1)),
                               np.clip(comp.midline_x, 0.0, SEAT_CM)[:, None]], axis=1)
        cx = profile_cdf(XK, comp.xa, comp.xb, xpts)  # (B, K, cols + 2)
        cy = profile_cdf(YK, comp.ya, comp.yb, self.y_edges)  # (B, K, rows + 1)
        px = np.diff(cx[:, :, :-1], axis=2)  # (B, K, cols)
        py = np.diff(cy, axis=2)  # (B, K, rows)
        force = np.einsum("bkr,bkc->brc", py * comp.force[:, :, None], px, optimize=True)
        wy = comp.body_force * (cy[:, :, -1] - cy[:, :, 0])  # the sitter's on-seat share front to back
        on_x = cx[:, :, -2] - cx[:, :, 0]
        left_x = cx[:, :, -1] - cx[:, :, 0]
        total = (wy * on_x).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 1e-12, (wy * left_x).sum(axis=1) / total, np.nan)
        return force, share
