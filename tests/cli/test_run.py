"""`sitwell run` (and the commands sharing its flags) as a new user types them, as real
subprocesses: a broker address without a port (issue 17.3), a port already in use (17.9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _sitwell(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """No user config file or data directory of the machine's user leaks in."""
    for key, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "home/.config"), ("XDG_DATA_HOME", "home/.local/share")):
        monkeypatch.setenv(key, str(tmp_path / sub))
    for key in [k for k in os.environ if k.startswith("SITWELL_")]:
        monkeypatch.delenv(key)
    return tmp_path


def test_a_port_in_use_is_one_line_with_the_fix_before_the_database(home):
    db = home / "sitwell.db"
    with socket.socket() as other:  # another program holds the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        proc = _sitwell("run", "--port", str(port), "--db", str(db))
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0]
    assert "Errno" not in proc.stderr and "Traceback" not in proc.stderr
    assert not db.exists()  # checked before the database was created or migrated


def test_a_port_held_by_a_running_sitwell_says_so(home, inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    port = int(d.url.rsplit(":", 1)[1].strip("/"))
    proc = _sitwell("run", "--port", str(port), "--db", str(home / "other.db"))
    assert proc.returncode == 2
    assert "a sitwell is already running there" in proc.stderr and "--port" in proc.stderr
    assert not (home / "other.db").exists()


def test_mqtt_host_without_a_port_is_taken_by_run(home):
    """`sitwell run --mqtt HOST` starts, reading the broker at HOST:1883 (nothing listens
    there: the daemon runs on and says so in its health)."""
    run = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--mqtt", "127.0.0.1", "--port", "0",
                            "--db", str(home / "s.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = run.stdout.readline()
        assert line.startswith("sitwell dashboard: "), (line, run.poll())
        url = line.split(": ", 1)[1].strip().rstrip("/")
        health = httpx.get(url + "/healthz", timeout=5).json()
        assert health["input"] == "mqtt"
    finally:
        run.terminate()
        run.wait(15)


def test_mqtt_host_without_a_port_is_taken_everywhere(home):
    shown = _sitwell("config", "show", "--mqtt", "192.168.1.10")
    assert shown.returncode == 0, shown.stderr
    assert 'host = "192.168.1.10"' in shown.stdout and "port = 1883" in shown.stdout
    shown = _sitwell("config", "show", "--mqtt", "[::1]:1884")
    assert 'host = "::1"' in shown.stdout and "port = 1884" in shown.stdout
    # calibrate reads the broker (nothing there: no frames), it does not refuse the address
    started = time.monotonic()
    cal = _sitwell("calibrate", "--mqtt", "127.0.0.1", "--seconds", "1", "--db", str(home / "s.db"))
    assert cal.returncode == 1 and "frame(s) arrived" in cal.stderr, cal.stderr
    assert "is not HOST" not in cal.stderr and time.monotonic() - started < 50
    bad = _sitwell("run", "--mqtt", "broker:port", "--db", str(home / "s.db"))
    assert bad.returncode == 2 and "the port 'port' is not a number" in bad.stderr


