"""When each reminder falls due for one cushion, what holds it back, and the reminders sent.

The `CushionTracker` owns occupancy, spells and breaks and tells its `ReminderSchedule`
when a spell starts or ends; the schedule keeps the posture timers, the sit_too_long
clock, snoozes, the timed pause and the recent reminders, and builds each `Reminder`.
Held-back reminders (snooze, pause, quiet or working hours, calendar) are not dropped:
when the hold ends and the condition still holds, the reminder fires once then.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.config.settings import RulesConfig
from monitor.model import Reminder
from monitor.tracker import messages
from monitor.tracker.dose import SitBoneDose
from monitor.tracker.events import SnoozeRefused, TrackerUpdate
from monitor.tracker.rules import EPS, ConditionTimer, outside_reminder_hours
from monitor.tracker.sitstand import SitStandCycle

if TYPE_CHECKING:  # the calendar module is imported only when a calendar is configured
    from monitor.tracker.calendar import CalendarQuiet

__all__ = ["ALL_KINDS", "EXTRA_KINDS", "POSTURE_KINDS", "ReminderSchedule"]

log = logging.getLogger(__name__)

POSTURE_KINDS = ("uneven_load", "crossed_legs", "slouching")
# Kinds beyond CONTRACT section 6 (docs/reminders.md, "Beyond the contract"); each is off by default.
EXTRA_KINDS = ("sit_warning", "stand_up", "may_sit")
ALL_KINDS = ("sit_too_long",) + POSTURE_KINDS + EXTRA_KINDS
STRICT_REPEAT_S = 60.0  # strict mode: sit_too_long every minute until a real break
LEAN = ("lean_left", "lean_right")
CROSSED = ("cross_left", "cross_right")
KEEP_REMINDERS = 500  # recent reminders kept for acknowledge()


class ReminderSchedule:
    """The reminder side of one cushion's tracker, in frame time.

    `wall` turns a frame time into the wall time a reminder's `at` and the hours are read in;
    `dose` and `sitstand` are the tracker's own (the schedule reads them, the tracker feeds them).
    """

    def __init__(self, cushion: str, rules: RulesConfig, wall: Callable[[float], datetime],
                 dose: SitBoneDose, sitstand: SitStandCycle):
        self.cushion = cushion
        self.rules = rules
        self.wall = wall
        self.dose = dose
        self.sitstand = sitstand
        self.timers = {k: ConditionTimer() for k in POSTURE_KINDS}
        self.timer_seq = tuple(self.timers.values())  # the same timers, in POSTURE_KINDS order
        self.cond_now = (False, False, False)  # this frame's posture conditions, in POSTURE_KINDS order
        self.last_fired: dict[str, float] = {}
        self.sit_next_due: float | None = None
        self.sit_count = 0
        self.snoozed_until: dict[str, float] = {}
        self.recent: OrderedDict[str, Reminder] = OrderedDict()
        self.held_back = 0  # reminder-frames held back by snooze or hours (for health/debug)
        # beyond the contract (docs/reminders.md)
        self.paused_until: float | None = None  # timed pause: no reminders before this frame time
        self.snoozes_in_spell = 0
        self.warned_for: float | None = None  # the sit_too_long due time a sit_warning went out for
        self.awaiting: str | None = None  # id of the latest sit_too_long whose outcome is open
        self.calendar_source: CalendarQuiet | None = None  # set from outside (tests); else rules.calendar

    # ---- spell edges (told by the tracker) ------------------------------------------------

    def spell_started(self, t0: float) -> None:
        self.sit_next_due = t0 + self.rules.sit_limit_min * 60.0
        self.sit_count = 0
        self.snoozes_in_spell = 0
        self.warned_for = None

    def spell_ended(self, out: TrackerUpdate, seen: bool) -> None:
        """`seen`: the seat showed the break (not a gap in the frames, which proves nothing)."""
        if self.awaiting is not None and seen:  # the break that ended the spell answers the reminder
            out.outcomes.append((self.awaiting, "taken", "stood"))
        self.awaiting = None
        self.sit_next_due = None
        self.sit_count = 0

    def rules_changed(self, rules: RulesConfig, spell_start: float | None) -> None:
        """New rules from the next frame on; an open spell's sit_too_long clock is re-read."""
        self.rules = rules
        if spell_start is not None:
            if self.sit_count == 0:
                self.sit_next_due = spell_start + rules.sit_limit_min * 60.0
            else:
                last = self.last_fired.get("sit_too_long", spell_start)
                self.sit_next_due = last + rules.repeat_every_min * 60.0

    def reset_timers(self) -> None:
        for timer in self.timers.values():
            timer.reset()

    # ---- controls ---------------------------------------------------------------------------

    def acknowledge(self, reminder_id: str) -> Reminder | None:
        r = self.recent.get(reminder_id)
        if r is not None:
            r.acknowledged = True
        return r

    def snooze(self, kind: str, minutes: float, now: float, in_spell: bool) -> float:
        """No reminder of `kind` for `minutes` from frame time `now`; returns the end (frame time)."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown reminder kind {kind!r}")
        if not minutes >= 0:
            raise ValueError("minutes must be >= 0")
        if self.rules.strict and kind in ("sit_too_long", "sit_warning"):
            raise SnoozeRefused("strict mode: the sit reminder cannot be snoozed, only ended by a real break")
        limit = self.rules.max_snoozes
        if limit is not None and self.snoozes_in_spell >= limit:
            raise SnoozeRefused(f"no snoozes left in this sitting spell (at most {limit})")
        until = now + minutes * 60.0
        self.snoozed_until[kind] = until
        if in_spell:
            self.snoozes_in_spell += 1
        return until

    def snoozes_left(self) -> int | None:
        """Snoozes still allowed in this spell (None: unlimited)."""
        if self.rules.max_snoozes is None:
            return None
        return max(0, self.rules.max_snoozes - self.snoozes_in_spell)

    def pause(self, now: float, minutes: float | None = None, until_t: float | None = None) -> float | None:
        """No reminders for `minutes` from `now` (or until frame time `until_t`); neither, or a
        time not after `now`, ends a pause. Returns the end (frame time) or None."""
        if until_t is None and minutes is not None:
            if not minutes >= 0:
                raise ValueError("minutes must be >= 0")
            until_t = now + minutes * 60.0
        self.paused_until = until_t if until_t is not None and until_t > now else None
        return self.paused_until

    def pause_status(self, now: float) -> dict[str, Any]:
        until = self.paused_until
        if until is None or until <= now:
            return {"paused": False, "until": None, "until_t": None, "remaining_s": 0.0}
        return {"paused": True, "until": self.wall(until).isoformat(), "until_t": round(until, 3),
                "remaining_s": round(until - now, 1)}

    def snoozed(self, now: float) -> dict[str, float]:
        """Kinds snoozed at frame time `now` -> frame time the snooze ends."""
        return {k: u for k, u in self.snoozed_until.items() if u > now}

    def calendar(self) -> CalendarQuiet | None:
        if self.calendar_source is not None:
            return self.calendar_source
        from monitor.tracker.calendar import shared

        return shared(self.rules.calendar, self.rules.calendar_refresh_min) if self.rules.calendar else None

    # ---- snapshot -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The schedule's part of the tracker snapshot (the keys keep their snapshot order)."""
        return {
            "timers": {k: [v.since, v.last_true] for k, v in self.timers.items()},
            "last_fired": dict(self.last_fired),
            "sit_next_due": self.sit_next_due,
            "sit_count": self.sit_count,
            "snoozed_until": dict(self.snoozed_until),
            "sent_ids": list(self.recent)[-50:],
            "paused_until": self.paused_until,
            "snoozes_in_spell": self.snoozes_in_spell,
            "warned_for": self.warned_for,
            "awaiting": self.awaiting,
        }

    def load(self, s: dict[str, Any], shift: float) -> None:
        """Read the schedule's part of snapshot `s`, its frame times moved by `shift`."""
        def sh(v: float | None) -> float | None:
            return None if v is None else float(v) + shift

        for k, (since, last_true) in s["timers"].items():
            if k in self.timers:  # in place: timer_seq holds the same objects
                self.timers[k].since, self.timers[k].last_true = sh(since), sh(last_true)
        self.last_fired = {k: float(v) + shift for k, v in s["last_fired"].items()}
        self.sit_next_due = sh(s["sit_next_due"])
        self.sit_count = int(s["sit_count"])
        self.snoozed_until = {k: float(v) + shift for k, v in s["snoozed_until"].items()}
        # keys added after version 1 shipped: optional
        self.paused_until = sh(s.get("paused_until"))
        self.snoozes_in_spell = int(s.get("snoozes_in_spell") or 0)
        self.warned_for = sh(s.get("warned_for"))
        self.awaiting = s.get("awaiting")

    def mark_sent(self, r: dict[str, Any], epoch: datetime, spell_start: float | None) -> None:
        """Count reminder `r` (a CONTRACT section 6 object, e.g. from the store) as fired."""
        if r.get("cushion", self.cushion) != self.cushion:
            return
        kind = r["kind"]
        t = (datetime.fromisoformat(str(r["at"]).replace("Z", "+00:00")) - epoch).total_seconds()
        if kind in self.last_fired and self.last_fired[kind] >= t - EPS:
            return
        self.last_fired[kind] = t
        if kind == "sit_too_long" and spell_start is not None and t >= spell_start - EPS:
            self.sit_count = max(self.sit_count, 1)
            due = t + self.rules.repeat_every_min * 60.0
            if self.sit_next_due is None or self.sit_next_due < due:
                self.sit_next_due = due

    # ---- per frame ----------------------------------------------------------------------------

    def update_timers(self, t: float, seated: bool, posture: str, ls: float | None) -> None:
        if seated:
            crossed = posture in CROSSED
            uneven = not crossed and (
                posture in LEAN or (ls is not None and abs(ls - 0.5) >= self.rules.uneven_threshold - EPS)
            )
            slouch = posture == "slouch"
        else:  # an empty seat holds none of them
            uneven = crossed = slouch = False
        self.cond_now = (uneven, crossed, slouch)
        # A false condition on a timer that is not running changes nothing: on most frames
        # no timer is called at all.
        grace = self.rules.posture_grace_s
        t_uneven, t_crossed, t_slouch = self.timer_seq
        if uneven or t_uneven.since is not None:
            t_uneven.update(t, uneven, grace)
        if crossed or t_crossed.since is not None:
            t_crossed.update(t, crossed, grace)
        if slouch or t_slouch.since is not None:
            t_slouch.update(t, slouch, grace)

    def held_back_by(self, t: float, kind: str) -> str | None:
        """What holds a reminder of `kind` back at frame time `t` (None: nothing)."""
        if t < self.snoozed_until.get(kind, float("-inf")) - EPS:
            return "snoozed"
        if self.paused_until is not None and t < self.paused_until - EPS:
            return "paused"
        reason = outside_reminder_hours(self.rules, self.wall(t))
        if reason is None and (self.rules.calendar or self.calendar_source is not None):
            cal = self.calendar()
            if cal is not None and cal.busy(self.wall(t)) is not None:
                return "calendar"
        return reason

    def fire_sitstand(self, t: float, occupied: bool, spell_start: float | None) -> list[Reminder]:
        rules = self.rules
        fired: list[Reminder] = []
        spell_s = 0.0 if spell_start is None else t - spell_start
        for kind in self.sitstand.update(t, occupied, rules):
            if self.held_back_by(t, kind) is not None:
                self.held_back += 1
                continue  # stand_up stays due (fires when the hold ends); may_sit is dropped
            fired.append(self.make(kind, t, spell_s, "upright", None))
            if kind == "stand_up":
                self.sitstand.fired_stand_up(t, rules)
        return fired

    def fire(self, t: float, spell_start: float, posture: str, left_share: float | None,
             out: TrackerUpdate | None = None) -> list[Reminder]:
        """The reminders due at frame time `t` in a spell that started at `spell_start`;
        `posture` and `left_share` are what the seat last showed (for the messages)."""
        rules = self.rules
        spell_s = t - spell_start
        fired: list[Reminder] = []
        due = self.sit_next_due
        if (rules.prewarn and self.sit_count == 0 and due is not None and self.warned_for != due
                and due - rules.prewarn_s - EPS <= t < due - EPS):
            self.warned_for = due  # once per spell; a heads-up held back is not sent late
            if self.held_back_by(t, "sit_too_long") is None and self.held_back_by(t, "sit_warning") is None:
                fired.append(self.make("sit_warning", t, spell_s, posture, left_share, lead_s=due - t))
        if self.sit_next_due is not None and t >= self.sit_next_due - EPS:
            held = self.held_back_by(t, "sit_too_long")
            if held == "snoozed" and rules.strict:
                held = None  # strict mode: a snooze from before it was switched on does not hold it
            if held is None:
                r = self.make("sit_too_long", t, spell_s, posture, left_share, repeat=self.sit_count)
                fired.append(r)
                self.sit_count += 1
                if self.awaiting is not None and out is not None:
                    out.outcomes.append((self.awaiting, "skipped", None))
                self.awaiting = r.id
                # The next one comes a full interval after this one, also when this one
                # fired late (held back by hours or a snooze). Strict mode: every minute.
                self.sit_next_due = t + (STRICT_REPEAT_S if rules.strict else rules.repeat_every_min * 60.0)
            else:
                self.held_back += 1
        uneven, crossed, slouch = self.cond_now
        if uneven or crossed or slouch:  # on most frames none holds
            self._fire_posture(t, spell_s, posture, left_share, fired)
        return fired

    def _fire_posture(self, t: float, spell_s: float, posture: str, left_share: float | None,
                      fired: list[Reminder]) -> None:
        rules = self.rules
        after = (rules.uneven_after_s, rules.crossed_after_s, rules.slouch_after_s)
        cooldown = rules.cooldown_min * 60.0
        for kind, cond, after_s in zip(POSTURE_KINDS, self.cond_now, after, strict=True):
            if not cond or self.timers[kind].held(t) < after_s - EPS:
                continue
            last = self.last_fired.get(kind)
            if last is not None and t - last < cooldown - EPS:
                continue
            if self.held_back_by(t, kind) is not None:
                self.held_back += 1
                continue
            fired.append(self.make(kind, t, spell_s, posture, left_share))

    def make(self, kind: str, t: float, spell_s: float, posture: str, left_share: float | None,
             repeat: int = 0, lead_s: float = 0.0) -> Reminder:
        """A reminder of `kind` at frame time `t`, remembered for acknowledge()."""
        # Only the CONTRACT section 6 fields go out: the message says the specifics.
        if kind == "sit_too_long":
            heavier, share = self.dose.heavier_side(self.rules.dose_imbalance)
            text = messages.message(kind, spell_s=spell_s, repeat=repeat, side=heavier, left_share=share)
        elif kind in EXTRA_KINDS:
            text = messages.extra_message(kind, self.rules, spell_s=spell_s, lead_s=lead_s)
        elif kind == "uneven_load":
            ls = left_share
            side = None
            if ls is not None and abs(ls - 0.5) >= self.rules.uneven_threshold - EPS:
                side = "left" if ls > 0.5 else "right"
            else:  # uneven by posture: the share is not telling, leave it out
                ls = None
                if posture in LEAN:
                    side = "left" if posture == "lean_left" else "right"
            text = messages.message(kind, side=side, left_share=ls)
        else:
            text = messages.message(kind, posture=posture)
        self.last_fired[kind] = t
        r = Reminder(
            id=uuid.uuid4().hex,
            cushion=self.cushion,
            kind=kind,  # type: ignore[arg-type]
            t=t,
            at=self.wall(t).isoformat(),
            message=text,
            spell_s=spell_s,
        )
        self.recent[r.id] = r
        while len(self.recent) > KEEP_REMINDERS:
            self.recent.popitem(last=False)
        log.info("%s: reminder %s at t=%.1f (spell %.0f s)", self.cushion, kind, t, spell_s)
        return r
