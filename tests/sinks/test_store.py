"""The SQLite store on real files: migrations, WAL, statistics arithmetic, locked and full databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.settings import RulesConfig
from monitor.model import SeatReading
from monitor.sinks.store import MIGRATIONS, Store
from monitor.tracker.tracker import CushionTracker

UTC = UTC
EPOCH = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds the test moves on by hand (the retry backoff runs on it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def open_store(path, **kw) -> Store:
    kw.setdefault("tz", UTC)
    return Store(path, **kw)


def play(store: Store, tr: CushionTracker, script, t0: float = 0.0, dt: float = 1.0):
    """script: [(seconds, present, posture, left_share)]; returns the reminders sent."""
    t = t0
    sent = []
    for seconds, present, posture, ls in script:
        for _ in range(int(seconds / dt)):
            r = SeatReading(t=t, present=present, posture=posture if present else "empty",
                            left_share=ls if present else None)
            u = tr.update(r)
            store.record(tr.cushion, r, u)
            sent += u.reminders
            t += dt
    return sent, t


# ---------------------------------------------------------------- schema


def test_migrates_from_empty_uses_wal_and_reopens_idempotently(tmp_path):
    db = tmp_path / "sub" / "sitwell.db"
    s = open_store(db)
    assert s.schema_version == len(MIGRATIONS) and s.journal_mode == "wal"
    s.save_settings({"rules": {"sit_limit_min": 30}})
    s.close()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"spells", "breaks", "reminders", "minutes", "snapshots", "calibration", "settings"} <= tables
    raw.close()
    s2 = open_store(db)  # second open: no migration runs again, data kept
    assert s2.load_settings() == {"rules": {"sit_limit_min": 30}}
    s2.close()


def test_refuses_a_newer_schema(tmp_path):
    db = tmp_path / "x.db"
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(db)


# ---------------------------------------------------------------- a recorded morning


def test_daily_stats_arithmetic(tmp_path):
    s = open_store(tmp_path / "s.db")
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    # 09:00 sit 30 min (20 upright at 0.5, 10 leaning left at 0.7), 5 min away,
    # 10 min slouched at 0.5, 30 s away (same spell), 5 min upright, then leave.
    script = [
        (1200, True, "upright", 0.5),
        (600, True, "lean_left", 0.7),
        (300, False, "empty", None),
        (600, True, "slouch", 0.5),
        (30, False, "empty", None),
        (300, True, "upright", 0.5),
        (200, False, "empty", None),
    ]
    sent, _ = play(s, tr, script)
    s.ack_reminder(sent[0].id)
    (day,) = s.daily_stats(1, today=date(2026, 11, 24))
    assert day["date"] == "2026-11-24"
    # seated (debounced): each arrival is seen 3 s late and each departure 3 s late, so
    # the total is right and each posture run is shifted by 3 s
    seated_s = 1800 + 600 + 300
    assert day["minutes_seated"] == pytest.approx(seated_s / 60)
    assert day["spells"] == 2 and day["breaks"] == 2
    assert day["longest_spell_min"] == pytest.approx(30.0)
    share = day["posture_share"]
    assert share["lean_left"] == pytest.approx(603 / seated_s, abs=1e-4)
    assert share["slouch"] == pytest.approx(600 / seated_s, abs=1e-4)
    assert share["upright"] == pytest.approx((1197 + 300) / seated_s, abs=1e-4)
    assert share["cross_left"] == 0.0
    assert sum(share.values()) == pytest.approx(1.0, abs=1e-3)
    expect_ls = (1197 * 0.5 + 603 * 0.7 + 600 * 0.5 + 300 * 0.5) / seated_s
    assert day["mean_left_share"] == pytest.approx(expect_ls, abs=1e-3)
    kinds = sorted(r.kind for r in sent)
    assert kinds == ["sit_too_long", "sit_too_long", "slouching", "uneven_load"]
    assert day["reminders_sent"] == 4 and day["reminders_acknowledged"] == 1
    assert day["reminders_by_kind"] == {"sit_too_long": 2, "slouching": 1, "uneven_load": 1}
    s.close()
    # everything survived a restart of the store
    s = open_store(tmp_path / "s.db")
    again = s.daily_stats(3, today="2026-11-25")
    assert [d["date"] for d in again] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert again[1]["minutes_seated"] == day["minutes_seated"] and again[1]["spells"] == 2
    assert again[0]["minutes_seated"] == 0 and again[2]["reminders_sent"] == 0
    assert s.daily_stats(1, cushion="other", today="2026-11-24")[0]["spells"] == 0
    tl = s.timeline("desk-1", "2026-11-24")
    assert [i["type"] for i in tl] == ["spell", "break", "spell", "break"]
    assert tl[0]["seconds"] == 1800.0 and tl[1]["seconds"] == 300.0 and tl[3]["end_at"] is None
    assert tl[0]["postures"]["lean_left"] == pytest.approx(600, abs=1)
    segs = tl[0]["segments"]
    assert [g["posture"] for g in segs] == ["upright", "lean_left"]
    assert segs[0]["start"] == tl[0]["start"] == "2026-11-24T09:00:00+00:00"
    assert segs[0]["end"] == segs[1]["start"] == "2026-11-24T09:20:00+00:00"
    assert segs[1]["end"] == tl[0]["end"] == "2026-11-24T09:30:00+00:00"
    assert [g["posture"] for g in tl[2]["segments"]] == ["slouch", "upright"]
    assert again[1]["day"] == again[1]["date"] == "2026-11-24"
    s.close()


def test_reminders_query_ack_snooze(tmp_path):
    s = open_store(tmp_path / "s.db")
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    sent, _ = play(s, tr, [(2400, True, "slouch", 0.5)])
    tr2 = CushionTracker("desk-2", RulesConfig(), EPOCH + timedelta(hours=1))
    sent2, _ = play(s, tr2, [(200, True, "slouch", 0.5)])
    everything = s.reminders()
    assert len(everything) == len(sent) + len(sent2) == 8
    ats = [datetime.fromisoformat(r["at"]) for r in everything]
    assert ats == sorted(ats, reverse=True)
    assert set(everything[0]) == {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}
    assert [r["id"] for r in s.reminders(cushion="desk-2")] == [sent2[0].id]
    since = EPOCH + timedelta(minutes=30)
    assert {r["id"] for r in s.reminders(since=since.isoformat())} == {
        r.id for r in sent + sent2 if datetime.fromisoformat(r.at) >= since}
    assert s.ack_reminder(sent[0].id)["acknowledged"] is True
    assert s.get_reminder(sent[0].id)["acknowledged"] is True
    assert s.ack_reminder("missing") is None and s.snooze_reminder("missing", 5) is None
    assert "snoozed_until" in s.snooze_reminder(sent[1].id, 10)
    s.close()


class CommitsRightAfterEachRead(Store):
    """The writer thread's worst timing, made certain: it commits what is pending just after
    a query has read the table (as it may on a busy machine)."""

    def _query(self, sql, params=(), fresh=False):
        rows = super()._query(sql, params, fresh)
        self.flush()
        return rows


def test_a_reminder_committed_between_the_two_reads_is_not_missed(tmp_path):
    s = CommitsRightAfterEachRead(tmp_path / "s.db", tz=UTC, batch_s=3600)  # the writer waits
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    sent, _ = play(s, tr, [(200, True, "slouch", 0.5)])
    assert len(sent) == 1  # pending (batch_s: the writer thread has not written it yet)
    assert [r["id"] for r in s.reminders()] == [sent[0].id]
    sent2, _ = play(s, tr, [(2400, True, "slouch", 0.5)], t0=200)
    assert sent2
    assert s.get_reminder(sent2[-1].id) is not None
    s.close()


def test_snapshot_round_trip_brings_the_sent_reminders(tmp_path):
    s = open_store(tmp_path / "s.db")
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    play(s, tr, [(1490, True, "upright", 0.5)])
    s.save_snapshot("desk-1", tr.snapshot())  # saved before the reminder ...
    sent, t = play(s, tr, [(20, True, "upright", 0.5)], t0=1490)
    assert [r.kind for r in sent] == ["sit_too_long"]
    s.close()  # ... then the daemon dies
    s = open_store(tmp_path / "s.db")
    snap = s.load_snapshot("desk-1")
    assert [r["id"] for r in snap["sent_reminders"]] == [sent[0].id]
    new_epoch = EPOCH + timedelta(seconds=t + 10)
    tr2 = CushionTracker.restore(snap, RulesConfig(), new_epoch)
    again, _ = play(s, tr2, [(200, True, "upright", 0.5)])
    assert again == []  # not sent twice
    assert s.load_snapshot("nobody") is None
    s.save_calibration("desk-1", {"offsets": [1, 2, 3]})
    assert s.load_calibration("desk-1") == {"offsets": [1, 2, 3]}
    s.save_settings({"rules": {"sit_limit_min": 30, "cooldown_min": 5}})
    s.save_settings({"rules": {"sit_limit_min": 20}, "analysis": {"sensitivity": 2}})
    assert s.load_settings() == {"rules": {"sit_limit_min": 20, "cooldown_min": 5}, "analysis": {"sensitivity": 2}}
    s.close()


# ---------------------------------------------------------------- locked and full


def test_locked_database_keeps_writes_pending_and_recovers(tmp_path, caplog):
    clock = FakeClock()
    db = tmp_path / "s.db"
    s = open_store(db, clock=clock, writer=False)  # inline writes: the test drives the retries
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    sent, _ = play(s, tr, [(1510, True, "upright", 0.5)])  # must not raise
    h = s.health()
    assert h["errors"] >= 1 and "locked" in h["last_error"] and h["pending_writes"] > 0 and not h["ok"]
    assert any("cannot write" in r.message and r.levelname == "ERROR" for r in caplog.records)
    # reads still see the reminder that could not be written yet
    assert [r["id"] for r in s.reminders()] == [sent[0].id]
    assert s.get_reminder(sent[0].id)["kind"] == "sit_too_long"
    other.execute("ROLLBACK")
    other.close()
    clock.now += 60  # past the backoff
    assert s.flush() is True
    h = s.health()
    assert h["pending_writes"] == 0 and h["ok"]
    s.close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM reminders").fetchone()[0] == 1
    assert raw.execute("SELECT count(*) FROM spells").fetchone()[0] == 1
    # frames t = 0..1509, occupied from t = 3 (debounce): 1506 s between them
    assert raw.execute("SELECT sum(seated_s) FROM minutes").fetchone()[0] == pytest.approx(1506.0)


def test_backoff_grows_while_locked(tmp_path):
    clock = FakeClock()
    db = tmp_path / "s.db"
    s = open_store(db, clock=clock, writer=False)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    waits = []
    for _ in range(8):
        s.save_settings({"rules": {"cooldown_min": 3}})
        waits.append(s.health()["retry_in_s"])
        clock.now += waits[-1]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0] and max(waits) == 30.0
    other.execute("ROLLBACK")
    other.close()
    s.close()
    assert Store(db).load_settings() == {"rules": {"cooldown_min": 3}}


def test_full_disk_bounded_buffer_keeps_reminders(tmp_path):
    clock = FakeClock()
    db = tmp_path / "s.db"
    s = open_store(db, clock=clock, max_pending=50, batch_s=0.0, writer=False)
    pages = s._conn.execute("PRAGMA page_count").fetchone()[0]
    s._conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    sent, _ = play(s, tr, [(4 * 3600, True, "slouch", 0.8)])
    h = s.health()
    assert "full" in h["last_error"] and h["errors"] >= 1
    assert h["pending_writes"] <= 50 and h["dropped_writes"] > 0
    assert len(sent) > 20
    pending_ids = {r["id"] for r in s.reminders(limit=10_000)}
    # the newest reminders are all still pending; minute rows were dropped first
    assert {r.id for r in sent[-20:]} <= pending_ids
    s._conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    clock.now += 60
    assert s.flush()
    assert s.health()["pending_writes"] == 0
    s.close()


def test_record_never_raises_on_a_closed_or_broken_store(tmp_path):
    s = open_store(tmp_path / "s.db")
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    s.close()
    play(s, tr, [(100, True, "upright", 0.5)])
    assert s.reminders() == []  # reading a closed store does not raise ...
    assert s.health()["errors"] >= 1  # ... it is counted
    assert s.daily_stats(2, today="2026-11-24")[1]["spells"] == 0


def test_writer_thread_keeps_record_fast_while_the_database_is_locked(tmp_path):
    db = tmp_path / "s.db"
    s = open_store(db)  # the daemon's mode: a writer thread commits
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    tr = CushionTracker("desk-1", RulesConfig(), EPOCH)
    worst = 0.0
    t = 0.0
    sent = []
    import time as _time

    for _ in range(3000):
        r = SeatReading(t=t, present=True, posture="slouch", left_share=0.5)
        u = tr.update(r)
        a = _time.perf_counter()
        s.record("desk-1", r, u)
        worst = max(worst, _time.perf_counter() - a)
        sent += u.reminders
        t += 1.0
    # the writer met the lock and waited its busy timeout (0.1 s) on every try; record()
    # never waited for it (inline writes would have blocked it for >= 0.1 s at least once)
    assert worst < 0.09, worst
    assert len(sent) >= 5 and s.health()["pending_writes"] > 0
    assert {r["id"] for r in s.reminders()} == {r.id for r in sent}
    other.execute("ROLLBACK")
    other.close()
    deadline = _time.monotonic() + 40  # the writer retries with backoff (at most 30 s apart)
    while s.health()["pending_writes"] and _time.monotonic() < deadline:
        s._wake.set()
        _time.sleep(0.05)
    assert s.health()["pending_writes"] == 0 and s.health()["writer_thread"]
    s.close()
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM reminders").fetchone()[0] == len(sent)


def test_a_later_migration_upgrades_an_existing_database(tmp_path, monkeypatch):
    import monitor.sinks.store.schema as store_mod

    db = tmp_path / "s.db"
    s = open_store(db)
    s.save_settings({"rules": {"cooldown_min": 4}})
    s.close()
    extra = "ALTER TABLE reminders ADD COLUMN channel TEXT; CREATE INDEX reminders_kind ON reminders (kind)"
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, extra])
    n = len(store_mod.MIGRATIONS)
    s = open_store(db)
    assert s.schema_version == n and s.load_settings() == {"rules": {"cooldown_min": 4}}
    s.close()
    s = open_store(db)  # and again: nothing runs twice
    assert s.schema_version == n
    s.close()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == n
    assert "channel" in [r[1] for r in raw.execute("PRAGMA table_info(reminders)")]


def test_a_failing_migration_leaves_the_old_version(tmp_path, monkeypatch):
    import monitor.sinks.store.schema as store_mod

    db = tmp_path / "s.db"
    open_store(db).close()
    monkeypatch.setattr(
        store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, "CREATE TABLE ok (x); SELECT nope FROM nowhere"]
    )
    with pytest.raises(sqlite3.OperationalError):
        Store(db)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ok'").fetchone()[0] == 0


def test_threads_record_and_read_at_once(tmp_path):
    import threading

    s = open_store(tmp_path / "s.db")
    errors = []

    def cushion(name: str, hour: int) -> None:
        try:
            tr = CushionTracker(name, RulesConfig(), EPOCH + timedelta(hours=hour))
            play(s, tr, [(1600, True, "slouch", 0.7), (100, False, "empty", None)])
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    def reader() -> None:
        for _ in range(50):
            s.reminders()
            s.daily_stats(2, today="2026-11-24")

    threads = [threading.Thread(target=cushion, args=(f"c{i}", i)) for i in range(3)] + [
        threading.Thread(target=reader)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    (day,) = s.daily_stats(1, today="2026-11-24")
    assert day["spells"] == 3 and day["breaks"] == 3
    assert day["minutes_seated"] == pytest.approx(3 * 1600 / 60, abs=0.1)
    assert day["reminders_sent"] == len(s.reminders()) and s.health()["errors"] == 0
    s.close()


def test_version_1_minutes_get_posture_columns(tmp_path, monkeypatch):
    """Rows written by schema 1 (postures only as JSON) count in the statistics after migration 2."""
    import monitor.sinks.store.schema as store_mod

    db = tmp_path / "s.db"
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
    Store(db, writer=False).close()
    raw = sqlite3.connect(db)
    raw.execute("INSERT INTO minutes VALUES ('c', '2026-11-24T09:00:00+00:00', 1795510800, '2026-11-24', 60, 50,"
                " '{\"upright\": 30, \"slouch\": 20}', 0.55, 50)")
    raw.commit()
    raw.close()
    monkeypatch.undo()
    s = open_store(db)
    (day,) = s.daily_stats(1, today="2026-11-24")
    assert day["minutes_seated"] == pytest.approx(50 / 60, abs=0.06)  # rounded to 0.1 min
    assert day["posture_share"]["upright"] == pytest.approx(0.6) and day["posture_share"]["slouch"] == pytest.approx(
        0.4
    )
    assert day["mean_left_share"] == pytest.approx(0.55)
    s.close()


# ---------------------------------------------------------------- times that are no date (issue 19.1)


def test_an_update_whose_time_is_no_date_is_refused_and_later_writes_go_through(tmp_path, caplog):
    """A tracker fed t = 1e12 once (before the clock policy bounded it): the store refused
    nothing and failed on every later record with OverflowError. Now the one update is
    refused (counted, logged once), everything around it is written, no traceback."""
    s = open_store(tmp_path / "s.db", writer=False)
    tr = CushionTracker("c", RulesConfig(), EPOCH)
    _, t = play(s, tr, [(120, True, "upright", 0.5)])
    from monitor.model import CushionState
    from monitor.tracker.tracker import TrackerUpdate

    for far in (1e12, float("nan"), -1e12):
        s.record("c", None, TrackerUpdate(state=CushionState("c", far, True, "upright", 0.5, 10.0, far), epoch=EPOCH))
    play(s, tr, [(120, True, "upright", 0.5)], t0=t)
    s.close()
    h = s.health()
    assert h["refused_times"] == 3 and h["errors"] == 0 and h["pending_writes"] == 0, h
    assert "Traceback" not in caplog.text and "record failed" not in caplog.text
    raw = sqlite3.connect(tmp_path / "s.db")
    years = {datetime.fromisoformat(m).year for (m,) in raw.execute("SELECT minute FROM minutes")}
    assert years == {2026} and raw.execute("SELECT count(*) FROM minutes").fetchone()[0] >= 4


def test_a_poisoned_snapshot_is_neither_saved_nor_loaded(tmp_path, caplog):
    import json as _json

    s = open_store(tmp_path / "s.db", writer=False)
    tr = CushionTracker("c", RulesConfig(), EPOCH)
    play(s, tr, [(30, True, "upright", 0.5)])
    good = tr.snapshot()
    s.save_snapshot("c", good)
    s.save_snapshot("c", {**good, "last_t": 1e12})  # refused: the sound one stays
    assert s.load_snapshot("c")["last_t"] == good["last_t"]
    # one saved by an older sitwell, written behind the store's back
    s._conn.execute("UPDATE snapshots SET body = ? WHERE cushion = 'c'",
                    (_json.dumps({**good, "last_t": 1e12, "spell_start": 1e12 - 30}),))
    caplog.clear()
    assert s.load_snapshot("c") is None
    assert len([r for r in caplog.records if "discarding the saved tracker state" in r.getMessage()]) == 1
    s.close()


# ---------------------------------------------------------------- damaged pages (issue 19.5)


def _reminders_db(path, n: int = 3000) -> None:
    import uuid

    from monitor.model import Reminder

    s = open_store(path, writer=False)
    now = datetime.now(UTC)
    for i in range(n):
        s.add_reminder(Reminder(str(uuid.uuid4()), "c", "sit_too_long", float(i),
                                (now - timedelta(minutes=i)).isoformat(), "m" * 50, 60.0, False))
    s.flush()
    s.close()


def _damage(path, pages, page_size: int = 4096) -> None:
    import random

    with open(path, "r+b") as f:
        for page in pages:  # never page 0: the header stays intact
            f.seek(page * page_size)
            f.write(bytes(random.Random(page).randrange(256) for _ in range(page_size)))


def test_damaged_pages_at_start_are_moved_aside_and_readable_rows_kept(tmp_path):
    db = tmp_path / "s.db"
    _reminders_db(db)
    _damage(db, range(60, 200, 7))
    s = open_store(db)
    h = s.health()
    assert h["integrity"]["ok"] is False and h["integrity"]["problem"], h["integrity"]
    assert "damaged" in h["integrity"]["message"]
    moved = Path(h["integrity"]["moved_to"])
    assert moved.exists() and moved.read_bytes()[:16] == b"SQLite format 3\x00"  # the damaged file is kept
    kept = h["integrity"]["rows_kept"]["reminders"]
    assert 1000 < kept < 3000, kept  # most rows survive; the damaged pages' rows are gone
    assert len(s.reminders(limit=5000)) == kept
    s.save_settings({"rules": {"cooldown_min": 4}})  # and the fresh database takes writes
    assert s.health()["ok"] and s.health()["errors"] == 0
    s.close()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_damage_while_running_is_never_reported_ok(tmp_path):
    db = tmp_path / "s.db"
    _reminders_db(db)
    s = open_store(db, writer=False)
    s._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _damage(db, range(2, 226, 3))  # behind the store's back, while it runs
    s._conn.execute("PRAGMA shrink_memory")  # its page cache: read the damaged pages from disk
    from monitor.model import Reminder

    for i in range(10):
        s.add_reminder(Reminder(f"late-{i}", "c", "sit_too_long", 1.0, datetime.now(UTC).isoformat(), "m", 1.0, False))
    s.flush()
    h = s.health()
    assert h["ok"] is False and h["dropped_writes"] > 0 and "malformed" in h["last_error"], h
    s.close()
