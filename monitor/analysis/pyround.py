"""Python's `round(x, ndigits)` on whole arrays, giving exactly the same floats.

`np.round` is not the same function: it rounds the *product* x * 10**n, which can itself have
been rounded across a .5 boundary (np.round(2.675, 2) == 2.68, round(2.675, 2) == 2.67).
CPython rounds the exact binary value of x half-to-even to n decimals and returns the double
nearest to that decimal. Here the product is used only where that is provably the same:

* p = x * 10**n is within |p| * 2**-53 of the exact product, so where p is further than that
  from a half-integer, rint(p) is the exact product's half-even rounding k;
* k and 10**n (n <= 22) are exact doubles, so the IEEE quotient k / 10**n is the double
  nearest to the decimal k * 10**-n, which is what CPython returns (signed zeros included).

Elements closer than a safe margin (|p| * 2**-50) to a half-integer, or very large ones, are
rounded by `round` itself; non-finite ones round to themselves, as in CPython. With few
elements the numpy calls cost more than the rounding, so short inputs are rounded by
`round` outright.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

SMALL = 24  # below this many elements, per-element round() is cheaper than the array route
_MARGIN = 2.0**-50  # relative; the product's rounding error is at most 2**-53
_BIG = 2.0**50  # beyond this p - rint(p) is not exact any more (and digits run out)


def round_table(
    columns: Sequence[np.ndarray], ndigits: Iterable[int]
) -> list[list[float]]:
    """Per element j of the 1-D arrays `columns` (all of one length): the list of
    `round(float(columns[i][j]), ndigits[i])` over i. One list per frame, that is, when the
    columns are features."""
    nd = [int(d) for d in ndigits]
    if not columns or len(columns[0]) < SMALL:
        return [
            [round(x, d) for x, d in zip(row, nd, strict=True)]
            for row in zip(*[c.tolist() for c in columns], strict=True)
        ]
    v = np.array(columns, dtype=np.float64).T  # (n, len(columns))
    scale = np.array([10.0**d for d in nd])
    with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN/huge go to round() below
        p = v * scale
        k = np.rint(p)
        out = (k / scale).tolist()
        ap = np.abs(p)
        # Non-finite x round to themselves, as k / scale already gives (NaN in the sit-bone
        # columns of frames without peaks is common: not worth a round() call each).
        unsafe = ~((np.abs(np.abs(p - k) - 0.5) > ap * _MARGIN) & (ap < _BIG)) & np.isfinite(v)
    if unsafe.any():
        for j, i in zip(*np.nonzero(unsafe), strict=True):
            out[j][i] = round(v[j, i].item(), nd[i])
    return out
