"""The cheaper analysis paths (issue 9) give bit-identical results to the plain ones.

`Calibrator.process_batch` vectorises runs of frames between calibration state changes; it
must give exactly what `process` frame by frame gives (loads, noise, and the state after),
whatever the batch boundaries, through warm-up, tare learning, dead cells appearing and
masked-cell filling. `_median` must be `np.median`.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.calibration.calibrator import Calibrator
from monitor.calibration.cells import median_into as _median
from monitor.codec.recording import RecordingReader
from monitor.model import Frame


def _assert_same_state(a: Calibrator, b: Calibrator) -> None:
    assert a.noise == b.noise
    assert a.tared_s == b.tared_s and a.empty_s == b.empty_s and a.clock == b.clock
    assert a._check_bucket == b._check_bucket
    for name in ("offset", "noise_var", "mask", "zero_since", "same_since"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _compare(t: np.ndarray, cells: np.ndarray, max_value: int, sizes, seed: int = 0) -> Calibrator:
    rows, cols = cells.shape[1:]
    one, many = Calibrator(rows, cols, max_value), Calibrator(rows, cols, max_value)
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(t):
        m = int(rng.choice(sizes))
        batch = many.process_batch(t[i : i + m], cells[i : i + m])
        loads, noise = batch.load, batch.noise
        expect, expect_noise = [], []
        for k in range(i, min(i + m, len(t))):
            expect.append(one.process(Frame("c", float(t[k]), cells[k], max_value)).load)
            expect_noise.append(one.noise)
        assert np.array_equal(np.stack(expect), loads), f"loads differ in frames {i}..{i + m}"
        assert np.array_equal(np.array(expect_noise, np.float32), noise)
        _assert_same_state(one, many)
        i += m
    return many


def _synthetic(n: int = 1500, rows: int = 12, cols: int = 10, seed: int = 3):
    """Empty seat (tare learns), a sitter, empty again; two cells die on the way, one sticks."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.1 + rng.uniform(0, 0.01, n)  # 10 Hz with jitter
    offset = rng.normal(60, 15, (rows, cols)).clip(1)
    rr, cc = np.mgrid[0:rows, 0:cols]
    body = 1800 * np.exp(-((rr - 8) ** 2 + (cc - 3) ** 2) / 4) + 1700 * np.exp(
        -((rr - 8) ** 2 + (cc - 7) ** 2) / 4
    )
    cells = np.empty((n, rows, cols), np.uint16)
    for k in range(n):
        seated = 400 <= k < 1000
        drift = 0.01 * k  # slow uniform drift the tare must follow
        frame = offset + drift + rng.normal(0, 4, (rows, cols)) + (body if seated else 0)
        cells[k] = frame.clip(0, 4095).round()
    cells[300:, 2, 2] = 0  # dead from frame 300 (masked after 5 s)
    cells[700:, 9, 5] = 0  # dead under the sitter
    cells[:, 0, 9] = 77  # stuck from the start (masked after 60 s)
    return t, cells


@pytest.mark.parametrize("sizes", [(1, 2, 3), (16,), (7, 64, 512)])
def test_batch_calibration_is_the_per_frame_calibration(sizes):
    t, cells = _synthetic()
    cal = _compare(t, cells, 4095, sizes)
    assert not cal.mask[2, 2] and not cal.mask[9, 5] and not cal.mask[0, 9]  # all exercised
    assert cal.tared_s > 10.0


def test_batch_calibration_on_shared_samples(samples_dir):
    # noisy-32x32 has many dead/stuck cells (fill); tour-16x16 sits down and gets up (tare)
    for name, limit in (("noisy-32x32.jsonl.gz", 2500), ("tour-16x16.jsonl.gz", 3000)):
        frames = []
        with RecordingReader(samples_dir / name) as reader:
            for f in reader:
                frames.append(f)
                if len(frames) >= limit:
                    break
        t = np.array([f.t for f in frames])
        cells = np.stack([f.cells for f in frames])
        _compare(t, cells, frames[0].max_value, (1, 5, 64, 512), seed=len(name))


def test_median_is_numpys_median():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 64, 255, 256, 4096):
        work = np.empty(n, np.float32)
        for _ in range(50):
            a = (rng.random(n, np.float32) * np.float32(10.0 ** rng.integers(-9, 1))).astype(np.float32)
            got, want = _median(a, work), np.median(a)
            assert got == want and got.dtype == want.dtype
        a[n // 3] = np.nan
        assert np.isnan(_median(a, work)) and np.isnan(np.median(a))
