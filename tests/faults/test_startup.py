"""Faults met at start-up: a damaged database file, a database from a newer sitwell.

`sitwell run` must not crash with a traceback (systemd would restart it in a loop with
nothing useful in the journal): it says in one line which file is wrong and what to do,
exits with status 1, and leaves the file exactly as it was (nothing lost).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.plugins.faults import REPO, free_port


def _run(db) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITWELL_")}
    return subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--port", str(free_port()), "--db", str(db)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_damaged_database_file_is_reported_in_one_line_and_left_alone(tmp_path):
    db = tmp_path / "sitwell.db"
    junk = bytes(range(256)) * 40  # not an SQLite file
    db.write_bytes(junk)
    r = _run(db)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert errors and str(db) in errors[0] and "not a database" in errors[0], r.stderr
    assert db.read_bytes() == junk


def test_database_of_a_newer_schema_is_refused_and_left_alone(tmp_path):
    db = tmp_path / "sitwell.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("INSERT INTO future VALUES (42)")
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()
    r = _run(db)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert "newer than this sitwell" in r.stderr
    # not migrated, nothing added or removed (only the journal mode may have been set to WAL)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 999
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("future",)]
    assert conn.execute("SELECT x FROM future").fetchall() == [(42,)]
    conn.close()
