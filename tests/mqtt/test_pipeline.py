"""The whole MQTT path: simulator process -> Mosquitto -> MqttInput -> CushionEngine ->
MqttPublisher -> Mosquitto -> a subscriber.

What arrives over MQTT must be the simulator's own frames (same cells, seq and time steps,
so the same analysis), and every reminder must reach the subscriber."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from firmware_sim.simulator import Simulator
from monitor.config.settings import AnalysisConfig, MqttConfig, RulesConfig
from monitor.model import DeviceInfo, Frame
from monitor.runtime.engine import CushionEngine
from monitor.sinks.mqtt_publisher import MqttPublisher
from monitor.transport.mqtt_input import MqttInput
from tests.sinks.test_mqtt_publisher import Watcher
from tests.transport.test_mqtt_input import Collector

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EPOCH = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def engine_for(cushion: str, frames: list[Frame]) -> CushionEngine:
    rows, cols = frames[0].shape
    return CushionEngine(cushion, DeviceInfo(device=cushion, rows=rows, cols=cols, max_value=frames[0].max_value),
                         RulesConfig(), AnalysisConfig(), EPOCH)


def test_long_spell_over_mqtt(mosquitto_session):
    cushion = "desk-7"
    config = MqttConfig(host=mosquitto_session.host, port=mosquitto_session.port, keepalive=5,
                        reconnect_max_s=1.0, client_id="test-pipeline", cushions=[cushion],
                        topic_prefix="pipe")
    phone = Watcher(mosquitto_session, f"pipe/{cushion}/reminders")
    inp, pub = MqttInput(config), MqttPublisher(config)
    out = Collector()
    pub.start()
    inp.start(out)
    try:
        assert inp.conn.subscribed.wait(5)
        proc = subprocess.run(
            [sys.executable, "-m", "firmware_sim", "--scenario", "long-spell", "--rate", "2", "--seed", "5",
             "--fast", "--mqtt", f"{mosquitto_session.host}:{mosquitto_session.port}", "--topic-prefix", "pipe",
             "--cushion", cushion, "--log-level", "WARNING"],
            cwd=ROOT, capture_output=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        sim = Simulator("long-spell", rate_hz=2, seed=5, cushion=cushion)
        expected = list(sim.frames())
        frames = out.wait_for(len(expected), timeout=30)
        assert len(frames) == len(expected), inp.health()
        # lossless and in order
        assert [f.seq for f in frames] == [e.seq for e in expected]
        assert all(np.array_equal(f.cells, e.cells) for f, e in zip(frames, expected, strict=True))
        t0 = frames[0].t
        assert [round(f.t - t0, 3) for f in frames] == [round(e.t - expected[0].t, 3) for e in expected]

        # the daemon's part: analyse, publish states and reminders
        live = engine_for(cushion, frames)
        sent = []
        for step in live.process_batch(frames):
            pub.publish_state(step.update.state)
            for reminder in step.update.reminders:
                pub.publish_reminder(reminder)
                sent.append(reminder)
        assert "sit_too_long" in {r.kind for r in sent}

        got = phone.wait_for(lambda m: len(m) >= len(sent), timeout=10)
        assert [json.loads(p)["id"] for t, p, r in got] == [r.id for r in sent]
        last_state = step.update.state.as_json()
    finally:
        inp.stop()
        pub.stop()  # flushes the last held-back state
        phone.close()
    late = Watcher(mosquitto_session, f"pipe/{cushion}/state")
    try:
        retained = late.wait_for(lambda m: len(m) >= 1)
    finally:
        late.close()
    assert json.loads(retained[0][1]) == last_state
