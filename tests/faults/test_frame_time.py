"""Frame time from the wire is untrusted: one far-off `t` published to a live cushion over a
real Mosquitto must cost one frame's work. The daemon keeps answering, memory stays flat,
SIGTERM works, the cushion's state stays right, no date outside any calendar reaches the
database, and a restart on the same database is clean (no poisoned snapshot).
"""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import pytest

from tests.plugins.faults import (
    EXIT_PROMPT_S,
    SitwellProcess,
    db_rows,
    frame_banks,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.mqtt

DT = 0.1  # s of frame time between frames (a 10 Hz cushion)


class JsonCushion:
    """A cushion publishing JSON frames with the times the test chooses."""

    def __init__(self, mosquitto, name: str) -> None:
        self.topic = f"sitwell/{name}/frames"
        self.pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ft-{name}")
        self.pub.connect(mosquitto.host, mosquitto.port)
        self.pub.loop_start()
        self.empty, self.seated = frame_banks()
        self.i = 0

    def send(self, t: float, seated: bool = True) -> None:
        cells = (self.seated if seated else self.empty)[self.i % 100]
        self.i += 1
        self.pub.publish(self.topic, json.dumps({"t": t, "cells": cells.tolist()}), qos=1).wait_for_publish(5)

    def sit(self, t0: float, seconds: float, pace: float = 20.0) -> float:
        """Seated frames from t0 for `seconds` of frame time, `pace` x real time; the next t."""
        t = t0
        start = time.monotonic()
        while t < t0 + seconds:
            self.send(t)
            t += DT
            ahead = (t - t0) / pace - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        return t

    def close(self) -> None:
        self.pub.loop_stop()
        self.pub.disconnect()


def _responsive_for(d: SitwellProcess, seconds: float) -> float:
    """Poll /healthz for `seconds`; the slowest answer (each must come within 1 s)."""
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        r = httpx.get(d.base + "/healthz", timeout=1.0)
        assert r.status_code == 200
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.1)
    return worst


def _sane_years(db) -> set[int]:
    years = set()
    for table, col in (("spells", "start_at"), ("breaks", "start_at"), ("minutes", "minute"), ("reminders", "at")):
        for (value,) in db_rows(db, f"SELECT {col} FROM {table}"):
            years.add(datetime.fromisoformat(value).year)
    return years


@pytest.mark.parametrize("far_t", [1e11, 1e12], ids=["1e11", "1e12"])
def test_one_far_frame_time_costs_one_frame_and_the_cushion_carries_on(tmp_path, mosquitto, far_t):
    cfg = write_config(tmp_path / "sitwell.toml")
    env = {"SITWELL_MQTT__CLIENT_ID": f"ft-daemon-{int(np.log10(far_t))}"}
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg, env=env)
    cushion = JsonCushion(mosquitto, "desk-1")
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)  # subscribed
        t = cushion.sit(0.0, 20.0)
        st = wait_until(lambda: (s := d.status("desk-1")) and s["occupied"] and s["spell_s"] >= 15 and s, 15)
        assert st, d.status("desk-1")
        rss_before = d.rss_kb()
        cushion.send(far_t)  # one frame from far in the future
        t = cushion.sit(t, 10.0)  # and the cushion carries on as before
        assert _responsive_for(d, 4.0) < 1.0
        st = wait_until(lambda: (s := d.status("desk-1")) and s["spell_s"] >= 25 and s, 10)
        assert st and st["occupied"] and st["posture"] != "empty", d.status("desk-1")
        assert st["spell_s"] < 60, "one frame must not move the spell by more than the real time"
        assert d.rss_kb() - rss_before < 30_000, "memory must stay flat"
        assert d.healthz()["store"]["errors"] == 0, d.healthz()["store"]
        assert d.signal(signal.SIGTERM) < EXIT_PROMPT_S
        assert "Traceback" not in d.log and "OverflowError" not in d.log, d.log[-3000:]
        years = _sane_years(d.db)
        assert years and years <= {datetime.now().year, datetime.now().year + 1}, years

        # restart on the same database: the snapshot saved above carries no poison
        d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg, env=env)
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)
        t = cushion.sit(t, 10.0)
        st = wait_until(lambda: (s := d.status("desk-1")) and s["occupied"] and s, 10)
        assert st and st["spell_s"] < 120, st
        assert d.healthz()["store"]["errors"] == 0 and d.healthz()["store"]["ok"], d.healthz()["store"]
        assert d.signal(signal.SIGTERM) < EXIT_PROMPT_S
        assert "Traceback" not in d.log, d.log[-3000:]
        assert _sane_years(d.db) <= {datetime.now().year, datetime.now().year + 1}
    finally:
        cushion.close()
        d.kill()


@pytest.mark.parametrize("first_t", [1e12 - 20, -1e12, -5.0])
def test_a_cushion_whose_first_frame_has_an_impossible_time_is_still_analysed(tmp_path, mosquitto, first_t):
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "ft-daemon-first"})
    cushion = JsonCushion(mosquitto, "fresh")
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)
        cushion.sit(first_t, 15.0)
        st = wait_until(lambda: (s := d.status("fresh")) and s["occupied"] and s["spell_s"] >= 10 and s, 15)
        assert st, (d.status("fresh"), d.log[-2000:])
        assert d.healthz()["store"]["errors"] == 0
        assert d.signal(signal.SIGTERM) < EXIT_PROMPT_S
        assert "Traceback" not in d.log, d.log[-3000:]
        assert _sane_years(d.db) <= {datetime.now().year, datetime.now().year + 1}
    finally:
        cushion.close()
        d.kill()


def test_fuzzed_frame_times_json_and_binary_keep_the_daemon_responsive_and_dates_sane(tmp_path, mosquitto):
    """Frame times drawn from the nasty end (wraps, fake wraps, leaps, negative, NaN-like,
    1e999) mixed into two live cushions, one JSON and one binary (seeded)."""
    import random

    from monitor.codec.binary import frame_payload

    rng = random.Random(1919)
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--mqtt", f"{mosquitto.host}:{mosquitto.port}", config=cfg,
                       env={"SITWELL_MQTT__CLIENT_ID": "ft-daemon-fuzz"})
    js = JsonCushion(mosquitto, "fuzz-json")
    top = 1 << 32
    try:
        assert wait_until(lambda: "mqtt" in d.log and d.healthz()["status"] == "ok", 10)
        time.sleep(0.5)
        rss_before = d.rss_kb()
        t, ms = 0.0, 1000
        for i in range(600):
            cells = js.seated[i % 100]
            if rng.random() < 0.15:  # a hostile time
                bad = rng.choice([1e11, 1e12, -1e12, -1.0, 2.0**32, t + 1e9, t - 5e6, "NaN", "Infinity", "1e999"])
                body = f'{{"t": {bad}, "cells": {json.dumps(cells.tolist())}}}'
                js.pub.publish(js.topic, body, qos=1)
                fake = rng.choice([top - 1, (1 << 31) - 1, (1 << 31) + 1, 0, ms + (1 << 31) - 5, ms - 10])
                js.pub.publish("sitwell/fuzz-bin/frames", frame_payload(cells, i & 0xFFFF, fake % top, 16), qos=1)
            else:
                js.send(t)
                js.pub.publish("sitwell/fuzz-bin/frames", frame_payload(cells, i & 0xFFFF, ms % top, 16), qos=1)
                t += DT
                ms += 100
            if i % 50 == 0:
                assert _responsive_for(d, 0.1) < 1.0
        js.send(t)  # a last good frame, waited for
        assert _responsive_for(d, 3.0) < 1.0
        for name in ("fuzz-json", "fuzz-bin"):
            assert wait_until(lambda n=name: d.status(n) is not None, 10), name
        assert d.rss_kb() - rss_before < 60_000
        h = d.healthz()
        assert h["store"]["errors"] == 0, h["store"]
        took = d.signal(signal.SIGTERM)
        assert took < 2.0, (took, d.log[-4000:])
        assert "Traceback" not in d.log, d.log[-3000:]
        assert _sane_years(d.db) <= {datetime.now().year, datetime.now().year + 1}
    finally:
        js.close()
        d.kill()
