"""The journal's storage and checks: a real SQLite file, migrated like the daemon's store."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from monitor.journal import JournalBook, JournalError
from monitor.sinks.store import MIGRATIONS, Store


@pytest.fixture
def book(tmp_path):
    with JournalBook(tmp_path / "s.db") as b:
        yield b


def test_add_get_edit_delete(book):
    e = book.add(4, where="left-buttock, Left Hip", note="  after the\nlong meeting ", source="cli")
    assert e.pain == 4 and e.locations == ["left-buttock", "left-hip"] and e.note == "after the long meeting"
    assert book.get(e.id) == e
    changed = book.update(e.id, {"pain": "6", "where": ["right-leg"], "note": ""})
    assert changed.pain == 6 and changed.locations == ["right-leg"] and changed.note == "" and changed.edited_at
    assert book.update("0" * 32, {"pain": 1}) is None
    assert book.delete(e.id) and book.get(e.id) is None and not book.delete(e.id)


@pytest.mark.parametrize("pain", [-1, 11, 4.5, "a lot", None, True])
def test_bad_pain_is_refused_with_a_message(book, pain):
    with pytest.raises(JournalError, match="0-10"):
        book.add(pain)
    assert book.entries() == []


@pytest.mark.parametrize("field, value, words", [
    ("where", "knee", "not a place"), ("note", "x" * 501, "at most 500"),
    ("at", "yesterday", "not a date"), ("at", (datetime.now() + timedelta(hours=2)).isoformat(), "future"),
], ids=["where", "note", "at-not-a-date", "at-future"])  # fixed ids: xdist workers must collect the same names
def test_bad_fields_are_refused(book, field, value, words):
    with pytest.raises(JournalError, match=words):
        book.add(3, **{field: value})


def test_edit_refuses_unknown_fields(book):
    e = book.add(2)
    with pytest.raises(JournalError, match="cannot change source"):
        book.update(e.id, {"source": "mqtt"})


def test_ranges_export_and_erase(book, tmp_path):
    for day in range(1, 8):
        book.add(day, at=f"2026-11-0{day}T10:00:00", note=f'day {day}, "quoted"')
    assert [e.pain for e in book.entries("2026-11-03", "2026-11-05")] == [3, 4, 5]
    assert [e.pain for e in book.entries(limit=2)] == [6, 7]
    csv_text = book.export_csv("2026-11-06", None)
    assert csv_text.splitlines()[0].startswith("at,day,pain,where,note")
    assert '"day 6, ""quoted"""' in csv_text and len(csv_text.splitlines()) == 3
    with pytest.raises(JournalError, match="both --from and --to"):
        book.delete_range("2026-11-02", None)
    with pytest.raises(JournalError, match="after"):
        book.delete_range("2026-11-05", "2026-11-02")
    assert book.delete_range("2026-11-02", "2026-11-04") == 3
    assert [e.pain for e in book.entries()] == [1, 5, 6, 7]
    assert book.daily_pain("2026-11-01", "2026-11-30")["2026-11-05"] == {"worst": 5, "mean": 5.0, "n": 1}
    assert book.erase() == 4 and book.entries() == []
    files = [p for p in tmp_path.iterdir() if p.name.startswith("s.db")]
    assert any(p.name == "s.db-wal" for p in files) or files  # WAL mode: old pages could hide in the -wal
    for path in files:  # erased for good: no old page left behind in the file or its WAL
        assert b"quoted" not in path.read_bytes(), path.name


def test_same_file_as_the_store_and_migrated_once(tmp_path):
    db = tmp_path / "s.db"
    store = Store(db, writer=False)
    with JournalBook(db) as book:
        book.add(5)
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT pain FROM journal").fetchall() == [(5,)]
    # a store opened on a file the journal created first is happy too
    Store(db, writer=False).close()


def test_journal_settings_give_clear_errors(tmp_path):
    from monitor.config.settings import ConfigError, load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text('[journal]\nprompt_times = ["17:30", "25:00"]\n')
    with pytest.raises(ConfigError, match="25:00"):
        load_settings(str(cfg), {})
    cfg.write_text("[journal]\nmin_days_for_associations = 5\n")
    with pytest.raises(ConfigError, match="min_days_for_associations"):
        load_settings(str(cfg), {})
    cfg.write_text('[journal]\nprompt_times = ["17:30"]\nmax_prompts_per_day = 1\n')
    assert load_settings(str(cfg), {}).journal.prompt_times == ["17:30"]
