"""MqttInput against a real Mosquitto broker, fed by real paho clients."""

from __future__ import annotations

import itertools
import json
import threading
import time
from itertools import pairwise

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from monitor.codec.binary import frame_payload, hello_payload
from monitor.config.settings import MqttConfig
from monitor.model import DeviceInfo, Frame
from monitor.transport.mqtt_input import MqttInput

pytestmark = pytest.mark.mqtt

_ids = itertools.count()


def make_config(broker, **kw) -> MqttConfig:
    kw.setdefault("client_id", f"test-input-{next(_ids)}-{time.monotonic_ns()}")
    return MqttConfig(host=broker.host, port=broker.port, keepalive=5, reconnect_max_s=1.0, **kw)


class Collector:
    """The daemon's `emit`: thread-safe, waitable."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._cv = threading.Condition()

    def __call__(self, frame: Frame) -> None:
        with self._cv:
            self.frames.append(frame)
            self._cv.notify_all()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Frame]:
        with self._cv:
            self._cv.wait_for(lambda: len(self.frames) >= n, timeout)
            return list(self.frames)


def wait_until(pred, timeout: float = 5.0, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Cushion:
    """A real paho client playing a cushion."""

    def __init__(self, broker, name: str, prefix: str = "sitwell", protocol: str = "3.1.1",
                 announce: bool = True) -> None:
        self.name, self.prefix = name, prefix
        proto = mqtt.MQTTProtocolVersion.MQTTv5 if protocol == "5" else mqtt.MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=proto)
        self.client.will_set(f"{prefix}/{name}/status", "offline", qos=1, retain=True)
        self.gone = threading.Event()
        self.client.on_disconnect = lambda *a: self.gone.set()
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()
        if announce:  # what a real cushion does (CONTRACT §3)
            self.status("online")

    def send(self, payload: bytes | str, qos: int = 1, topic: str | None = None, retain: bool = False) -> None:
        info = self.client.publish(topic or f"{self.prefix}/{self.name}/frames", payload, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(5)

    def status(self, text: str) -> None:
        self.client.publish(f"{self.prefix}/{self.name}/status", text, qos=1, retain=True).wait_for_publish(5)

    def close(self) -> None:
        # wait for the DISCONNECT to go out: stopping the loop first would drop the TCP
        # connection without it, and the broker would publish the will ("offline")
        self.client.disconnect()
        self.gone.wait(2)
        self.client.loop_stop()


@pytest.fixture
def started():
    """Start MqttInputs and always stop them."""
    inputs: list[MqttInput] = []

    def start(config: MqttConfig) -> tuple[MqttInput, Collector]:
        inp = MqttInput(config)
        out = Collector()
        inp.start(out)
        inputs.append(inp)
        assert inp.conn.subscribed.wait(5), "input did not connect and subscribe"
        return inp, out

    yield start
    for inp in inputs:
        inp.stop()


def cells(rows: int, cols: int, seed: int, top: int = 4095) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, top + 1, size=(rows, cols), dtype=np.uint16)


def health_of(inp: MqttInput, cushion: str) -> dict:
    return next(h for h in inp.health() if h["cushion"] == cushion)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_binary_frames_in(mosquitto_session, started, protocol):
    inp, out = started(make_config(mosquitto_session, protocol=protocol))
    cushion = Cushion(mosquitto_session, f"bin-{protocol.replace('.', '')}", protocol=protocol)
    try:
        cushion.send(hello_payload(DeviceInfo(device="c", rows=12, cols=16, max_value=4095, rate_hz=20)))
        sent = [cells(12, 16, i) for i in range(5)]
        for i, c in enumerate(sent):
            cushion.send(frame_payload(c, seq=100 + i, device_ms=5_000 + 50 * i))
        frames = out.wait_for(5)
    finally:
        cushion.close()
    assert len(frames) == 5
    for i, f in enumerate(frames):
        assert f.cushion == cushion.name
        assert np.array_equal(f.cells, sent[i])
        assert f.t == pytest.approx(5.0 + 0.05 * i)
        assert f.seq == 100 + i
        assert f.max_value == 4095
    h = health_of(inp, cushion.name)
    assert h["frames"] == 5 and h["drops"] == {} and h["connected"]
    assert h["device"]["rows"] == 12 and h["device"]["cols"] == 16


def test_json_frames_in(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session))
    cushion = Cushion(mosquitto_session, "json-1")
    try:
        sent = [cells(8, 8, i, top=255) for i in range(3)]
        for i, c in enumerate(sent):
            cushion.send(json.dumps({"t": 1.5 + i * 0.2, "cells": c.tolist(), "label": {"posture": "upright"}}))
        frames = out.wait_for(3)
    finally:
        cushion.close()
    assert [f.t for f in frames] == pytest.approx([1.5, 1.7, 1.9])
    assert all(np.array_equal(f.cells, s) for f, s in zip(frames, sent, strict=True))
    assert {f.max_value for f in frames} == {4095}  # no header: the 12-bit default
    assert health_of(inp, "json-1")["frames"] == 3


def test_json_header_sets_max_value_and_grid(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session))
    cushion = Cushion(mosquitto_session, "json-hdr")
    try:
        header = {"type": "header", "format": "sitwell-recording", "version": 1, "cushion": "json-hdr",
                  "rows": 8, "cols": 8, "max_value": 255, "rate_hz": 5}
        cushion.send(json.dumps(header))
        cushion.send(json.dumps({"t": 0.0, "cells": cells(8, 8, 1, top=255).tolist()}))
        cushion.send(json.dumps({"t": 0.2, "cells": cells(8, 8, 2, top=300).tolist()}))  # above 255
        cushion.send(json.dumps({"t": 0.4, "cells": cells(16, 16, 3, top=255).tolist()}))  # other grid
        cushion.send(json.dumps({"t": 0.6, "cells": cells(8, 8, 4, top=255).tolist()}))
        frames = out.wait_for(2)
        assert wait_until(lambda: sum(health_of(inp, "json-hdr")["drops"].values()) == 2)
    finally:
        cushion.close()
    assert [f.max_value for f in frames] == [255, 255]
    assert [f.t for f in frames] == pytest.approx([0.0, 0.6])
    assert health_of(inp, "json-hdr")["drops"] == {"out_of_range": 1, "bad_grid": 1}


def test_bad_payloads_counted_by_reason_and_cushion(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session, max_payload=4096))
    a, b = Cushion(mosquitto_session, "bad-a"), Cushion(mosquitto_session, "bad-b")
    try:
        good = frame_payload(cells(8, 8, 0), seq=1, device_ms=1000)
        corrupt = bytearray(good)
        corrupt[20] ^= 0xFF
        a.send(bytes(corrupt))  # bad_crc
        a.send(good[:10])  # unknown_format? no: starts with SW -> bad_length
        a.send(b"hello world")  # unknown_format
        a.send(b"{not json")  # bad_json
        a.send(b"{" + b" " * 5000 + b"}")  # oversize (max_payload 4096)
        a.send(json.dumps({"t": 1, "cells": [[1, 2], [3, 4]]}))  # bad_grid (2x2 below 4x4)
        a.send("maybe", topic="sitwell/bad-a/status")  # bad_status
        b.send(json.dumps({"t": "x", "cells": cells(8, 8, 1).tolist()}))  # bad_t
        b.send(json.dumps({"t": 1, "cells": [[0.5] * 8] * 8}))  # bad_value
        b.send(good, topic="sitwell/bad id!/frames")  # bad cushion id: counted on the input
        a.send(good)
        b.send(good)
        frames = out.wait_for(2)
        assert wait_until(lambda: inp.drops.total == 1)
    finally:
        a.close()
        b.close()
    assert sorted(f.cushion for f in frames) == ["bad-a", "bad-b"]
    assert health_of(inp, "bad-a")["drops"] == {
        "bad_crc": 1, "bad_length": 1, "unknown_format": 1, "bad_json": 1, "oversize": 1, "bad_grid": 1,
        "bad_status": 1,
    }
    assert health_of(inp, "bad-b")["drops"] == {"bad_t": 1, "bad_value": 1}
    assert dict(inp.drops) == {"bad_cushion_id": 1}
    assert "bad id!" not in {h["cushion"] for h in inp.health()}


def test_device_clock_wrap_and_restart(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session))
    cushion = Cushion(mosquitto_session, "clock")
    c = cells(8, 8, 0)
    top = 2**32
    ms = [top - 100, top - 50, 0, 50, 50, 40, 10_000_000, 200, 250]
    # 50 repeated with the same seq: a redelivery; 40: stale; 10_000_000 -> 200: a reboot
    seqs = [1, 2, 3, 4, 4, 5, 6, 7, 8]
    try:
        for s, m in zip(seqs, ms, strict=True):
            cushion.send(frame_payload(c, seq=s, device_ms=m % top))
        frames = out.wait_for(7)
        assert wait_until(lambda: sum(health_of(inp, "clock")["drops"].values()) == 2)
    finally:
        cushion.close()
    t = [f.t for f in frames]
    base = (top - 100) / 1000
    assert t[:4] == pytest.approx([base, base + 0.05, base + 0.1, base + 0.15])
    assert t[4] == pytest.approx((top + 10_000_000) / 1000)  # after the wrap
    assert t[5] == pytest.approx(t[4]) and t[6] == pytest.approx(t[4] + 0.05)  # continues after the reboot
    assert all(b >= a for a, b in pairwise(t))
    assert health_of(inp, "clock")["drops"] == {"duplicate": 1, "stale": 1}


def test_cushion_status_reflected_in_health(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session))
    cushion = Cushion(mosquitto_session, "stat-1")
    try:
        cushion.status("online")
        assert wait_until(lambda: any(h["cushion"] == "stat-1" and h["connected"] for h in inp.health()))
        cushion.status("offline")
        assert wait_until(lambda: not health_of(inp, "stat-1")["connected"])
        assert health_of(inp, "stat-1")["error"] == "cushion offline"
        cushion.status("online")
        assert wait_until(lambda: health_of(inp, "stat-1")["connected"])
        cushion.status("offline")
        assert wait_until(lambda: not health_of(inp, "stat-1")["connected"])
        cushion.send(frame_payload(cells(8, 8, 0), seq=1, device_ms=1))  # a live frame: it is back
        out.wait_for(1)
        assert wait_until(lambda: health_of(inp, "stat-1")["connected"])
    finally:
        cushion.close()


def test_cushion_last_will_marks_it_offline(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session))
    cushion = Cushion(mosquitto_session, "will-1")
    cushion.status("online")
    assert wait_until(lambda: any(h["cushion"] == "will-1" and h["connected"] for h in inp.health()))
    # drop the TCP connection without DISCONNECT: the broker publishes the will
    cushion.client.loop_stop()
    cushion.client.socket().close()
    assert wait_until(lambda: not health_of(inp, "will-1")["connected"], timeout=10)


def test_configured_cushions_only(mosquitto_session, started):
    inp, out = started(make_config(mosquitto_session, cushions=["only-me"]))
    assert [h["cushion"] for h in inp.health()] == ["only-me"]
    me, other = Cushion(mosquitto_session, "only-me"), Cushion(mosquitto_session, "not-me")
    try:
        other.send(frame_payload(cells(8, 8, 0), seq=1, device_ms=1))
        me.send(frame_payload(cells(8, 8, 1), seq=1, device_ms=1))
        frames = out.wait_for(1)
        time.sleep(0.2)
    finally:
        me.close()
        other.close()
    assert [f.cushion for f in out.frames] == ["only-me"] == [f.cushion for f in frames]
    assert [h["cushion"] for h in inp.health()] == ["only-me"]


def test_twenty_cushions_separate_state(mosquitto_session, started):
    """20 cushions, each its own client and thread, publishing at the same time."""
    inp, out = started(make_config(mosquitto_session))
    names = [f"room-{i:02d}" for i in range(20)]
    grids = {n: (4 + i % 5 * 4, 4 + i % 3 * 6) for i, n in enumerate(names)}
    n_frames = 10
    cushions = [Cushion(mosquitto_session, n) for n in names]
    go = threading.Barrier(len(names))

    def play(i: int, cushion: Cushion) -> None:
        rows, cols = grids[cushion.name]
        cushion.send(hello_payload({"device": cushion.name, "rows": rows, "cols": cols, "max_value": 1000 + i}))
        go.wait(5)
        for k in range(n_frames):
            c = np.full((rows, cols), (i * 31 + k) % 1000, dtype=np.uint16)
            cushion.send(frame_payload(c, seq=k, device_ms=1000 * i + 100 * k))

    threads = [threading.Thread(target=play, args=(i, c)) for i, c in enumerate(cushions)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        frames = out.wait_for(20 * n_frames, timeout=10)
    finally:
        for c in cushions:
            c.close()
    assert len(frames) == 20 * n_frames
    for i, n in enumerate(names):
        mine = [f for f in frames if f.cushion == n]
        assert len(mine) == n_frames
        assert {f.shape for f in mine} == {grids[n]}
        assert {f.max_value for f in mine} == {1000 + i}
        assert [f.t for f in mine] == pytest.approx([i + 0.1 * k for k in range(n_frames)])
        assert [int(f.cells[0, 0]) for f in mine] == [(i * 31 + k) % 1000 for k in range(n_frames)]
        h = health_of(inp, n)
        assert h["frames"] == n_frames and h["drops"] == {} and h["connected"]
    # interleaved, not one cushion after another
    order = [f.cushion for f in frames[: len(frames) // 2]]
    assert len(set(order)) > 10


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_broker_restart_frames_resume(mosquitto, started, protocol):
    inp, out = started(make_config(mosquitto, protocol=protocol))
    c = cells(8, 8, 0)
    cushion = Cushion(mosquitto, "restart-1")
    cushion.send(frame_payload(c, seq=1, device_ms=1000))
    out.wait_for(1)
    cushion.close()
    # (a SIGTERM right after a DISCONNECT can make mosquitto publish the will: the
    # cushion's "online" after the restart puts it right, as with a real cushion)
    mosquitto.stop()
    assert wait_until(lambda: not inp.conn.connected)
    assert wait_until(lambda: not health_of(inp, "restart-1")["connected"])
    mosquitto.start()
    assert inp.conn.subscribed.wait(10), "input did not reconnect"
    cushion = Cushion(mosquitto, "restart-1")
    try:
        for k in range(2, 5):
            cushion.send(frame_payload(c, seq=k, device_ms=1000 * k))
        frames = out.wait_for(4)
    finally:
        cushion.close()
    assert [f.seq for f in frames] == [1, 2, 3, 4]
    assert health_of(inp, "restart-1")["connected"], health_of(inp, "restart-1")
    assert inp.conn.connects >= 2


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_persistent_session_queues_frames_while_daemon_is_down(mosquitto, started, protocol):
    config = make_config(mosquitto, protocol=protocol)
    inp, out = started(config)
    inp.stop()
    cushion = Cushion(mosquitto, "queued-1")
    try:
        for k in range(3):  # QoS 1 while the monitor is away: the broker keeps them for its session
            cushion.send(frame_payload(cells(8, 8, k), seq=k, device_ms=100 * k))
        mosquitto.restart()  # and keeps them across its own restart too
        inp2, out2 = started(config)
        frames = out2.wait_for(3)
    finally:
        cushion.close()
    assert [f.seq for f in frames] == [0, 1, 2]


def test_starts_before_the_broker_and_stops_fast_while_it_is_down(mosquitto):
    mosquitto.stop()
    inp = MqttInput(make_config(mosquitto, cushions=["early"]))
    out = Collector()
    t0 = time.monotonic()
    inp.start(out)
    assert time.monotonic() - t0 < 0.5  # start() never blocks on the network
    try:
        assert wait_until(lambda: inp.health()[0]["error"] is not None)
        assert inp.health()[0]["connected"] is False
        assert "cannot connect" in inp.health()[0]["error"]
        mosquitto.start()
        assert inp.conn.subscribed.wait(10), "no connection once the broker came up"
        cushion = Cushion(mosquitto, "early")
        cushion.send(frame_payload(cells(8, 8, 0), seq=1, device_ms=1))
        assert len(out.wait_for(1)) == 1
        cushion.close()
        mosquitto.stop()
        assert wait_until(lambda: not inp.conn.connected)
        time.sleep(0.3)  # into the reconnect backoff
    finally:
        t0 = time.monotonic()
        inp.stop()
        stop_s = time.monotonic() - t0
    assert stop_s < 1.5, stop_s
