"""The store's sitter records: posture corrections ("That's not what I'm doing") and the
profile the guided set-up measured, per cushion (migration 4). Written at once, in the
caller's thread, like every user action; read back by the daemon to tune the sitter's
thresholds (analysis/profile.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from monitor.sinks.store.writer import Write


class SitterRecords:
    """Mixed into Store (needs its `_queue`, `_query` and `_day`)."""

    def add_correction(self, cushion: str, shown: str, posture: str, features: dict[str, Any],
                       t: float | None = None, at: datetime | None = None) -> dict[str, Any]:
        when = (at or datetime.now().astimezone()).astimezone()
        row = {"id": uuid.uuid4().hex, "cushion": cushion, "t": t, "at": when.isoformat(timespec="seconds"),
               "shown": shown, "posture": posture, "features": features, "undone": False}
        self._queue(Write(  # type: ignore[attr-defined]
            "INSERT INTO corrections (id, cushion, t, at, at_ts, day, shown, posture, features)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (row["id"], cushion, t, row["at"], when.timestamp(), self._day(when), shown, posture,  # type: ignore[attr-defined]
             json.dumps(features))), urgent=True, now=True)
        return row

    def undo_correction(self, correction_id: str) -> dict[str, Any] | None:
        """Mark one undone (it no longer tunes anything); the correction, or None if unknown."""
        found = self.get_correction(correction_id)
        if found is None:
            return None
        self._queue(Write("UPDATE corrections SET undone_at = coalesce(undone_at, ?) WHERE id = ?",  # type: ignore[attr-defined]
                          (datetime.now().astimezone().isoformat(timespec="seconds"), correction_id)),
                    urgent=True, now=True)
        return {**found, "undone": True}

    def get_correction(self, correction_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM corrections WHERE id = ?", (correction_id,), fresh=True)  # type: ignore[attr-defined]
        return _correction_json(rows[0]) if rows else None

    def corrections(self, cushion: str | None = None, include_undone: bool = True) -> list[dict[str, Any]]:
        """Oldest first."""
        where, params = [], []
        if cushion is not None:
            where.append("cushion = ?")
            params.append(cushion)
        if not include_undone:
            where.append("undone_at IS NULL")
        sql = "SELECT * FROM corrections" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY at_ts, rowid"
        return [_correction_json(r) for r in self._query(sql, params, fresh=True)]  # type: ignore[attr-defined]

    def save_profile(self, cushion: str, profile: dict[str, Any]) -> None:
        self._queue(Write("INSERT OR REPLACE INTO sitter_profiles (cushion, saved_at, body) VALUES (?,?,?)",  # type: ignore[attr-defined]
                          (cushion, datetime.now().astimezone().isoformat(timespec="seconds"), json.dumps(profile)),
                          key=f"profile:{cushion}"), urgent=True, now=True)

    def load_profile(self, cushion: str) -> dict[str, Any] | None:
        rows = self._query("SELECT body, saved_at FROM sitter_profiles WHERE cushion = ?", (cushion,), fresh=True)  # type: ignore[attr-defined]
        if not rows:
            return None
        body = json.loads(rows[0]["body"])
        return {**body, "saved_at": rows[0]["saved_at"]} if isinstance(body, dict) else None


def _correction_json(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "cushion": row["cushion"], "t": row["t"], "at": row["at"], "shown": row["shown"],
            "posture": row["posture"], "features": json.loads(row["features"]), "undone": row["undone_at"] is not None}
