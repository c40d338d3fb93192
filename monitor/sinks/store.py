"""SQLite persistence: spells, breaks, reminders, per-minute aggregates, tracker snapshots,
calibration and dashboard settings.

Threading and blocking (why it is built this way):
- One connection (check_same_thread=False) guarded by one lock, and a writer thread.
  `record()` runs for every frame in the daemon's asyncio thread, so it only aggregates in
  memory and appends rows to a pending buffer (its own small lock); the writer thread
  commits them when something happens (a reminder, a spell or break edge) or when
  completed minutes have waited `batch_s`. A commit, a WAL checkpoint or a locked database
  therefore never stalls analysis. User actions (acknowledge, snooze, settings,
  calibration) are written at once in the caller's thread so the next read sees them;
  `daily_stats()`/`timeline()` write what is pending before they read. With
  `writer=False` (tests, one-shot tools) the same writes happen inline instead.
- The busy timeout is short (`busy_timeout_s`, 0.1 s): a locked database never stalls
  analysis for long. A failed write ("database is locked", "database or disk is full")
  leaves the writes in a bounded pending buffer, retried with exponential backoff on later
  calls; errors are logged loudly and counted in `health()`; nothing is raised to the
  caller. When the buffer is full the oldest minute rows are dropped first (counted).
- WAL journal, so readers (the report, the dashboard) do not block the writer.

Times: every row keeps frame times (`*_t`), ISO wall times (`*_at`), unix seconds
(`*_ts`, for ordering and ranges) and the local calendar `day` it belongs to (the day a
spell or break starts in). `tz` fixes the zone days are counted in (default: the system's).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable

from monitor.model import SEATED_POSTURES, Reminder, SeatReading
from monitor.sinks.base import CushionStep
from monitor.tracker.aggregate import MinuteAggregator, MinuteRow
from monitor.tracker.tracker import Break, TrackerUpdate

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- schema

MIGRATION_1 = """
CREATE TABLE spells (
    cushion TEXT NOT NULL, start_t REAL NOT NULL, end_t REAL,
    start_at TEXT NOT NULL, end_at TEXT, start_ts REAL NOT NULL, end_ts REAL,
    seconds REAL, day TEXT NOT NULL,
    PRIMARY KEY (cushion, start_ts)
);
CREATE INDEX spells_day ON spells (day, cushion);
CREATE TABLE breaks (
    cushion TEXT NOT NULL, start_t REAL NOT NULL, end_t REAL,
    start_at TEXT NOT NULL, end_at TEXT, start_ts REAL NOT NULL, end_ts REAL,
    seconds REAL, day TEXT NOT NULL,
    PRIMARY KEY (cushion, start_ts)
);
CREATE INDEX breaks_day ON breaks (day, cushion);
CREATE TABLE reminders (
    id TEXT PRIMARY KEY, cushion TEXT NOT NULL, kind TEXT NOT NULL, t REAL NOT NULL,
    at TEXT NOT NULL, at_ts REAL NOT NULL, day TEXT NOT NULL, message TEXT NOT NULL,
    spell_s REAL NOT NULL, acknowledged INTEGER NOT NULL DEFAULT 0, acked_at TEXT,
    snoozed_until TEXT, snoozed_min REAL
);
CREATE INDEX reminders_at ON reminders (at_ts);
CREATE INDEX reminders_day ON reminders (day, cushion);
CREATE TABLE minutes (
    cushion TEXT NOT NULL, minute TEXT NOT NULL, minute_ts REAL NOT NULL, day TEXT NOT NULL,
    observed_s REAL NOT NULL, seated_s REAL NOT NULL, postures TEXT NOT NULL,
    mean_left_share REAL, left_share_s REAL NOT NULL
);
CREATE INDEX minutes_day ON minutes (day, cushion);
CREATE INDEX minutes_ts ON minutes (cushion, minute_ts);
CREATE TABLE snapshots (cushion TEXT PRIMARY KEY, saved_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE calibration (cushion TEXT PRIMARY KEY, saved_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), saved_at TEXT NOT NULL, body TEXT NOT NULL);
"""

# Seconds per posture as columns, so daily statistics over a year are one SQL aggregate
# instead of parsing half a million JSON objects (the JSON column stays for the timeline).
_MIG2_POSTURES = ("upright", "lean_left", "lean_right", "cross_left", "cross_right", "slouch", "forward")
MIGRATION_2 = ";".join(
    [f"ALTER TABLE minutes ADD COLUMN {p}_s REAL NOT NULL DEFAULT 0" for p in _MIG2_POSTURES]
    + [f"UPDATE minutes SET {p}_s = coalesce(json_extract(postures, '$.{p}'), 0)" for p in _MIG2_POSTURES]
)

# Reminder features beyond the contract (docs/reminders.md): the sit-bone dose per minute,
# what became of each sit_too_long (a break taken or skipped, and how), and every credited
# offload (stood up, or one sit bone shifted off) with its length.
MIGRATION_3 = ";".join(
    [f"ALTER TABLE minutes ADD COLUMN {c} REAL NOT NULL DEFAULT 0"
     for c in ("sitbone_l", "sitbone_r", "sitbone_l_norm", "sitbone_r_norm")]
    + ["ALTER TABLE reminders ADD COLUMN outcome TEXT",
       "ALTER TABLE reminders ADD COLUMN outcome_quality TEXT",
       "CREATE TABLE offloads (cushion TEXT NOT NULL, quality TEXT NOT NULL, side TEXT NOT NULL,"
       " start_t REAL NOT NULL, end_t REAL, start_at TEXT NOT NULL, end_at TEXT, start_ts REAL NOT NULL,"
       " end_ts REAL, seconds REAL, day TEXT NOT NULL, PRIMARY KEY (cushion, start_ts, quality, side))",
       "CREATE INDEX offloads_day ON offloads (day, cushion)"]
)

# Ordered; entry i takes the database from user_version i to i + 1. Only ever append.
MIGRATIONS: list[str] = [MIGRATION_1, MIGRATION_2, MIGRATION_3]
POSTURE_COLUMNS = tuple(f"{p}_s" for p in SEATED_POSTURES)
SITBONE_COLUMNS = ("sitbone_l", "sitbone_r", "sitbone_l_norm", "sitbone_r_norm")


def _migrate(conn: sqlite3.Connection) -> int:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {current} is newer than this sitwell ({len(MIGRATIONS)})")
    for version in range(current, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in MIGRATIONS[version].split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("database migrated to schema version %d", version + 1)
    return len(MIGRATIONS)


# ---------------------------------------------------------------------------- pending writes


@dataclass(slots=True)
class _Write:
    sql: str
    params: tuple[Any, ...]
    minute: bool = False  # a minute row: dropped first when the buffer is full
    key: str | None = None  # writes with the same key replace each other (snapshots)


REMINDER_FIELDS = ("id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged")


class Store:
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
        self.path = Path(path).expanduser()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tz = tz
        self.batch_s = batch_s
        self.max_pending = max_pending
        self._clock = clock
        self._lock = threading.RLock()  # the connection
        self._plock = threading.Lock()  # the pending-write buffer (held only for list operations)
        self._conn = sqlite3.connect(
            str(self.path) if str(path) != ":memory:" else ":memory:",
            timeout=busy_timeout_s,
            check_same_thread=False,
            isolation_level=None,  # explicit BEGIN/COMMIT
        )
        self._conn.row_factory = sqlite3.Row
        self.journal_mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.schema_version = _migrate(self._conn)
        self._pending: deque[_Write] = deque()
        self._urgent = False
        self._oldest_minute_at: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._aggs: dict[str, MinuteAggregator] = {}
        # cushion -> (spell start t, day it started, seconds so far): the open spell's length
        self._open_spell_s: dict[str, tuple[float, str, float]] = {}
        # health
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.dropped_writes = 0
        self.written = 0
        self._closed = False
        self._stopping = False
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        if writer:
            self._writer = threading.Thread(target=self._write_forever, name="sitwell-store-writer", daemon=True)
            self._writer.start()

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
            epoch = agg.epoch if agg is not None else datetime.now().astimezone() - timedelta(seconds=state.t)
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
            self._queue(_Write("UPDATE reminders SET outcome = ?, outcome_quality = ? WHERE id = ?",
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

    def add_reminder(self, r: Reminder) -> None:
        at = _parse_at(r.at)
        self._queue(
            _Write(
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
                _Write(
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
            _Write(
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
            _Write(
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

    def offloads(self, day: date | str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """A day's credited offloads (breaks confirmed by the seat), oldest first:
        {"cushion", "quality" ("stood"|"shifted"), "side", "start", "end", "seconds"}."""
        if day is None:
            day = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        day = day.isoformat() if isinstance(day, date) else str(day)
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        return [{"cushion": r["cushion"], "quality": r["quality"], "side": r["side"], "start": r["start_at"],
                 "end": r["end_at"], "seconds": None if r["seconds"] is None else round(r["seconds"], 1)}
                for r in self._query(f"SELECT * FROM offloads WHERE day = ?{cw} ORDER BY start_ts", [day, *cp],
                                     fresh=True)]

    def spell_started(self, cushion: str, epoch: datetime, start: float) -> None:
        self._queue_edge("spells", cushion, epoch, start, None)
        self._maybe_flush()

    def spell_ended(self, cushion: str, epoch: datetime, start: float, end: float) -> None:
        self._queue_edge("spells", cushion, epoch, start, end)
        self._maybe_flush()

    def add_break(self, cushion: str, epoch: datetime, brk: Break) -> None:
        self._queue_edge("breaks", cushion, epoch, brk.start, brk.end)
        self._maybe_flush()

    # ------------------------------------------------------------------ write machinery

    def _queue(self, w: _Write, urgent: bool = False, now: bool = False) -> None:
        """Add a write; `now`: write it in this thread before returning (user actions)."""
        with self._plock:
            if w.key is not None:
                self._pending = deque(p for p in self._pending if p.key != w.key)
            if len(self._pending) >= self.max_pending:
                self._drop_one()
            self._pending.append(w)
            if w.minute and self._oldest_minute_at is None:
                self._oldest_minute_at = self._clock()
            self._urgent = self._urgent or urgent
        if now and self._clock() >= self._retry_at:
            self.flush()
        elif urgent and self._writer is not None:
            self._wake.set()

    def _drop_one(self) -> None:
        for i, p in enumerate(self._pending):
            if p.minute:
                del self._pending[i]
                break
        else:
            self._pending.popleft()
        self.dropped_writes += 1
        if self.dropped_writes in (1, 10, 100) or self.dropped_writes % 1000 == 0:
            log.error("store: pending-write buffer full (%d); %d writes dropped so far", self.max_pending,
                      self.dropped_writes)

    def _due(self) -> bool:
        if not self._pending:
            return False
        now = self._clock()
        if now < self._retry_at:
            return False
        return self._urgent or (self._oldest_minute_at is not None and now - self._oldest_minute_at >= self.batch_s)

    def _maybe_flush(self) -> None:
        """Inline mode only; with a writer thread it does the flushing."""
        if self._writer is None and self._due():
            self.flush()

    def _write_forever(self) -> None:
        while not self._stopping:
            if self._pending and self._retry_at > self._clock():
                wait = self._retry_at - self._clock()
            else:
                wait = max(0.05, min(self.batch_s, 5.0))
            self._wake.wait(timeout=wait)
            self._wake.clear()
            if self._stopping:
                break
            try:
                if self._due():
                    self.flush()
            except Exception:  # never let the writer die
                log.exception("store: writer thread error")

    def flush(self) -> bool:
        """Write everything pending now; True if nothing is left pending. Never raises."""
        with self._lock:
            with self._plock:
                batch = list(self._pending)
            if not batch or self._closed:
                return not batch
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for w in batch:
                        self._conn.execute(w.sql, w.params)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.OperationalError as exc:  # locked, busy, disk full, I/O: retry later
                self._failed(exc, len(batch))
                return False
            except sqlite3.Error as exc:  # a bad row: write the rest one by one, drop the bad ones
                self._error(f"{type(exc).__name__}: {exc}")
                log.error("store: a write was refused (%s); writing one by one", exc)
                self._write_singly(batch)
                return not self._pending
            self._done(batch)
            self.written += len(batch)
            if self._backoff:
                log.warning("store: writes go through again (%d pending writes saved)", len(batch))
            self._backoff = 0.0
            self._retry_at = 0.0
            return True

    def _write_singly(self, batch: list[_Write]) -> None:
        done: list[_Write] = []
        for w in batch:
            try:
                self._conn.execute(w.sql, w.params)
                self.written += 1
            except sqlite3.OperationalError as exc:
                self._failed(exc, len(batch) - len(done))
                break
            except sqlite3.Error as exc:
                self.dropped_writes += 1
                log.error("store: dropping a write the database refuses: %s (%s)", exc, w.sql.split("(")[0])
            done.append(w)
        self._done(done)

    def _done(self, written: list[_Write]) -> None:
        """Take written rows out of the buffer (others may have been added meanwhile)."""
        ids = {id(w) for w in written}
        with self._plock:
            self._pending = deque(w for w in self._pending if id(w) not in ids)
            self._urgent = any(not w.minute for w in self._pending)
            if not any(w.minute for w in self._pending):
                self._oldest_minute_at = None

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _failed(self, exc: Exception, n: int) -> None:
        self._backoff = min(30.0, self._backoff * 2 if self._backoff else 0.5)
        self._retry_at = self._clock() + self._backoff
        self._error(f"{exc}")
        log.error("store: cannot write (%s); %d writes kept pending, retrying in %.1f s", exc, n, self._backoff)

    def _error(self, text: str) -> None:
        self.errors += 1
        self.last_error = text
        self.last_error_at = datetime.now().astimezone().isoformat(timespec="seconds")

    def health(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "journal_mode": self.journal_mode,
            "ok": not self._pending or self._backoff == 0.0,
            "pending_writes": len(self._pending),
            "written": self.written,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "dropped_writes": self.dropped_writes,
            "retry_in_s": round(max(0.0, self._retry_at - self._clock()), 2) if self._pending else 0.0,
            "writer_thread": self._writer is not None and self._writer.is_alive(),
        }

    # ------------------------------------------------------------------ reads (never raise)

    def _query(self, sql: str, params: Iterable[Any] = (), fresh: bool = False) -> list[sqlite3.Row]:
        """`fresh`: write what is pending first (statistics want every row)."""
        with self._lock:
            if (fresh or self._writer is None) and self._pending and self._clock() >= self._retry_at:
                self.flush()
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                self._error(f"read failed: {exc}")
                log.error("store: read failed (%s)", exc)
                return []

    def _pending_reminders(self) -> list[dict[str, Any]]:
        """Reminders not yet written (database locked or full) still show in reads."""
        out = []
        with self._plock:
            pending = list(self._pending)
        for w in pending:
            if w.sql.startswith("INSERT OR IGNORE INTO reminders"):
                p = w.params
                out.append({"id": p[0], "cushion": p[1], "kind": p[2], "t": p[3], "at": p[4], "at_ts": p[5],
                            "message": p[7], "spell_s": p[8], "acknowledged": bool(p[9])})
        return out

    @staticmethod
    def _reminder_json(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"], "cushion": row["cushion"], "kind": row["kind"], "t": round(row["t"], 3),
            "at": row["at"], "message": row["message"], "spell_s": round(row["spell_s"], 1),
            "acknowledged": bool(row["acknowledged"]),
        }

    def reminders(self, since: datetime | str | None = None, cushion: str | None = None,
                  limit: int = 500) -> list[dict[str, Any]]:
        """CONTRACT section 6 objects, newest first."""
        since_ts = None if since is None else _parse_at(since).timestamp()
        sql, params = "SELECT * FROM reminders WHERE 1=1", []
        if since_ts is not None:
            sql += " AND at_ts >= ?"
            params.append(since_ts)
        if cushion is not None:
            sql += " AND cushion = ?"
            params.append(cushion)
        sql += " ORDER BY at_ts DESC, rowid DESC LIMIT ?"
        params.append(int(limit))
        rows = [dict(r) for r in self._query(sql, params)]
        seen = {r["id"] for r in rows}
        for p in self._pending_reminders():
            if p["id"] not in seen and (since_ts is None or p["at_ts"] >= since_ts) and cushion in (None, p["cushion"]):
                rows.append(p)
        rows.sort(key=lambda r: r["at_ts"], reverse=True)
        return [self._reminder_json(r) for r in rows[:limit]]

    def get_reminder(self, reminder_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        if rows:
            return self._reminder_json(rows[0])
        for p in self._pending_reminders():
            if p["id"] == reminder_id:
                return self._reminder_json(p)
        return None

    def ack_reminder(self, reminder_id: str) -> dict[str, Any] | None:
        """Mark acknowledged; the updated reminder, or None if unknown."""
        found = self.get_reminder(reminder_id)
        if found is None:
            return None
        self._queue(_Write("UPDATE reminders SET acknowledged = 1, acked_at = coalesce(acked_at, ?) WHERE id = ?",
                           (_now_iso(), reminder_id)), urgent=True, now=True)
        return {**found, "acknowledged": True}

    def snooze_reminder(self, reminder_id: str, minutes: float) -> dict[str, Any] | None:
        found = self.get_reminder(reminder_id)
        if found is None:
            return None
        until = (datetime.now().astimezone() + timedelta(minutes=minutes)).isoformat(timespec="seconds")
        self._queue(_Write("UPDATE reminders SET snoozed_until = ?, snoozed_min = ? WHERE id = ?",
                           (until, minutes, reminder_id)), urgent=True, now=True)
        return {**found, "snoozed_until": until}

    snooze = snooze_reminder

    # ------------------------------------------------------------------ snapshots, calibration, settings

    def save_snapshot(self, cushion: str, snapshot: dict[str, Any]) -> None:
        self._queue(_Write("INSERT OR REPLACE INTO snapshots (cushion, saved_at, body) VALUES (?,?,?)",
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
        latest = self._query(
            "SELECT * FROM reminders r WHERE cushion = ? AND at_ts = (SELECT max(at_ts) FROM reminders"
            " WHERE cushion = r.cushion AND kind = r.kind)", (cushion,))
        if isinstance(snap, dict):
            snap["sent_reminders"] = [self._reminder_json(r) for r in latest]
        return snap

    def save_calibration(self, cushion: str, state: dict[str, Any]) -> None:
        self._queue(_Write("INSERT OR REPLACE INTO calibration (cushion, saved_at, body) VALUES (?,?,?)",
                           (cushion, _now_iso(), json.dumps(state)), key=f"calibration:{cushion}"), urgent=True, now=True)

    def load_calibration(self, cushion: str) -> dict[str, Any] | None:
        rows = self._query("SELECT body FROM calibration WHERE cushion = ?", (cushion,))
        return json.loads(rows[0]["body"]) if rows else None

    def save_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge `patch` ({"rules": {...}, "analysis": {...}}) into the saved overrides."""
        merged = _deep_merge(self.load_settings() or {}, patch)
        self._queue(_Write("INSERT OR REPLACE INTO settings (id, saved_at, body) VALUES (1,?,?)",
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

    # ------------------------------------------------------------------ statistics

    def daily_stats(self, days: int = 7, cushion: str | None = None, today: date | str | None = None) -> list[dict[str, Any]]:
        """Per day, oldest first, for the `days` days ending `today` (local days)."""
        days = max(1, min(int(days), 3660))
        if today is None:
            today = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        elif isinstance(today, str):
            today = date.fromisoformat(today)
        dates = [(today - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]
        first, last = dates[0], dates[-1]
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        out = {d: _empty_day(d) for d in dates}
        acc = {d: {"seated": 0.0, "postures": {p: 0.0 for p in SEATED_POSTURES}, "ls": 0.0, "ls_s": 0.0} for d in dates}
        sums = ", ".join(f"sum({c}) AS {c}" for c in POSTURE_COLUMNS)
        for r in self._query(f"SELECT day, sum(seated_s) AS seated, sum(mean_left_share * left_share_s) AS ls,"
                             f" sum(CASE WHEN mean_left_share IS NOT NULL THEN left_share_s ELSE 0 END) AS ls_s,"
                             f" {sums} FROM minutes WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp], fresh=True):
            a = acc[r["day"]]
            a["seated"] = r["seated"] or 0.0
            a["postures"] = {p: r[f"{p}_s"] or 0.0 for p in SEATED_POSTURES}
            a["ls"], a["ls_s"] = r["ls"] or 0.0, r["ls_s"] or 0.0
        for d, a in acc.items():
            o = out[d]
            o["minutes_seated"] = round(a["seated"] / 60.0, 1)
            total = sum(a["postures"].values())
            o["posture_share"] = {k: (round(v / total, 4) if total > 0 else 0.0) for k, v in a["postures"].items()}
            o["mean_left_share"] = round(a["ls"] / a["ls_s"], 4) if a["ls_s"] > 0 else None
        for r in self._query(f"SELECT day, cushion, count(*) AS n, max(seconds) AS longest,"
                             f" sum(end_ts IS NULL) AS open FROM spells WHERE day BETWEEN ? AND ?{cw}"
                             f" GROUP BY day, cushion", [first, last, *cp]):
            o = out[r["day"]]
            o["spells"] += r["n"]
            longest = r["longest"] or 0.0
            if r["open"]:
                _, day, so_far = self._open_spell_s.get(r["cushion"], (None, None, 0.0))
                if day == r["day"]:
                    longest = max(longest, so_far)
            o["longest_spell_min"] = max(o["longest_spell_min"], round(longest / 60.0, 1))
        for r in self._query(f"SELECT day, count(*) AS n FROM breaks WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp]):
            out[r["day"]]["breaks"] = r["n"]
        for r in self._query(f"SELECT day, kind, count(*) AS n, sum(acknowledged) AS acked FROM reminders"
                             f" WHERE day BETWEEN ? AND ?{cw} GROUP BY day, kind", [first, last, *cp]):
            o = out[r["day"]]
            o["reminders_sent"] += r["n"]
            o["reminders_acknowledged"] += r["acked"] or 0
            o["reminders_by_kind"][r["kind"]] = r["n"]
        self._break_stats(out, first, last, cw, cp)
        return [out[d] for d in dates]

    def _break_stats(self, out: dict[str, dict[str, Any]], first: str, last: str, cw: str, cp: list[Any]) -> None:
        """Beyond the contract (docs/reminders.md): seat-confirmed breaks and the sit-bone dose."""
        for r in self._query(f"SELECT day, sum(outcome = 'taken') AS taken, sum(outcome = 'skipped') AS skipped,"
                             f" sum(snoozed_min IS NOT NULL) AS snoozed FROM reminders WHERE kind = 'sit_too_long'"
                             f" AND day BETWEEN ? AND ?{cw} GROUP BY day", [first, last, *cp]):
            o = out[r["day"]]
            o["breaks_taken"], o["breaks_skipped"] = r["taken"] or 0, r["skipped"] or 0
            o["breaks_snoozed"] = r["snoozed"] or 0
        for r in self._query(f"SELECT day, quality, count(*) AS n, sum(seconds) AS s FROM offloads"
                             f" WHERE day BETWEEN ? AND ?{cw} GROUP BY day, quality", [first, last, *cp]):
            o = out[r["day"]]
            o["offloads"][r["quality"]] = r["n"]
            o["offload_minutes"][r["quality"]] = round((r["s"] or 0.0) / 60.0, 1)
        sums = ", ".join(f"sum({c}) AS {c}" for c in SITBONE_COLUMNS)
        for r in self._query(f"SELECT day, {sums} FROM minutes WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp]):
            l, rr = r["sitbone_l"] or 0.0, r["sitbone_r"] or 0.0
            out[r["day"]]["sitbone_dose"] = {
                "left": round(l, 1), "right": round(rr, 1),
                "left_upright_min": round((r["sitbone_l_norm"] or 0.0) / 60.0, 1),
                "right_upright_min": round((r["sitbone_r_norm"] or 0.0) / 60.0, 1),
                "left_share": round(l / (l + rr), 4) if l + rr > 0 else None,
            }

    def timeline(self, cushion: str | None = None, day: date | str | None = None) -> list[dict[str, Any]]:
        """A day's spells and breaks in time order, each {"type": "spell"|"break", "cushion",
        "start", "end" (ISO; end None while it lasts), "seconds", and for spells "postures"
        ({name: seconds}) and "segments" ([{"start", "end", "posture"}], the main posture of
        each minute, merged)}. "start_at"/"end_at" repeat "start"/"end" (the store's names)."""
        if day is None:
            day = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        day = day.isoformat() if isinstance(day, date) else str(day)
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        items: list[dict[str, Any]] = []
        for kind, table in (("spell", "spells"), ("break", "breaks")):
            for r in self._query(f"SELECT * FROM {table} WHERE day = ?{cw} ORDER BY start_ts", [day, *cp], fresh=True):
                items.append({"type": kind, "cushion": r["cushion"], "start": r["start_at"], "end": r["end_at"],
                              "start_at": r["start_at"], "end_at": r["end_at"],
                              "start_ts": r["start_ts"], "end_ts": r["end_ts"],
                              "seconds": None if r["seconds"] is None else round(r["seconds"], 1)})
        for it in items:
            if it["type"] == "spell":
                self._spell_postures(it)
        items.sort(key=lambda i: (i["start_ts"], i["type"]))
        return items

    def _spell_postures(self, it: dict[str, Any]) -> None:
        start_ts = it["start_ts"]
        end_ts = it["end_ts"] if it["end_ts"] is not None else float("inf")
        zone = _parse_at(it["start_at"]).tzinfo
        postures: dict[str, float] = {}
        segments: list[dict[str, Any]] = []
        rows = self._query("SELECT minute_ts, postures FROM minutes WHERE cushion = ? AND minute_ts > ? AND minute_ts < ?"
                           " ORDER BY minute_ts", (it["cushion"], start_ts - 60.0, end_ts))
        for r in rows:
            shares = json.loads(r["postures"])
            for k, v in shares.items():
                postures[k] = round(postures.get(k, 0.0) + v, 1)
            if not shares:
                continue
            main = max(shares, key=shares.get)
            a, b = max(start_ts, r["minute_ts"]), min(end_ts, r["minute_ts"] + 60.0)
            if segments and segments[-1]["posture"] == main and abs(segments[-1]["_end"] - a) < 1e-6:
                segments[-1]["_end"] = b
            else:
                segments.append({"posture": main, "_start": a, "_end": b})
        for seg in segments:
            seg["start"] = datetime.fromtimestamp(seg.pop("_start"), zone).isoformat()
            seg["end"] = datetime.fromtimestamp(seg.pop("_end"), zone).isoformat()
        it["postures"] = postures
        it["segments"] = segments

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

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    def _day(self, when: datetime) -> str:
        return (when.astimezone(self.tz) if self.tz else when.astimezone()).date().isoformat()


def _empty_day(d: str) -> dict[str, Any]:
    return {
        "date": d, "day": d,  # "day" too: docs/api.md's name for it
        "minutes_seated": 0.0, "spells": 0, "longest_spell_min": 0.0, "breaks": 0,
        "posture_share": {}, "reminders_sent": 0, "reminders_acknowledged": 0, "reminders_by_kind": {},
        "mean_left_share": None,
        # beyond the contract (docs/reminders.md)
        "breaks_taken": 0, "breaks_skipped": 0, "breaks_snoozed": 0,
        "offloads": {"stood": 0, "shifted": 0}, "offload_minutes": {"stood": 0.0, "shifted": 0.0},
        "sitbone_dose": {"left": 0.0, "right": 0.0, "left_upright_min": 0.0, "right_upright_min": 0.0,
                         "left_share": None},
    }


def _parse_at(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
