"""Sit-stand desk cycle, in frame time: sit `sit_min`, stand `stand_min`, move `move_min`.

The cushion cannot see a standing person, so an empty seat counts as standing (and moving).
Phases:
- "sit": seated (debounced occupied) time adds up; at `sit_min` a `stand_up` reminder fires
  and the phase becomes "stand". An absence of `stand_min` or more in this phase counts as
  a stand already taken: the sitting count starts over.
- "stand": empty-seat time adds up; at `stand_min` a `may_sit` reminder fires (it says to
  move for `move_min`, then sit) and the phase becomes "move". Sitting down again before the
  standing time is up brings `stand_up` back every `repeat_every_min` while seated.
- "move": after `move_min` more empty-seat time, or as soon as the person sits down, the
  cycle starts over with "sit".
"""

from __future__ import annotations

from typing import Any

from monitor.tracker.rules import EPS


class SitStandCycle:
    def __init__(self) -> None:
        self.phase = "sit"
        self.sit_s = 0.0
        self.stand_s = 0.0
        self.move_s = 0.0
        self.away_s = 0.0  # uninterrupted empty-seat time in the "sit" phase
        self.stand_due: float | None = None  # frame time a (repeated) stand_up is due
        self._last_t: float | None = None

    def update(self, t: float, occupied: bool, rules: Any) -> list[str]:
        """Advance to frame time t; returns the kinds due now: "stand_up" and/or "may_sit"."""
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), 5.0)
        self._last_t = t
        due: list[str] = []
        if self.phase == "sit":
            if occupied:
                self.sit_s += dt
                self.away_s = 0.0
            else:
                self.away_s += dt
                if self.away_s >= rules.sitstand_stand_min * 60.0 - EPS:
                    self.sit_s = 0.0  # stood long enough without being told
            if self.sit_s >= rules.sitstand_sit_min * 60.0 - EPS:
                self.phase, self.stand_s = "stand", 0.0
                self.stand_due = t
        elif self.phase == "stand":
            if self.stand_due is None:  # restored from a snapshot
                self.stand_due = t
            if not occupied:
                self.stand_s += dt
                if self.stand_s >= rules.sitstand_stand_min * 60.0 - EPS:
                    self.phase, self.move_s, self.stand_due = "move", 0.0, None
                    due.append("may_sit")
        elif self.phase == "move":
            if occupied:
                self._restart()
            else:
                self.move_s += dt
                if self.move_s >= rules.sitstand_move_min * 60.0 - EPS:
                    self._restart()
        if self.phase == "stand" and occupied and self.stand_due is not None and t >= self.stand_due - EPS:
            due.append("stand_up")
        return due

    def fired_stand_up(self, t: float, rules: Any) -> None:
        self.stand_due = t + rules.repeat_every_min * 60.0

    def _restart(self) -> None:
        self.phase, self.sit_s, self.stand_s, self.move_s, self.away_s = "sit", 0.0, 0.0, 0.0, 0.0
        self.stand_due = None

    def remaining_s(self, rules: Any) -> float:
        """Seconds left in the current phase (sitting, standing or moving time)."""
        if self.phase == "sit":
            return max(0.0, rules.sitstand_sit_min * 60.0 - self.sit_s)
        if self.phase == "stand":
            return max(0.0, rules.sitstand_stand_min * 60.0 - self.stand_s)
        return max(0.0, rules.sitstand_move_min * 60.0 - self.move_s)

    def as_json(self, rules: Any) -> dict[str, Any]:
        return {"phase": self.phase, "remaining_s": round(self.remaining_s(rules), 1)}

    def snapshot(self) -> dict[str, Any]:
        return {"phase": self.phase, "sit_s": self.sit_s, "stand_s": self.stand_s, "move_s": self.move_s,
                "away_s": self.away_s}

    def load(self, s: dict[str, Any]) -> None:
        if s.get("phase") in ("sit", "stand", "move"):
            self.phase = s["phase"]
            self.sit_s, self.stand_s = float(s.get("sit_s", 0)), float(s.get("stand_s", 0))
            self.move_s, self.away_s = float(s.get("move_s", 0)), float(s.get("away_s", 0))
            self.stand_due = None
