"""Faults: the database cannot be written while the daemon runs - another program holds it
locked (`BEGIN EXCLUSIVE`), or the disk is full (a tiny tmpfs filled up).

Analysis goes on (states over /api/status and SSE, a reminder still goes out and is listed),
the failure is loud (an ERROR log line, /healthz store.ok false with errors and pending
writes), and the kept writes land once the database can be written again.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.plugins.faults import Cushion, SitwellProcess, db_rows, first_state_event, wait_until, write_config

pytestmark = pytest.mark.serial

RATE_HZ = 2.0
PACE = 40.0


def _sit_too_long(d: SitwellProcess) -> list[dict]:
    return [r for r in d.reminders() if r["kind"] == "sit_too_long"]


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
        reminders = wait_until(lambda: _sit_too_long(d), 15)
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
        assert d.input_health().get("drops", {}).get("queue_full", 0) == 0
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
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


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
