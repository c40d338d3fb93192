"""Faults: the database cannot be written while the daemon runs - another program holds it
locked (`BEGIN EXCLUSIVE`), or the disk is full (a tiny tmpfs filled up).

Analysis goes on (states over /api/status and SSE, a reminder still goes out and is listed),
the failure is loud (an ERROR log line, /healthz store.ok false with errors and pending
writes), and the kept writes land once the database can be written again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC
from pathlib import Path

import pytest

from tests.plugins.faults import (
    EXIT_PROMPT_S,
    PACE,
    RATE_HZ,
    Cushion,
    SitwellProcess,
    db_rows,
    first_state_event,
    sit_too_long,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.serial


def _run_through_outage(tmp_path: Path, pty_pair, db: Path, block, unblock, error_text: str) -> None:
    """Sit down, make the database unwritable, sit past the limit, make it writable again."""
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        cushion.sit(60, pace=PACE)
        assert wait_until(lambda: db_rows(db, "SELECT count(*) FROM spells")[0][0] == 1, 10)  # written while it could
        assert d.healthz()["store"]["ok"] is True

        block()
        cushion.sit(245, pace=PACE)  # the 5 min limit passes while the database is unwritable
        # analysis went on: the state is live, the reminder went out and is listed
        reminders = wait_until(lambda: sit_too_long(d), 15)
        assert reminders and 299 <= reminders[0]["spell_s"] <= 302, d.log
        assert first_state_event(d.base)["t"] >= cushion.t - 1.0
        assert d.status()["spell_s"] >= 295
        # ... and the failure is loud
        store = wait_until(lambda: (s := d.healthz()["store"])["ok"] is False and s["errors"] > 0 and s, 10)
        assert store, d.healthz()["store"]
        assert store["pending_writes"] > 0 and error_text in (store["last_error"] or ""), store
        assert "ERROR" in d.log and "store: cannot write" in d.log and error_text in d.log
        assert db_rows(db, "SELECT count(*) FROM reminders")[0][0] == 0  # really not written yet

        unblock()
        # retried with backoff (at most 30 s; here a few seconds): everything kept lands
        assert wait_until(lambda: (s := d.healthz()["store"])["ok"] and s["pending_writes"] == 0, 40), \
            d.healthz()["store"]
        assert db_rows(db, "SELECT id FROM reminders") == [(reminders[0]["id"],)]
        assert "writes go through again" in d.log
        assert d.healthz()["store"]["dropped_writes"] == 0
        assert d.input_health().get("drops", {}).get("shed", 0) == 0
    finally:
        d.kill()


def test_database_locked_by_another_program(tmp_path, pty_pair):
    db = tmp_path / "sitwell.db"
    holder: dict[str, sqlite3.Connection] = {}

    def block() -> None:
        conn = sqlite3.connect(db, isolation_level=None, timeout=5)
        conn.execute("BEGIN EXCLUSIVE")
        holder["conn"] = conn

    def unblock() -> None:
        holder["conn"].execute("COMMIT")
        holder["conn"].close()

    _run_through_outage(tmp_path, pty_pair, db, block, unblock, "database is locked")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs (needs root or CAP_SYS_ADMIN, as the test environment has)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_disk_full(tmp_path, pty_pair, tiny_disk):
    db = tiny_disk / "sitwell.db"
    filler = tiny_disk / "filler"

    def block() -> None:
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # take every free block
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        assert os.statvfs(tiny_disk).f_bavail == 0

    def unblock() -> None:
        filler.unlink()

    _run_through_outage(tmp_path, pty_pair, db, block, unblock, "full")


def test_stop_while_the_database_is_locked_is_quick_and_says_what_was_not_saved(tmp_path, pty_pair):
    """SIGTERM during an outage: no hang on the lock; the unsaved writes are named in the log."""
    db = tmp_path / "sitwell.db"
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg, db=db)
    holder = None
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        holder = sqlite3.connect(db, isolation_level=None, timeout=5)
        holder.execute("BEGIN EXCLUSIVE")
        cushion.sit(60, pace=PACE)
        assert wait_until(lambda: d.healthz()["store"]["pending_writes"] > 0, 10)
        took = d.signal(signal.SIGTERM)
    except BaseException:
        d.kill()
        raise
    finally:
        if holder is not None:
            holder.close()
    assert took < 2.0, f"took {took:.2f} s to stop while the database was locked\n{d.log[-2000:]}"
    assert d.proc.returncode == 0, d.log[-2000:]
    assert "could not be saved" in d.log and "database is locked" in d.log, d.log[-2000:]
    assert "Traceback" not in d.log, d.log[-3000:]


def _fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def _record_through_a_full_disk(tmp_path, pty_pair, disk: Path) -> tuple[Path, int, int]:
    """Record while the disk fills up and frees again; returns (recording, frames sent, frames lost)."""
    rec = disk / "raw.jsonl"
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", "--record", str(rec),
                       config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(30, pace=PACE)
        assert wait_until(lambda: rec.exists() and rec.stat().st_size > 8192, 10), (
            rec.exists() and rec.stat().st_size,
            d.log[-1500:],
        )  # some on disk
        filler = _fill(disk)
        cushion.sit(60, pace=PACE)
        assert wait_until(lambda: d.healthz()["record_errors"] > 0, 10), (d.healthz(), d.log[-3000:])
        assert "recording to" in d.log and "failed" in d.log
        st = wait_until(lambda: (s := d.status())["spell_s"] >= 55 and s, 5) or d.status()
        assert st["occupied"] and st["spell_s"] >= 55, st
        assert d.healthz()["store"]["ok"] is True  # the database is elsewhere: unaffected
        lost = d.healthz()["record_errors"]
        filler.unlink()
        cushion.sit(20, pace=PACE)
        assert wait_until(lambda: d.input_health()["frames"] == cushion.sent, 10)
        time.sleep(0.5)
        assert d.healthz()["record_errors"] == lost, "recording did not resume once there was space again"
        d.signal(signal.SIGTERM)
    finally:
        d.kill()
    return rec, cushion.sent, lost


def test_recording_to_a_full_disk_counts_the_loss_and_analysis_goes_on(tmp_path, pty_pair, tiny_disk):
    rec, sent, lost = _record_through_a_full_disk(tmp_path, pty_pair, tiny_disk)
    assert 0 < lost < sent and rec.stat().st_size > 0


def test_recording_through_a_full_disk_stays_readable(tmp_path, pty_pair, tiny_disk):
    from monitor.codec.recording import RecordingReader

    rec, sent, lost = _record_through_a_full_disk(tmp_path, pty_pair, tiny_disk)
    with RecordingReader(rec) as reader:
        frames = list(reader)
    # the frames lost are lost whole (and counted); no line is cut in half
    assert dict(reader.drops) == {}, dict(reader.drops)
    assert len(frames) == sent - lost


def test_damaged_pages_at_start_are_said_plainly_and_what_can_be_read_is_kept(tmp_path):
    """Header intact, pages damaged (issue 19.5): it used to start with /api/reminders [],
    every write failing and dropped, and store.ok true."""
    import random
    import uuid
    from datetime import datetime, timedelta

    from monitor.model import Reminder
    from monitor.sinks.store import Store

    db = tmp_path / "sitwell.db"
    s = Store(db, writer=False)
    now = datetime.now(UTC)
    for i in range(3000):
        s.add_reminder(Reminder(str(uuid.uuid4()), "cushion-1", "sit_too_long", float(i),
                                (now - timedelta(minutes=i)).isoformat(), "stand up " * 6, 60.0, False))
    s.flush()
    s.close()
    with open(db, "r+b") as f:
        for page in range(60, 200, 7):
            f.seek(page * 4096)
            f.write(bytes(random.Random(page).randrange(256) for _ in range(4096)))
    d = SitwellProcess(tmp_path, config=write_config(tmp_path / "sitwell.toml"), db=db)
    try:
        store = d.healthz()["store"]
        assert store["integrity"]["ok"] is False and "damaged" in store["integrity"]["message"], store
        assert "is damaged" in d.log and "moved it to" in d.log, d.log[-2000:]
        moved = Path(store["integrity"]["moved_to"])
        assert moved.exists() and moved.stat().st_size > 0
        kept = store["integrity"]["rows_kept"]["reminders"]
        assert 1000 < kept < 3000
        assert len(d.reminders()) > 0, "the readable reminders are served"
        # the fresh database takes writes
        assert d.client.put("/api/settings", json={"rules": {"cooldown_min": 4}}).status_code == 200
        assert db_rows(db, "SELECT count(*) FROM settings")[0][0] == 1
        h = d.healthz()["store"]
        assert h["ok"] and h["errors"] == 0 and h["dropped_writes"] == 0, h
        assert "Traceback" not in d.log
        assert d.signal(signal.SIGTERM) < EXIT_PROMPT_S
        assert db_rows(db, "PRAGMA quick_check") == [("ok",)]
    finally:
        d.kill()
