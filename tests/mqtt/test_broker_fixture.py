"""The Mosquitto fixture itself: it starts, restarts on the same port, and keeps sessions."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

pytestmark = pytest.mark.mqtt


def _client(broker, client_id: str, clean: bool) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.connect(broker.host, broker.port, keepalive=5)
    return c


def test_persistent_session_survives_restart(mosquitto):
    got: list[bytes] = []
    done = threading.Event()
    sub = _client(mosquitto, "fixture-sub", clean=False)
    sub.on_message = lambda c, u, m: (got.append(m.payload), done.set())
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.loop_start()
    sub.subscribe("fx/t", qos=1)
    assert subscribed.wait(5)
    sub.disconnect()
    sub.loop_stop()

    port = mosquitto.port
    mosquitto.restart()
    assert mosquitto.port == port and mosquitto.running

    pub = _client(mosquitto, "fixture-pub", clean=True)
    pub.loop_start()
    pub.publish("fx/t", b"queued", qos=1).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()

    sub2 = _client(mosquitto, "fixture-sub", clean=False)
    sub2.on_message = lambda c, u, m: (got.append(m.payload), done.set())
    sub2.loop_start()
    try:
        assert done.wait(5), mosquitto.log_tail()
    finally:
        sub2.disconnect()
        sub2.loop_stop()
    assert got == [b"queued"]


def test_stopped_broker_refuses(mosquitto):
    mosquitto.stop()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    with pytest.raises(OSError):
        c.connect(mosquitto.host, mosquitto.port, keepalive=5)
