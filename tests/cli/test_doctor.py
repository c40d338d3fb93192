"""`sitwell doctor` on real set-ups: a pty as the serial port, a real Mosquitto, real sockets."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from tests.conftest import free_port


def doctor(*args: str):
    result = CliRunner().invoke(main, ["doctor", *args])
    lines = {}
    for line in result.output.splitlines():
        parts = line.split(None, 2)
        if parts and parts[0] in ("OK", "FAIL", "WARN"):
            lines[parts[1]] = (parts[0], line)
    return result, lines


@pytest.mark.mqtt
@pytest.mark.serial
def test_good_setup_passes(home, pty_pair, mosquitto_session):
    cfg = home / "sitwell.toml"
    db_dir = home / "db"
    db_dir.mkdir()
    cfg.write_text(
        f'[serial]\nport = "{pty_pair.path}"\ncodec = "text"\n'
        f'[mqtt]\nhost = "{mosquitto_session.host}"\nport = {mosquitto_session.port}\n'
        f'[store]\ndb = "{db_dir / "sitwell.db"}"\n'
        f"[dashboard]\nport = {free_port()}\n"
    )
    result, checks = doctor("--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert set(checks) == {"config", "serial", "broker", "database", "dashboard"}
    assert all(status == "OK" for status, _ in checks.values()), result.output
    assert "CONNACK" in checks["broker"][1]
    assert "WAL" in checks["database"][1]
    assert "all checks passed" in result.output
    assert not any(p.name.startswith(".sitwell-doctor") for p in db_dir.iterdir())  # scratch db cleaned up


def test_missing_serial_port_fails_with_a_fix(home):
    missing = home / "ttyACM9"
    result, checks = doctor("--serial", str(missing), "--db", str(home / "s.db"), "--port", "0")
    assert result.exit_code == 1
    status, line = checks["serial"]
    assert status == "FAIL" and f"{missing} does not exist" in line
    assert "fix: plug the cushion in" in result.output
    assert "1 problem(s) found" in result.output


def test_unreachable_broker_fails_with_a_fix(home):
    port = free_port()  # nothing listens here
    result, checks = doctor("--mqtt", f"127.0.0.1:{port}", "--db", str(home / "s.db"), "--port", "0")
    assert result.exit_code == 1
    status, line = checks["broker"]
    assert status == "FAIL" and f"cannot reach 127.0.0.1:{port}" in line
    assert "fix: start the broker" in result.output


def test_a_port_that_is_not_mqtt_fails_the_connack(home):
    """TCP connects but no CONNACK ever comes (an HTTP server, a wrong port)."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):  # the accept timed out: look at stop again
                conns.append(srv.accept()[0])  # accept, read nothing, answer nothing

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        result, checks = doctor("--mqtt", f"127.0.0.1:{port}", "--db", str(home / "s.db"), "--port", "0")
    finally:
        stop.set()
        t.join()
        for c in conns:
            c.close()
        srv.close()
    assert result.exit_code == 1
    status, line = checks["broker"]
    assert status == "FAIL" and "MQTT connect failed" in line and "CONNACK" in line


def test_dashboard_port_taken_by_another_program(home):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result, checks = doctor("--port", str(port), "--db", str(home / "s.db"))
    assert result.exit_code == 1
    status, line = checks["dashboard"]
    assert status == "FAIL" and "in use by another program" in line
    assert "fix: pick another port" in result.output


def test_not_a_database_fails(home):
    db = home / "s.db"
    db.write_bytes(b"this is not sqlite" * 100)
    result, checks = doctor("--db", str(db), "--port", "0")
    assert result.exit_code == 1
    assert checks["database"][0] == "FAIL"
    assert "not a database" in checks["database"][1]


def test_existing_database_is_opened_in_wal(home):
    import sqlite3

    db = home / "s.db"
    sqlite3.connect(db).close()
    result, checks = doctor("--db", str(db), "--port", "0")
    assert result.exit_code == 0, result.output
    assert checks["database"][0] == "OK"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_config_fails_first(home):
    cfg = home / "bad.toml"
    cfg.write_text("[serial]\nbaud = 12\n")
    result, checks = doctor("--config", str(cfg))
    assert result.exit_code == 1
    assert checks["config"][0] == "FAIL" and "serial.baud" in result.output
    assert list(checks) == ["config"]  # nothing else can be checked without a config


def test_open_dashboard_without_token_fails(home):
    result, checks = doctor("--host", "0.0.0.0", "--port", "0", "--db", str(home / "s.db"))
    assert result.exit_code == 1
    assert checks["dashboard"][0] == "FAIL" and "token" in result.output


def test_world_readable_secrets_warn_but_do_not_fail(home):
    cfg = home / "c.toml"
    cfg.write_text('[dashboard]\nport = 0\ntoken = "abc"\n')
    cfg.chmod(0o644)
    result, checks = doctor("--config", str(cfg), "--db", str(home / "s.db"))
    assert result.exit_code == 0, result.output
    assert checks["secrets"][0] == "WARN" and "dashboard.token" in checks["secrets"][1]
    assert f"fix: chmod 600 {cfg}" in result.output
    cfg.chmod(0o600)
    result, checks = doctor("--config", str(cfg), "--db", str(home / "s.db"))
    assert checks["secrets"][0] == "OK"
