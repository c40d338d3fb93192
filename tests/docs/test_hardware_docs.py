"""docs/hardware.md tells people what to wire and send; check it against the real inputs.

- the Arduino sketch's output (a `#` banner, then comma-separated lines of rows×cols
  readings) through a real pty into SerialInput with the documented flags;
- the documented mosquitto_pub payloads, published to a real Mosquitto, into MqttInput.
"""

from __future__ import annotations

import random
import re
import shlex
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from monitor.config.settings import MqttConfig
from monitor.transport.mqtt_input import MqttInput
from monitor.transport.serial_port import SerialInput

DOC = Path(__file__).resolve().parents[2] / "docs" / "hardware.md"


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def sketch_output(frames: list[np.ndarray]) -> bytes:
    """Byte for byte what the sketch prints: println banner (\\r\\n), then print()s."""
    out = b"# sitwell text codec 16x16 max 1023\r\n"
    for f in frames:
        out += ",".join(str(int(v)) for v in f.ravel()).encode() + b"\n"
    return out


def documented_run_flags() -> dict[str, str]:
    cmd = next(line for line in DOC.read_text().splitlines() if line.startswith("sitwell run --serial"))
    words = shlex.split(cmd)[2:]
    return dict(zip(words[::2], words[1::2], strict=True))


@pytest.mark.serial
@pytest.mark.parametrize("codec", ["text", "detect"])
def test_sketch_output_through_a_pty(pty_pair, codec):
    flags = documented_run_flags()
    assert flags["--codec"] == "text" and flags["--max-value"] == "1023"
    rows, cols, max_value = int(flags["--rows"]), int(flags["--cols"]), int(flags["--max-value"])
    rng = random.Random(7)
    frames = [np.array([[rng.randint(0, max_value) for _ in range(cols)] for _ in range(rows)]) for _ in range(5)]
    got = []
    inp = SerialInput(str(pty_pair.path), codec=codec,
                      rows=rows, cols=cols, max_value=max_value, cushion="desk-1")
    inp.start(got.append)
    try:
        assert wait_for(lambda: inp.health()[0]["connected"]), inp.health()
        pty_pair.write(sketch_output(frames))
        assert wait_for(lambda: len(got) == len(frames)), (len(got), inp.health())
    finally:
        inp.stop()
    for sent, frame in zip(frames, got, strict=True):
        assert frame.max_value == max_value
        assert np.array_equal(frame.cells, sent)
    assert inp.health()[0]["drops"] == {}  # the banner is a comment, not an error


@pytest.mark.mqtt
def test_documented_mqtt_payloads(mosquitto_session):
    text = DOC.read_text()
    pubs = [shlex.split(line) for line in text.splitlines() if line.startswith("mosquitto_pub ")]
    assert len(pubs) == 3
    inp = MqttInput(MqttConfig(host=mosquitto_session.host, port=mosquitto_session.port, client_id="doc-test-monitor",
                               cushions=["desk-1"]))
    got = []
    inp.start(got.append)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="doc-test-cushion")
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(mosquitto_session.host, mosquitto_session.port)
    client.loop_start()
    try:
        assert connected.wait(5)
        assert inp.conn.subscribed.wait(5), "the monitor did not subscribe"
        for argv in pubs:
            opts = {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i] in ("-h", "-t", "-m")}
            info = client.publish(opts["-t"], opts["-m"], qos=1, retain="-r" in argv)
            info.wait_for_publish(5)
        assert wait_for(lambda: len(got) == 1), inp.health()
    finally:
        client.loop_stop()
        client.disconnect()
        inp.stop()
        # leave no retained messages behind on the shared broker
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="doc-test-cleaner")
        cleaner.connect(mosquitto_session.host, mosquitto_session.port)
        cleaner.loop_start()
        for topic in ("sitwell/desk-1/status", "sitwell/desk-1/frames"):
            cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        cleaner.loop_stop()
        cleaner.disconnect()
    frame = got[0]
    assert frame.cushion == "desk-1" and frame.max_value == 1023  # from the retained header
    assert frame.cells.tolist() == [[0, 0, 0, 0], [0, 9, 8, 0], [0, 7, 9, 0], [0, 0, 0, 0]]
    assert re.search(r"sitwell run --mqtt \S+:1883", text)
