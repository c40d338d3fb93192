"""`sitwell calibrate`: an explicit tare from the empty seat, saved per cushion for the daemon."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from firmware_sim import Simulator, load_scenario, write_recording
from monitor.codec.binary import encode_frame, encode_hello
from monitor.model import DeviceInfo
from monitor.sinks.store import Store


def _empty_seat_frames(seconds: float, rows: int = 12, cols: int = 16):
    # the tour scenario starts with 20 s of empty seat
    sim = Simulator(load_scenario("tour"), rows=rows, cols=cols, rate_hz=10, seed=7, duration_s=seconds)
    return [sf for sf in sim.frames() if sf.t < seconds]


def _calibrate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "calibrate", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.serial
def test_calibrate_a_serial_cushion_saves_its_tare(pty_pair, tmp_path):
    frames = _empty_seat_frames(12)
    stop = threading.Event()

    def firmware():
        try:
            pty_pair.write(encode_hello(DeviceInfo(device="c", rows=12, cols=16, max_value=4095, rate_hz=10)))
            for i, sf in enumerate(frames * 3):
                if stop.is_set():
                    return
                pty_pair.write(encode_frame(sf.cells, seq=i, device_ms=i * 100, bits=16))
                time.sleep(0.01)
        except (OSError, TimeoutError):
            return  # the reader has finished and closed the port

    writer = threading.Thread(target=firmware, daemon=True)
    writer.start()
    db = tmp_path / "s.db"
    proc = _calibrate("--serial", str(pty_pair.path), "--seconds", "2", "--db", str(db), "--cushion", "desk-2")
    stop.set()
    writer.join(10)  # before the fixture closes the pty under it
    assert proc.returncode == 0, proc.stderr
    assert "Calibrated desk-2" in proc.stdout
    store = Store(db)
    try:
        saved = store.load_calibration("desk-2")
    finally:
        store.close()
    cal = saved["calibration"]
    assert (cal["rows"], cal["cols"], cal["max_value"]) == (12, 16, 4095)
    # offsets are the empty seat's raw readings (tens of counts), not zero
    mean_offset = sum(map(sum, cal["offset"])) / (12 * 16) * 4095
    assert 5 < mean_offset < 200


def test_calibrate_refuses_an_occupied_seat(samples_dir, tmp_path):
    proc = _calibrate(
        "--recording", str(samples_dir / "tour-16x16.jsonl.gz"), "--seconds", "120", "--db", str(tmp_path / "s.db")
    )
    assert proc.returncode == 1
    assert "does not look empty" in proc.stderr


def test_calibrate_from_a_recording_of_the_empty_seat(tmp_path):
    rec = tmp_path / "empty.jsonl"
    write_recording(
        Simulator(load_scenario("tour"), rows=8, cols=8, rate_hz=5, seed=2, duration_s=15), rec, cushion="desk-3"
    )
    proc = _calibrate("--recording", str(rec), "--seconds", "10", "--db", str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr
    assert "Calibrated desk-3" in proc.stdout


def test_calibrate_needs_an_input():
    proc = _calibrate()
    assert proc.returncode == 2 and "nothing to calibrate" in proc.stderr


SEATED_SCENARIO = """
name = "seated"
description = "someone sits still from the first frame"
[person]
weight_kg = {weight}
offset_cm = [0.0, 0.0]
[[segments]]
posture = "upright"
duration_s = 600
"""


@pytest.mark.serial
@pytest.mark.parametrize("weight", [45, 90])
def test_calibrate_refuses_a_seat_someone_sits_on_still_over_a_pty(tmp_path, weight):
    """Issue 17.1: the simulator plays a sitter who keeps still on a real pty; `sitwell
    calibrate` must refuse (nothing saved), and --force must override."""
    scenario = tmp_path / "seated.toml"
    scenario.write_text(SEATED_SCENARIO.format(weight=weight))
    sim = subprocess.Popen([sys.executable, "-m", "monitor.cli", "sim", "--scenario", str(scenario), "--pty",
                            "--rows", "12", "--cols", "16"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/"), port
        db = tmp_path / "s.db"
        refused = _calibrate("--serial", port, "--seconds", "3", "--db", str(db))
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "does not look empty" in refused.stderr and "--force" in refused.stderr
        assert "Calibrated" not in refused.stdout
        store = Store(db)
        try:
            assert store.load_calibration("cushion-1") is None  # nothing saved
        finally:
            store.close()
        forced = _calibrate("--serial", port, "--seconds", "2", "--db", str(db), "--force")
        assert forced.returncode == 0, forced.stderr
        assert "Calibrated cushion-1" in forced.stdout and "saving anyway" in forced.stderr
    finally:
        sim.terminate()
        sim.wait(10)


@pytest.mark.mqtt
def test_calibrate_refuses_a_seat_someone_sits_on_over_mqtt(tmp_path, mosquitto):
    """Issue 17.1, the same over MQTT: the simulator publishes a sitter who keeps still to a
    real broker; `sitwell calibrate --mqtt` refuses."""
    scenario = tmp_path / "seated.toml"
    scenario.write_text(SEATED_SCENARIO.format(weight=70))
    broker = f"{mosquitto.host}:{mosquitto.port}"
    sim = subprocess.Popen([sys.executable, "-m", "monitor.cli", "sim", "--scenario", str(scenario), "--mqtt", broker,
                            "--cushion", "desk-9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        db = tmp_path / "s.db"
        refused = _calibrate("--mqtt", broker, "--seconds", "4", "--db", str(db))
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "does not look empty" in refused.stderr and "Calibrated" not in refused.stdout
        store = Store(db)
        try:
            assert store.load_calibration("desk-9") is None
        finally:
            store.close()
    finally:
        sim.terminate()
        sim.wait(10)
