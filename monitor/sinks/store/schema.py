"""The store's schema: the ordered, append-only list of migrations and the code that runs them.

Entry i of MIGRATIONS takes a database from `PRAGMA user_version` i to i + 1, in one
transaction; a database newer than the list is refused untouched.
"""

from __future__ import annotations

import logging
import sqlite3

from monitor.model import SEATED_POSTURES

log = logging.getLogger(__name__)

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

# The sitter's own posture thresholds per cushion (analysis/profile.py): the profile the guided
# set-up measured, and every "That's not what I'm doing" correction (undone ones kept, marked).
MIGRATION_4 = ";".join(
    ["CREATE TABLE corrections (id TEXT PRIMARY KEY, cushion TEXT NOT NULL, t REAL, at TEXT NOT NULL,"
     " at_ts REAL NOT NULL, day TEXT NOT NULL, shown TEXT NOT NULL, posture TEXT NOT NULL,"
     " features TEXT NOT NULL, undone_at TEXT)",
     "CREATE INDEX corrections_cushion ON corrections (cushion, at_ts)",
     "CREATE TABLE sitter_profiles (cushion TEXT PRIMARY KEY, saved_at TEXT NOT NULL, body TEXT NOT NULL)"]
)

# The pain and progress journal (monitor/journal, docs/journal.md). IF NOT EXISTS: on the
# journal branch this was the 4th entry before the corrections migration landed, so a
# development database that met it there is still migrated cleanly.
MIGRATION_5 = ";".join(
    ["CREATE TABLE IF NOT EXISTS journal (id TEXT PRIMARY KEY, at TEXT NOT NULL, at_ts REAL NOT NULL,"
     " day TEXT NOT NULL, pain INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10), locations TEXT NOT NULL,"
     " note TEXT NOT NULL, source TEXT NOT NULL, cushion TEXT, reminder_id TEXT, created_at TEXT NOT NULL,"
     " edited_at TEXT)",
     "CREATE INDEX IF NOT EXISTS journal_at ON journal (at_ts)",
     "CREATE INDEX IF NOT EXISTS journal_day ON journal (day)",
     "CREATE TABLE IF NOT EXISTS journal_prompts (id TEXT PRIMARY KEY, day TEXT NOT NULL, at TEXT NOT NULL,"
     " reason TEXT NOT NULL, answered INTEGER NOT NULL DEFAULT 0)",
     "CREATE INDEX IF NOT EXISTS journal_prompts_day ON journal_prompts (day)"]
)

# Ordered; entry i takes the database from user_version i to i + 1. Only ever append.
MIGRATIONS: list[str] = [MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4, MIGRATION_5]
POSTURE_COLUMNS = tuple(f"{p}_s" for p in SEATED_POSTURES)
SITBONE_COLUMNS = ("sitbone_l", "sitbone_r", "sitbone_l_norm", "sitbone_r_norm")


def migrate(conn: sqlite3.Connection) -> int:
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

