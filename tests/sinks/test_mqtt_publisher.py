"""MqttPublisher and HA discovery against a real Mosquitto broker, watched by real paho clients."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from monitor.config.settings import MqttConfig
from monitor.model import POSTURES, CushionState, Reminder
from monitor.mqtt.connection import MqttConnection
from monitor.sinks.mqtt_publisher import MqttPublisher
from monitor.transport.mqtt_input import MqttInput

pytestmark = pytest.mark.mqtt

_ids = itertools.count()


def make_config(broker, **kw) -> MqttConfig:
    kw.setdefault("client_id", f"test-pub-{next(_ids)}-{time.monotonic_ns()}")
    return MqttConfig(host=broker.host, port=broker.port, keepalive=5, reconnect_max_s=1.0, **kw)


def wait_until(pred, timeout: float = 5.0, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Watcher:
    """A real paho subscriber that records (topic, payload, retain)."""

    def __init__(self, broker, topic: str, client_id: str = "", clean: bool = True, protocol: str = "3.1.1"):
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cv = threading.Condition()
        if protocol == "5":
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=mqtt.MQTTProtocolVersion.MQTTv5)
        else:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        kw = {}
        if protocol == "5" and not clean:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            kw = {"clean_start": False, "properties": props}
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(broker.host, broker.port, keepalive=5, **kw)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _on_message(self, _c, _u, msg) -> None:
        with self._cv:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cv.notify_all()

    def wait_for(self, pred, timeout: float = 5.0) -> list[tuple[str, bytes, bool]]:
        with self._cv:
            self._cv.wait_for(lambda: pred(self.messages), timeout)
            return list(self.messages)

    def on(self, topic: str) -> list[tuple[bytes, bool]]:
        with self._cv:
            return [(p, r) for t, p, r in self.messages if t == topic]

    def close(self) -> None:
        gone = threading.Event()
        self.client.on_disconnect = lambda *a: gone.set()
        self.client.disconnect()
        gone.wait(2)
        self.client.loop_stop()


@pytest.fixture
def cleanup():
    things: list = []
    yield things
    for t in reversed(things):
        t.close() if isinstance(t, Watcher) else t.stop()


def state(cushion: str, t: float, posture: str = "upright", spell_s: float = 0.0, left: float | None = 0.5):
    occupied = posture != "empty"
    return CushionState(cushion, t, occupied, posture, left if occupied else None, spell_s,
                        spell_start=0.0 if occupied else None)


def reminder(cushion: str, n: int) -> Reminder:
    return Reminder(id=f"r-{cushion}-{n}", cushion=cushion, kind="sit_too_long", t=1500.0 + n,
                    at="2026-11-26T09:25:00+00:00", message="Time to stand up", spell_s=1500.0 + n)


def start_publisher(config: MqttConfig, cleanup, **kw) -> MqttPublisher:
    pub = MqttPublisher(config, **kw)
    pub.start()
    cleanup.append(pub)
    assert pub.conn.subscribed.wait(5), "publisher did not connect"
    return pub


def test_state_is_retained_for_a_late_subscriber(mosquitto_session, cleanup):
    pub = start_publisher(make_config(mosquitto_session, topic_prefix="late"), cleanup)
    pub.publish_state(state("desk-1", 10.0, "slouch", spell_s=600.0, left=0.4321))
    time.sleep(0.2)
    late = Watcher(mosquitto_session, "late/+/state")
    cleanup.append(late)
    msgs = late.wait_for(lambda m: len(m) >= 1)
    assert msgs[0][0] == "late/desk-1/state" and msgs[0][2] is True  # retained
    assert json.loads(msgs[0][1]) == {
        "cushion": "desk-1", "t": 10.0, "occupied": True, "posture": "slouch", "left_share": 0.4321,
        "spell_s": 600.0,
    }


def test_state_rate_limited_but_changes_go_out_at_once(mosquitto_session, cleanup):
    w = Watcher(mosquitto_session, "rate/+/state")
    cleanup.append(w)
    pub = start_publisher(make_config(mosquitto_session, topic_prefix="rate"), cleanup, min_interval_s=0.5)
    # 2 s of frames at 50 Hz; a posture change in the middle
    t0 = time.monotonic()
    for i in range(100):
        pub.publish_state(state("c1", i * 0.02, "upright" if i < 60 else "lean_left", spell_s=i * 0.02))
        time.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.monotonic()))
    elapsed = time.monotonic() - t0
    msgs = w.wait_for(lambda m: json.loads(m[-1][1])["t"] == pytest.approx(1.98) if m else False, timeout=3)
    payloads = [json.loads(p) for t, p, r in msgs]
    # at most ~2/s plus the change plus the final flush
    assert 3 <= len(payloads) <= elapsed / 0.5 + 3, [p["t"] for p in payloads]
    change = [p for p in payloads if p["posture"] == "lean_left"][0]
    assert change["t"] == pytest.approx(60 * 0.02)  # the first lean_left state, not a later one
    assert payloads[-1]["t"] == pytest.approx(1.98)  # the suppressed last state was flushed
    assert pub.counts["suppressed"] > 80


def test_reminders_qos1(mosquitto_session, cleanup):
    w = Watcher(mosquitto_session, "rem/+/reminders")
    cleanup.append(w)
    pub = start_publisher(make_config(mosquitto_session, topic_prefix="rem"), cleanup)
    for n in range(3):
        pub.publish_reminder(reminder("desk-2", n))
    msgs = w.wait_for(lambda m: len(m) >= 3)
    got = [json.loads(p) for t, p, r in msgs]
    assert [g["id"] for g in got] == ["r-desk-2-0", "r-desk-2-1", "r-desk-2-2"]
    assert got[0] == reminder("desk-2", 0).as_json()
    assert all(t == "rem/desk-2/reminders" and not r for t, p, r in msgs)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_reminder_during_broker_outage_is_delivered_after(mosquitto, cleanup, protocol):
    # a persistent subscriber (a phone app, say) and the publisher both see the broker go away
    w = Watcher(mosquitto, "out/+/reminders", client_id=f"phone-{protocol}", clean=False, protocol=protocol)
    cleanup.append(w)
    pub = start_publisher(make_config(mosquitto, topic_prefix="out", protocol=protocol), cleanup)
    pub.publish_reminder(reminder("desk-3", 0))
    w.wait_for(lambda m: len(m) >= 1)
    mosquitto.stop()
    assert wait_until(lambda: not pub.conn.connected)
    pub.publish_reminder(reminder("desk-3", 1))  # while the broker is down
    pub.publish_state(state("desk-3", 5.0, "slouch"))  # QoS 0: re-sent from memory after the reconnect
    mosquitto.start()
    assert wait_until(lambda: pub.conn.connected, timeout=10)
    msgs = w.wait_for(lambda m: len(m) >= 2, timeout=10)
    assert [json.loads(p)["id"] for t, p, r in msgs] == ["r-desk-3-0", "r-desk-3-1"]
    late = Watcher(mosquitto, "out/+/state")
    cleanup.append(late)
    got = late.wait_for(lambda m: len(m) >= 1)
    assert json.loads(got[0][1])["posture"] == "slouch"


def test_monitor_status_online_then_offline(mosquitto_session, cleanup):
    w = Watcher(mosquitto_session, "stat/status")
    cleanup.append(w)
    pub = MqttPublisher(make_config(mosquitto_session, topic_prefix="stat"))
    pub.start()
    assert w.wait_for(lambda m: m and m[-1][1] == b"online")
    pub.stop()
    assert w.wait_for(lambda m: m[-1][1] == b"offline")


def test_monitor_last_will_when_the_process_dies(mosquitto_session, cleanup, tmp_path):
    w = Watcher(mosquitto_session, "will/status")
    cleanup.append(w)
    script = tmp_path / "pub.py"
    script.write_text(
        "import sys, time\n"
        "from monitor.config.settings import MqttConfig\n"
        "from monitor.sinks.mqtt_publisher import MqttPublisher\n"
        f"p = MqttPublisher(MqttConfig(host='{mosquitto_session.host}', port={mosquitto_session.port}, "
        "keepalive=5, topic_prefix='will', client_id='will-test'))\n"
        "p.start()\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert proc.stdout.readline().strip() == b"started"
        assert w.wait_for(lambda m: m and m[-1][1] == b"online", timeout=10)
        proc.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker sends the will
        assert w.wait_for(lambda m: m[-1][1] == b"offline", timeout=10)
    finally:
        proc.kill()
        proc.wait()


def test_input_and_publisher_share_one_connection(mosquitto_session, cleanup):
    config = make_config(mosquitto_session, topic_prefix="share")
    inp, pub = MqttInput(config), MqttPublisher(config)
    assert inp.conn is pub.conn
    pub.start()
    cleanup.append(pub)
    inp.start(lambda f: None)
    cleanup.append(inp)
    assert pub.conn.subscribed.wait(5)
    inp.stop()
    cleanup.remove(inp)
    # the publisher still works after the input let go
    w = Watcher(mosquitto_session, "share/+/reminders")
    cleanup.append(w)
    pub.publish_reminder(reminder("s1", 0))
    assert w.wait_for(lambda m: len(m) == 1)
    assert pub.conn.connects == 1
    pub.stop()
    cleanup.remove(pub)
    assert not pub.conn.connected
    assert MqttConnection.shared(config) is not pub.conn  # a closed one is never handed out


def test_ha_discovery(mosquitto_session, cleanup):
    w = Watcher(mosquitto_session, "ha-test/#")
    cleanup.append(w)
    pub = start_publisher(make_config(mosquitto_session, topic_prefix="hadisc", ha_discovery=True,
                                      ha_prefix="ha-test"), cleanup)
    pub.publish_state(state("living", 1.0))
    pub.publish_state(state("office", 1.0))
    msgs = w.wait_for(lambda m: len(m) >= 8)
    topics = sorted(t for t, p, r in msgs)
    for cushion in ("living", "office"):
        node = f"sitwell_hadisc_{cushion}"
        mine = {t: json.loads(p) for t, p, r in msgs if f"/{node}/" in t}
        assert sorted(mine) == sorted([
            f"ha-test/sensor/{node}/posture/config", f"ha-test/sensor/{node}/spell/config",
            f"ha-test/sensor/{node}/balance/config", f"ha-test/binary_sensor/{node}/occupied/config",
        ])
        for cfg in mine.values():
            assert cfg["state_topic"] == f"hadisc/{cushion}/state"
            assert cfg["availability_topic"] == "hadisc/status"
            assert cfg["unique_id"].startswith(node)
        assert mine[f"ha-test/sensor/{node}/posture/config"]["options"] == list(POSTURES)
    assert len(topics) == 8
    # retained: a Home Assistant starting later still finds them
    late = Watcher(mosquitto_session, "ha-test/#")
    cleanup.append(late)
    assert len(late.wait_for(lambda m: len(m) >= 8)) == 8


def test_no_ha_discovery_by_default(mosquitto_session, cleanup):
    w = Watcher(mosquitto_session, "homeassistant/#")
    cleanup.append(w)
    pub = start_publisher(make_config(mosquitto_session, topic_prefix="noha"), cleanup)
    pub.publish_state(state("x", 1.0))
    time.sleep(0.3)
    assert [t for t, p, r in w.messages if "noha" in t] == []
