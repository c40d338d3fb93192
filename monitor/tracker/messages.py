"""Reminder texts: short, specific and kind.

They follow the usual seating advice: sit evenly on both sit bones, keep both feet on the
floor instead of crossing the legs, sit tall instead of slumping, and stand up and move
every 20-30 minutes. Each text says what was noticed and the one thing to do about it.
"""

from __future__ import annotations


def _minutes(seconds: float) -> int:
    return max(1, int(seconds // 60))


def sit_too_long(spell_s: float, repeat: int) -> str:
    """`repeat` is 0 for the first reminder of a spell, 1 for the next, and so on."""
    minutes = _minutes(spell_s)
    if repeat == 0:
        return f"You've been sitting for {minutes} minutes — stand up and walk for a couple of minutes."
    return f"Still sitting after {minutes} minutes — time to get up, stretch and move for a minute or two."


def uneven_load(side: str | None, left_share: float | None) -> str:
    """`side` is "left"/"right" where most of the weight is, or None when unknown."""
    if side in ("left", "right"):
        share = ""
        if left_share is not None:
            pct = round(100 * (left_share if side == "left" else 1.0 - left_share))
            share = f" ({pct}%)"
        return f"Most of your weight is on your {side} sit bone{share} — sit evenly on both."
    return "You've been leaning to one side for a while — sit evenly on both sit bones."


def crossed_legs(posture: str | None) -> str:
    if posture == "cross_left":
        which = "Your left leg has been crossed over for a while"
    elif posture == "cross_right":
        which = "Your right leg has been crossed over for a while"
    else:
        which = "Your legs have been crossed for a while"
    return f"{which} — uncross them and put both feet flat on the floor."


def slouching() -> str:
    return "You've been slumped back for a few minutes — sit up tall on both sit bones and let the backrest support you."


def message(kind: str, *, spell_s: float = 0.0, repeat: int = 0, side: str | None = None,
            left_share: float | None = None, posture: str | None = None) -> str:
    if kind == "sit_too_long":
        return sit_too_long(spell_s, repeat)
    if kind == "uneven_load":
        return uneven_load(side, left_share)
    if kind == "crossed_legs":
        return crossed_legs(posture)
    if kind == "slouching":
        return slouching()
    raise ValueError(f"unknown reminder kind {kind!r}")
