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

The reminder side (timers, snoozes, pause, building reminders) is the tracker's
`ReminderSchedule` (schedule.py); what an update carries is in events.py.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.config.settings import RulesConfig
from monitor.model import SEATED_POSTURES, CushionState, Reminder, SeatReading, Spell
from monitor.tracker.dose import SitBoneDose
from monitor.tracker.events import Break, OpenSpell, SnoozeRefused, TrackerUpdate
from monitor.tracker.rules import EPS
from monitor.tracker.schedule import ReminderSchedule
from monitor.tracker.sitstand import SitStandCycle

if TYPE_CHECKING:
    from monitor.tracker.calendar import CalendarQuiet

__all__ = ["Break", "CushionTracker", "OpenSpell", "SnoozeRefused", "TrackerUpdate"]

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
_SEATED = frozenset(SEATED_POSTURES)  # a set lookup per frame instead of a scan
LATE_S = 1.0  # a frame at most this much older than the newest is late (ignored), not a clock reset


class CushionTracker:
    """Debounced occupancy, sitting spells and the four reminder kinds for one cushion.

    `epoch` is the wall time of frame time 0: a reminder's `at` is epoch + t, and working
    and quiet hours are read in the epoch's time zone (pass an aware local datetime).
    """

    def __init__(self, cushion: str, rules: RulesConfig, epoch: datetime):
        self.cushion = cushion
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
        # beyond the contract (docs/reminders.md)
        self.dose = SitBoneDose(cushion)
        self.sitstand = SitStandCycle()
        self.schedule = ReminderSchedule(cushion, rules, self.wall, self.dose, self.sitstand)

    @property
    def rules(self) -> RulesConfig:
        return self.schedule.rules

    @property
    def held_back(self) -> int:
        """Reminder-frames held back by snooze or hours (for health/debug)."""
        return self.schedule.held_back

    @property
    def calendar_source(self) -> CalendarQuiet | None:
        """A CalendarQuiet set from outside (tests); else rules.calendar is read."""
        return self.schedule.calendar_source

    @calendar_source.setter
    def calendar_source(self, source: CalendarQuiet | None) -> None:
        self.schedule.calendar_source = source

    # ------------------------------------------------------------------ public API

    def update(self, reading: SeatReading) -> TrackerUpdate:
        return self.step(reading.t, reading.present, reading.posture, reading.left_share, reading.sitbone_load)

    def step(self, reading_t: float, present: bool, posture: str, ls: float | None, sitbone_load: Any) -> TrackerUpdate:
        """`update` on the parts of a reading it reads (`sitwell analyze` makes no SeatReading)."""
        t = reading_t + self._offset
        if not math.isfinite(t):
            log.warning("%s: reading with frame time %r ignored", self.cushion, reading_t)
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
        schedule = self.schedule
        rules = schedule.rules
        if last_t is not None and t - last_t >= rules.min_break_s - EPS:
            self._gap(last_t, t, out)
        self.last_t = t

        present = bool(present)
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

        seated = present and posture in _SEATED
        if ls is not None and not (0.0 <= ls <= 1.0):  # NaN or out of range: not a share
            ls = None
        if seated:
            self._posture = posture
            self._left_share = ls
        schedule.update_timers(t, seated, posture, ls)
        self._update_dose(t, present, posture, sitbone_load, out)
        if self.occupied and self.spell is not None:
            out.reminders = schedule.fire(t, self.spell.start, self._posture, self._left_share, out)
        if rules.sitstand:
            out.reminders.extend(schedule.fire_sitstand(t, self.occupied,
                                                        None if self.spell is None else self.spell.start))
        out.state = self._state(t)
        return out

    def acknowledge(self, reminder_id: str) -> Reminder | None:
        return self.schedule.acknowledge(reminder_id)

    def snooze(self, kind: str, minutes: float) -> float:
        """No reminder of `kind` for `minutes` from the latest frame time; returns the end (frame time).

        Raises SnoozeRefused in strict mode (sit_too_long) and when this spell's
        `max_snoozes` are used up."""
        return self.schedule.snooze(kind, minutes, self.last_t or 0.0, self.spell is not None)

    def snoozes_left(self) -> int | None:
        """Snoozes still allowed in this spell (None: unlimited)."""
        return self.schedule.snoozes_left()

    # ---- timed pause ---------------------------------------------------------------------

    def pause(self, minutes: float | None = None, until_t: float | None = None) -> float | None:
        """No reminders for `minutes` from the latest frame (or until frame time `until_t`);
        pause(0) or pause() with neither ends a pause. Returns the end (frame time) or None.

        Reminders that came due in the pause are held back, not lost (as with snooze)."""
        return self.schedule.pause(self.last_t or 0.0, minutes, until_t)

    def pause_until_tomorrow(self) -> float:
        """Pause until the next local midnight (the system's time zone)."""
        now = self.last_t or 0.0
        local = self.wall(now).astimezone()
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.pause(until_t=now + (midnight - local).total_seconds())  # type: ignore[return-value]

    def pause_status(self) -> dict[str, Any]:
        return self.schedule.pause_status(self.last_t or 0.0)

    def extras(self) -> dict[str, Any]:
        """Live view of the features beyond the contract (dashboard, status)."""
        rules = self.rules
        due = self.schedule.sit_next_due
        out: dict[str, Any] = {
            "cushion": self.cushion,
            "pause": self.pause_status(),
            "snoozes_left": self.snoozes_left(),
            "strict": rules.strict,
            "dose": self.dose.as_json(),
            "offloads": self.dose.offloads,
            "next_sit_too_long_s": None if due is None or self.last_t is None
            else round(max(0.0, due - self.last_t), 1),
        }
        if rules.sitstand:
            out["sitstand"] = self.sitstand.as_json(rules)
        if rules.calendar or self.calendar_source is not None:
            cal = self.schedule.calendar()
            busy = cal.busy(self.wall(self.last_t or 0.0)) if cal is not None else None
            out["calendar"] = {**(cal.status() if cal is not None else {}), "busy": busy}
        return out

    def snoozed(self) -> dict[str, float]:
        """Kinds snoozed at the latest frame time -> frame time the snooze ends."""
        return self.schedule.snoozed(self.last_t or 0.0)

    def reminder(self, reminder_id: str) -> Reminder | None:
        return self.schedule.recent.get(reminder_id)

    def update_rules(self, rules: RulesConfig) -> None:
        """Apply new rules from the next frame on; the open spell and timers carry over."""
        old = self.rules
        self.schedule.rules_changed(rules, None if self.spell is None else self.spell.start)
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
        self.schedule.sit_next_due = None
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
            **self.schedule.snapshot(),
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
    ) -> CushionTracker:
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
                tr.schedule.mark_sent(r, tr.epoch, None if tr.spell is None else tr.spell.start)
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
        self.schedule.load(s, shift)
        if isinstance(s.get("dose"), dict):
            self.dose.load(s["dose"])
        if isinstance(s.get("sitstand"), dict):
            self.sitstand.load(s["sitstand"])

    # ------------------------------------------------------------------ internals

    def _became_occupied(self, t0: float, out: TrackerUpdate) -> None:
        self.occupied = True
        if self.spell is None:
            self.spell = Spell(self.cushion, t0)
            self.schedule.spell_started(t0)
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
        self.schedule.spell_ended(out, seen)
        self.open_break = Break(self.cushion, self.spell.end)
        out.break_started = self.open_break
        self.spell = None
        self._empty_since = None

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
        self.schedule.reset_timers()

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
        if step.credited and self.schedule.awaiting is not None:
            out.outcomes.append((self.schedule.awaiting, "taken", step.credited[0].quality))
            self.schedule.awaiting = None

    def _state(self, t: float) -> CushionState:
        occupied = self.occupied
        spell = self.spell
        spell_s = 0.0 if spell is None or not t - spell.start > 0.0 else t - spell.start  # max(0.0, t - start)
        # positionally, in CushionState's field order (keywords cost twice as much per frame):
        # cushion, t, occupied, posture, left_share, spell_s, spell_start
        return CushionState(self.cushion, t, occupied, self._posture if occupied else "empty",
                            self._left_share if occupied else None, spell_s, None if spell is None else spell.start)
