"""BufferedClient's own way for QoS 0 PUBLISH packets (monitor/mqtt/buffered.py), against a
real Mosquitto: whatever way a message takes, every one arrives once, in order (QoS 0 and
QoS 1 each: MQTT orders messages per QoS only), with its topic, payload and retain flag; the
buffer's way takes the routed QoS 0 ones and leaves QoS 1, MQTT 5 properties and topics
without a handler to paho."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from monitor.config.settings import MqttConfig
from monitor.mqtt.buffered import BufferedClient, BufferedSocket
from monitor.mqtt.connection import MqttConnection

pytestmark = pytest.mark.mqtt

_ids = itertools.count()


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, bool]] = []
        self._cv = threading.Condition()

    def __call__(self, msg) -> None:
        with self._cv:
            self.got.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cv.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[tuple[str, bytes, bool]]:
        with self._cv:
            self._cv.wait_for(lambda: len(self.got) >= n, timeout)
            return list(self.got)


def _connection(broker, protocol: str) -> MqttConnection:
    config = MqttConfig(host=broker.host, port=broker.port, keepalive=5, reconnect_max_s=1.0, protocol=protocol,
                        client_id=f"test-buffered-{next(_ids)}-{os.getpid()}-{time.monotonic_ns()}")
    return MqttConnection(config)


def _publisher(broker, protocol: str) -> mqtt.Client:
    version = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{next(_ids)}", protocol=version)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    return pub


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_every_message_arrives_once_in_order_whichever_way_it_takes(mosquitto, protocol):
    conn = _connection(mosquitto, protocol)
    frames, status = Inbox(), Inbox()
    conn.subscribe("fleet/+/frames", 1, frames)
    conn.subscribe("fleet/+/status", 1, status)
    conn.acquire()
    assert conn.subscribed.wait(10)
    pub = _publisher(mosquitto, protocol)
    try:
        sent = []
        props = None
        if protocol == "5":
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("from", "test")
        for i in range(600):
            # big and small payloads, so packets straddle the 64 KiB reads
            payload = i.to_bytes(2, "big") * (1500 if i % 7 == 0 else 20 + i % 13)
            qos = 1 if i % 10 == 3 else 0
            kwargs = {"properties": props} if props is not None and i % 10 == 5 else {}
            pub.publish(f"fleet/desk-{i % 4}/frames", payload, qos=qos, **kwargs)
            sent.append((qos, (f"fleet/desk-{i % 4}/frames", payload, False)))
        pub.publish("fleet/desk-9/status", b"online", qos=1, retain=True).wait_for_publish(5)
        pub.publish("other/desk-1/frames", b"not ours", qos=0)  # no handler: paho's way, and dropped
        got = frames.wait_for(len(sent))
        assert len(got) == len(sent)
        for qos in (0, 1):
            assert [m for m in got if m in {m for q, m in sent if q == qos}] == [m for q, m in sent if q == qos]
        assert status.wait_for(1) == [("fleet/desk-9/status", b"online", False)]  # live, not from the store
        assert conn.client.routed >= 400  # most took the buffer's way; QoS 1 and properties took paho's
        assert conn.client.routed <= 540
    finally:
        pub.loop_stop()
        pub.disconnect()
        conn.acquire()  # balance for release
        conn.release()
        conn.release()


def test_retained_messages_come_the_same_on_both_ways(mosquitto):
    pub = _publisher(mosquitto, "3.1.1")
    for i in range(50):
        pub.publish(f"fleet/desk-{i}/status", f"offline {i}".encode(), qos=0, retain=True).wait_for_publish(5)
    inboxes, conns = [], []
    try:
        for buffered_way in (True, False):
            conn = _connection(mosquitto, "3.1.1")
            if not buffered_way:
                conn.client.route = None  # paho's own way for every message
            inbox = Inbox()
            conn.subscribe("fleet/+/status", 0, inbox)
            conn.acquire()
            inboxes.append(inbox)
            conns.append(conn)
        buffered, plain = (inbox.wait_for(50) for inbox in inboxes)
        assert len(buffered) == 50
        assert buffered == plain  # topics, payloads and retain flags, in the broker's order
        assert any(retain for _, _, retain in buffered)
        assert conns[0].client.routed > 0 and conns[1].client.routed == 0
    finally:
        pub.loop_stop()
        pub.disconnect()
        for conn in conns:
            conn.release()


def test_a_handler_forgotten_gets_nothing_more(mosquitto):
    conn = _connection(mosquitto, "3.1.1")
    inbox = Inbox()
    conn.subscribe("fleet/+/frames", 0, inbox)
    conn.acquire()
    assert conn.subscribed.wait(10)
    pub = _publisher(mosquitto, "3.1.1")
    try:
        pub.publish("fleet/a/frames", b"1", qos=0)
        assert inbox.wait_for(1) == [("fleet/a/frames", b"1", False)]
        conn.forget_handler("fleet/+/frames")
        pub.publish("fleet/a/frames", b"2", qos=0).wait_for_publish(5)
        time.sleep(0.5)
        assert len(inbox.got) == 1
    finally:
        pub.loop_stop()
        pub.disconnect()
        conn.release()


def _publish_packet(topic: str, payload: bytes, qos: int = 0, retain: bool = False, mid: int = 1,
                    properties: bytes | None = None) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    if properties is not None:
        body += bytes([len(properties)]) + properties
    body += payload
    length, n = b"", len(body)
    while True:
        byte, n = n % 128, n // 128
        length += bytes([byte | (128 if n else 0)])
        if not n:
            break
    return bytes([0x30 | qos << 1 | int(retain)]) + length + body


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_a_burst_of_mixed_packets_is_read_in_order_each_the_right_way(protocol):
    """No broker: bytes written to a socket pair, so one read sees QoS 0 and 1, retained,
    MQTT 5 properties, a topic without a route, a large packet and one cut in two."""
    client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id="test-burst", protocol=protocol)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client._sock = BufferedSocket(ours)  # type: ignore[assignment]
    got: list[tuple] = []

    def note(msg) -> None:
        got.append((msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))

    client.route = lambda topic: (note,) if topic.startswith("fleet/") else ()
    client.on_message = lambda _c, _u, msg: note(msg)
    v5 = protocol == mqtt.MQTTv5
    props = b"" if v5 else None  # MQTT 5: a property length of 0
    expected, packets = [], []
    for i in range(40):
        qos = 1 if i % 5 == 2 else 0
        retain = i % 7 == 3
        topic = "other/x" if i % 9 == 4 else f"fleet/desk-{i % 3}/frames"
        payload = i.to_bytes(2, "big") * (40_000 if i == 17 else 10 + i)
        extra = props
        if v5 and i % 6 == 1:
            extra = b"\x26\x00\x01k\x00\x01v"  # a user property: paho's way
        packets.append(_publish_packet(topic, payload, qos, retain, mid=i + 1, properties=extra))
        expected.append((topic, payload, retain, qos))
    data = b"".join(packets)
    cut = len(data) - len(packets[-1]) // 2
    try:
        theirs.sendall(data[:cut])
        for _ in range(50):
            client.loop_read()
        theirs.sendall(data[cut:])
        for _ in range(50):
            client.loop_read()
        assert got == expected
        assert 0 < client.routed < 40
        theirs.setblocking(False)
        acks = theirs.recv(1 << 16)
        assert acks.count(b"\x40\x02") == 8  # a PUBACK for each QoS 1 message, from paho
    finally:
        ours.close()
        theirs.close()
