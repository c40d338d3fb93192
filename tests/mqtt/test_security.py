"""Username/password and TLS (server CA, client certificates) against a real Mosquitto."""

from __future__ import annotations

import time

import numpy as np
import pytest

from monitor.codec.binary import frame_payload
from monitor.config.settings import MqttConfig
from monitor.sinks.mqtt_publisher import MqttPublisher
from monitor.transport.mqtt_input import MqttInput
from tests.transport.test_mqtt_input import Collector, wait_until

pytestmark = pytest.mark.mqtt


def make_config(broker, **kw) -> MqttConfig:
    kw.setdefault("client_id", f"test-sec-{time.monotonic_ns()}")
    return MqttConfig(host=broker.host, port=broker.port, keepalive=5, reconnect_max_s=1.0, **kw)


@pytest.fixture
def running():
    things = []
    yield things
    for t in things:
        t.stop()


def frames_flow(broker, config: MqttConfig, running, publisher_config: MqttConfig) -> list:
    """Start an input with `config`, send one frame as another client with `publisher_config`."""
    inp = MqttInput(config)
    out = Collector()
    inp.start(out)
    running.append(inp)
    assert inp.conn.subscribed.wait(5), (inp.conn.error, broker.log_tail())
    # the sender is a monitor connection too (same TLS and auth code path), on its own client id
    pub = MqttPublisher(publisher_config)
    pub.start()
    running.append(pub)
    assert pub.conn.subscribed.wait(5)
    pub.conn.publish("sitwell/sec-1/frames", frame_payload(np.eye(8, dtype=np.uint16), 1, 1000), qos=1)
    return out.wait_for(1)


def test_username_password(mosquitto_factory, running):
    broker = mosquitto_factory(users={"seat": "s3cret", "cushion": "c0ushion"})
    frames = frames_flow(
        broker,
        make_config(broker, username="seat", password="s3cret"),
        running,
        make_config(broker, username="cushion", password="c0ushion", client_id="sender-pw"),
    )
    assert len(frames) == 1 and frames[0].cushion == "sec-1"


def test_wrong_password_is_reported_not_raised(mosquitto_factory, running):
    broker = mosquitto_factory(users={"seat": "s3cret"})
    inp = MqttInput(make_config(broker, username="seat", password="wrong", cushions=["c1"]))
    inp.start(Collector())
    running.append(inp)
    assert wait_until(lambda: inp.conn.error is not None and "refused" in inp.conn.error)
    h = inp.health()[0]
    assert h["connected"] is False and "refused" in h["error"]


def test_tls_with_ca(mosquitto_factory, running):
    broker = mosquitto_factory(tls=True)
    frames = frames_flow(
        broker,
        make_config(broker, tls=True, ca_file=broker.ca_file),
        running,
        make_config(broker, tls=True, ca_file=broker.ca_file, client_id="sender-tls"),
    )
    assert len(frames) == 1


def test_tls_client_certificate(mosquitto_factory, running):
    broker = mosquitto_factory(tls=True, require_certificate=True)
    tls = dict(tls=True, ca_file=broker.ca_file, cert_file=broker.client_cert,
               key_file=broker.client_key)
    frames = frames_flow(broker, make_config(broker, **tls), running,
                         make_config(broker, client_id="sender-cert", **tls))
    assert len(frames) == 1


def test_tls_without_client_certificate_is_refused(mosquitto_factory, running):
    broker = mosquitto_factory(tls=True, require_certificate=True)
    inp = MqttInput(make_config(broker, tls=True, ca_file=broker.ca_file, cushions=["c1"]))
    inp.start(Collector())
    running.append(inp)
    assert wait_until(lambda: inp.conn.error is not None)
    assert not inp.conn.connected and inp.health()[0]["connected"] is False
    assert inp.health()[0]["error"]


def test_tls_unknown_ca_is_refused(mosquitto_factory, running):
    broker = mosquitto_factory(tls=True)
    other = mosquitto_factory(tls=True)  # a different CA
    inp = MqttInput(make_config(broker, tls=True, ca_file=other.ca_file, cushions=["c1"]))
    inp.start(Collector())
    running.append(inp)
    assert wait_until(lambda: inp.conn.error is not None)
    assert not inp.conn.connected
    assert inp.health()[0]["connected"] is False and inp.health()[0]["error"]
