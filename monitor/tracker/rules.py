"""Small pieces of the reminder rules: when reminders may be sent, and how long a
posture condition has held.

Everything here takes frame time (seconds) or an explicit wall time; nothing reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.config.settings import RulesConfig, parse_hours

# Comparisons of frame times against thresholds allow for float rounding: 120 s built
# from 1200 steps of 0.1 s is 119.99999999 s, and that must count as 120 s.
EPS = 1e-6


def _in_range(minute: int, start: int, end: int) -> bool:
    """Is `minute` (since midnight) inside [start, end)? Ranges may wrap past midnight."""
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def outside_reminder_hours(rules: RulesConfig, wall: datetime) -> str | None:
    """Why reminders are held back at `wall` (local time of the epoch), or None if allowed.

    Reasons: "do_not_disturb", "working_days", "working_hours", "quiet_hours".
    """
    if rules.do_not_disturb:
        return "do_not_disturb"
    if wall.weekday() not in rules.working_days:
        return "working_days"
    minute = wall.hour * 60 + wall.minute
    if rules.working_hours is not None:
        start, end = parse_hours(rules.working_hours)
        if not _in_range(minute, start, end):
            return "working_hours"
    for quiet in rules.quiet_hours:
        start, end = parse_hours(quiet)
        if _in_range(minute, start, end):
            return "quiet_hours"
    return None


@dataclass(slots=True)
class ConditionTimer:
    """How long a condition (e.g. "leaning") has held without interruption.

    An interruption shorter than `grace_s` (a mis-classified frame or two) does not reset
    the timer; a longer one does. With grace 0 any false frame resets it.
    """

    since: float | None = None
    last_true: float | None = None

    def update(self, t: float, cond: bool, grace_s: float) -> None:
        if cond:
            if self.since is None:
                self.since = t
            self.last_true = t
        elif self.since is not None and (self.last_true is None or t - self.last_true > grace_s + EPS):
            self.reset()

    def reset(self) -> None:
        self.since = None
        self.last_true = None

    def held(self, t: float) -> float:
        return 0.0 if self.since is None else t - self.since

    def shift(self, dt: float) -> None:
        if self.since is not None:
            self.since += dt
        if self.last_true is not None:
            self.last_true += dt
