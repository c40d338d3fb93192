"""What a cushion tracker hands out: the update of one frame, breaks, and its refusals.

Plain data (dataclasses) read by the runtime and the sinks; the tracker in
`monitor.tracker.tracker` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.model import CushionState, Reminder, Spell
from monitor.tracker.dose import Offload

__all__ = ["Break", "OpenSpell", "SnoozeRefused", "TrackerUpdate"]


@dataclass(slots=True)
class Break:
    """Time away from the seat between two spells (at least `min_break_s`)."""

    cushion: str
    start: float
    end: float | None = None

    @property
    def seconds(self) -> float:
        return 0.0 if self.end is None else self.end - self.start


class SnoozeRefused(ValueError):
    """A snooze the rules do not allow (strict mode, or the snoozes of this spell used up)."""


@dataclass(slots=True)
class OpenSpell(Spell):
    """A spell closed by finish(): the input ran out before the spell ended by the rules."""

    open: bool = True


@dataclass(slots=True)
class TrackerUpdate:
    """What one frame changed for one cushion: its state, reminders, spell and break edges."""

    # CushionTracker.update builds this with all fields positionally: keep the two in step.
    state: CushionState
    reminders: list[Reminder] = field(default_factory=list)
    spell_started: Spell | None = None
    spell_ended: Spell | None = None
    break_started: Break | None = None
    break_ended: Break | None = None
    epoch: datetime | None = None  # wall time of frame time 0 (for sinks that need wall times)
    # beyond the contract: sit-bone dose added by this frame (left, right, left_norm, right_norm),
    # offloads credited / ended on this frame, and (reminder id, "taken"|"skipped", quality) outcomes
    dose: tuple[float, float, float, float] | None = None
    offloads_credited: list[Offload] = field(default_factory=list)
    offloads_ended: list[Offload] = field(default_factory=list)
    outcomes: list[tuple[str, str, str | None]] = field(default_factory=list)
