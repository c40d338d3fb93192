"""Spearman's rho and its interval against published and known values; "what seems to help"
on generated journals: a planted effect is found, none is claimed where there is none."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest

from monitor.journal.associations import associations
from monitor.journal.stats import ranks, spearman, spearman_ci

# Wikipedia, "Spearman's rank correlation coefficient", worked example: IQ against hours of
# television per week for ten people; sum of d^2 = 194, rho = 1 - 6*194/(10*99) = -29/165.
IQ = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
TV_HOURS = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]


def test_published_worked_example():
    assert spearman(IQ, TV_HOURS) == pytest.approx(-29 / 165, abs=1e-12)
    assert spearman(TV_HOURS, IQ) == pytest.approx(-0.175757, abs=1e-6)


def test_ties_take_the_mean_rank():
    assert ranks([10, 20, 20, 30, 20]) == [1, 3, 3, 5, 3]
    # with ties rho is Pearson on mean ranks (what scipy.stats.spearmanr does), not the d^2 shortcut
    x, y = [1, 2, 2, 3], [1, 3, 2, 4]
    rx, ry = [1, 2.5, 2.5, 4], [1, 3, 2, 4]
    mx, my = 2.5, 2.5
    expected = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True)) / math.sqrt(
        sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    assert spearman(x, y) == pytest.approx(expected)


def test_interval_is_fisher_z_with_the_bonett_wright_error():
    # rho 0.5, n 28: z = atanh(0.5) = 0.549306, se = sqrt((1 + 0.125) / 25) = 0.212132,
    # 0.549306 -/+ 1.959964 * 0.212132 = 0.133534 .. 0.965078 -> tanh: 0.132748 .. 0.746364
    x = list(range(28))
    y = _with_rho(x, 0.5)
    c = spearman_ci(x, y)
    z, se = math.atanh(c.rho), math.sqrt((1 + c.rho ** 2 / 2) / 25)
    assert (c.low, c.high) == pytest.approx((math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)), abs=1e-5)
    assert spearman_ci([1, 2, 3], [1, 2, 3]) is None  # n < 4
    assert spearman_ci([1, 2, 3, 4, 5], [2, 2, 2, 2, 2]) is None  # no variation


def _with_rho(x, target):
    """A y whose ranks against x give a Spearman rho near `target` (for the formula check)."""
    rng = random.Random(3)
    best = None
    for _ in range(2000):
        y = [a + rng.gauss(0, 8) for a in x]
        if best is None or abs(spearman(x, y) - target) < abs(spearman(x, best) - target):
            best = y
    return best


def test_interval_covers_the_true_value_about_95_percent():
    # bivariate normal with Pearson r: the population Spearman rho is (6/pi) asin(r/2)
    rng = random.Random(2026)
    r, n, reps = 0.6, 30, 600
    true_rho = 6 / math.pi * math.asin(r / 2)
    covered = 0
    for _ in range(reps):
        xs, ys = [], []
        for _ in range(n):
            a, b = rng.gauss(0, 1), rng.gauss(0, 1)
            xs.append(a)
            ys.append(r * a + math.sqrt(1 - r * r) * b)
        c = spearman_ci(xs, ys)
        covered += c.low <= true_rho <= c.high
    assert 0.92 <= covered / reps <= 0.985, covered / reps


def journal_rows(days: int, seed: int, pain_of=None, log_every: float = 1.0):
    """Generated side-by-side rows: a plausible office month; pain_of(rows, i) plants an effect."""
    rng = random.Random(seed)
    start = date(2026, 9, 1)
    rows = []
    for i in range(days):
        seated = max(0.0, rng.gauss(330, 80))
        rows.append({
            "date": (start + timedelta(days=i)).isoformat(), "minutes_seated": round(seated, 1),
            "longest_spell_min": round(min(seated, max(5.0, rng.gauss(55, 20))), 1),
            "breaks": max(0, int(rng.gauss(8, 3))), "uneven_share": round(rng.uniform(0.02, 0.35), 3),
            "crossed_share": round(rng.uniform(0.0, 0.25), 3), "slouched_share": round(rng.uniform(0.0, 0.3), 3),
        })
    for i, row in enumerate(rows):
        logged = rng.random() < log_every
        pain = pain_of(rows, i, rng) if pain_of else rng.randint(1, 7)
        row["pain"] = max(0, min(10, round(pain))) if logged else None
    return rows


def test_planted_same_day_effect_is_found():
    def pain(rows, i, rng):  # longer spells, more pain the same day
        return 1 + rows[i]["longest_spell_min"] / 12 + rng.gauss(0, 0.8)

    out = associations(journal_rows(35, seed=11, pain_of=pain))
    assert out["ready"]
    found = {(r["measure"], r["lag"]): r for r in out["results"]}
    hit = found[("longest_spell_min", "same_day")]
    assert hit["claim"] == "Days with more longest spell (min) went with more pain the same day."
    assert hit["rho"] > 0.5 and hit["low"] > 0 and hit["n"] == 35
    assert "not causes" in out["caution"]


def test_planted_next_day_effect_is_found():
    def pain(rows, i, rng):  # a day with much crossing is followed by a worse day
        return 2 + (rows[i - 1]["crossed_share"] * 24 if i else 3) + rng.gauss(0, 0.8)

    out = associations(journal_rows(40, seed=12, pain_of=pain))
    hit = next(r for r in out["results"] if r["measure"] == "crossed_share" and r["lag"] == "next_day")
    assert hit["claim"] and hit["claim"].endswith("the next day.") and hit["n"] == 39


def test_no_effect_no_claim():
    # seeds fixed before looking; twelve comparisons at familywise 95%: at most a few of 60
    # unrelated journals may show any claim, and most show none
    with_claims = [s for s in range(1000, 1060) if associations(journal_rows(30, seed=s))["claims"]]
    assert len(with_claims) <= 6, with_claims
    out = associations(journal_rows(30, seed=1000))
    assert all(r["claim"] is None or r["low"] > 0 or r["high"] < 0 for r in out["results"])


def test_nothing_before_fourteen_days_with_entries():
    out = associations(journal_rows(40, seed=5, log_every=0.25))  # about 10 logged days of 40
    days = out["days_with_entries"]
    assert 0 < days < 14 and out["ready"] is False and out["results"] == [] and out["claims"] == []
    assert f"{days} of 14 days" in out["message"]
    ready = associations(journal_rows(14, seed=5))
    assert ready["ready"] and ready["days_with_entries"] == 14
