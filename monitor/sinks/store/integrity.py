"""A damaged database at start: found by `PRAGMA quick_check`, said plainly, and what can be
read is kept (issue 19.5).

A file whose header is intact but whose pages are damaged opened fine before: reads
answered `[]`, every write failed with "database disk image is malformed" and was
dropped, and `store.ok` stayed true. Now, before the store opens it:

1. `quick_check` (reads every page once; a year of minutes takes well under a second).
2. Damaged: the file (with its -wal/-shm) is moved aside to `<db>.damaged-<time>`, never
   deleted, and a fresh database is made in its place by the normal migrations.
3. Salvage: every table of the schema is copied from the damaged file row by row in
   rowid order; a row or a run of pages that cannot be read is skipped (seeking past it in
   growing steps), like the sqlite3 shell's `.recover` but into sitwell's own schema.
4. The outcome is `Salvage`, which the store reports in `health()["integrity"]` (so in
   /healthz and on the dashboard) and logs as one ERROR line.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_PROBLEMS = 5  # quick_check lines kept for the report
SKIP_FIRST = 1  # rowids skipped after an unreadable one; doubles while reads keep failing
BATCH = 500


@dataclass
class Salvage:
    problem: str  # quick_check's first findings
    moved_to: str
    rows_kept: dict[str, int] = field(default_factory=dict)
    tables_lost: list[str] = field(default_factory=list)  # not readable at all

    def as_dict(self) -> dict[str, Any]:
        return {"ok": False, "problem": self.problem, "moved_to": self.moved_to, "rows_kept": dict(self.rows_kept),
                "tables_lost": list(self.tables_lost),
                "message": f"the database was damaged at start; it was moved to {self.moved_to} and "
                           f"{sum(self.rows_kept.values())} readable rows were kept in a fresh one"}


def quick_check(path: Path) -> str | None:
    """None if the database at `path` passes quick_check, else what it found."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchmany(MAX_PROBLEMS)]
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return None  # busy, not damaged: the store's own retry logic deals with locks
        if "file is not a database" in str(exc):
            return None  # no SQLite header at all: not sitwell's to move (refused at open, left alone)
        return str(exc)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows)


def move_aside(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            shutil.move(str(src), f"{target}{suffix}")
    return target


def salvage_into(conn: sqlite3.Connection, damaged: Path, salvage: Salvage) -> None:
    """Copy what can be read from `damaged` into the fresh database behind `conn`."""
    try:
        src = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error as exc:
        salvage.tables_lost.append(f"* ({exc})")
        return
    try:
        ours = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in ours:
            try:
                cols_src = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
            except sqlite3.DatabaseError:
                cols_src = set()
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] in cols_src]
            if not cols:
                salvage.tables_lost.append(table)
                continue
            salvage.rows_kept[table] = _copy_table(src, conn, table, cols)
    finally:
        src.close()


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, cols: list[str]) -> int:
    names = ", ".join(cols)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})"
    select = f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}"
    kept, after, skip, failures = 0, -(1 << 62), SKIP_FIRST, 0
    try:
        top = src.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    except sqlite3.DatabaseError:
        top = None
    dst.execute("BEGIN")
    try:
        while failures < 64:
            try:
                rows = src.execute(select, (after,)).fetchall()
            except sqlite3.DatabaseError:
                rows = _one_by_one(src, table, names, after)
                if not rows:  # a run of unreadable pages: seek past it in growing steps
                    failures += 1
                    after = (after if after > -(1 << 62) else 0) + skip
                    skip *= 2
                    if top is not None and after > top:
                        break
                    continue
            if not rows:
                break
            skip, failures = SKIP_FIRST, 0
            for row in rows:
                try:
                    dst.execute(insert, tuple(row[1:]))
                    kept += 1
                except sqlite3.Error:
                    pass  # a row the schema refuses (damaged values): skipped
            after = rows[-1][0]
        dst.execute("COMMIT")
    except BaseException:
        dst.execute("ROLLBACK")
        raise
    return kept


def _one_by_one(src: sqlite3.Connection, table: str, names: str, after: int) -> list[tuple[Any, ...]]:
    """The rows after `after` up to the first unreadable one."""
    out: list[tuple[Any, ...]] = []
    try:
        for row in src.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}",
                               (after,)):
            out.append(tuple(row))
    except sqlite3.DatabaseError:
        pass
    return out
