"""Faults at the daemon's input edges: corrupt bytes and garbage on the serial port, frames
of the wrong size, broken JSON and other junk over MQTT, a port that is unplugged.

The daemon keeps running and keeps analysing the good frames around the bad ones; the bad
input is counted by reason in /healthz and reported in the log at the default level; an
unplugged port shows connected false in /api/status.
"""

from __future__ import annotations

import json
import random
import struct
import time

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from cobs import cobs

from monitor.codec.binary import crc16_ccitt_false, encode_frame, frame_payload
from tests.plugins.faults import (
    PACE,
    RATE_HZ,
    Cushion,
    SitwellProcess,
    frame_banks,
    wait_until,
    write_config,
)


def _wire(payload: bytes) -> bytes:
    return cobs.encode(payload) + b"\0"


def _with_fresh_crc(body: bytes) -> bytes:
    return body + struct.pack("<H", crc16_ccitt_false(body))


def serial_junk(rng: random.Random) -> tuple[bytes, set[str]]:
    """Every kind of bad input a serial line delivers, and the reasons it must be counted as."""
    cells = frame_banks()[1][0]
    good = frame_payload(cells, 1, 123_000, 16)
    bad_crc = bytearray(good)
    bad_crc[40] ^= 0x10  # a flipped bit
    truncated = _with_fresh_crc(good[:-2][:13 + 100])  # header says 16x16, 50 cells follow: CRC fine
    bad_version = bytearray(good[:-2])
    bad_version[2] = 9
    noise = bytes(rng.randrange(1, 256) for _ in range(300))  # no delimiter inside
    text = b"12,13,14,15\r\n# a hobby sketch's debug line\r\n"
    return (
        _wire(bytes(bad_crc)) + _wire(truncated) + _wire(_with_fresh_crc(bytes(bad_version)))
        + noise + b"\0" + text + b"\0" + b"\xff" * 70_000 + b"\0",  # the last: a run far longer than any packet
        {"bad_crc", "bad_length", "bad_version", "oversize"},
    )


@pytest.mark.serial
def test_serial_garbage_wrong_sizes_and_unplug(tmp_path, pty_pair):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        rng = random.Random(8)
        junk, reasons = serial_junk(rng)
        # sitting, with junk between the frames
        for _ in range(4):
            cushion.sit(10, pace=PACE)
            pty_pair.write(junk)
        # a frame of another grid (8x8) from the same port: not this cushion's shape
        small = np.full((8, 8), 100, dtype=np.uint16)
        pty_pair.write(encode_frame(small, 7, cushion.device_ms % (1 << 32), 16))
        cushion.sit(10, pace=PACE)
        assert wait_until(lambda: d.input_health()["frames"] >= cushion.sent, 10)

        drops = wait_until(lambda: (h := d.input_health()).get("drops") and reasons <= set(h["drops"]) and h["drops"],
                           10)
        assert drops, d.input_health()
        assert drops["bad_crc"] >= 4 and drops["bad_length"] >= 4 and drops["oversize"] >= 4, drops
        assert d.proc.poll() is None and d.healthz()["status"] == "ok"
        # the good frames around the junk were analysed as usual (within analysis.max_delay_ms)
        st = wait_until(lambda: (s := d.status())["spell_s"] >= 45 and s, 5) or d.status()
        assert st["occupied"] and st["posture"] != "empty" and 45 <= st["spell_s"] <= 50, st
        # the log says so at the default level (not only at DEBUG)
        assert wait_until(lambda: "bad_crc" in d.log, 12), d.log[-2000:]

        pty_pair.unplug()
        assert wait_until(lambda: d.status()["connected"] is False, 10), d.status()
        h = d.input_health()
        assert h["connected"] is False and h["error"]
        assert "lost" in d.log or "cannot open" in d.log
    finally:
        d.kill()


@pytest.mark.serial
def test_frame_of_another_grid_is_counted_not_taken_for_queue_overflow(tmp_path, pty_pair):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary", config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion = Cushion(pty_pair, rate_hz=RATE_HZ)
        cushion.hello()
        cushion.away(5, pace=PACE)
        cushion.sit(10, pace=PACE)
        small = np.full((8, 8), 100, dtype=np.uint16)
        for i in range(3):
            pty_pair.write(encode_frame(small, 7 + i, cushion.device_ms % (1 << 32), 16))
        cushion.sit(10, pace=PACE)
        assert wait_until(lambda: d.input_health()["frames"] >= cushion.sent + 3, 10)
        time.sleep(0.5)
        drops = d.input_health().get("drops", {})
        assert drops.get("shed", 0) == 0, f"wrong-grid frames counted as queue overflow: {drops}"
        assert sum(drops.values()) == 3, drops
        st = d.status()
        assert st["occupied"] and 17 <= st["spell_s"] <= 20, st
    finally:
        d.kill()


@pytest.mark.mqtt
def test_mqtt_broken_payloads_are_counted_and_good_frames_go_on(tmp_path, mosquitto):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "faults-daemon"})
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="faults-cushion")
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        empty, seated = frame_banks()
        topic = "sitwell/desk-9/frames"

        def send(t: float, cells: np.ndarray) -> None:
            pub.publish(topic, json.dumps({"t": t, "cells": cells.tolist()}), qos=1).wait_for_publish(5)

        t = 0.0
        for i in range(10):
            send(t, empty[i])
            t += 0.5
        assert wait_until(lambda: d.status("desk-9") is not None, 10), d.get("/api/status")
        bad = [
            b'{"t": 1.0, "cells": [[1, 2, 3',  # cut off
            b"{not json at all}",
            json.dumps({"t": 1.0, "cells": [[1, 2], [3]]}).encode(),  # ragged rows
            json.dumps({"t": "soon", "cells": seated[0].tolist()}).encode(),  # no time
            b"\x00\x01\x02 binary noise",
            b"SW" + bytes(30),  # looks binary, is not
            b"{" + b" " * 200_000 + b"}",  # beyond mqtt.max_payload
        ]
        for i in range(40):
            send(t, seated[i % len(seated)])
            t += 0.5
            if i % 5 == 0:
                for payload in bad:
                    pub.publish(topic, payload, qos=1).wait_for_publish(5)
        # every payload is in once all 50 good frames and all 56 bad ones are counted
        health = wait_until(lambda: [h for h in d.healthz()["inputs"] if h["cushion"] == "desk-9"
                                     and sum(h.get("drops", {}).values()) >= 8 * len(bad) and h["frames"] >= 50], 10)
        assert health, d.healthz()
        h = health[0]
        assert h["frames"] == 50, h
        assert len(h["drops"]) >= 4, h["drops"]  # counted by reason, not lumped together
        assert sum(h["drops"].values()) == 8 * len(bad), h["drops"]
        st = wait_until(lambda: (s := d.status("desk-9")) and s["spell_s"] >= 17 and s, 10)
        assert st and st["occupied"] and st["posture"] != "empty", d.status("desk-9")
        assert d.proc.poll() is None
        assert wait_until(lambda: "desk-9" in d.log and "dropped" in d.log, 12), d.log[-2000:]
    finally:
        pub.loop_stop()
        pub.disconnect()
        d.kill()


def _publish_many_cushions(mosquitto, n: int, extra_topics: list[str]) -> None:
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="faults-many")
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        frame = json.dumps({"t": 1.0, "cells": [[10] * 4] * 4})
        infos = [pub.publish(f"sitwell/c{i:03d}/frames", frame, qos=1) for i in range(n)]
        infos += [pub.publish(t, frame, qos=1) for t in extra_topics]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()


@pytest.mark.mqtt
def test_mqtt_flood_of_cushion_ids_is_bounded(tmp_path, mosquitto):
    """Anyone on the broker can invent cushion ids: at most mqtt.max_cushions (256 here) are kept,
    the daemon stays up."""
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "faults-daemon-ids", "SITWELL_MQTT__MAX_CUSHIONS": "256"})
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)  # subscribed
        rss_before = d.rss_kb()
        _publish_many_cushions(mosquitto, 300, ["sitwell/bad id!/frames"])
        assert wait_until(lambda: len(d.get("/api/status")) == 256, 20), len(d.get("/api/status"))
        time.sleep(1.0)
        assert len(d.get("/api/status")) == 256 and len(d.healthz()["inputs"]) == 256
        assert d.rss_kb() - rss_before < 150_000, "256 tiny cushions should not cost 150 MB"
        assert d.proc.poll() is None
    finally:
        d.kill()


@pytest.mark.mqtt
def test_mqtt_refused_cushions_are_visible_in_healthz(tmp_path, mosquitto):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "faults-daemon-refused", "SITWELL_MQTT__MAX_CUSHIONS": "256"})
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)
        _publish_many_cushions(mosquitto, 260, ["sitwell/bad id!/frames"])
        assert wait_until(lambda: len(d.get("/api/status")) == 256, 20)
        time.sleep(6)  # one drop-report interval
        body = json.dumps(d.healthz())
        assert "too_many_cushions" in body and "bad_cushion_id" in body, body[:500]
        assert "too_many_cushions" in d.log
    finally:
        d.kill()


@pytest.mark.mqtt
def test_silent_mqtt_cushions_expire_so_a_new_one_is_not_refused_until_restart(tmp_path, mosquitto):
    """Once 256 ids had published, a cushion appearing later was refused until a restart
    (issue 19.6). Now a cushion silent for mqtt.cushion_expiry_s is forgotten."""
    cfg = write_config(tmp_path / "sitwell.toml", extra="[mqtt]\ncushion_expiry_s = 10\n")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "faults-daemon-expiry", "SITWELL_MQTT__MAX_CUSHIONS": "256"})
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)
        _publish_many_cushions(mosquitto, 256, [])
        assert wait_until(lambda: len(d.get("/api/status")) == 256, 20)
        _publish_many_cushions(mosquitto, 0, ["sitwell/late-1/frames"])
        assert wait_until(lambda: d.healthz()["unattributed_drops"].get("too_many_cushions", 0) >= 1, 10)
        assert "late-1" not in {s["cushion"] for s in d.get("/api/status")}
        assert "refused" in d.log and "mqtt.cushion_expiry_s" in d.log  # said, with the setting to change
        time.sleep(11)  # all 256 now silent for longer than cushion_expiry_s
        _publish_many_cushions(mosquitto, 0, ["sitwell/late-1/frames"])
        assert wait_until(lambda: "late-1" in {s["cushion"] for s in d.get("/api/status")}, 10), d.log[-2000:]
        h = d.healthz()
        assert h["expired_cushions"] >= 255 and len(h["inputs"]) <= 256, h["expired_cushions"]
        assert len(d.get("/api/status")) <= 256
        # the fleet overview forgets them too (its tiles would otherwise stay for good)
        assert wait_until(lambda: len(d.get("/api/fleet")["rows"]) <= 256 - 255 + 1, 10)
        assert "late-1" in {r[0] for r in d.get("/api/fleet")["rows"]}
        assert "forgotten" in d.log and "Traceback" not in d.log
    finally:
        d.kill()

