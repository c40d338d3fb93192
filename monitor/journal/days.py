"""The 30-day side-by-side view: each day's pain beside how that day was sat.

Input is the store's daily statistics (`Runtime.daily_stats`, docs/api.md) and the journal;
output one plain dict per day, oldest first. Pain is the day's worst rating (a flare is what
a therapist asks about) with the mean and count beside it; days without entries have None.
"""

from __future__ import annotations

from typing import Any

# The behaviour measures shown and tested for association, with the words the page uses.
MEASURES = {
    "minutes_seated": "minutes seated",
    "longest_spell_min": "longest spell (min)",
    "breaks": "breaks",
    "uneven_share": "share of time uneven",
    "crossed_share": "share of time legs crossed",
    "slouched_share": "share of time slouched",
}


def behaviour_of(day: dict[str, Any]) -> dict[str, Any]:
    shares = day.get("posture_share") or {}
    seated = day.get("minutes_seated") or 0.0
    return {
        "minutes_seated": seated,
        "longest_spell_min": day.get("longest_spell_min") or 0.0,
        "breaks": day.get("breaks") or 0,
        # shares are of seated time: a day nobody sat has no posture to speak of
        "uneven_share": round(shares.get("lean_left", 0.0) + shares.get("lean_right", 0.0), 4) if seated else None,
        "crossed_share": round(shares.get("cross_left", 0.0) + shares.get("cross_right", 0.0), 4) if seated else None,
        "slouched_share": round(shares.get("slouch", 0.0), 4) if seated else None,
    }


def side_by_side(book: Any, daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per day of `daily` (oldest first): the day, behaviour measures, pain."""
    if not daily:
        return []
    pain = book.daily_pain(daily[0]["date"], daily[-1]["date"])
    out = []
    for day in daily:
        p = pain.get(day["date"])
        out.append({
            "date": day["date"], **behaviour_of(day),
            "pain": p["worst"] if p else None, "pain_mean": p["mean"] if p else None, "entries": p["n"] if p else 0,
        })
    return out
