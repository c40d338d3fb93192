"""Pain over MQTT through a real Mosquitto and the real daemon: the Home Assistant number
entity's discovery, a logged value, bad payloads refused (the daemon keeps going), retained
commands ignored; and no journal traffic without `journal.mqtt_entity`."""

from __future__ import annotations

import json
import time

import httpx
import paho.mqtt.client as mqtt
import pytest

from monitor.journal.entries import JournalError
from monitor.journal.mqtt_entity import parse_command
from tests.sinks.test_mqtt_publisher import Watcher

pytestmark = pytest.mark.mqtt


def _publish(broker, topic: str, payload: str | bytes, retain: bool = False) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def _entries(d) -> list[dict]:
    return httpx.get(d.url + "/api/journal").json()


def _wait(pred, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("payload, pain", [(b"4", "4"), (b' {"pain": 6, "where": ["left-hip"]} ', 6)])
def test_parse_command(payload, pain):
    assert parse_command(payload)["pain"] == pain


@pytest.mark.parametrize("payload", [b"x" * 2000, b"\xff\xfe", b"{nope", b'{"pain": 3, "colour": 1}', b'{"note": "x"}'])
def test_parse_command_refuses(payload):
    with pytest.raises(JournalError):
        parse_command(payload)


def test_number_entity_over_mosquitto(mosquitto, inprocess_daemon):
    # a command left retained on the broker (before the daemon starts): it comes with every
    # (re)subscription, so it must not be logged
    _publish(mosquitto, "sitwell/journal/pain/set", "9", retain=True)
    watcher = Watcher(mosquitto, "#")
    d = inprocess_daemon({"input": "sim", "sim.speed": 1.0, "mqtt.host": mosquitto.host, "mqtt.port": mosquitto.port,
                          "mqtt.ha_discovery": True})
    config_topic = "homeassistant/number/sitwell_journal/pain/config"
    msgs = watcher.wait_for(lambda m: any(t == config_topic for t, _, _ in m))
    discovery = json.loads(next(p for t, p, _ in msgs if t == config_topic))
    late = Watcher(mosquitto, config_topic)  # a Home Assistant started later still finds it: retained
    assert late.wait_for(lambda m: m) and late.messages[0][2] is True
    late.close()
    assert discovery["command_topic"] == "sitwell/journal/pain/set"
    assert (discovery["min"], discovery["max"], discovery["step"]) == (0, 10, 1)
    assert discovery["state_topic"] == "sitwell/journal/pain" and discovery["unique_id"] == "sitwell_journal_pain"

    _publish(mosquitto, "sitwell/journal/pain/set", "4")
    [entry] = _wait(lambda: _entries(d))
    assert entry["pain"] == 4 and entry["source"] == "mqtt"
    watcher.wait_for(lambda m: (("sitwell/journal/pain", b"4", False) in m))
    _publish(mosquitto, "sitwell/journal/pain/set", json.dumps({"pain": 7, "where": ["right-leg"], "note": "stairs"}))
    _wait(lambda: len(_entries(d)) == 2)
    assert _entries(d)[-1]["locations"] == ["right-leg"] and _entries(d)[-1]["note"] == "stairs"

    for bad in ("11", "lots", "{", json.dumps({"pain": 2, "where": ["knee"]})):
        _publish(mosquitto, "sitwell/journal/pain/set", bad)
    entity = d.daemon.journal_mqtt
    _wait(lambda: entity.counts["rejected"] == 4 and entity.counts["retained_ignored"] == 1)
    assert [e["pain"] for e in _entries(d)] == [4, 7]
    assert httpx.get(d.url + "/healthz").json()["status"] == "ok"  # the daemon kept going
    _publish(mosquitto, "sitwell/journal/pain/set", "", retain=True)  # clear the retained command
    assert 9 not in [e["pain"] for e in _entries(d)]
    watcher.close()


def test_no_journal_entity_when_switched_off(mosquitto, inprocess_daemon):
    watcher = Watcher(mosquitto, "#")
    d = inprocess_daemon({"input": "sim", "sim.speed": 1.0, "mqtt.host": mosquitto.host, "mqtt.port": mosquitto.port,
                          "mqtt.ha_discovery": True, "journal.mqtt_entity": False})
    watcher.wait_for(lambda m: any(t.startswith("homeassistant/sensor/") for t, _, _ in m))
    _publish(mosquitto, "sitwell/journal/pain/set", "4")
    time.sleep(1.0)
    assert _entries(d) == [] and d.daemon.journal_mqtt is None
    assert not [t for t, _, _ in watcher.messages if "journal" in t and not t.endswith("/set")]
    watcher.close()
