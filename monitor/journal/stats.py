"""Spearman's rank correlation with a confidence interval, in plain Python (no scipy at run time).

rho is Pearson's correlation of the ranks (ties get their mean rank), which is what
scipy.stats.spearmanr computes. The interval uses Fisher's z = atanh(rho) with the standard
error Bonett & Wright (2000, Psychometrika 65:23-28) recommend for Spearman's rho:
    se = sqrt((1 + rho^2 / 2) / (n - 3))
The Pearson value 1/sqrt(n - 3) is too narrow for ranks; Bonett-Wright holds its coverage
for |rho| up to about 0.9 with n >= 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True, slots=True)
class Correlation:
    rho: float
    n: int
    low: float
    high: float
    level: float  # confidence level of [low, high], e.g. 0.95

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            out[order[k]] = mean_rank
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return math.nan  # one side never varies: no correlation to speak of
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} values, y {len(y)}")
    if len(x) < 2:
        return math.nan
    return pearson(ranks(x), ranks(y))


def spearman_ci(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> Correlation | None:
    """rho with its Fisher-z / Bonett-Wright interval; None when n < 4 or a side is constant."""
    n = len(x)
    rho = spearman(x, y)
    if n < 4 or math.isnan(rho):
        return None
    if abs(rho) >= 1.0:  # atanh is infinite: the interval is the point (and says little at small n)
        return Correlation(rho, n, rho, rho, level)
    se = math.sqrt((1 + rho * rho / 2) / (n - 3))
    z = math.atanh(rho)
    crit = NormalDist().inv_cdf(0.5 + level / 2)
    return Correlation(rho, n, math.tanh(z - crit * se), math.tanh(z + crit * se), level)
