"""The firmware simulator (a separate process, its own paho client) -> Mosquitto -> MqttInput."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monitor.config.settings import MqttConfig
from monitor.transport.mqtt_input import MqttInput
from tests.transport.test_mqtt_input import Collector, wait_until

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("codec", ["binary", "json"])
def test_simulator_over_mosquitto(mosquitto_session, codec):
    cushion = f"sim-{codec}"
    inp = MqttInput(MqttConfig(host=mosquitto_session.host, port=mosquitto_session.port, keepalive=5,
                               reconnect_max_s=1.0, client_id=f"test-sim-{codec}", cushions=[cushion]))
    out = Collector()
    inp.start(out)
    try:
        assert inp.conn.subscribed.wait(5)
        # 30 scenario seconds at 10 Hz, 30x real time: 300 frames in about a second
        proc = subprocess.run(
            [sys.executable, "-m", "firmware_sim", "--scenario", "tour", "--seed", "3", "--rows", "12",
             "--cols", "10", "--rate", "10", "--duration", "30", "--speed", "30", "--codec", codec,
             "--max-value", "65535",
             "--mqtt", f"{mosquitto_session.host}:{mosquitto_session.port}", "--cushion", cushion,
             "--log-level", "WARNING"],
            cwd=ROOT, capture_output=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        frames = out.wait_for(300, timeout=10)
        # the simulator's clean exit says offline
        assert wait_until(lambda: inp.health()[0]["connected"] is False)
        h = inp.health()[0]
    finally:
        inp.stop()
    assert len(frames) == 300, h
    assert h["drops"] == {} and h["frames"] == 300 and h["error"] == "cushion offline"
    assert {f.shape for f in frames} == {(12, 10)}
    # the simulator says hello on connecting, as a cushion on a serial line does: the full
    # scale comes from it, not from the 12-bit default the monitor assumes without one
    assert {f.max_value for f in frames} == {65535}
    t = np.array([f.t for f in frames])
    assert np.allclose(np.diff(t), 0.1, atol=0.002), t[:5]
    assert any(f.cells.sum() > 0 for f in frames)
