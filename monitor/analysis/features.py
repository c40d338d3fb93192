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

from dataclasses import dataclass, field, fields

import numpy as np

# Nominal seat the grid spans (CONTRACT section 1: about 40 x 40 cm). Physical sizes below are
# turned into cells with it, so a 8x8 and a 32x32 cushion look for the same anatomy.
SEAT_WIDTH_CM = 40.0
SEAT_DEPTH_CM = 40.0
SMOOTH_SIGMA_CM = 1.6  # sit-bone peaks are ~4 cm wide; smooth noise, keep the peaks
PEAK_MIN_SEP_CM = 7.5  # sit bones are 10-14 cm apart; two maxima closer than this are one
PEAK_MAX_SEP_CM = 22.0
PEAK_ZONE_FROM = 0.35  # sit bones are searched in the back 65 % of the seat depth
PEAK_MIN_RATIO = 0.12  # the weaker peak must carry at least this share of the stronger one
PEAK_BOX_CM = 4.0  # half-width of the box whose load counts as a sit bone's
SACRAL_FROM = 0.78  # back-centre (sacral) zone: the back 22 % ...
SACRAL_HALF_CM = 5.0  # ... within 5 cm of the midline


@dataclass(frozen=True)
class SeatGeometry:
    """Grid-dependent constants, computed once per cushion."""

    rows: int
    cols: int
    width_cm: float = SEAT_WIDTH_CM
    depth_cm: float = SEAT_DEPTH_CM
    smooth_r: np.ndarray = field(init=False, repr=False)
    smooth_c: np.ndarray = field(init=False, repr=False)
    box_r: np.ndarray = field(init=False, repr=False)
    box_c: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cw, cd = self.cell_w_cm, self.cell_d_cm
        object.__setattr__(self, "smooth_r", _gauss_matrix(self.rows, SMOOTH_SIGMA_CM / cd))
        object.__setattr__(self, "smooth_c", _gauss_matrix(self.cols, SMOOTH_SIGMA_CM / cw))
        object.__setattr__(self, "box_r", _box_matrix(self.rows, PEAK_BOX_CM / cd))
        object.__setattr__(self, "box_c", _box_matrix(self.cols, PEAK_BOX_CM / cw))

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
    return (k / k.sum(axis=1, keepdims=True)).astype(np.float32)


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
    active_load: np.ndarray  # mean load of cells clearly above noise: what occupancy looks at
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

    def __len__(self) -> int:
        return len(self.total)

    def row(self, i: int) -> dict[str, float | bool]:
        return {f.name: getattr(self, f.name)[i].item() for f in fields(self)}


FEATURE_NAMES = tuple(f.name for f in fields(FeatureBatch))


def extract(geo: SeatGeometry, load: np.ndarray, noise: float) -> dict[str, float | bool]:
    """Features of one frame: `extract_batch` on a stack of one."""
    return extract_batch(geo, load[None], np.asarray([noise], np.float32)).row(0)


def extract_batch(geo: SeatGeometry, load: np.ndarray, noise: np.ndarray) -> FeatureBatch:
    """Features of an (N, rows, cols) stack of calibrated loads; `noise` is (N,) per-cell sigma."""
    n, R, C = load.shape
    L = np.maximum(load, 0.0, dtype=np.float32)
    noise = np.asarray(noise, np.float32).reshape(n)
    total = L.sum(axis=(1, 2))
    safe_total = np.maximum(total, 1e-9)
    mean_load = total / (R * C)
    thr = np.maximum(4.0 * noise, 0.004)[:, None, None]
    active = L > thr
    active_load = np.where(active, L, 0.0).sum(axis=(1, 2)) / (R * C)
    area = active.mean(axis=(1, 2))

    row_prof = L.sum(axis=2)  # (n, R)
    col_prof = L.sum(axis=1)  # (n, C)
    ri = np.arange(R, dtype=np.float32)
    ci = np.arange(C, dtype=np.float32)
    cop_r = row_prof @ ri / safe_total
    cop_c = col_prof @ ci / safe_total

    S = geo.smooth_r @ L @ geo.smooth_c.T  # (n, R, C) smoothed
    B = geo.box_r @ L @ geo.box_c.T  # (n, R, C) box sums around each cell
    found, pr, pc, iv = _find_peaks(geo, S)
    # Left peak = lower column.
    swap = pc[:, 1] < pc[:, 0]
    idx = np.where(swap[:, None], iv[:, ::-1], iv)
    pr = np.where(swap[:, None], pr[:, ::-1], pr)
    pc = np.where(swap[:, None], pc[:, ::-1], pc)
    nn = np.arange(n)
    pl_load = B[nn, idx[:, 0] // C, idx[:, 0] % C] / safe_total
    prr_load = B[nn, idx[:, 1] // C, idx[:, 1] % C] / safe_total
    pl_load = np.where(found, pl_load, 0.0)
    prr_load = np.where(found, prr_load, 0.0)

    midline = np.where(found, 0.5 * (pc[:, 0] + pc[:, 1]), (C - 1) / 2.0).astype(np.float32)
    # Share of each column left of the midline: a column the midline crosses is split by area.
    wl = np.clip(midline[:, None] - (ci[None, :] - 0.5), 0.0, 1.0)  # (n, C)
    left = (col_prof * wl).sum(axis=1)
    left_share = left / safe_total

    # Front half; the middle row of an odd grid is split.
    fr_w = np.clip(R / 2.0 - ri, 0.0, 1.0).astype(np.float32)
    front = L * fr_w[None, :, None]
    front_col = front.sum(axis=1)  # (n, C)
    front_total = front_col.sum(axis=1)
    thigh_l = (front_col * wl).sum(axis=1) / safe_total
    thigh_r = front_total / safe_total - thigh_l

    # Rows weighted by the part of them inside the zone, so coarse grids see the same zone.
    sac_rw = np.clip(ri + 0.5 - (SACRAL_FROM * R - 0.5), 0.0, 1.0).astype(np.float32)
    half = SACRAL_HALF_CM / geo.cell_w_cm
    sac_w = np.clip(half + 0.5 - np.abs(ci[None, :] - midline[:, None]), 0.0, 1.0)  # (n, C)
    sacral = (np.einsum("nrc,r->nc", L, sac_rw) * sac_w).sum(axis=1) / safe_total

    peak_depth = np.where(found, (0.5 * (pr[:, 0] + pr[:, 1]) + 0.5) / R, np.nan)

    f32 = np.float32
    return FeatureBatch(
        total=total.astype(f32), mean_load=mean_load.astype(f32), active_load=active_load.astype(f32),
        area=area.astype(f32), cop_r=cop_r.astype(f32), cop_c=cop_c.astype(f32), peaks_found=found,
        pl_r=np.where(found, pr[:, 0], np.nan).astype(f32), pl_c=np.where(found, pc[:, 0], np.nan).astype(f32),
        pr_r=np.where(found, pr[:, 1], np.nan).astype(f32), pr_c=np.where(found, pc[:, 1], np.nan).astype(f32),
        pl_load=pl_load.astype(f32), pr_load=prr_load.astype(f32), midline=midline,
        left_share=left_share.astype(f32), front_share=(front_total / safe_total).astype(f32),
        thigh_l=thigh_l.astype(f32), thigh_r=thigh_r.astype(f32), sacral=sacral.astype(f32),
        peak_depth=peak_depth.astype(f32),
    )


def _find_peaks(geo: SeatGeometry, S: np.ndarray):
    """The two sit-bone peaks of smoothed maps S (n, R, C).

    Per column, the highest smoothed value in the sit-bone zone gives a column profile; the
    strongest local maximum of it is one sit bone, the strongest other local maximum 7.5-22 cm
    away (and at least PEAK_MIN_RATIO as high) the other. Sub-cell positions come from a
    parabola through each peak and its neighbours. Returns found (n,), rows (n, 2),
    cols (n, 2), flat cell indices (n, 2).
    """
    n, R, C = S.shape
    r0 = min(int(np.floor(PEAK_ZONE_FROM * R)), R - 1)
    Z = S[:, r0:, :]
    prof = Z.max(axis=1)  # (n, C)
    prow = Z.argmax(axis=1) + r0  # (n, C)
    pad = np.pad(prof, ((0, 0), (1, 1)), constant_values=-1.0)
    is_max = (prof >= pad[:, :-2]) & (prof >= pad[:, 2:]) & (prof > 0)
    cand = np.where(is_max, prof, -1.0)
    a = cand.argmax(axis=1)  # strongest
    nn = np.arange(n)
    va = cand[nn, a]
    ci = np.arange(C)
    sep = np.abs(ci[None, :] - a[:, None]) * geo.cell_w_cm
    ok = (sep >= PEAK_MIN_SEP_CM) & (sep <= PEAK_MAX_SEP_CM)
    cand_b = np.where(ok, cand, -1.0)
    b = cand_b.argmax(axis=1)
    vb = cand_b[nn, b]
    found = (va > 0) & (vb >= PEAK_MIN_RATIO * va)

    cols = np.stack([a, b], axis=1)  # (n, 2)
    rows = prow[nn[:, None], cols]  # (n, 2)
    # Sub-cell refinement along columns and rows of S.
    c_l = np.clip(cols - 1, 0, C - 1)
    c_r = np.clip(cols + 1, 0, C - 1)
    r_u = np.clip(rows - 1, 0, R - 1)
    r_d = np.clip(rows + 1, 0, R - 1)
    n2 = nn[:, None]
    v0 = S[n2, rows, cols]
    dc = _parabola(S[n2, rows, c_l], v0, S[n2, rows, c_r])
    dr = _parabola(S[n2, r_u, cols], v0, S[n2, r_d, cols])
    dc = np.where((cols == 0) | (cols == C - 1), 0.0, dc)
    dr = np.where((rows == 0) | (rows == R - 1), 0.0, dr)
    return found, rows + dr, cols + dc, rows * C + cols


def _parabola(l: np.ndarray, c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Offset of a parabola's vertex through (-1, l), (0, c), (1, r), within +-0.5."""
    den = l - 2.0 * c + r
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(den < -1e-12, 0.5 * (l - r) / den, 0.0)
    return np.clip(d, -0.5, 0.5)
