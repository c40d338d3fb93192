"""`sitwell run --mqtt` as a process, fed by `sitwell sim --mqtt`, over a real Mosquitto:
the dashboard API sees the cushion, and state and reminders come back out over MQTT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.sinks.test_mqtt_publisher import Watcher

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_daemon_over_mosquitto(mosquitto, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITWELL_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"),
               SITWELL_MQTT__CLIENT_ID="test-daemon", SITWELL_MQTT__RECONNECT_MAX_S="1")
    broker = f"{mosquitto.host}:{mosquitto.port}"
    phone = Watcher(mosquitto, "sitwell/+/reminders")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--mqtt", broker, "--port", "0", "--db", str(tmp_path / "s.db")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = daemon.stdout.readline()
            if not line and daemon.poll() is not None:
                pytest.fail(f"daemon exited: {daemon.stderr.read()[-2000:]}")
            if "http://" in line:
                url = line[line.index("http://"):].strip().rstrip("/")
        assert url, "the daemon did not print its address"
        # 32 minutes of sitting at 2 frames/s, 300x real time: a sit_too_long reminder is due
        sim = subprocess.run(
            [sys.executable, "-m", "firmware_sim", "--scenario", "long-spell", "--rate", "2", "--seed", "5",
             "--speed", "300", "--mqtt", broker, "--cushion", "desk-5", "--log-level", "WARNING"],
            cwd=ROOT, env=env, capture_output=True, timeout=120,
        )
        assert sim.returncode == 0, sim.stderr.decode()[-2000:]
        got = phone.wait_for(lambda m: any(json.loads(p)["kind"] == "sit_too_long" for t, p, r in m), timeout=20)
        kinds = [json.loads(p)["kind"] for t, p, r in got]
        assert "sit_too_long" in kinds
        assert {t for t, p, r in got} == {"sitwell/desk-5/reminders"}

        with httpx.Client(base_url=url, timeout=5) as http:
            health = http.get("/healthz").json()
            mqtt_in = [h for h in health["inputs"] if h["cushion"] == "desk-5"]
            assert mqtt_in and mqtt_in[0]["frames"] > 3000 and mqtt_in[0]["input"] == "mqtt"
            assert mqtt_in[0]["connected"] is False  # the simulator said offline when it ended
            status = {s["cushion"]: s for s in http.get("/api/status").json()}
            assert "desk-5" in status
            reminders = http.get("/api/reminders", params={"cushion": "desk-5"}).json()
            ids = {r["id"] for r in (reminders if isinstance(reminders, list) else reminders["reminders"])}
            assert {json.loads(p)["id"] for t, p, r in got} <= ids

        late = Watcher(mosquitto, "sitwell/desk-5/state")
        state = json.loads(late.wait_for(lambda m: len(m) >= 1)[0][1])
        late.close()
        assert state["cushion"] == "desk-5" and set(state) == {
            "cushion", "t", "occupied", "posture", "left_share", "spell_s"}
        monitor = Watcher(mosquitto, "sitwell/status")
        assert monitor.wait_for(lambda m: len(m) >= 1)[0][1] == b"online"
        daemon.send_signal(signal.SIGINT)
        daemon.wait(15)
        assert monitor.wait_for(lambda m: m[-1][1] == b"offline")
        monitor.close()
    finally:
        phone.close()
        if daemon.poll() is None:
            daemon.kill()
        daemon.wait()
