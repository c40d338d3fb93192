"""Where the cushion lies under the sitter: placement, size, mounting faults, and resampling.

The body model (body.py) describes the force in the sitter's own frame: x from the sitter's
left (cm), y from the front towards the backrest, on a chair seat whose centre is at
(SEAT_CM / 2, SEAT_CM / 2). A real cushion lies on that seat turned by a few degrees,
shifted by a few centimetres, and is 36-48 cm across; it may also be mounted wrong: turned
round (front <-> back), a quarter turn, or mirrored (left <-> right, e.g. laid face down or
wired with its columns reversed). The cushion's cell (r, c) has the centre

    (u, v) = ((c + 0.5) * width / cols - width / 2, (r + 0.5) * depth / rows - depth / 2)

in its own frame (u towards its last column, v towards its last row), and in the sitter's

    (x, y) = centre + R(angle) @ (s * u, v),   s = -1 when mirrored, +1 otherwise,

with R the rotation by `angle` (degrees, from +x towards +y) plus 90/180/270 for a quarter
turn / turned round / three-quarter turn. So the CONTRACT orientation (row 0 front, column
0 left) holds exactly when everything is 0 and not mirrored.

When the cushion's edges run along the sitter's axes (no tilt; quarter turns and mirroring
keep them so) each cell's force is the exact integral of the body model's separable
components over the cell (erf / log-cosh differences, as body.py does). A tilted cushion:
the force is integrated exactly on a fine axis-aligned grid in the sitter's frame (pitch
<= 0.5 cm), then each cushion cell sums the fine grid's density at sub-points spaced no
wider than the fine pitch (bilinear), which puts the force on the right cell to well under
a percent (tests/firmware_sim/test_mounting.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .body import SEAT_CM, profile_cdf

MOUNT_TURNS = {"none": 0.0, "rotate90": 90.0, "rotate180": 180.0, "rotate270": 270.0, "mirror": 0.0}


@dataclass(frozen=True, slots=True)
class Placement:
    """The cushion's pose under the sitter (see the module docstring)."""

    angle_deg: float = 0.0
    shift_x_cm: float = 0.0
    shift_y_cm: float = 0.0
    width_cm: float = SEAT_CM
    depth_cm: float = SEAT_CM
    mount: str = "none"

    @property
    def total_angle_deg(self) -> float:
        return self.angle_deg + MOUNT_TURNS[self.mount]

    @property
    def mirrored(self) -> bool:
        return self.mount == "mirror"


@dataclass(slots=True)
class Blobs:
    """K separable soft components of B frames, as body.Components: (B, K) forces and 1-D profiles.

    `xk`/`yk` (K,) are body.py profile kinds; the first `n_body` components are the sitter.
    """

    xk: np.ndarray
    yk: np.ndarray
    force: np.ndarray
    xa: np.ndarray
    xb: np.ndarray
    ya: np.ndarray
    yb: np.ndarray
    midline_x: np.ndarray  # (B,) the sitter's midline, sitter frame
    n_body: int


class CushionGeometry:
    """A rows x cols cushion placed on the seat: renders force maps onto its cells."""

    def __init__(self, rows: int, cols: int, placement: Placement):
        self.rows, self.cols, self.placement = rows, cols, placement
        p = placement
        self.cell_w, self.cell_d = p.width_cm / cols, p.depth_cm / rows
        self.cell_area_cm2 = self.cell_w * self.cell_d
        a = math.radians(p.total_angle_deg)
        self._cos, self._sin = math.cos(a), math.sin(a)
        if abs(self._cos) < 1e-12 or abs(self._sin) < 1e-12:  # exact quarter turns
            self._cos, self._sin = round(self._cos), round(self._sin)
        self._s = -1.0 if p.mirrored else 1.0
        self.centre = (SEAT_CM / 2 + p.shift_x_cm, SEAT_CM / 2 + p.shift_y_cm)
        self.aligned = self._cos == 0 or self._sin == 0
        if self.aligned:
            self._build_aligned()
        else:
            self._build_fine()

    def to_seat(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cushion-frame (u, v) cm -> sitter-frame (x, y) cm."""
        su = self._s * u
        return (self.centre[0] + self._cos * su - self._sin * v, self.centre[1] + self._sin * su + self._cos * v)

    def to_cushion(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sitter-frame (x, y) cm -> cushion-frame (u, v) cm."""
        dx, dy = x - self.centre[0], y - self.centre[1]
        su = self._cos * dx + self._sin * dy
        v = -self._sin * dx + self._cos * dy
        return self._s * su, v

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) arrays of the cell centres in the cushion's own frame (u, v), cm."""
        u = (np.arange(self.cols) + 0.5) * self.cell_w - self.placement.width_cm / 2
        v = (np.arange(self.rows) + 0.5) * self.cell_d - self.placement.depth_cm / 2
        return np.broadcast_to(u, (self.rows, self.cols)), np.broadcast_to(v[:, None], (self.rows, self.cols))

    def _build_aligned(self) -> None:
        # the cells form an axis-aligned grid in the sitter's frame; find its edges and which
        # sitter-frame cell each cushion cell is
        u, v = self.cell_centres()
        x, y = self.to_seat(u, v)
        xs, ys = np.unique(np.round(x, 9)), np.unique(np.round(y, 9))
        dx = xs[1] - xs[0] if len(xs) > 1 else self.cell_w
        dy = ys[1] - ys[0] if len(ys) > 1 else self.cell_d
        self.x_edges = np.concatenate([xs - dx / 2, [xs[-1] + dx / 2]])
        self.y_edges = np.concatenate([ys - dy / 2, [ys[-1] + dy / 2]])
        ix = np.rint((x - xs[0]) / dx).astype(int)
        iy = np.rint((y - ys[0]) / dy).astype(int)
        self._perm = (iy * len(xs) + ix).reshape(-1)
        self.fine_shape = (len(ys), len(xs))

    def _build_fine(self) -> None:
        p = self.placement
        self.pitch = h = min(0.5, min(self.cell_w, self.cell_d) / 3.0)
        hu, hv = p.width_cm / 2, p.depth_cm / 2
        cx, cy = self.to_seat(np.array([-hu, hu, hu, -hu]), np.array([-hv, -hv, hv, hv]))
        x0, y0 = math.floor((cx.min() - 2 * h) / h) * h, math.floor((cy.min() - 2 * h) / h) * h
        nx, ny = int(math.ceil((cx.max() + 2 * h - x0) / h)), int(math.ceil((cy.max() + 2 * h - y0) / h))
        self.x_edges = x0 + h * np.arange(nx + 1)
        self.y_edges = y0 + h * np.arange(ny + 1)
        self.fine_shape = (ny, nx)
        su_n, sv_n = max(1, math.ceil(self.cell_w / h)), max(1, math.ceil(self.cell_d / h))
        ku, kv = (np.arange(su_n) + 0.5) / su_n, (np.arange(sv_n) + 0.5) / sv_n
        uu = (np.arange(self.cols)[:, None] + ku[None, :]) * self.cell_w - hu  # (C, su)
        vv = (np.arange(self.rows)[:, None] + kv[None, :]) * self.cell_d - hv  # (R, sv)
        U = np.broadcast_to(uu[None, :, None, :], (self.rows, self.cols, sv_n, su_n))
        V = np.broadcast_to(vv[:, None, :, None], (self.rows, self.cols, sv_n, su_n))
        x, y = self.to_seat(U, V)
        fx, fy = (x - x0) / h - 0.5, (y - y0) / h - 0.5
        ix, iy = np.floor(fx).astype(int), np.floor(fy).astype(int)
        tx, ty = fx - ix, fy - iy
        # density (N / cm^2) at a sub-point, times the area the sub-point stands for
        area = self.cell_area_cm2 / (su_n * sv_n) / (h * h)
        nc, nf = self.rows * self.cols, nx * ny
        dst = np.broadcast_to(np.arange(nc).reshape(self.rows, self.cols, 1, 1), U.shape)
        keys, ws = [], []
        for oy, wy in ((0, 1 - ty), (1, ty)):
            for ox, wx in ((0, 1 - tx), (1, tx)):
                src = np.clip(iy + oy, 0, ny - 1) * nx + np.clip(ix + ox, 0, nx - 1)
                keys.append((dst * nf + src).ravel())
                ws.append((wy * wx * area).ravel())
        uk, inv = np.unique(np.concatenate(keys), return_inverse=True)
        w = np.bincount(inv, np.concatenate(ws))
        self._dst, self._src, self._w = uk // nf, uk % nf, w
        self._starts = np.searchsorted(self._dst, np.arange(nc))
        # the share of each fine cell on the cushion (3 x 3 sub-points), for the label
        k = (np.arange(3) + 0.5) / 3
        X, Y = np.meshgrid((self.x_edges[:-1, None] + k * h).ravel(), (self.y_edges[:-1, None] + k * h).ravel())
        cu, cv = self.to_cushion(X, Y)
        inside = (np.abs(cu) <= hu) & (np.abs(cv) <= hv)
        self.coverage = inside.reshape(ny, 3, nx, 3).mean(axis=(1, 3))

    def render(self, blobs: Blobs) -> tuple[np.ndarray, np.ndarray]:
        """(B, rows, cols) newtons per cushion cell, and (B,) the sitter's left share on the
        cushion in the sitter's own frame (NaN where no sitter force lies on it)."""
        blobs = _without_absent(blobs)
        B = blobs.force.shape[0]
        mid = blobs.midline_x
        if self.aligned:
            xpts = np.concatenate([np.broadcast_to(self.x_edges, (B, len(self.x_edges))), mid[:, None]], axis=1)
            cx = profile_cdf(blobs.xk, blobs.xa, blobs.xb, xpts)  # (B, K, nx + 2)
            cy = profile_cdf(blobs.yk, blobs.ya, blobs.yb, self.y_edges)
            px, py = np.diff(cx[:, :, :-1], axis=2), np.diff(cy, axis=2)
            grid = np.matmul((py * blobs.force[:, :, None]).transpose(0, 2, 1), px)  # (B, ny, nx)
            cells = grid.reshape(B, -1)[:, self._perm].reshape(B, self.rows, self.cols)
            nb = blobs.n_body
            # exactly like body.ForceRenderer: on-cushion force front to back, split at the midline
            wy = blobs.force[:, :nb] * (cy[:, :nb, -1] - cy[:, :nb, 0])
            on_x = cx[:, :nb, -2] - cx[:, :nb, 0]
            left_x = np.clip(cx[:, :nb, -1], cx[:, :nb, 0], cx[:, :nb, -2]) - cx[:, :nb, 0]
            total, left = (wy * on_x).sum(axis=1), (wy * left_x).sum(axis=1)
        else:
            px = np.diff(profile_cdf(blobs.xk, blobs.xa, blobs.xb, self.x_edges), axis=2)  # (B, K, nx)
            py = np.diff(profile_cdf(blobs.yk, blobs.ya, blobs.yb, self.y_edges), axis=2)  # (B, K, ny)
            pyf = (py * blobs.force[:, :, None]).transpose(0, 2, 1)  # (B, ny, K)
            nb = blobs.n_body
            body = np.matmul(pyf[:, :, :nb], px[:, :nb])
            fine = body + np.matmul(pyf[:, :, nb:], px[:, nb:]) if blobs.force.shape[1] > nb else body
            flat = fine.reshape(B, -1)
            # a sparse product by hand: as fast as a dense BLAS one on one core, and it does not
            # spin up BLAS threads that fight other processes for a shared machine's cores
            cells = np.add.reduceat(flat[:, self._src] * self._w, self._starts, axis=1).reshape(B, self.rows, self.cols)
            cols = np.einsum("byx,yx->bx", body, self.coverage)  # the sitter's force on the cushion
            lo = self.x_edges[:-1]
            frac = np.clip((mid[:, None] - lo[None, :]) / self.pitch, 0.0, 1.0)
            total, left = cols.sum(axis=1), (cols * frac).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 1e-9, left / np.where(total > 1e-9, total, 1.0), np.nan)
        return cells, share


def _without_absent(b: Blobs) -> Blobs:
    """The blobs without non-body components that are absent (zero force) in every frame:
    no bag, no cat most of the time, and each costs as much to integrate as a body part."""
    present = np.asarray(b.force.any(axis=0), dtype=bool)
    present[: b.n_body] = True
    if present.all():
        return b
    return Blobs(
        b.xk[present],
        b.yk[present],
        b.force[:, present],
        b.xa[:, present],
        b.xb[:, present],
        b.ya[:, present],
        b.yb[:, present],
        b.midline_x,
        b.n_body,
    )
