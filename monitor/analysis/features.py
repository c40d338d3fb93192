"""Per-frame features of a calibrated load map, vectorised over a stack of frames.

Everything is computed by `extract_batch(geometry, load, noise)` on an (N, rows, cols) stack;
`extract(geometry, load, noise)` is the same function on a stack of one, so the per-frame and
the batch path cannot disagree. Positions are in cell coordinates (cell (r, c) has its centre at
(r, c)); loads are in full-scale units; shares are fractions of the frame's total load, so the
posture rules can be scale-free (body weight, cushion gain, grid size).

Orientation (CONTRACT section 1): row 0 is the front edge, the last row the back; column 0 is
under the sitter's left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

# Nominal seat the grid spans (CONTRACT section 1: about 40 x 40 cm). Physical sizes below are
# turned into cells with it, so a 8x8 and a 32x32 cushion look for the same anatomy.
SEAT_WIDTH_CM = 40.0
SEAT_DEPTH_CM = 40.0
SMOOTH_SIGMA_CM = 1.6  # sit-bone peaks are ~4 cm wide; smooth noise, keep the peaks
SMOOTH_TAIL_CUT = 1e-12  # Gaussian weights below this are 0 (see _gauss_matrix)
PEAK_MIN_SEP_CM = (
    7.5  # sit bones are 10-14 cm apart; two maxima closer than this are one
)
PEAK_MAX_SEP_CM = 22.0
PEAK_ZONE_FROM = 0.35  # sit bones are searched in the back 65 % of the seat depth
PEAK_MIN_RATIO = (
    0.12  # the weaker peak must carry at least this share of the stronger one
)
PEAK_VALLEY = (
    0.9  # ... and the profile between them must dip below this share of the weaker
)
PEAK_BOX_CM = 4.0  # half-width of the box whose load counts as a sit bone's
SACRAL_BACK_CM = (
    4.0  # back-centre (sacral) zone: from 4 cm behind the sit bones to the back ...
)
SACRAL_HALF_CM = (
    4.0  # ... within 4 cm of the midline. Relative to the sit bones, not to the
)
# seat, so a coarse grid's blur of deep-seated sit bones does not read as sacral load.
# A row or column reading less than this share of the lesser of its two neighbours, both
# loaded, is an open trace (a broken row or column wire floats near zero), not the body: tissue
# spreads a sit bone's load over 8 cm and more, and the deepest valley of a seated load, between
# the sit bones on an 8x8 grid, reads 0.3 of its neighbours (the sample recordings; an open
# trace under a sitter reads 0.00). Such a line is read as the mean of its neighbours.
OPEN_TRACE = 0.1
MAX_TILT_DEG = 15.0  # the cushion lies turned under the sitter by up to ~12 degrees
SACRAL_DEFAULT_DEPTH = (
    0.75  # where sit bones usually are, for frames where none were found
)


@dataclass(frozen=True)
class SeatGeometry:
    """Grid-dependent constants, computed once per cushion (nothing per frame)."""

    rows: int
    cols: int
    width_cm: float = SEAT_WIDTH_CM
    depth_cm: float = SEAT_DEPTH_CM
    smooth_r: np.ndarray = field(init=False, repr=False)
    smooth_c: np.ndarray = field(init=False, repr=False)
    box_r: np.ndarray = field(init=False, repr=False)
    box_c: np.ndarray = field(init=False, repr=False)
    zone_rows: np.ndarray = field(
        init=False, repr=False
    )  # (1, R) front-half row weights
    peak_row0: int = field(init=False)
    sep_ok: np.ndarray = field(
        init=False, repr=False
    )  # (C, C) columns far enough apart for two sit bones
    # Index vectors, made once: the per-frame path would otherwise build them every frame.
    ri: np.ndarray = field(init=False, repr=False)  # (R,) float32 row indices
    ci: np.ndarray = field(init=False, repr=False)  # (C,) float32 column indices
    ci_int: np.ndarray = field(init=False, repr=False)  # (C,) intp column indices

    def __post_init__(self) -> None:
        cw, cd = self.cell_w_cm, self.cell_d_cm
        R, C = self.rows, self.cols
        setf = object.__setattr__
        setf(self, "smooth_r", _gauss_matrix(R, SMOOTH_SIGMA_CM / cd))
        setf(
            self,
            "smooth_c",
            np.ascontiguousarray(_gauss_matrix(C, SMOOTH_SIGMA_CM / cw).T),
        )
        setf(self, "box_r", _box_matrix(R, PEAK_BOX_CM / cd))
        setf(self, "box_c", _box_matrix(C, PEAK_BOX_CM / cw))
        ri = np.arange(R, dtype=np.float64)
        # Front half; rows weighted by the part of them inside (the middle row of an odd grid
        # is split), so coarse and fine grids see the same zone.
        front = np.clip(R / 2.0 - ri, 0.0, 1.0)
        setf(self, "zone_rows", front[None, :].astype(np.float32))
        setf(self, "peak_row0", min(int(np.floor(PEAK_ZONE_FROM * R)), R - 1))
        ci = np.arange(C)
        sep = np.abs(ci[:, None] - ci[None, :]) * cw
        setf(self, "sep_ok", (sep >= PEAK_MIN_SEP_CM) & (sep <= PEAK_MAX_SEP_CM))
        for name, v in (("ri", np.arange(R, dtype=np.float32)), ("ci", np.arange(C, dtype=np.float32)), ("ci_int", ci)):
            v.flags.writeable = False
            setf(self, name, v)

    @property
    def cell_w_cm(self) -> float:
        return self.width_cm / self.cols

    @property
    def cell_d_cm(self) -> float:
        return self.depth_cm / self.rows


def _gauss_matrix(n: int, sigma: float) -> np.ndarray:
    """Row-normalised Gaussian smoothing matrix (edges renormalised, so no loss at the rim)."""
    i = np.arange(n, dtype=np.float64)
    if sigma < 0.25:
        return np.eye(n, dtype=np.float32)
    k = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    k /= k.sum(axis=1, keepdims=True)
    # The far tail is below float32's resolution of a sum anyway, and left in it becomes
    # subnormal numbers, which x86 multiplies some 10x slower: a 16x16 product took 12 us
    # instead of 1.6 us.
    k[k < SMOOTH_TAIL_CUT] = 0.0
    return k.astype(np.float32)


def _box_matrix(n: int, half: float) -> np.ndarray:
    """Box-sum matrix: cells within `half` cells, the outermost counted by the part inside."""
    i = np.arange(n, dtype=np.float64)
    d = np.abs(i[:, None] - i[None, :])
    return np.clip(half + 0.5 - d, 0.0, 1.0).astype(np.float32)


@dataclass(slots=True)
class FeatureBatch:
    """Features of N frames, one array of length N per field."""

    total: np.ndarray  # sum of load (full-scale units)
    mean_load: np.ndarray  # total / number of cells: comparable across grids
    active_load: (
        np.ndarray
    )  # mean load of cells clearly above noise: what occupancy looks at
    area: np.ndarray  # share of cells in contact
    cop_r: np.ndarray
    cop_c: np.ndarray
    peaks_found: np.ndarray  # bool
    pl_r: np.ndarray  # left sit-bone peak (lower column), sub-cell
    pl_c: np.ndarray
    pr_r: np.ndarray  # right sit-bone peak
    pr_c: np.ndarray
    pl_load: np.ndarray  # load within PEAK_BOX_CM of each peak, share of total
    pr_load: np.ndarray
    midline: np.ndarray  # column coordinate of the sitter's midline
    left_share: np.ndarray
    front_share: np.ndarray  # share of load on the front half
    thigh_l: np.ndarray  # share of load on the front half, left of the midline
    thigh_r: np.ndarray
    sacral: np.ndarray  # share of load at the back centre
    peak_depth: np.ndarray  # mean peak row as a fraction of the depth (0 front, 1 back)
    gamma: np.ndarray  # the linearising exponent the frame was analysed with (calibration/response.py)

    def __len__(self) -> int:
        return len(self.total)

    def row(self, i: int) -> dict[str, float | bool]:
        return {name: getattr(self, name)[i].item() for name in FEATURE_NAMES}

    def rows(self) -> list[dict[str, float | bool]]:
        """Every frame's `row(i)`, converting each column once (tolist gives what .item() does)."""
        columns = [getattr(self, name).tolist() for name in FEATURE_NAMES]
        return [dict(zip(FEATURE_NAMES, values, strict=True)) for values in zip(*columns, strict=True)]


FEATURE_NAMES = tuple(f.name for f in fields(FeatureBatch))


def extract(
    geo: SeatGeometry, load: np.ndarray, noise: float, gamma: float = 1.0
) -> dict[str, float | bool]:
    """Features of one frame: `extract_batch` on a stack of one."""
    return extract_batch(geo, load[None], np.asarray([noise], np.float32), np.asarray([gamma], np.float32)).row(0)


def extract_batch(
    geo: SeatGeometry, load: np.ndarray, noise: np.ndarray, gamma: np.ndarray | None = None
) -> FeatureBatch:
    """Features of an (N, rows, cols) stack of calibrated loads; `noise` is (N,) per-cell sigma,
    `gamma` (N,) the cushion's linearising exponent (calibration/response.py; None: 1).

    `left_share` and the thighs' left/right split are of `load ** gamma` (the pressure a
    saturating mat flattens, restored: a lean moves load between the sit bones, which such a
    mat squeezes most); everything else is of the load as read, so occupancy's thresholds stay
    in full-scale units and the front/back shares keep the figures the posture rules know.

    Written as a few whole-stack operations (matrix products, reductions), because the
    per-frame path runs it on a stack of one for every frame.
    """
    n, R, C = load.shape
    f32 = np.float32
    L = np.maximum(load, f32(0.0), dtype=f32)
    noise = np.asarray(noise, f32).reshape(n)
    ci = geo.ci
    ri = geo.ri

    # Sums are np.add.reduce, what ndarray.sum calls through a Python wrapper: the same
    # arithmetic for less per-call cost, which is most of a one-frame stack's cost.
    thr = np.maximum(f32(4.0) * noise, f32(0.004))[:, None, None]
    active = L > thr  # noqa: SIM300 (L is the load stack, not a constant)
    active_load = np.add.reduce(L * active, axis=(1, 2)) / f32(R * C)
    area = np.add.reduce(active, axis=(1, 2)) / f32(R * C)
    row_prof = np.add.reduce(L, axis=2)  # (n, R)
    col_prof = np.add.reduce(L, axis=1)  # (n, C)
    if _has_open_trace(row_prof) or _has_open_trace(col_prof):
        L = _fill_open_traces(L)
        row_prof = np.add.reduce(L, axis=2)
        col_prof = np.add.reduce(L, axis=1)
    g = np.ones(n, f32) if gamma is None else np.asarray(gamma, f32).reshape(n)
    linear = not np.count_nonzero(g != f32(1.0))
    if not linear:
        # frame by frame the same elementwise power, whatever the stack holds
        Lg = np.where((g == f32(1.0))[:, None, None], L, np.power(L, g[:, None, None], dtype=f32))
    total = np.add.reduce(col_prof, axis=1)
    inv_total = f32(1.0) / np.maximum(total, f32(1e-9))
    # Row-wise products and sums, not matrix-vector products: BLAS may sum a stack of one in
    # another order than a stack of many, and the per-frame path must match the batch exactly.
    cop_r = np.add.reduce(row_prof * ri, axis=1) * inv_total
    cop_c = np.add.reduce(col_prof * ci, axis=1) * inv_total

    S = geo.smooth_r @ L @ geo.smooth_c  # (n, R, C) smoothed
    found, pr, pc = _find_peaks(geo, S)
    # Load within PEAK_BOX_CM of each peak's cell: box rows . L . box columns.
    cell_r = np.rint(pr).astype(np.intp)
    cell_c = np.rint(pc).astype(np.intp)
    box = np.add.reduce(np.matmul(geo.box_r[cell_r], L) * geo.box_c[cell_c], axis=2)  # (n, 2)
    box = np.where(found[:, None], box * inv_total[:, None], f32(0.0))

    midline = np.where(
        found, f32(0.5) * (pc[:, 0] + pc[:, 1]), f32((C - 1) / 2.0)
    ).astype(f32)
    wl = _left_weights(geo, found, pr, pc, midline)  # (n, R, C)
    front_col = (geo.zone_rows @ L)[:, 0, :]  # (n, C): front-half load per column
    front_share = np.add.reduce(front_col, axis=1) * inv_total
    if linear:
        left_share = np.add.reduce(L * wl, axis=(1, 2)) * inv_total
        thigh_l = np.add.reduce(np.add.reduce(L * wl * geo.zone_rows[0][None, :, None], axis=2), axis=1) * inv_total
    else:
        # Left and right of the linearised load: a lean moves load between the sit bones,
        # which a saturating mat flattens most; the thighs' left/right split too, scaled to
        # the front share as read. At gamma 1 this is exactly the arithmetic above (the same
        # sums; the front share over itself is 1), so a frame reads the same in any batch.
        inv_g = f32(1.0) / np.maximum(np.add.reduce(np.add.reduce(Lg, axis=1), axis=1), f32(1e-9))
        left_share = np.add.reduce(Lg * wl, axis=(1, 2)) * inv_g
        front_g = np.add.reduce((geo.zone_rows @ Lg)[:, 0, :], axis=1) * inv_g
        thigh_g = np.add.reduce(np.add.reduce(Lg * wl * geo.zone_rows[0][None, :, None], axis=2), axis=1) * inv_g
        thigh_l = thigh_g * (front_share / np.maximum(front_g, f32(1e-9)))
    peak_row = np.where(
        found, f32(0.5) * (pr[:, 0] + pr[:, 1]), f32(SACRAL_DEFAULT_DEPTH * R - 0.5)
    )
    thigh_r = front_share - thigh_l
    # Sacral zone: rows from SACRAL_BACK_CM behind the sit bones (partly covered rows by their
    # covered part), columns within SACRAL_HALF_CM of the midline.
    z = peak_row + f32(SACRAL_BACK_CM / geo.cell_d_cm)
    sac_rw = np.minimum(
        np.maximum(ri[None, :] + f32(0.5) - z[:, None], f32(0.0)), f32(1.0)
    )  # (n, R)
    sac_col = np.matmul(sac_rw[:, None, :], L)[:, 0, :]  # (n, C)
    half = f32(SACRAL_HALF_CM / geo.cell_w_cm + 0.5)
    sac_w = np.minimum(
        np.maximum(half - np.abs(ci[None, :] - midline[:, None]), f32(0.0)), f32(1.0)
    )
    sacral = np.add.reduce(sac_col * sac_w, axis=1) * inv_total

    nan = f32(np.nan)
    return FeatureBatch(
        total=total,
        mean_load=total / f32(R * C),
        active_load=active_load,
        area=area,
        cop_r=cop_r,
        cop_c=cop_c,
        peaks_found=found,
        pl_r=np.where(found, pr[:, 0], nan),
        pl_c=np.where(found, pc[:, 0], nan),
        pr_r=np.where(found, pr[:, 1], nan),
        pr_c=np.where(found, pc[:, 1], nan),
        pl_load=box[:, 0],
        pr_load=box[:, 1],
        midline=midline,
        left_share=left_share,
        front_share=front_share,
        thigh_l=thigh_l,
        thigh_r=thigh_r,
        sacral=sacral,
        peak_depth=np.where(
            found, (f32(0.5) * (pr[:, 0] + pr[:, 1]) + f32(0.5)) / f32(R), nan
        ),
        gamma=g,
    )



def _open_lines(prof: np.ndarray) -> np.ndarray:
    """(n, lines - 2): which inner lines of a row or column profile (n, lines) are open traces."""
    f32 = np.float32
    near = np.minimum(prof[:, :-2], prof[:, 2:])
    loaded = near > f32(0.5) * np.add.reduce(prof, axis=1, keepdims=True) / f32(prof.shape[1])
    return loaded & (prof[:, 1:-1] < f32(OPEN_TRACE) * near)


def _has_open_trace(prof: np.ndarray) -> bool:
    if prof.shape[1] < 3:
        return False
    # the cheap half of the test first: on most frames no line is that far below both neighbours
    low = prof[:, 1:-1] < np.float32(OPEN_TRACE) * np.minimum(prof[:, :-2], prof[:, 2:])
    return bool(np.count_nonzero(low)) and bool(np.count_nonzero(_open_lines(prof)))


def _fill_open_traces(L: np.ndarray) -> np.ndarray:
    """L (n, R, C) with every open trace (see OPEN_TRACE) read as the mean of its neighbours."""
    f32 = np.float32
    for axis in (1, 2):  # columns (summed over rows), then rows
        prof = np.add.reduce(L, axis=axis)  # (n, lines)
        if prof.shape[1] < 3:
            continue
        open_line = _open_lines(prof)
        if not np.count_nonzero(open_line):
            continue
        if axis == 1:  # open columns: cells from the columns either side
            mean = f32(0.5) * (L[:, :, :-2] + L[:, :, 2:])
            inner = np.where(open_line[:, None, :], mean, L[:, :, 1:-1])
            L = np.concatenate([L[:, :, :1], inner, L[:, :, -1:]], axis=2)
        else:
            mean = f32(0.5) * (L[:, :-2, :] + L[:, 2:, :])
            inner = np.where(open_line[:, :, None], mean, L[:, 1:-1, :])
            L = np.concatenate([L[:, :1, :], inner, L[:, -1:, :]], axis=1)
    return L


def _left_weights(
    geo: SeatGeometry, found: np.ndarray, pr: np.ndarray, pc: np.ndarray, midline: np.ndarray
) -> np.ndarray:
    """(n, R, C): the share of each cell left of the sitter's midline.

    The midline runs through the middle of the two sit bones, square to the line between
    them: a cushion lying turned under the sitter (up to ~12 degrees) tilts it, and a straight
    column split would hand the thighs' load to the wrong side. The tilt is capped at
    MAX_TILT_DEG (beyond that a peak is more likely misplaced than the cushion turned); without
    peaks the midline is the middle column. A cell the midline crosses is split by width."""
    f32 = np.float32
    cw, cd = f32(geo.cell_w_cm), f32(geo.cell_d_cm)
    dx = (pc[:, 1] - pc[:, 0]).astype(f32) * cw
    dy = (pr[:, 1] - pr[:, 0]).astype(f32) * cd
    slope = np.where(found & (dx > f32(1e-3)), dy / np.maximum(dx, f32(1e-3)), f32(0.0))
    lim = f32(math.tan(math.radians(MAX_TILT_DEG)))
    slope = np.clip(slope, -lim, lim).astype(f32)
    mid_r = np.where(found, f32(0.5) * (pr[:, 0] + pr[:, 1]), f32(0.0)).astype(f32)
    # Column of the midline at each row: it moves by -slope * (row offset in cm) sideways.
    shift = (geo.ri[None, :] - mid_r[:, None]) * (cd / cw) * slope[:, None]  # (n, R) in columns
    line = midline[:, None] - shift  # (n, R)
    return np.minimum(
        np.maximum(line[:, :, None] - geo.ci[None, None, :] + f32(0.5), f32(0.0)), f32(1.0)
    )

def _find_peaks(geo: SeatGeometry, S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two sit-bone peaks of smoothed maps S (n, R, C).

    Per column, the highest smoothed value in the sit-bone zone gives a column profile; the
    strongest local maximum of it is one sit bone, the strongest other local maximum 7.5-22 cm
    away (and at least PEAK_MIN_RATIO as high) the other. Sub-cell positions come from a
    parabola through each peak and its neighbours. Returns found (n,), rows (n, 2) and
    cols (n, 2) as floats, the left peak (lower column) first.
    """
    n, R, C = S.shape
    r0 = geo.peak_row0
    Z = S[:, r0:, :]
    zrow = Z.argmax(axis=1)  # (n, C)
    nn = np.arange(n)
    prof = np.maximum.reduce(Z, axis=1)  # (n, C): the value at zrow, without a gather
    is_max = prof > 0
    is_max[:, 1:] &= prof[:, 1:] >= prof[:, :-1]
    is_max[:, :-1] &= prof[:, :-1] >= prof[:, 1:]
    cand = np.where(is_max, prof, np.float32(-1.0))
    a = cand.argmax(axis=1)  # the strongest
    va = cand[nn, a]
    cand_b = np.where(geo.sep_ok[a], cand, np.float32(-1.0))
    b = cand_b.argmax(axis=1)
    vb = cand_b[nn, b]
    cols = np.empty((n, 2), np.intp)  # left peak first
    np.minimum(a, b, out=cols[:, 0])
    np.maximum(a, b, out=cols[:, 1])
    # Two sit bones have a valley between them; a flat load (a bag, a board) has none.
    ci = geo.ci_int
    between = (ci[None, :] > cols[:, :1]) & (ci[None, :] < cols[:, 1:])
    valley = np.minimum.reduce(np.where(between, prof, np.float32(np.inf)), axis=1)
    found = (va > 0) & (vb >= PEAK_MIN_RATIO * va) & (valley <= PEAK_VALLEY * vb)

    n2 = nn[:, None]
    rows = zrow[n2, cols] + r0  # (n, 2)
    # Sub-cell refinement: parabolas along the column and the row through each peak.
    c_l = np.maximum(cols - 1, 0)
    c_r = np.minimum(cols + 1, C - 1)
    r_u = np.maximum(rows - 1, 0)
    r_d = np.minimum(rows + 1, R - 1)
    # One gather for the peak and its four neighbours: (5, n, 2).
    V = S[
        n2[None],
        np.array([rows, rows, r_u, rows, r_d]),
        np.array([cols, c_l, cols, c_r, cols]),
    ]
    d = _parabola(V[1:3], V[0][None], V[3:5])  # d[0] along columns, d[1] along rows
    d[0] = np.where((cols == 0) | (cols == C - 1), 0.0, d[0])
    d[1] = np.where((rows == 0) | (rows == R - 1), 0.0, d[1])
    return found, (rows + d[1]).astype(np.float32), (cols + d[0]).astype(np.float32)


def _parabola(left: np.ndarray, c: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Offset of a parabola's vertex through (-1, left), (0, c), (1, right), within +-0.5."""
    den = left - 2.0 * c + right
    curved = den < -1e-12
    safe = np.where(curved, den, -1.0)
    d = np.where(curved, 0.5 * (left - right) / safe, 0.0)
    return np.minimum(np.maximum(d, -0.5), 0.5)
