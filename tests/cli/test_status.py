"""`sitwell status` and `sitwell dnd` over real HTTP.

Two servers: the real daemon (`sitwell run` as a subprocess, simulated cushion), and the
real dashboard app (`dashboard.app.create_app`) under uvicorn over a small in-test
runtime with known values, so the summary's every field can be checked exactly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from dashboard.app import create_app
from monitor.cli.main import main
from monitor.config.settings import RulesConfig
from tests.conftest import free_port

SITWELL = Path(sys.executable).parent / "sitwell"
TOKEN = "s3cret-token"




class KnownRuntime:
    """The daemon's Runtime protocol with fixed answers (what the dashboard app asks for)."""

    def __init__(self) -> None:
        self.rules = RulesConfig()
        self.paused_until: str | None = None

    def pause_status(self) -> dict[str, Any]:
        if self.paused_until is None:
            return {"paused": False}
        return {"paused": True, "until": self.paused_until, "remaining_s": 1500.0}

    def status(self) -> list[dict[str, Any]]:
        return [
            {"cushion": "desk-1", "occupied": True, "posture": "lean_left", "left_share": 0.62,
             "spell_s": 754.4, "connected": True, "last_frame_age_s": 0.12},
            {"cushion": "desk-2", "occupied": False, "posture": "empty", "left_share": None,
             "spell_s": 0.0, "connected": False, "last_frame_age_s": 42.0},
        ]

    def health(self, cushion: str | None = None) -> dict[str, Any]:
        inputs = [
            {"input": "mqtt", "cushion": "desk-1", "connected": True, "frames": 1234,
             "drops": {"bad_crc": 2, "bad_length": 1}, "last_frame_age_s": 0.12, "error": None},
            {"input": "mqtt", "cushion": "desk-2", "connected": False, "frames": 10,
             "drops": {}, "last_frame_age_s": 42.0, "error": "status offline"},
        ]
        return {"status": "ok", "inputs_total": len(inputs),
                "inputs": [h for h in inputs if cushion in (None, h["cushion"])]}

    def settings(self) -> dict[str, Any]:
        return {"rules": self.rules.model_dump(), "analysis": {}}

    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        self.rules = RulesConfig(**{**self.rules.model_dump(), **patch.get("rules", {})})
        return self.settings()

    def reminders(self, since=None, cushion=None):
        self.since = since
        return [
            {"id": "r2", "cushion": "desk-1", "kind": "uneven_load", "t": 800.0, "at": "2026-11-24T09:13:20+00:00",
             "message": "Sit evenly on both sit bones.", "spell_s": 800.0, "acknowledged": False},
            {"id": "r1", "cushion": "desk-1", "kind": "sit_too_long", "t": 100.0, "at": "2026-11-24T09:01:40+00:00",
             "message": "Stand up.", "spell_s": 100.0, "acknowledged": True},
        ]

    def acknowledge(self, reminder_id):
        return None

    def snooze(self, reminder_id, minutes):
        return None

    def daily_stats(self, days, cushion=None):
        return []

    def timeline(self, cushion=None, day=None):
        return []

    def latest_frame(self, cushion):
        return None

    def subscribe(self):
        import asyncio

        return asyncio.Queue()

    def unsubscribe(self, queue):
        pass


@pytest.fixture
def served(request):
    """(url, runtime): the real dashboard app under uvicorn on a free loopback port.
    Parametrise indirectly with True to require the token for state changes."""
    require_token = getattr(request, "param", False)
    runtime = KnownRuntime()
    app = create_app(runtime, token=TOKEN if require_token else None, require_token=require_token)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        server.should_exit = True
        thread.join(10)


def test_status_summary(home, served):
    url, runtime = served
    result = CliRunner().invoke(main, ["status", "--url", url])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[0] == f"sitwell at {url}: ok"
    desk1 = out[out.index("  desk-1"):out.index("  desk-2")]
    assert "occupied   yes" in desk1
    assert "posture    lean_left" in desk1
    assert "balance    left 62% / right 38%" in desk1
    assert "spell      12:34" in desk1
    assert "input      connected, last frame 0.1 s ago" in desk1
    assert "mqtt: connected, frames 1234, drops 3 (bad_crc 2, bad_length 1)" in desk1
    desk2 = out[out.index("  desk-2"):]
    assert "occupied   no" in desk2 and "balance    -" in desk2
    assert "input      NOT connected" in desk2 and "error: status offline" in desk2
    # times for people (issue 17.8): local time, with the day when it is not today; never raw ISO
    when = datetime.fromisoformat("2026-11-24T09:13:20+00:00").astimezone()
    shown = f"{when:%a} {when.day} {when:%b} {when:%H:%M}"
    assert f"last reminder: uneven_load at {shown} on desk-1 (not acknowledged)" in out
    assert "2026-11-24T" not in out
    assert "do not disturb" not in out
    assert runtime.since.astimezone() == datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    assert "paused" not in out
    CliRunner().invoke(main, ["dnd", "on", "--url", url])
    assert "do not disturb: on" in CliRunner().invoke(main, ["status", "--url", url]).output
    runtime.paused_until = "2026-11-24T10:30:00+00:00"
    out = CliRunner().invoke(main, ["status", "--url", url]).output
    until = datetime.fromisoformat("2026-11-24T10:30:00+00:00").astimezone()
    shown = f"{until:%a} {until.day} {until:%b} {until:%H:%M}"
    assert f"reminders paused until {shown} (25:00 left; `sitwell pause off`)" in out


def test_status_json(home, served):
    url, runtime = served
    result = CliRunner().invoke(main, ["status", "--url", url, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"healthz": runtime.health(), "status": runtime.status()}


def test_status_url_from_config(home, served):
    url, _ = served
    port = url.rsplit(":", 1)[1]
    cfg = home / "c.toml"
    cfg.write_text(f"[dashboard]\nport = {port}\n")
    result = CliRunner().invoke(main, ["status", "--config", str(cfg)])
    assert result.exit_code == 0 and "desk-1" in result.output


def test_no_daemon_is_a_clear_error(home):
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["status", "--url", url])
    assert result.exit_code == 1
    assert f"no sitwell daemon answers at {url}" in result.output
    assert "sitwell run" in result.output
    assert CliRunner().invoke(main, ["dnd", "on", "--url", url]).exit_code == 1


def test_dnd_on_off(home, served):
    url, runtime = served
    on = CliRunner().invoke(main, ["dnd", "on", "--url", url])
    assert on.exit_code == 0, on.output
    assert "do not disturb: on" in on.output and runtime.rules.do_not_disturb is True
    shown = CliRunner().invoke(main, ["dnd", "--url", url])
    assert "do not disturb: on" in shown.output
    off = CliRunner().invoke(main, ["dnd", "off", "--url", url])
    assert off.exit_code == 0 and "do not disturb: off" in off.output
    assert runtime.rules.do_not_disturb is False


@pytest.mark.parametrize("served", [True], indirect=True)
def test_dnd_needs_the_token_when_the_daemon_does(home, served, monkeypatch):
    url, runtime = served
    refused = CliRunner().invoke(main, ["dnd", "on", "--url", url])
    assert refused.exit_code == 1 and "--token" in refused.output
    wrong = CliRunner().invoke(main, ["dnd", "on", "--url", url, "--token", "nope"])
    assert wrong.exit_code == 1 and "refused" in wrong.output
    assert runtime.rules.do_not_disturb is False
    monkeypatch.setenv("SITWELL_DASHBOARD__TOKEN", TOKEN)  # the documented variable works as well
    ok = CliRunner().invoke(main, ["dnd", "on", "--url", url])
    assert ok.exit_code == 0, ok.output
    assert runtime.rules.do_not_disturb is True


def test_doctor_sees_a_sitwell_on_the_dashboard_port(home, served):
    url, _ = served
    port = url.rsplit(":", 1)[1]
    result = CliRunner().invoke(main, ["doctor", "--port", port, "--db", str(home / "s.db")])
    assert result.exit_code == 0, result.output
    assert "taken by a running sitwell" in result.output


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=3) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_status_and_dnd_against_the_real_daemon(home):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SITWELL_")}
    env.update(HOME=str(home / "home"), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    proc = subprocess.Popen(
        [str(SITWELL), "run", "--port", str(port), "--db", str(home / "s.db"), "--speed", "10"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode(errors="replace")
            try:
                health = _get(f"{url}/healthz")
                # a cushion and a first frame: on a loaded machine the simulator's first frame
                # can come after the dashboard answers
                if (health["status"] == "ok" and _get(f"{url}/api/status")
                        and any(i.get("frames", 0) > 0 for i in health.get("inputs") or [])):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the daemon did not answer /healthz with a cushion and a first frame"
            time.sleep(0.2)
        # the commands in-process (an interpreter start costs seconds on a busy machine)
        result = CliRunner().invoke(main, ["status", "--url", url])
        assert result.exit_code == 0, result.output
        out = result.output
        assert out.startswith(f"sitwell at {url}: ok\n  cushion-1\n"), out
        assert re.search(
            r"posture    (empty|upright|lean_left|lean_right|cross_left|cross_right|slouch|forward)\n", out
        )
        assert re.search(r"spell      \d+:\d\d", out)
        assert re.search(r"sim: connected, frames [1-9]\d*, drops 0", out)  # the simulated input's health
        dnd = CliRunner().invoke(main, ["dnd", "on", "--url", url])
        assert dnd.exit_code == 0, dnd.output
        assert _get(f"{url}/api/settings")["rules"]["do_not_disturb"] is True
        assert "do not disturb: on" in CliRunner().invoke(main, ["status", "--url", url]).output
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_status_does_not_name_another_runs_future_reminder_as_last(home, tmp_path):
    """Issue 17.8: a run at --speed 60 stamps reminders on its simulated clock, hours ahead of
    the wall; after a restart `sitwell status` names the last reminder that really happened,
    in a person's time format."""
    from datetime import timedelta

    from monitor.model import Reminder
    from monitor.sinks.store import Store

    now = datetime.now().astimezone()
    past = now - timedelta(seconds=90)
    if past.date() != now.date():
        past = now.replace(hour=0, minute=0, second=1, microsecond=0)
    future = now + timedelta(hours=3)
    db = tmp_path / "s.db"
    store = Store(db)
    store.add_reminder(Reminder("r-past", "cushion-1", "sit_too_long", 10.0, past.isoformat(), "Get up.", 1500.0))
    store.add_reminder(Reminder("r-future", "cushion-1", "slouching", 20.0, future.isoformat(), "Sit up.", 1600.0))
    store.close()
    run = subprocess.Popen([str(SITWELL), "run", "--port", "0", "--db", str(db)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        line = run.stdout.readline()
        assert line.startswith("sitwell dashboard: "), line
        url = line.split(": ", 1)[1].strip().rstrip("/")
        out = subprocess.run([str(SITWELL), "status", "--url", url], capture_output=True, text=True, timeout=60)
    finally:
        run.terminate()
        run.wait(15)
    assert out.returncode == 0, out.stderr
    last = [line for line in out.stdout.splitlines() if "last reminder" in line]
    assert len(last) == 1, out.stdout
    assert "sit_too_long" in last[0] and "slouching" not in last[0]
    assert f" at {past:%H:%M} " in last[0] and past.isoformat()[:19] not in last[0]
