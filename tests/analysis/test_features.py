"""Features of synthetic load maps whose right answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.analysis.features import (
    FEATURE_NAMES,
    SeatGeometry,
    extract,
    extract_batch,
)


def gauss(
    rows: int, cols: int, r: float, c: float, sigma: float, amp: float
) -> np.ndarray:
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64)
    return amp * np.exp(-0.5 * (((rr - r) / sigma) ** 2 + ((cc - c) / sigma) ** 2))


def two_peaks(
    rows=16,
    cols=16,
    left=(11.3, 4.6),
    right=(11.3, 10.2),
    amp_l=0.5,
    amp_r=0.5,
    sigma=1.2,
):
    return (
        gauss(rows, cols, *left, sigma, amp_l) + gauss(rows, cols, *right, sigma, amp_r)
    ).astype(np.float32)


def area_split_share(load: np.ndarray, midline: float) -> float:
    """Left share by the CONTRACT rule, written out cell by cell."""
    left = 0.0
    for c in range(load.shape[1]):
        frac = min(max(midline - (c - 0.5), 0.0), 1.0)
        left += frac * float(load[:, c].sum())
    return left / float(load.sum())


def test_peaks_found_at_subcell_positions():
    geo = SeatGeometry(16, 16)
    f = extract(geo, two_peaks(), 0.002)
    assert f["peaks_found"]
    assert f["pl_c"] == pytest.approx(4.6, abs=0.15)
    assert f["pr_c"] == pytest.approx(10.2, abs=0.15)
    assert f["pl_r"] == pytest.approx(11.3, abs=0.15)
    assert f["pr_r"] == pytest.approx(11.3, abs=0.15)
    assert f["midline"] == pytest.approx((4.6 + 10.2) / 2, abs=0.1)


def test_symmetric_sitter_reads_half_even_off_centre():
    geo = SeatGeometry(16, 16)
    # Both peaks shifted 1.6 cells (4 cm) to the right: still an even sitter.
    load = two_peaks(left=(11.0, 6.2), right=(11.0, 11.8))
    f = extract(geo, load, 0.002)
    assert f["left_share"] == pytest.approx(0.5, abs=0.01)
    assert f["cop_c"] == pytest.approx(9.0, abs=0.05)


def test_left_share_is_the_area_split_at_the_midline():
    geo = SeatGeometry(16, 16)
    load = two_peaks(amp_l=0.7, amp_r=0.35)
    f = extract(geo, load, 0.002)
    assert f["left_share"] > 0.6
    assert f["left_share"] == pytest.approx(
        area_split_share(load, f["midline"]), abs=1e-4
    )


def test_midline_splits_a_crossed_column_by_area():
    geo = SeatGeometry(8, 8)
    load = two_peaks(
        8, 8, left=(6.0, 1.8), right=(6.0, 5.2), sigma=0.8
    )  # midline at 3.5 (a cell edge)
    f = extract(geo, load, 0.002)
    mid = f["midline"]
    assert 3.0 < mid < 4.0
    assert f["left_share"] == pytest.approx(area_split_share(load, mid), abs=1e-4)
    # A single column of load under the midline: the share left of it is the crossed part.
    col = np.zeros((8, 8), np.float32)
    col[:, 3] = 0.1
    bump = two_peaks(8, 8, left=(6.0, 1.8), right=(6.0, 4.6), sigma=0.6)
    g = extract(geo, bump + col, 0.002)
    assert g["left_share"] == pytest.approx(
        area_split_share(bump + col, g["midline"]), abs=1e-4
    )


def test_no_peaks_falls_back_to_seat_centre():
    geo = SeatGeometry(16, 16)
    flat = np.zeros((16, 16), np.float32)
    flat[2:6, :] = 0.1  # a load with no sit bones (a bag along the front)
    f = extract(geo, flat, 0.002)
    assert not f["peaks_found"]
    assert f["midline"] == pytest.approx(7.5)
    assert f["left_share"] == pytest.approx(0.5, abs=1e-6)


def test_thigh_and_front_back_shares():
    geo = SeatGeometry(16, 16)
    seat = two_peaks()
    thighs = gauss(16, 16, 3.0, 4.6, 1.5, 0.15) + gauss(16, 16, 3.0, 10.2, 1.5, 0.15)
    both = extract(geo, (seat + thighs).astype(np.float32), 0.002)
    assert both["thigh_l"] == pytest.approx(both["thigh_r"], rel=0.05)
    crossed_left = seat + gauss(16, 16, 3.0, 10.2, 1.5, 0.15)  # the left thigh lifted
    f = extract(geo, crossed_left.astype(np.float32), 0.002)
    assert f["thigh_l"] < 0.1 * f["thigh_r"]
    assert f["front_share"] == pytest.approx(f["thigh_l"] + f["thigh_r"], abs=1e-5)
    # Slouch: load at the back centre shows in the sacral share.
    sacrum = gauss(16, 16, 14.5, 7.4, 1.2, 0.3)
    s = extract(geo, (seat + sacrum).astype(np.float32), 0.002)
    assert s["sacral"] > 2 * both["sacral"]


@pytest.mark.parametrize("rows,cols", [(8, 8), (12, 20), (16, 16), (32, 32)])
def test_batch_equals_single_frames_exactly(rows, cols):
    rng = np.random.default_rng(rows * 100 + cols)
    geo = SeatGeometry(rows, cols)
    n = 12
    stack = np.empty((n, rows, cols), np.float32)
    for i in range(n):
        cl = (rows * rng.uniform(0.6, 0.8), cols * rng.uniform(0.2, 0.4))
        cr = (rows * rng.uniform(0.6, 0.8), cols * rng.uniform(0.6, 0.8))
        stack[i] = two_peaks(
            rows,
            cols,
            cl,
            cr,
            rng.uniform(0.2, 0.8),
            rng.uniform(0.2, 0.8),
            sigma=rows / 12,
        )
        stack[i] += rng.normal(0, 0.003, (rows, cols)).astype(np.float32)
    stack[3] = 0.0  # an empty frame in the middle
    noise = np.full(n, 0.003, np.float32)
    batch = extract_batch(geo, stack, noise)
    for i in range(n):
        single = extract(geo, stack[i], 0.003)
        row = batch.row(i)
        assert set(single) == set(FEATURE_NAMES)
        for k in FEATURE_NAMES:
            a, b = single[k], row[k]
            assert (a == b) or (np.isnan(a) and np.isnan(b)), (i, k, a, b)


def test_grid_size_does_not_change_shares():
    """The same body drawn on a coarse and a fine grid gives about the same shares."""
    out = {}
    for rows, cols in [(8, 8), (16, 16), (32, 32)]:
        k = rows / 16.0
        seat = two_peaks(
            rows,
            cols,
            ((11.3 + 0.5) * k - 0.5, (4.6 + 0.5) * k - 0.5),
            ((11.3 + 0.5) * k - 0.5, (10.2 + 0.5) * k - 0.5),
            0.6,
            0.4,
            sigma=1.3 * k,
        )
        thighs = gauss(rows, cols, 3.5 * k, 4.6 * k, 1.8 * k, 0.15) + gauss(
            rows, cols, 3.5 * k, 10.2 * k, 1.8 * k, 0.15
        )
        out[rows] = extract(
            SeatGeometry(rows, cols), (seat + thighs).astype(np.float32), 0.002
        )
    for key in ("left_share", "front_share"):
        vals = [out[r][key] for r in out]
        assert max(vals) - min(vals) < 0.03, (key, vals)


@pytest.mark.parametrize("line", [("col", 3), ("row", 6)])
def test_an_open_trace_under_the_sitter_reads_as_its_neighbours(line):
    """A broken row or column wire reads ~0 across the sitter (firmware_sim's `traces`): read
    as the mean of its neighbours, the shares come out as on the whole cushion. The deepest
    valley of a real load (between the sit bones) is left alone."""
    geo = SeatGeometry(10, 10)
    whole = two_peaks(10, 10, left=(6.5, 2.8), right=(6.5, 6.4), amp_l=0.6, amp_r=0.4, sigma=1.4)
    whole += 0.05  # thighs and buttocks: load everywhere under the sitter
    broken = whole.copy()
    kind, i = line
    if kind == "col":
        broken[:, i] = 0.0
    else:
        broken[i, :] = 0.0
    ok = extract(geo, whole, 0.002)
    f = extract(geo, broken, 0.002)
    assert f["left_share"] == pytest.approx(ok["left_share"], abs=0.02)
    assert f["front_share"] == pytest.approx(ok["front_share"], abs=0.02)
    # a valley of 0.3 of its neighbours is a body's: untouched
    valley = whole.copy()
    valley[:, 4] = 0.3 * np.minimum(whole[:, 3], whole[:, 5])
    v = extract(geo, valley, 0.002)
    assert v["total"] == pytest.approx(float(valley.sum()), rel=1e-5)
