"""Reminder texts: short, specific and kind.

They follow the usual seating advice: sit evenly on both sit bones, keep both feet on the
floor instead of crossing the legs, sit tall instead of slumping, and stand up and move
every 20-30 minutes. Each text says what was noticed and the one thing to do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config.settings import RulesConfig


def _minutes(seconds: float) -> int:
    return max(1, int(seconds // 60))


def sit_too_long(spell_s: float, repeat: int, side: str | None = None, left_share: float | None = None) -> str:
    """`repeat` is 0 for the first reminder of a spell, 1 for the next, and so on.

    `side`: the sit bone that has carried clearly more of this spell's load (sit-bone dose),
    with `left_share` its left share; the reminder then also says to shift off it."""
    minutes = _minutes(spell_s)
    if repeat == 0:
        text = f"You've been sitting for {minutes} minutes — stand up and walk for a couple of minutes."
    else:
        text = f"Still sitting after {minutes} minutes — time to get up, stretch and move for a minute or two."
    if side in ("left", "right"):
        pct = "" if left_share is None else f" ({round(100 * (left_share if side == 'left' else 1 - left_share))}%)"
        text += (
            f" Your {side} sit bone has carried more of the load{pct}: when you sit again, shift your weight off it."
        )
    return text


def _lead(seconds: float) -> str:
    s = max(1, round(seconds))
    if 55 <= s <= 65:
        return "In a minute"
    if s < 120:
        return f"In {s} seconds"
    return f"In {round(s / 60)} minutes"


def sit_warning(spell_s: float, lead_s: float) -> str:
    total = _minutes(spell_s + lead_s + 1e-6)
    return f"{_lead(lead_s)} you'll have been sitting for {total} minutes — finish what you're doing, then get up."


def stand_up(stand_min: float, move_min: float) -> str:
    return f"Time to stand — raise the desk and work standing for {stand_min:g} minutes."


def may_sit(stand_min: float, move_min: float) -> str:
    if move_min > 0:
        return f"You've stood for {stand_min:g} minutes — walk around for {move_min:g} minutes, then you may sit again."
    return f"You've stood for {stand_min:g} minutes — you may sit down again."


def extra_message(kind: str, rules: RulesConfig, *, spell_s: float = 0.0, lead_s: float = 0.0) -> str:
    """Texts of the kinds beyond CONTRACT section 6 (docs/reminders.md)."""
    if kind == "sit_warning":
        return sit_warning(spell_s, lead_s)
    if kind == "stand_up":
        return stand_up(rules.sitstand_stand_min, rules.sitstand_move_min)
    if kind == "may_sit":
        return may_sit(rules.sitstand_stand_min, rules.sitstand_move_min)
    raise ValueError(f"unknown reminder kind {kind!r}")


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
    return (
        "You've been slumped back for a few minutes — sit up tall on both sit bones and let the backrest support you."
    )


def message(kind: str, *, spell_s: float = 0.0, repeat: int = 0, side: str | None = None,
            left_share: float | None = None, posture: str | None = None) -> str:
    if kind == "sit_too_long":
        return sit_too_long(spell_s, repeat, side, left_share)
    if kind == "uneven_load":
        return uneven_load(side, left_share)
    if kind == "crossed_legs":
        return crossed_legs(posture)
    if kind == "slouching":
        return slouching()
    raise ValueError(f"unknown reminder kind {kind!r}")
