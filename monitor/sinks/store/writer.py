"""The store's write machinery: one SQLite connection, a bounded buffer of pending writes and
the writer thread that commits them.

Why it is built this way (the analysis must never wait for the disk):
- One connection (check_same_thread=False) guarded by one lock, and a writer thread.
  Writes are appended to a pending buffer (its own small lock); the writer thread commits
  them when something urgent is queued (a reminder, a spell or break edge) or when
  completed minutes have waited `batch_s`. A commit, a WAL checkpoint or a locked database
  therefore never stalls analysis. `now=True` writes (user actions) go in the caller's
  thread so the next read sees them. With `writer=False` (tests, one-shot tools) the same
  writes happen inline instead.
- The busy timeout is short (`busy_timeout_s`, 0.1 s): a locked database never stalls
  analysis for long. A failed write ("database is locked", "database or disk is full")
  leaves the writes in the buffer, retried with exponential backoff (0.5 s doubling to
  30 s); errors are logged loudly and counted in `health()`; nothing is raised to the
  caller. When the buffer is full the oldest minute rows are dropped first (counted).
- WAL journal, so readers (the report, the dashboard) do not block the writer.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.sinks.store import integrity, schema

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Write:
    sql: str
    params: tuple[Any, ...]
    minute: bool = False  # a minute row: dropped first when the buffer is full
    key: str | None = None  # writes with the same key replace each other (snapshots)


class WriteBuffer:
    """The connection, the pending writes and the writer thread; `health()` reports on them."""

    def __init__(
        self,
        path: str | Path,
        *,
        batch_s: float,
        busy_timeout_s: float,
        max_pending: int,
        clock: Callable[[], float] = time.monotonic,
        writer: bool = True,
    ):
        self.path = Path(path).expanduser()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_s = batch_s
        self.max_pending = max_pending
        self._clock = clock
        salvage = None
        if str(path) != ":memory:" and self.path.exists() and self.path.stat().st_size > 0:
            problem = integrity.quick_check(self.path)
            if problem is not None:
                salvage = integrity.Salvage(problem, str(integrity.move_aside(self.path)))
        self.integrity = salvage
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
        self.schema_version = schema.migrate(self._conn)
        if salvage is not None:
            integrity.salvage_into(self._conn, Path(salvage.moved_to), salvage)
            log.error("store: the database %s is damaged (%s); moved it to %s and kept the %d readable rows in a"
                      " fresh database%s", self.path, " ".join(salvage.problem.split())[:200], salvage.moved_to,
                      sum(salvage.rows_kept.values()),
                      f"; unreadable: {', '.join(salvage.tables_lost)}" if salvage.tables_lost else "")
        self._pending: deque[Write] = deque()
        self._urgent = False
        self._oldest_minute_at: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._failing = False  # the last write attempt failed (cleared by the next commit)
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

    # ------------------------------------------------------------------ write machinery

    def _queue(self, w: Write, urgent: bool = False, now: bool = False) -> None:
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
                if "malformed" in str(exc):
                    log.error("store: the database %s is damaged (%s): writes are lost until sitwell is restarted,"
                              " which moves it aside and keeps what can be read", self.path, exc)
                else:
                    log.error("store: a write was refused (%s); writing one by one", exc)
                self._write_singly(batch)
                return not self._pending
            self._failing = False
            self._done(batch)
            self.written += len(batch)
            if self._backoff:
                log.warning("store: writes go through again (%d pending writes saved)", len(batch))
            self._backoff = 0.0
            self._retry_at = 0.0
            return True

    def _write_singly(self, batch: list[Write]) -> None:
        done: list[Write] = []
        for w in batch:
            try:
                self._conn.execute(w.sql, w.params)
                self.written += 1
            except sqlite3.OperationalError as exc:
                self._failed(exc, len(batch) - len(done))
                break
            except sqlite3.Error as exc:
                self.dropped_writes += 1
                self._failing = True
                log.error("store: dropping a write the database refuses: %s (%s)", exc, w.sql.split("(")[0])
            done.append(w)
        self._done(done)

    def _done(self, written: list[Write]) -> None:
        """Take written rows out of the buffer (others may have been added meanwhile)."""
        ids = {id(w) for w in written}
        with self._plock:
            self._pending = deque(w for w in self._pending if id(w) not in ids)
            self._urgent = any(not w.minute for w in self._pending)
            if not any(w.minute for w in self._pending):
                self._oldest_minute_at = None

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def _failed(self, exc: Exception, n: int) -> None:
        self._failing = True
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
            # never ok while writes fail (a damaged page refuses every write and empties the buffer)
            "ok": (not self._pending or self._backoff == 0.0) and not self._failing,
            "pending_writes": len(self._pending),
            "written": self.written,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "dropped_writes": self.dropped_writes,
            "refused_times": getattr(self, "refused_times", 0),
            "retry_in_s": round(max(0.0, self._retry_at - self._clock()), 2) if self._pending else 0.0,
            "writer_thread": self._writer is not None and self._writer.is_alive(),
            "integrity": self.integrity.as_dict() if self.integrity is not None else {"ok": True},
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
