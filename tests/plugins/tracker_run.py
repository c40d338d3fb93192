"""A tracker fed in frame time: readings at a fixed rate, no sleeps (imported by tracker tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config.settings import RulesConfig
from monitor.model import SeatReading
from monitor.tracker.tracker import CushionTracker, TrackerUpdate

EPOCH = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)  # a Tuesday


class Run:
    """Feeds readings at a fixed rate and collects what the tracker says.

    Rules come as a RulesConfig, or as its fields (`Run(prewarn=True)`)."""

    def __init__(self, rules: RulesConfig | None = None, epoch: datetime = EPOCH, dt: float = 1.0, tracker=None,
                 **rule_fields):
        self.tr = tracker or CushionTracker("desk-1", rules or RulesConfig(**rule_fields), epoch)
        self.dt = dt
        self.t = 0.0
        self.updates: list[TrackerUpdate] = []

    def feed(self, seconds: float, present: bool = True, posture: str = "upright", ls: float | None = 0.5,
             loads=None) -> Run:
        for _ in range(round(seconds / self.dt)):
            self.step(present, posture, ls, loads)
        return self

    def step(self, present: bool = True, posture: str = "upright", ls: float | None = 0.5,
             loads=None) -> TrackerUpdate:
        if not present:
            posture, ls = "empty", None
        sitbone_load = None if loads is None or not present else (loads[0], loads[1])
        u = self.tr.update(SeatReading(t=round(self.t, 6), present=present, posture=posture, left_share=ls,
                                       sitbone_load=sitbone_load))
        self.updates.append(u)
        self.t += self.dt
        return u

    def away(self, seconds: float) -> Run:
        return self.feed(seconds, present=False)

    @property
    def reminders(self):
        return [r for u in self.updates for r in u.reminders]

    def kinds(self, kind: str) -> list[float]:
        return [r.t for r in self.reminders if r.kind == kind]

    @property
    def spells_started(self):
        return [u.spell_started for u in self.updates if u.spell_started]

    @property
    def spells_ended(self):
        return [u.spell_ended for u in self.updates if u.spell_ended]
