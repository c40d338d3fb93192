"""The store's sitter records (migration 4): corrections round-trip, undo, the set-up profile."""

from __future__ import annotations

import sqlite3

from monitor.sinks.store import MIGRATIONS, Store


def test_corrections_round_trip_and_undo(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as s:
        assert s.schema_version == len(MIGRATIONS) >= 4
        a = s.add_correction("desk", "upright", "lean_left", {"front": 0.2, "left": 0.56}, t=12.5)
        b = s.add_correction("desk", "slouch", "upright", {"front": 0.1})
        s.add_correction("other", "upright", "forward", {"front": 0.3})
        assert [c["id"] for c in s.corrections("desk")] == [a["id"], b["id"]]
        assert s.undo_correction(a["id"])["undone"] is True
        assert s.undo_correction("0" * 32) is None
    with Store(db) as s:  # after a restart
        rows = s.corrections("desk")
        assert [(r["shown"], r["posture"], r["undone"]) for r in rows] == [
            ("upright", "lean_left", True), ("slouch", "upright", False)]
        assert rows[0]["features"] == {"front": 0.2, "left": 0.56} and rows[0]["t"] == 12.5
        assert [r["id"] for r in s.corrections("desk", include_undone=False)] == [b["id"]]
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM corrections WHERE undone_at IS NOT NULL").fetchone()[0] == 1


def test_profile_save_and_load(tmp_path):
    with Store(tmp_path / "p.db") as s:
        assert s.load_profile("desk") is None
        s.save_profile("desk", {"lean": 0.05, "source": "setup"})
        got = s.load_profile("desk")
        assert got["lean"] == 0.05 and got["source"] == "setup" and got["saved_at"]
