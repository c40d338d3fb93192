"""Sitting spells and reminders for one cushion (CONTRACT section 6), in frame time.

Decisions (also in docs/reminders.md):

- Occupancy is debounced: the seat becomes occupied once `present` has held for
  `occupied_after_s`, and empty once it has been false for `empty_after_s`. The change is
  back-dated to the first frame of the run, so a spell starts when the person sat down,
  and an absence starts when they got up.
- A spell ends once the seat has been away for `min_break_s`, counted from when the person
  got up to when they came back (or to now, while they are still away). Its end is when
  the seat became empty. A gap in the frames themselves of `min_break_s` or more (input
  lost, daemon down) also ends the spell, at the last frame seen before the gap.
- Reminders fire only while the seat is occupied and inside a spell. Held-back reminders
  (snooze, quiet hours, outside working hours, do-not-disturb) are not dropped: when the
  hold ends and the condition still holds, the reminder fires once then.
- A crossed leg shifts the load to one side by itself; those seconds count for
  `crossed_legs`, not for `uneven_load`, so one cause gives one reminder.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from monitor.config.settings import RulesConfig
from monitor.model import SEATED_POSTURES, CushionState, Reminder, SeatReading, Spell
from monitor.tracker import messages
from monitor.tracker.dose import Offload, SitBoneDose
from monitor.tracker.rules import EPS, ConditionTimer, outside_reminder_hours
from monitor.tracker.sitstand import SitStandCycle

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
POSTURE_KINDS = ("uneven_load", "crossed_legs", "slouching")
# Kinds beyond CONTRACT section 6 (docs/reminders.md, "Beyond the contract"); each is off by default.
EXTRA_KINDS = ("sit_warning", "stand_up", "may_sit")
ALL_KINDS = ("sit_too_long",) + POSTURE_KINDS + EXTRA_KINDS
STRICT_REPEAT_S = 60.0  # strict mode: sit_too_long every minute until a real break
LEAN = ("lean_left", "lean_right")
CROSSED = ("cross_left", "cross_right")
_SEATED = frozenset(SEATED_POSTURES)  # a set lookup per frame instead of a scan
KEEP_REMINDERS = 500  # recent reminders kept for acknowledge()
LATE_S = 1.0  # a frame at most this much older than the newest is late (ignored), not a clock reset


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


class CushionTracker:
    """Debounced occupancy, sitting spells and the four reminder kinds for one cushion.

    `epoch` is the wall time of frame time 0: a reminder's `at` is epoch + t, and working
    and quiet hours are read in the epoch's time zone (pass an aware local datetime).
    """

    def __init__(self, cushion: str, rules: RulesConfig, epoch: datetime):
        self.cushion = cushion
        self.rules = rules
        self.epoch = epoch
        self.last_t: float | None = None
        self._offset = 0.0  # added to reading.t after the frame clock went backwards
        self.time_jumps = 0
        self.bad_readings = 0
        self.late_readings = 0
        # raw presence and its debounce
        self._raw: bool | None = None
        self._raw_since = 0.0
        self.occupied = False
        # spells and breaks
        self.spell: Spell | None = None
        self._empty_since: float | None = None  # when the seat became empty, while a spell is open
        self.open_break: Break | None = None
        # what the seat shows (held across a short debounce gap)
        self._posture = "upright"
        self._left_share: float | None = None
        # rules
        self._timers = {k: ConditionTimer() for k in POSTURE_KINDS}
        self._timer_seq = tuple(self._timers.values())  # the same timers, in POSTURE_KINDS order
        self._cond_now = (False, False, False)  # this frame's posture conditions, in POSTURE_KINDS order
        self._last_fired: dict[str, float] = {}
        self._sit_next_due: float | None = None
        self._sit_count = 0
        self._snoozed_until: dict[str, float] = {}
        self._recent: OrderedDict[str, Reminder] = OrderedDict()
        self.held_back = 0  # reminder-frames held back by snooze or hours (for health/debug)
        # beyond the contract (docs/reminders.md)
        self._paused_until: float | None = None  # timed pause: no reminders before this frame time
        self._snoozes_in_spell = 0
        self._warned_for: float | None = None  # the sit_too_long due time a sit_warning went out for
        self._awaiting: str | None = None  # id of the latest sit_too_long whose outcome is open
        self.dose = SitBoneDose(cushion)
        self.sitstand = SitStandCycle()
        self.calendar_source = None  # a CalendarQuiet set from outside (tests); else rules.calendar

    # ------------------------------------------------------------------ public API

    def update(self, reading: SeatReading) -> TrackerUpdate:
        t = reading.t + self._offset
        if not math.isfinite(t):
            log.warning("%s: reading with frame time %r ignored", self.cushion, reading.t)
            self.bad_readings += 1
            return TrackerUpdate(state=self._state(self.last_t or 0.0), epoch=self.epoch)
        last_t = self.last_t
        if last_t is not None and t < last_t:
            if last_t - LATE_S <= t:
                # a frame overtaken by a newer one (MQTT QoS 0 reordering): too late to matter
                self.late_readings += 1
                return TrackerUpdate(state=self._state(last_t), epoch=self.epoch)
            # The cushion's clock went backwards (device reset). Continue from where we
            # were so spells and timers stay monotonic; `at` may be off by the jump.
            self.time_jumps += 1
            log.warning("%s: frame time went back %.3f s; continuing from t=%.3f", self.cushion, last_t - t, last_t)
            self._offset += last_t - t
            t = last_t
        # All fields, positionally (the order of TrackerUpdate's fields): keywords and the
        # default factories cost about twice as much, on every frame.
        out = TrackerUpdate(None, [], None, None, None, None, self.epoch, None, [], [], [])  # type: ignore[arg-type]
        rules = self.rules
        if last_t is not None and t - last_t >= rules.min_break_s - EPS:
            self._gap(last_t, t, out)
        self.last_t = t

        present = bool(reading.present)
        if present != self._raw:  # also when _raw is None (no frame yet, or after a gap)
            self._raw = present
            self._raw_since = t
        if not self.occupied:
            if present and t - self._raw_since >= rules.occupied_after_s - EPS:
                self._became_occupied(self._raw_since, out)
        elif not present and t - self._raw_since >= rules.empty_after_s - EPS:
            self.occupied = False
            self._empty_since = self._raw_since if self.spell is not None else None
        if self._empty_since is not None:  # a spell can only end while its absence runs
            self._check_spell_end(t, out)

        posture = reading.posture
        seated = present and posture in _SEATED
        ls = reading.left_share
        if ls is not None and not (0.0 <= ls <= 1.0):  # NaN or out of range: not a share
            ls = None
        if seated:
            self._posture = posture
            self._left_share = ls
        self._update_timers(t, seated, posture, ls)
        self._update_dose(t, present, posture, reading.sitbone_load, out)
        if self.occupied and self.spell is not None:
            out.reminders = self._fire(t, out)
        if rules.sitstand:
            out.reminders.extend(self._fire_sitstand(t))
        out.state = self._state(t)
        return out

    def acknowledge(self, reminder_id: str) -> Reminder | None:
        r = self._recent.get(reminder_id)
        if r is not None:
            r.acknowledged = True
        return r

    def snooze(self, kind: str, minutes: float) -> float:
        """No reminder of `kind` for `minutes` from the latest frame time; returns the end (frame time).

        Raises SnoozeRefused in strict mode (sit_too_long) and when this spell's
        `max_snoozes` are used up."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown reminder kind {kind!r}")
        if not minutes >= 0:
            raise ValueError("minutes must be >= 0")
        if self.rules.strict and kind in ("sit_too_long", "sit_warning"):
            raise SnoozeRefused("strict mode: the sit reminder cannot be snoozed, only ended by a real break")
        limit = self.rules.max_snoozes
        if limit is not None and self._snoozes_in_spell >= limit:
            raise SnoozeRefused(f"no snoozes left in this sitting spell (at most {limit})")
        until = (self.last_t or 0.0) + minutes * 60.0
        self._snoozed_until[kind] = until
        if self.spell is not None:
            self._snoozes_in_spell += 1
        return until

    def snoozes_left(self) -> int | None:
        """Snoozes still allowed in this spell (None: unlimited)."""
        if self.rules.max_snoozes is None:
            return None
        return max(0, self.rules.max_snoozes - self._snoozes_in_spell)

    # ---- timed pause ---------------------------------------------------------------------

    def pause(self, minutes: float | None = None, until_t: float | None = None) -> float | None:
        """No reminders for `minutes` from the latest frame (or until frame time `until_t`);
        pause(0) or pause() with neither ends a pause. Returns the end (frame time) or None.

        Reminders that came due in the pause are held back, not lost (as with snooze)."""
        now = self.last_t or 0.0
        if until_t is None and minutes is not None:
            if not minutes >= 0:
                raise ValueError("minutes must be >= 0")
            until_t = now + minutes * 60.0
        self._paused_until = until_t if until_t is not None and until_t > now else None
        return self._paused_until

    def pause_until_tomorrow(self) -> float:
        """Pause until the next local midnight (the system's time zone)."""
        now = self.last_t or 0.0
        local = self.wall(now).astimezone()
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.pause(until_t=now + (midnight - local).total_seconds())  # type: ignore[return-value]

    def pause_status(self) -> dict[str, Any]:
        now = self.last_t or 0.0
        until = self._paused_until
        if until is None or until <= now:
            return {"paused": False, "until": None, "until_t": None, "remaining_s": 0.0}
        return {"paused": True, "until": self.wall(until).isoformat(), "until_t": round(until, 3),
                "remaining_s": round(until - now, 1)}

    def extras(self) -> dict[str, Any]:
        """Live view of the features beyond the contract (dashboard, status)."""
        rules = self.rules
        out: dict[str, Any] = {
            "cushion": self.cushion,
            "pause": self.pause_status(),
            "snoozes_left": self.snoozes_left(),
            "strict": rules.strict,
            "dose": self.dose.as_json(),
            "offloads": self.dose.offloads,
            "next_sit_too_long_s": None if self._sit_next_due is None or self.last_t is None
            else round(max(0.0, self._sit_next_due - self.last_t), 1),
        }
        if rules.sitstand:
            out["sitstand"] = self.sitstand.as_json(rules)
        if rules.calendar or self.calendar_source is not None:
            cal = self._calendar()
            busy = cal.busy(self.wall(self.last_t or 0.0)) if cal is not None else None
            out["calendar"] = {**(cal.status() if cal is not None else {}), "busy": busy}
        return out

    def snoozed(self) -> dict[str, float]:
        """Kinds snoozed at the latest frame time -> frame time the snooze ends."""
        now = self.last_t or 0.0
        return {k: u for k, u in self._snoozed_until.items() if u > now}

    def reminder(self, reminder_id: str) -> Reminder | None:
        return self._recent.get(reminder_id)

    def update_rules(self, rules: RulesConfig) -> None:
        """Apply new rules from the next frame on; the open spell and timers carry over."""
        old, self.rules = self.rules, rules
        if self.spell is not None:
            if self._sit_count == 0:
                self._sit_next_due = self.spell.start + rules.sit_limit_min * 60.0
            else:
                last = self._last_fired.get("sit_too_long", self.spell.start)
                self._sit_next_due = last + rules.repeat_every_min * 60.0
        if old.posture_grace_s != rules.posture_grace_s:
            log.debug("%s: posture grace now %.1f s", self.cushion, rules.posture_grace_s)

    def finish(self, t: float | None = None) -> Spell | None:
        """End of input (a recording ran out): close and return the open spell, if any.

        Its end is when the seat became empty, or `t` (default: the last frame) if still seated.
        """
        if self.spell is None:
            return None
        end = self._empty_since if self._empty_since is not None else (t if t is not None else self.last_t)
        start = self.spell.start
        spell = OpenSpell(self.cushion, start, max(start, float(end if end is not None else start)))
        self.spell = None
        self._empty_since = None
        self._sit_next_due = None
        return spell

    @property
    def state(self) -> CushionState:
        return self._state(self.last_t or 0.0)

    def wall(self, t: float) -> datetime:
        return self.epoch + timedelta(seconds=t)

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart (JSON-serialisable)."""
        return {
            "version": SNAPSHOT_VERSION,
            "cushion": self.cushion,
            "epoch": self.epoch.isoformat(),
            "last_t": self.last_t,
            "raw": self._raw,
            "raw_since": self._raw_since,
            "occupied": self.occupied,
            "spell_start": None if self.spell is None else self.spell.start,
            "empty_since": self._empty_since,
            "break_start": None if self.open_break is None else self.open_break.start,
            "posture": self._posture,
            "left_share": self._left_share,
            "timers": {k: [v.since, v.last_true] for k, v in self._timers.items()},
            "last_fired": dict(self._last_fired),
            "sit_next_due": self._sit_next_due,
            "sit_count": self._sit_count,
            "snoozed_until": dict(self._snoozed_until),
            "sent_ids": list(self._recent)[-50:],
            "paused_until": self._paused_until,
            "snoozes_in_spell": self._snoozes_in_spell,
            "warned_for": self._warned_for,
            "awaiting": self._awaiting,
            "dose": self.dose.snapshot(),
            "sitstand": self.sitstand.snapshot(),
        }

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any] | None,
        rules: RulesConfig,
        epoch: datetime,
        cushion: str | None = None,
        sent: Iterable[dict[str, Any]] = (),
    ) -> "CushionTracker":
        """A tracker that carries on from `snapshot` in a new time base (`epoch`).

        Frame times in the snapshot are moved by the difference of the two epochs, so a
        restart mid-spell continues the spell when frames come back within `min_break_s`
        (otherwise the first frame ends it as a gap). `sent` (and the snapshot's optional
        "sent_reminders") are reminders already sent for this cushion (CONTRACT section 6
        objects, e.g. from the store): they count as
        fired even if the snapshot is older than them, so none is sent twice.
        A missing, foreign or unreadable snapshot gives a fresh tracker.
        """
        name = cushion or (snapshot or {}).get("cushion") or "cushion-1"
        tr = cls(name, rules, epoch)
        try:
            if snapshot and snapshot.get("version") == SNAPSHOT_VERSION and snapshot.get("cushion") == name:
                tr._load(snapshot, (datetime.fromisoformat(snapshot["epoch"]) - epoch).total_seconds())
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: ignoring unreadable tracker snapshot (%s); starting fresh", name, exc)
            tr = cls(name, rules, epoch)
        # a store may add the latest reminders it holds to the snapshot it hands back
        extra = (snapshot or {}).get("sent_reminders") if isinstance(snapshot, dict) else None
        extra = extra if isinstance(extra, list) else []
        for r in [*extra, *sent]:
            try:
                tr._mark_sent(r)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s: ignoring unreadable sent reminder %r (%s)", name, r, exc)
        return tr

    def _load(self, s: dict[str, Any], shift: float) -> None:
        def sh(v: float | None) -> float | None:
            return None if v is None else float(v) + shift

        self.last_t = sh(s["last_t"])
        self._raw = s["raw"]
        self._raw_since = float(s["raw_since"]) + shift
        self.occupied = bool(s["occupied"])
        if s["spell_start"] is not None:
            self.spell = Spell(self.cushion, float(s["spell_start"]) + shift)
        self._empty_since = sh(s["empty_since"])
        if s.get("break_start") is not None:
            self.open_break = Break(self.cushion, float(s["break_start"]) + shift)
        self._posture = s["posture"] if s["posture"] in SEATED_POSTURES else "upright"
        self._left_share = s["left_share"]
        for k, (since, last_true) in s["timers"].items():
            if k in self._timers:  # in place: _timer_seq holds the same objects
                self._timers[k].since, self._timers[k].last_true = sh(since), sh(last_true)
        self._last_fired = {k: float(v) + shift for k, v in s["last_fired"].items()}
        self._sit_next_due = sh(s["sit_next_due"])
        self._sit_count = int(s["sit_count"])
        self._snoozed_until = {k: float(v) + shift for k, v in s["snoozed_until"].items()}
        # keys added after version 1 shipped: optional
        self._paused_until = sh(s.get("paused_until"))
        self._snoozes_in_spell = int(s.get("snoozes_in_spell") or 0)
        self._warned_for = sh(s.get("warned_for"))
        self._awaiting = s.get("awaiting")
        if isinstance(s.get("dose"), dict):
            self.dose.load(s["dose"])
        if isinstance(s.get("sitstand"), dict):
            self.sitstand.load(s["sitstand"])

    def _mark_sent(self, r: dict[str, Any]) -> None:
        if r.get("cushion", self.cushion) != self.cushion:
            return
        kind = r["kind"]
        t = (datetime.fromisoformat(str(r["at"]).replace("Z", "+00:00")) - self.epoch).total_seconds()
        if kind in self._last_fired and self._last_fired[kind] >= t - EPS:
            return
        self._last_fired[kind] = t
        if kind == "sit_too_long" and self.spell is not None and t >= self.spell.start - EPS:
            self._sit_count = max(self._sit_count, 1)
            due = t + self.rules.repeat_every_min * 60.0
            if self._sit_next_due is None or self._sit_next_due < due:
                self._sit_next_due = due

    # ------------------------------------------------------------------ internals

    def _became_occupied(self, t0: float, out: TrackerUpdate) -> None:
        self.occupied = True
        if self.spell is None:
            self.spell = Spell(self.cushion, t0)
            self._sit_next_due = t0 + self.rules.sit_limit_min * 60.0
            self._sit_count = 0
            self._snoozes_in_spell = 0
            self._warned_for = None
            self.dose.reset_spell()
            out.spell_started = self.spell
            if self.open_break is not None:
                self.open_break.end = max(self.open_break.start, t0)
                out.break_ended = self.open_break
                self.open_break = None
        self._empty_since = None

    def _end_spell(self, end: float, out: TrackerUpdate, seen: bool = True) -> None:
        """`seen`: the seat showed the break (not a gap in the frames, which proves nothing)."""
        assert self.spell is not None
        self.spell.end = max(self.spell.start, end)
        out.spell_ended = self.spell
        if self._awaiting is not None and seen:  # the break that ended the spell answers the reminder
            out.outcomes.append((self._awaiting, "taken", "stood"))
        self._awaiting = None
        self.open_break = Break(self.cushion, self.spell.end)
        out.break_started = self.open_break
        self.spell = None
        self._empty_since = None
        self._sit_next_due = None
        self._sit_count = 0

    def _check_spell_end(self, t: float, out: TrackerUpdate) -> None:
        if self.spell is None or self.occupied or self._empty_since is None:
            return
        # Away from when they got up until they came back (a return not yet confirmed by
        # the debounce still ends the absence at its first frame), or until now.
        back = self._raw_since if self._raw else t
        if back - self._empty_since >= self.rules.min_break_s - EPS:
            self._end_spell(self._empty_since, out)

    def _gap(self, last_t: float, t: float, out: TrackerUpdate) -> None:
        """No frames for at least min_break: we cannot tell what happened; the spell ends."""
        log.info("%s: no frames for %.0f s; treating the gap as a break", self.cushion, t - last_t)
        if self.spell is not None:
            self._end_spell(self._empty_since if self._empty_since is not None else last_t, out,
                            seen=self._empty_since is not None)
        self.occupied = False
        self._raw = None
        for timer in self._timers.values():
            timer.reset()

    def _update_timers(self, t: float, seated: bool, posture: str, ls: float | None) -> None:
        if seated:
            crossed = posture in CROSSED
            uneven = not crossed and (
                posture in LEAN or (ls is not None and abs(ls - 0.5) >= self.rules.uneven_threshold - EPS)
            )
            slouch = posture == "slouch"
        else:  # an empty seat holds none of them
            uneven = crossed = slouch = False
        self._cond_now = (uneven, crossed, slouch)
        # A false condition on a timer that is not running changes nothing: on most frames
        # no timer is called at all.
        grace = self.rules.posture_grace_s
        t_uneven, t_crossed, t_slouch = self._timer_seq
        if uneven or t_uneven.since is not None:
            t_uneven.update(t, uneven, grace)
        if crossed or t_crossed.since is not None:
            t_crossed.update(t, crossed, grace)
        if slouch or t_slouch.since is not None:
            t_slouch.update(t, slouch, grace)

    def _held_back(self, t: float, kind: str) -> str | None:
        if t < self._snoozed_until.get(kind, float("-inf")) - EPS:
            return "snoozed"
        if self._paused_until is not None and t < self._paused_until - EPS:
            return "paused"
        reason = outside_reminder_hours(self.rules, self.wall(t))
        if reason is None and (self.rules.calendar or self.calendar_source is not None):
            cal = self._calendar()
            if cal is not None and cal.busy(self.wall(t)) is not None:
                return "calendar"
        return reason

    def _calendar(self):
        if self.calendar_source is not None:
            return self.calendar_source
        from monitor.tracker.calendar import shared

        return shared(self.rules.calendar, self.rules.calendar_refresh_min) if self.rules.calendar else None

    def _update_dose(self, t: float, present: bool, posture: str, loads: tuple[float, float] | None,
                     out: TrackerUpdate) -> None:
        rules = self.rules
        step = self.dose.update(t, present, posture if present else "empty", loads,
                                rules.offload_drop, rules.offload_s, self.spell is not None)  # in_spell
        added = step.added
        if added[0] or added[1] or added[2] or added[3]:  # any(added), without the call
            out.dose = added
        out.offloads_credited = step.credited
        out.offloads_ended = step.ended
        if step.credited and self._awaiting is not None:
            out.outcomes.append((self._awaiting, "taken", step.credited[0].quality))
            self._awaiting = None

    def _fire_sitstand(self, t: float) -> list[Reminder]:
        rules = self.rules
        fired: list[Reminder] = []
        spell_s = 0.0 if self.spell is None else t - self.spell.start
        for kind in self.sitstand.update(t, self.occupied, rules):
            if self._held_back(t, kind) is not None:
                self.held_back += 1
                continue  # stand_up stays due (fires when the hold ends); may_sit is dropped
            fired.append(self._make(kind, t, spell_s))
            if kind == "stand_up":
                self.sitstand.fired_stand_up(t, rules)
        return fired

    def _fire(self, t: float, out: TrackerUpdate | None = None) -> list[Reminder]:
        rules = self.rules
        assert self.spell is not None
        spell_s = t - self.spell.start
        fired: list[Reminder] = []
        due = self._sit_next_due
        if (rules.prewarn and self._sit_count == 0 and due is not None and self._warned_for != due
                and due - rules.prewarn_s - EPS <= t < due - EPS):
            self._warned_for = due  # once per spell; a heads-up held back is not sent late
            if self._held_back(t, "sit_too_long") is None and self._held_back(t, "sit_warning") is None:
                fired.append(self._make("sit_warning", t, spell_s, lead_s=due - t))
        if self._sit_next_due is not None and t >= self._sit_next_due - EPS:
            held = self._held_back(t, "sit_too_long")
            if held == "snoozed" and rules.strict:
                held = None  # strict mode: a snooze from before it was switched on does not hold it
            if held is None:
                r = self._make("sit_too_long", t, spell_s, repeat=self._sit_count)
                fired.append(r)
                self._sit_count += 1
                if self._awaiting is not None and out is not None:
                    out.outcomes.append((self._awaiting, "skipped", None))
                self._awaiting = r.id
                # The next one comes a full interval after this one, also when this one
                # fired late (held back by hours or a snooze). Strict mode: every minute.
                self._sit_next_due = t + (STRICT_REPEAT_S if rules.strict else rules.repeat_every_min * 60.0)
            else:
                self.held_back += 1
        uneven, crossed, slouch = self._cond_now
        if uneven or crossed or slouch:  # on most frames none holds
            self._fire_posture(t, spell_s, fired)
        return fired

    def _fire_posture(self, t: float, spell_s: float, fired: list[Reminder]) -> None:
        rules = self.rules
        after = (rules.uneven_after_s, rules.crossed_after_s, rules.slouch_after_s)
        cooldown = rules.cooldown_min * 60.0
        for kind, cond, after_s in zip(POSTURE_KINDS, self._cond_now, after):
            if not cond or self._timers[kind].held(t) < after_s - EPS:
                continue
            last = self._last_fired.get(kind)
            if last is not None and t - last < cooldown - EPS:
                continue
            if self._held_back(t, kind) is not None:
                self.held_back += 1
                continue
            fired.append(self._make(kind, t, spell_s))

    def _make(self, kind: str, t: float, spell_s: float, repeat: int = 0, lead_s: float = 0.0) -> Reminder:
        # Only the CONTRACT section 6 fields go out: the message says the specifics.
        if kind == "sit_too_long":
            heavier, share = self.dose.heavier_side(self.rules.dose_imbalance)
            text = messages.message(kind, spell_s=spell_s, repeat=repeat, side=heavier, left_share=share)
        elif kind in EXTRA_KINDS:
            text = messages.extra_message(kind, self.rules, spell_s=spell_s, lead_s=lead_s)
        elif kind == "uneven_load":
            ls = self._left_share
            side = None
            if ls is not None and abs(ls - 0.5) >= self.rules.uneven_threshold - EPS:
                side = "left" if ls > 0.5 else "right"
            else:  # uneven by posture: the share is not telling, leave it out
                ls = None
                if self._posture in LEAN:
                    side = "left" if self._posture == "lean_left" else "right"
            text = messages.message(kind, side=side, left_share=ls)
        else:
            text = messages.message(kind, posture=self._posture)
        self._last_fired[kind] = t
        r = Reminder(
            id=uuid.uuid4().hex,
            cushion=self.cushion,
            kind=kind,  # type: ignore[arg-type]
            t=t,
            at=self.wall(t).isoformat(),
            message=text,
            spell_s=spell_s,
        )
        self._recent[r.id] = r
        while len(self._recent) > KEEP_REMINDERS:
            self._recent.popitem(last=False)
        log.info("%s: reminder %s at t=%.1f (spell %.0f s)", self.cushion, kind, t, spell_s)
        return r

    def _state(self, t: float) -> CushionState:
        occupied = self.occupied
        spell = self.spell
        spell_s = 0.0
        if spell is not None:
            spell_s = t - spell.start
            if not spell_s > 0.0:  # max(0.0, t - start)
                spell_s = 0.0
        # positionally, in CushionState's field order (keywords cost twice as much per frame):
        # cushion, t, occupied, posture, left_share, spell_s, spell_start
        return CushionState(self.cushion, t, occupied, self._posture if occupied else "empty",
                            self._left_share if occupied else None, spell_s, None if spell is None else spell.start)
