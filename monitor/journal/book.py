"""The journal's storage: entries in the store's SQLite file (table `journal`, store migration
"journal" in monitor/sinks/store/schema.py), with add, edit, delete, ranges, export and erase.

Its own connection to the same file (WAL: the daemon's writer and this do not block each
other for long), so `sitwell log` works whether or not the daemon runs, and the daemon's
hot write path is untouched. Every write commits at once: a logged pain is never buffered.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
import threading
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.journal.entries import (
    JournalEntry,
    JournalError,
    check_at,
    check_locations,
    check_note,
    check_pain,
    check_source,
)
from monitor.sinks.store import schema

log = logging.getLogger(__name__)

COLUMNS = ("id", "at", "at_ts", "day", "pain", "locations", "note", "source", "cushion", "reminder_id",
           "created_at", "edited_at")
EDITABLE = ("pain", "where", "locations", "note", "at")
BUSY_TIMEOUT_S = 5.0  # a user's write may wait for the daemon's commit; it must not be lost


def _now() -> datetime:
    return datetime.now().astimezone()


def _day_of(when: datetime) -> str:
    return when.astimezone().date().isoformat()


def _row_entry(row: sqlite3.Row) -> JournalEntry:
    data = dict(row)
    data["locations"] = [x for x in data["locations"].split(",") if x]
    return JournalEntry(**data)


def check_day(value: str | date | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise JournalError(f"{name}: {value!r} is not a day (YYYY-MM-DD)") from None


class JournalBook:
    """Journal entries in one SQLite file. Thread-safe (one lock around the connection)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                     isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA secure_delete=ON")  # a deleted entry's text is overwritten, not left in free pages
        schema.migrate(self._conn)  # no-op when the daemon's store has migrated the file already

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> JournalBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writes ------------------------------------------------------------------------

    def add(self, pain: Any, *, where: Any = None, note: Any = None, at: Any = None, source: str = "cli",
            cushion: str | None = None, reminder_id: str | None = None) -> JournalEntry:
        """Validate and store one entry; raises JournalError with a message for the user."""
        when = check_at(at)
        entry = JournalEntry(
            id=uuid.uuid4().hex, at=when.isoformat(timespec="seconds"), at_ts=when.timestamp(), day=_day_of(when),
            pain=check_pain(pain), locations=check_locations(where), note=check_note(note),
            source=check_source(source), cushion=cushion, reminder_id=reminder_id,
            created_at=_now().isoformat(timespec="seconds"),
        )
        row = entry.as_dict()
        row["locations"] = ",".join(entry.locations)
        with self._lock:
            self._conn.execute(f"INSERT INTO journal ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                               [row[c] for c in COLUMNS])
        log.info("journal: pain %d logged (%s)", entry.pain, entry.source)
        return entry

    def update(self, entry_id: str, changes: dict[str, Any]) -> JournalEntry | None:
        """Change some of pain, where, note, at; None when there is no such entry."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise JournalError(f"cannot change {', '.join(unknown)}: only pain, where, note and at")
        sets: dict[str, Any] = {}
        if "pain" in changes:
            sets["pain"] = check_pain(changes["pain"])
        if "where" in changes or "locations" in changes:
            sets["locations"] = ",".join(check_locations(changes.get("where", changes.get("locations"))))
        if "note" in changes:
            sets["note"] = check_note(changes["note"])
        if "at" in changes:
            when = check_at(changes["at"])
            sets.update(at=when.isoformat(timespec="seconds"), at_ts=when.timestamp(), day=_day_of(when))
        sets["edited_at"] = _now().isoformat(timespec="seconds")
        with self._lock:
            cur = self._conn.execute(f"UPDATE journal SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                                     [*sets.values(), entry_id])
        return self.get(entry_id) if cur.rowcount else None

    def delete(self, entry_id: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM journal WHERE id = ?", [entry_id]).rowcount > 0

    def delete_range(self, first: str | date | None, last: str | date | None) -> int:
        """Delete entries from day `first` to day `last`, both included; both are required."""
        first_day, last_day = check_day(first, "from"), check_day(last, "to")
        if first_day is None or last_day is None:
            raise JournalError("deleting a range needs both --from and --to (YYYY-MM-DD); `erase` deletes everything")
        if first_day > last_day:
            raise JournalError(f"from {first_day} is after to {last_day}")
        with self._lock:
            n = self._conn.execute("DELETE FROM journal WHERE day BETWEEN ? AND ?", [first_day, last_day]).rowcount
        log.info("journal: %d entries deleted (%s to %s)", n, first_day, last_day)
        return n

    def erase(self) -> int:
        """Every entry and every prompt record, gone; VACUUM and a WAL checkpoint so neither the
        file nor its write-ahead log keeps an old page with them."""
        with self._lock:
            n = self._conn.execute("DELETE FROM journal").rowcount
            self._conn.execute("DELETE FROM journal_prompts")
            self._conn.execute("VACUUM")
            busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:  # a reader (the daemon) held an old snapshot: the WAL is overwritten as it is reused
            log.warning("journal erase: the write-ahead log could not be truncated yet (a reader is open)")
        log.info("journal: erased (%d entries)", n)
        return n

    # ---- reads -------------------------------------------------------------------------

    def get(self, entry_id: str) -> JournalEntry | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM journal WHERE id = ?", [entry_id]).fetchone()
        return _row_entry(row) if row else None

    def entries(self, first: str | date | None = None, last: str | date | None = None,
                limit: int | None = None) -> list[JournalEntry]:
        """Entries with day in [first, last] (either open), oldest first."""
        first_day, last_day = check_day(first, "from"), check_day(last, "to")
        sql = "SELECT * FROM journal WHERE day >= ? AND day <= ? ORDER BY at_ts"
        params: list[Any] = [first_day or "0000-00-00", last_day or "9999-99-99"]
        if limit is not None:
            sql = f"SELECT * FROM ({sql.replace('ORDER BY at_ts', 'ORDER BY at_ts DESC')} LIMIT ?) ORDER BY at_ts"
            params.append(int(limit))
        with self._lock:
            return [_row_entry(r) for r in self._conn.execute(sql, params).fetchall()]

    def recent(self, days: int, today: date | None = None) -> list[JournalEntry]:
        today = today or _now().date()
        return self.entries((today - timedelta(days=days - 1)).isoformat(), today.isoformat())

    def daily_pain(self, first: str, last: str) -> dict[str, dict[str, Any]]:
        """Per day with entries: the day's highest and mean pain and how many entries."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT day, max(pain) AS worst, avg(pain) AS mean, count(*) AS n FROM journal"
                " WHERE day BETWEEN ? AND ? GROUP BY day", [first, last]).fetchall()
        return {r["day"]: {"worst": r["worst"], "mean": round(r["mean"], 2), "n": r["n"]} for r in rows}

    def export_csv(self, first: str | None = None, last: str | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["at", "day", "pain", "where", "note", "source", "cushion", "edited_at", "id"])
        for e in self.entries(first, last):
            writer.writerow([e.at, e.day, e.pain, " ".join(e.locations), e.note, e.source, e.cushion or "",
                             e.edited_at or "", e.id])
        return out.getvalue()

    def export_json(self, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.entries(first, last)]

    # ---- prompts (monitor/journal/prompts.py decides; this remembers) --------------------

    def prompts_on(self, day: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM journal_prompts WHERE day = ? ORDER BY at", [day]).fetchall()
        return [dict(r) for r in rows]

    def add_prompt(self, prompt_id: str, day: str, at: str, reason: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO journal_prompts (id, day, at, reason) VALUES (?, ?, ?, ?)",
                               [prompt_id, day, at, reason])

    def answer_prompt(self, prompt_id: str) -> bool:
        with self._lock:
            return self._conn.execute("UPDATE journal_prompts SET answered = 1 WHERE id = ?",
                                      [prompt_id]).rowcount > 0
