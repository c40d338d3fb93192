"""Two `sitwell run --mqtt` on one host and one broker, neither with mqtt.client_id set.

Each takes a client id of its own (host, topic prefix and its own database), stable across
its restarts: neither takes the other's persistent session off the broker, and both see the
cushion's frames. (With one shared default id they knocked each other off in turn.)
"""

from __future__ import annotations

import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from monitor.codec.binary import frame_payload, hello_payload
from monitor.model import DeviceInfo
from tests.plugins.faults import SitwellProcess, wait_until, write_config

pytestmark = pytest.mark.mqtt


def _connected_lines(d: SitwellProcess) -> int:
    return d.log.count("mqtt: connected to")


def test_two_daemons_on_one_broker_keep_their_own_sessions(tmp_path, mosquitto):
    broker = f"{mosquitto.host}:{mosquitto.port}"
    daemons = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        cfg = write_config(tmp_path / name / "sitwell.toml", extra="[analysis]\nmax_delay_ms = 0\n")
        daemons.append(SitwellProcess(tmp_path / name, "--mqtt", broker, config=cfg, env={"SITWELL_LOG_LEVEL": "INFO"}))
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="two-daemons-cushion")
    try:
        for d in daemons:
            assert wait_until(lambda d=d: _connected_lines(d) >= 1, 15), d.log[-2000:]
        time.sleep(0.5)  # subscribed
        pub.connect(mosquitto.host, mosquitto.port)
        pub.loop_start()
        topic = "sitwell/desk-7/frames"
        pub.publish(topic, hello_payload(DeviceInfo(device="desk-7", rows=8, cols=8, max_value=4095)), qos=1)
        cells = np.full((8, 8), 40, np.uint16)
        for i in range(60):  # 3 s at 20 Hz
            pub.publish(topic, frame_payload(cells, i, 1000 + 50 * i), qos=1).wait_for_publish(5)
            time.sleep(0.05)

        def frames(d: SitwellProcess) -> int:
            return sum(h.get("frames", 0) for h in d.healthz()["inputs"] if h.get("cushion") == "desk-7")

        for d in daemons:
            assert wait_until(lambda d=d: frames(d) >= 60, 10), d.healthz()
            # connected once: nobody took its session over, so it never had to come back
            assert _connected_lines(d) == 1, d.log[-3000:]
        assert "mqtt: disconnected" not in daemons[0].log + daemons[1].log
    finally:
        pub.loop_stop()
        pub.disconnect()
        for d in daemons:
            d.kill()


def test_the_own_client_id_is_stable_per_database_and_an_explicit_one_wins(tmp_path):
    from monitor.config.settings import Settings
    from monitor.runtime.inputs import with_own_client_id as _with_own_client_id

    def own(db, **mqtt_kw):
        s = Settings(input="mqtt", mqtt={"host": "127.0.0.1", **mqtt_kw}, store={"db": db})
        return _with_own_client_id(s).mqtt.client_id

    a, b = tmp_path / "a.db", tmp_path / "b.db"
    assert own(a) == own(a)  # a restart finds its persistent session again
    assert own(a) != own(b) and own(a).startswith("sitwell-")
    assert len(own(a)) <= 64
    assert own(a, client_id="desk-monitor") == "desk-monitor"
