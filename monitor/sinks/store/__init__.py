"""SQLite persistence: spells, breaks, reminders, per-minute aggregates, tracker snapshots,
calibration and dashboard settings.

schema.py (the migrations), writer.py (connection, pending writes, writer thread),
queries.py (reads), records.py (the Store: tracker updates as rows, user actions).
"""

from monitor.sinks.store.records import REMINDER_FIELDS, Store
from monitor.sinks.store.schema import MIGRATIONS, POSTURE_COLUMNS, SITBONE_COLUMNS

__all__ = ["MIGRATIONS", "POSTURE_COLUMNS", "REMINDER_FIELDS", "SITBONE_COLUMNS", "Store"]
