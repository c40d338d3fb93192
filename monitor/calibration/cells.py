"""Cell-array helpers of calibration: a cheap median, and filling untrusted cells from neighbours."""

from __future__ import annotations

import numpy as np


def median_into(a: np.ndarray, work: np.ndarray) -> np.floating:
    """np.median(a) of a float array, the same value, for a fraction of its cost.

    np.median partitions a copy and averages the middle one or two elements in a's dtype; so
    does this, in `work` (a flat array of a.size). A NaN anywhere makes the median NaN.
    """
    np.copyto(work, a.reshape(-1))
    n = work.size
    k = n // 2
    if n % 2:
        work.partition((k, n - 1))
        mid = work[k]
    else:
        work.partition((k - 1, k, n - 1))
        mid = np.add(work[k - 1], work[k]) / 2
        mid = work.dtype.type(mid)
    if np.isnan(work[n - 1]):
        return work.dtype.type(np.nan)
    return mid


class NeighbourFill:
    """Fills untrusted cells with the mean of their trusted 8-neighbours (0 if none), in place.

    The neighbour lists are built once per mask, so a frame costs one gather and one sum.
    """

    def __init__(self, mask: np.ndarray) -> None:
        rows, cols = mask.shape
        bad = np.flatnonzero(~mask)
        idx = np.zeros((len(bad), 8), np.intp)
        w = np.zeros((len(bad), 8), np.float32)
        for k, flat in enumerate(bad):
            r, c = divmod(int(flat), cols)
            j = 0
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (
                        (dr or dc)
                        and 0 <= rr < rows
                        and 0 <= cc < cols
                        and mask[rr, cc]
                    ):
                        idx[k, j] = rr * cols + cc
                        w[k, j] = 1.0
                        j += 1
            if j:
                w[k, :j] /= j
        self.bad, self.idx, self.w = bad, idx, w

    def fill(self, load: np.ndarray) -> None:
        flat = load.reshape(-1)
        flat[self.bad] = (flat[self.idx] * self.w).sum(axis=1)

    def fill_many(self, flat: np.ndarray) -> None:
        """`fill` on each row of an (n, cells) array (a view of n load maps), in place."""
        # The product must be C-ordered: numpy sums a row of 8 pairwise when it is contiguous
        # (as in `fill`) but one by one along a strided layout, which rounds differently.
        prod = np.empty((len(flat),) + self.w.shape, np.float32)
        np.multiply(flat[:, self.idx], self.w, out=prod)
        flat[:, self.bad] = prod.sum(axis=2)


def fill_masked(load: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of `load` with untrusted cells replaced by their trusted neighbours' mean."""
    out = np.array(load, np.float32, copy=True)
    if not mask.all():
        NeighbourFill(mask).fill(out)
    return out
