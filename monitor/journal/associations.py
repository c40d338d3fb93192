""""What seems to help": per-person associations between how a day was sat and the pain.

For each behaviour measure (monitor.journal.days.MEASURES) and each lag (same day, next
day), Spearman's rho over the days that have both, with n and an interval. Honest by
construction:
- nothing at all until `min_days` days have entries (default 14);
- a pair needs at least MIN_PAIRS days to be shown;
- twelve comparisons are made, so each interval is a Bonferroni-widened one (familywise 95%):
  on a journal with no real link, all twelve say "no claim" at least 95% of the time;
- a claim ("more X went with more pain") is made only where that interval excludes 0;
- the caution says this is association, not cause.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from monitor.journal.days import MEASURES
from monitor.journal.stats import spearman_ci

FAMILY_LEVEL = 0.95
MIN_PAIRS = 10
CAUTION = ("These are associations in your own journal, not causes: a day with more pain may be a day you "
           "sat differently because of the pain, and other things (sleep, exercise, stress) are not measured. "
           "Intervals are 95% for all the comparisons together. Talk them over with your therapist before "
           "changing anything.")


def _pairs(rows: list[dict[str, Any]], measure: str, lag: int) -> tuple[list[float], list[float]]:
    by_date = {r["date"]: r for r in rows}
    xs, ys = [], []
    for r in rows:
        later = by_date.get((date.fromisoformat(r["date"]) + timedelta(days=lag)).isoformat())
        if later is None or r.get(measure) is None or later.get("pain") is None:
            continue
        xs.append(float(r[measure]))
        ys.append(float(later["pain"]))
    return xs, ys


def _sentence(label: str, lag: int, rho: float) -> str:
    when = "the same day" if lag == 0 else "the next day"
    more_or_less = "more" if rho > 0 else "less"
    return f"Days with more {label} went with {more_or_less} pain {when}."


def associations(rows: list[dict[str, Any]], min_days: int = 14) -> dict[str, Any]:
    """rows: monitor.journal.days.side_by_side output. Returns {"ready", "days_with_entries",
    "min_days", "caution", "results": [...], "claims": [...]}."""
    days_with_entries = sum(1 for r in rows if r.get("pain") is not None)
    out: dict[str, Any] = {"ready": days_with_entries >= min_days, "days_with_entries": days_with_entries,
                           "min_days": min_days, "caution": CAUTION, "results": [], "claims": []}
    if not out["ready"]:
        out["message"] = (f"{days_with_entries} of {min_days} days with entries so far: "
                          "nothing is worked out before then.")
        return out
    tests = [(m, lag) for m in MEASURES for lag in (0, 1)]
    level = 1 - (1 - FAMILY_LEVEL) / len(tests)
    for measure, lag in tests:
        xs, ys = _pairs(rows, measure, lag)
        result: dict[str, Any] = {"measure": measure, "label": MEASURES[measure],
                                  "lag": "same_day" if lag == 0 else "next_day", "n": len(xs)}
        corr = spearman_ci(xs, ys, level) if len(xs) >= MIN_PAIRS else None
        if corr is None:
            result.update(rho=None, low=None, high=None, claim=None,
                          why="too few days" if len(xs) < MIN_PAIRS else "no variation")
        else:
            result.update(rho=round(corr.rho, 3), low=round(corr.low, 3), high=round(corr.high, 3),
                          level=round(level, 4))
            if corr.excludes_zero:
                result["claim"] = _sentence(MEASURES[measure], lag, corr.rho)
                out["claims"].append(result["claim"])
            else:
                result.update(claim=None, why="the interval includes 0: no claim")
        out["results"].append(result)
    return out
