"""The store itself (a sink): what one tracker update means as rows, user actions (acknowledge,
snooze, settings, calibration), snapshots, and shutdown.

`record()` runs for every frame in the daemon's asyncio thread, so it only aggregates in
memory and queues rows (writer.py says how they reach the disk); user actions are written
at once in the caller's thread so the next read sees them; `daily_stats()`/`timeline()`
write what is pending before they read.

Times: every row keeps frame times (`*_t`), ISO wall times (`*_at`), unix seconds
(`*_ts`, for ordering and ranges) and the local calendar `day` it belongs to (the day a
spell or break starts in). `tz` fixes the zone days are counted in (default: the system's).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from monitor.model import SEATED_POSTURES, Reminder, SeatReading
from monitor.sinks.base import CushionStep
from monitor.sinks.store import dates
from monitor.sinks.store.queries import StoreReads, parse_at
from monitor.sinks.store.schema import POSTURE_COLUMNS, SITBONE_COLUMNS
from monitor.sinks.store.sitter import SitterRecords
from monitor.sinks.store.writer import Write
from monitor.tracker.aggregate import MinuteAggregator, MinuteRow
from monitor.tracker.tracker import Break, TrackerUpdate

log = logging.getLogger(__name__)

REMINDER_FIELDS = ("id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged")


class Store(StoreReads, SitterRecords):
    """The SQLite sink (monitor.sinks.base.Sink) and the history the dashboard reads."""

    name = "store"

    def __init__(
        self,
        path: str | Path,
        *,
        tz: tzinfo | None = None,
        batch_s: float = 30.0,
        busy_timeout_s: float = 0.1,
        max_pending: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
        writer: bool = True,
    ):
        self.tz = tz
        self._aggs: dict[str, MinuteAggregator] = {}
        # cushion -> (spell start t, day it started, seconds so far): the open spell's length
        self._open_spell_s: dict[str, tuple[float, str, float]] = {}
        self.refused_times = 0  # updates, reminders and snapshots whose times are no date
        self._refused_snapshots: set[str] = set()
        super().__init__(path, batch_s=batch_s, busy_timeout_s=busy_timeout_s, max_pending=max_pending,
                         clock=clock, writer=writer)

    # ------------------------------------------------------------------ recording

    def record(self, cushion: str, reading: SeatReading | None, update: TrackerUpdate) -> None:
        """Everything one tracker update means for the database. Never raises."""
        try:
            self._record(cushion, update)
        except Exception as exc:  # a bug here must not stop analysis
            self._error(f"record failed: {exc!r}")
            log.exception("store: record failed for %s", cushion)

    record_update = record

    def handle(self, step: CushionStep) -> None:
        """Sink: one step of one cushion (`record`)."""
        self.record(step.cushion, step.reading, step.update)

    def tick(self) -> None:
        """Sink: nothing to do; the writer thread commits on its own schedule."""

    def _record(self, cushion: str, update: TrackerUpdate) -> None:
        state = update.state
        agg = self._aggs.get(cushion)
        epoch = update.epoch
        if epoch is None:  # an update without its epoch: frame time 0 = now - t, fixed once
            epoch = agg.epoch if agg is not None else dates.wall(datetime.now().astimezone(), -state.t)
        problem = f"no epoch for t = {state.t!r}" if epoch is None else dates.update_problem(epoch, update)
        if problem is not None or epoch is None:
            self._refuse(cushion, problem or "no epoch", update)
            return
        if agg is None or agg.epoch != epoch:
            if agg is not None:
                self._queue_minutes(agg.flush())
            agg = self._aggs[cushion] = MinuteAggregator(cushion, epoch)
        agg.add_dose(getattr(update, "dose", None))
        self._queue_minutes(agg.add(state))
        for off in getattr(update, "offloads_credited", ()):
            self._queue_offload(cushion, epoch, off)
        for off in getattr(update, "offloads_ended", ()):
            self._queue_offload(cushion, epoch, off)
        if update.spell_started is not None:
            s = update.spell_started
            self._queue_edge("spells", cushion, epoch, s.start, None)
        if update.spell_ended is not None:
            s = update.spell_ended
            self._queue_edge("spells", cushion, epoch, s.start, s.end)
        if update.break_ended is not None:
            b = update.break_ended
            self._queue_edge("breaks", cushion, epoch, b.start, b.end)
        if update.break_started is not None:
            b = update.break_started
            self._queue_edge("breaks", cushion, epoch, b.start, b.end)
        for r in update.reminders:
            self.add_reminder(r)
        for reminder_id, outcome, quality in getattr(update, "outcomes", ()):
            self._queue(Write("UPDATE reminders SET outcome = ?, outcome_quality = ? WHERE id = ?",
                               (outcome, quality, reminder_id)), urgent=True)
        if state.spell_start is not None:
            known = self._open_spell_s.get(cushion)
            if known is None or known[0] != state.spell_start:
                day = self._day(epoch + timedelta(seconds=state.spell_start))
            else:
                day = known[1]
            self._open_spell_s[cushion] = (state.spell_start, day, state.spell_s)
        else:
            self._open_spell_s.pop(cushion, None)
        self._maybe_flush()

    def _refuse(self, cushion: str, problem: str, update: TrackerUpdate) -> None:
        """An update whose times cannot be dated: nothing of it is written but its reminders
        (they went out; each carries its own `at`). Counted, logged at the 1st, 10th, 100th
        and every 1000th."""
        self.refused_times += 1
        if self.refused_times in (1, 10, 100) or self.refused_times % 1000 == 0:
            log.error("store: %s: an update with a time that is no date was not written (%s); %d so far",
                      cushion, problem, self.refused_times)
        for r in update.reminders:
            self.add_reminder(r)

    def add_reminder(self, r: Reminder) -> None:
        try:
            at = parse_at(r.at)
            at.timestamp()
        except (TypeError, ValueError, OverflowError) as exc:
            self.refused_times += 1
            log.error("store: reminder %s with an undatable time %r not written (%s)", r.id, r.at, exc)
            return
        self._queue(
            Write(
                "INSERT OR IGNORE INTO reminders (id, cushion, kind, t, at, at_ts, day, message, spell_s, acknowledged)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (r.id, r.cushion, r.kind, r.t, r.at, at.timestamp(), self._day(at), r.message, r.spell_s,
                 int(r.acknowledged)),
            ),
            urgent=True,
        )

    def add_minute(self, row: MinuteRow) -> None:
        self._queue_minutes([row])

    def _queue_minutes(self, rows: Iterable[MinuteRow]) -> None:
        for row in rows:
            m = datetime.fromisoformat(row.minute)
            self._queue(
                Write(
                    "INSERT INTO minutes (cushion, minute, minute_ts, day, observed_s, seated_s, postures,"
                    f" mean_left_share, left_share_s, {', '.join(POSTURE_COLUMNS)}, {', '.join(SITBONE_COLUMNS)})"
                    f" VALUES (?,?,?,?,?,?,?,?,?{',?' * (len(POSTURE_COLUMNS) + len(SITBONE_COLUMNS))})",
                    (row.cushion, row.minute, m.timestamp(), self._day(m), row.observed_s, row.seated_s,
                     json.dumps({k: round(v, 3) for k, v in row.postures.items() if v > 0}),
                     row.mean_left_share, row.left_share_s, *(row.postures.get(p, 0.0) for p in SEATED_POSTURES),
                     *getattr(row, "sitbone", (0.0, 0.0, 0.0, 0.0))),
                    minute=True,
                )
            )

    def _queue_edge(self, table: str, cushion: str, epoch: datetime, start: float, end: float | None) -> None:
        """A spell or break started (end None) or ended; idempotent on (cushion, start)."""
        s_at = epoch + timedelta(seconds=start)
        e_at = None if end is None else epoch + timedelta(seconds=end)
        self._queue(
            Write(
                f"INSERT INTO {table} (cushion, start_t, end_t, start_at, end_at, start_ts, end_ts, seconds, day)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (cushion, start_ts) DO UPDATE SET"
                " end_t = coalesce(excluded.end_t, end_t), end_at = coalesce(excluded.end_at, end_at),"
                " end_ts = coalesce(excluded.end_ts, end_ts), seconds = coalesce(excluded.seconds, seconds)",
                (cushion, start, end, s_at.isoformat(), None if e_at is None else e_at.isoformat(),
                 round(s_at.timestamp(), 3), None if e_at is None else round(e_at.timestamp(), 3),
                 None if end is None else end - start, self._day(s_at)),
            ),
            urgent=True,
        )

    def _queue_offload(self, cushion: str, epoch: datetime, off: Any) -> None:
        """A credited offload (end None while it lasts) or its end; idempotent on its key."""
        s_at = epoch + timedelta(seconds=off.start)
        e_at = None if off.end is None else epoch + timedelta(seconds=off.end)
        self._queue(
            Write(
                "INSERT INTO offloads (cushion, quality, side, start_t, end_t, start_at, end_at, start_ts, end_ts,"
                " seconds, day) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (cushion, start_ts, quality, side)"
                " DO UPDATE SET end_t = coalesce(excluded.end_t, end_t), end_at = coalesce(excluded.end_at, end_at),"
                " end_ts = coalesce(excluded.end_ts, end_ts), seconds = coalesce(excluded.seconds, seconds)",
                (cushion, off.quality, off.side, off.start, off.end, s_at.isoformat(),
                 None if e_at is None else e_at.isoformat(), round(s_at.timestamp(), 3),
                 None if e_at is None else round(e_at.timestamp(), 3),
                 None if off.end is None else off.end - off.start, self._day(s_at)),
            ),
            urgent=True,
        )

    def spell_started(self, cushion: str, epoch: datetime, start: float) -> None:
        self._queue_edge("spells", cushion, epoch, start, None)
        self._maybe_flush()

    def spell_ended(self, cushion: str, epoch: datetime, start: float, end: float) -> None:
        self._queue_edge("spells", cushion, epoch, start, end)
        self._maybe_flush()

    def add_break(self, cushion: str, epoch: datetime, brk: Break) -> None:
        self._queue_edge("breaks", cushion, epoch, brk.start, brk.end)
        self._maybe_flush()

    def ack_reminder(self, reminder_id: str) -> dict[str, Any] | None:
        """Mark acknowledged; the updated reminder, or None if unknown."""
        found = self.get_reminder(reminder_id)
        if found is None:
            return None
        self._queue(Write("UPDATE reminders SET acknowledged = 1, acked_at = coalesce(acked_at, ?) WHERE id = ?",
                           (_now_iso(), reminder_id)), urgent=True, now=True)
        return {**found, "acknowledged": True}

    def snooze_reminder(self, reminder_id: str, minutes: float) -> dict[str, Any] | None:
        found = self.get_reminder(reminder_id)
        if found is None:
            return None
        until = (datetime.now().astimezone() + timedelta(minutes=minutes)).isoformat(timespec="seconds")
        self._queue(Write("UPDATE reminders SET snoozed_until = ?, snoozed_min = ? WHERE id = ?",
                           (until, minutes, reminder_id)), urgent=True, now=True)
        return {**found, "snoozed_until": until}

    snooze = snooze_reminder

    # ------------------------------------------------------------------ snapshots, calibration, settings

    def save_snapshot(self, cushion: str, snapshot: dict[str, Any]) -> None:
        problem = dates.snapshot_problem(snapshot)
        if problem is not None:  # keep the last sound one rather than persist a poisoned one
            self.refused_times += 1
            if cushion not in self._refused_snapshots:
                self._refused_snapshots.add(cushion)
                log.error("store: %s: tracker snapshot not saved, %s", cushion, problem)
            return
        self._queue(Write("INSERT OR REPLACE INTO snapshots (cushion, saved_at, body) VALUES (?,?,?)",
                           (cushion, _now_iso(), json.dumps(snapshot)), key=f"snapshot:{cushion}"), urgent=True)
        self._maybe_flush()

    def load_snapshot(self, cushion: str) -> dict[str, Any] | None:
        """The saved tracker snapshot, with "sent_reminders": the latest reminder of each
        kind for the cushion, so a restored tracker never sends one twice even if the
        snapshot is older than the last reminder."""
        rows = self._query("SELECT body FROM snapshots WHERE cushion = ?", (cushion,))
        if not rows:
            return None
        try:
            snap = json.loads(rows[0]["body"])
        except (TypeError, ValueError) as exc:
            log.warning("store: unreadable snapshot for %s (%s)", cushion, exc)
            return None
        problem = dates.snapshot_problem(snap)
        if problem is not None:
            log.warning("store: discarding the saved tracker state of %s: %s; starting afresh", cushion, problem)
            return None
        latest = self._query(
            "SELECT * FROM reminders r WHERE cushion = ? AND at_ts = (SELECT max(at_ts) FROM reminders"
            " WHERE cushion = r.cushion AND kind = r.kind)", (cushion,))
        if isinstance(snap, dict):
            snap["sent_reminders"] = [self._reminder_json(r) for r in latest]
        return snap

    def save_calibration(self, cushion: str, state: dict[str, Any]) -> None:
        self._queue(Write("INSERT OR REPLACE INTO calibration (cushion, saved_at, body) VALUES (?,?,?)",
                          (cushion, _now_iso(), json.dumps(state)), key=f"calibration:{cushion}"),
                    urgent=True, now=True)

    def load_calibration(self, cushion: str) -> dict[str, Any] | None:
        rows = self._query("SELECT body FROM calibration WHERE cushion = ?", (cushion,))
        return json.loads(rows[0]["body"]) if rows else None

    def save_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge `patch` ({"rules": {...}, "analysis": {...}}) into the saved overrides."""
        merged = _deep_merge(self.load_settings() or {}, patch)
        self._queue(Write("INSERT OR REPLACE INTO settings (id, saved_at, body) VALUES (1,?,?)",
                           (_now_iso(), json.dumps(merged)), key="settings"), urgent=True, now=True)
        return merged

    def load_settings(self) -> dict[str, Any] | None:
        with self._plock:
            pending = list(self._pending)
        for w in reversed(pending):
            if w.key == "settings":
                return json.loads(w.params[1])
        rows = self._query("SELECT body FROM settings WHERE id = 1")
        return json.loads(rows[0]["body"]) if rows else None

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Write what is left (the minutes in progress too) and close. Never raises."""
        self._stopping = True
        if self._writer is not None:
            self._wake.set()
            self._writer.join(timeout=10)
        with self._lock:
            if self._closed:
                return
            for agg in self._aggs.values():
                self._queue_minutes(agg.flush())
            if not self.flush():
                log.error("store: closing with %d writes that could not be saved (%s)", len(self._pending),
                          self.last_error)
            self._closed = True
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                log.error("store: close failed (%s)", exc)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    def _day(self, when: datetime) -> str:
        return (when.astimezone(self.tz) if self.tz else when.astimezone()).date().isoformat()


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
