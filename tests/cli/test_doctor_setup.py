"""`sitwell doctor` says what is wrong with the set-up: a full scale the readings exceed and an
inverted cushion, read from a real pty for a few seconds; with a sitwell running, its own
notices."""

from __future__ import annotations

import threading

import pytest

from monitor.calibration.mounting import Mounting, apply_fault
from monitor.codec.binary import encode_frame, encode_hello
from monitor.model import DeviceInfo
from tests.cli.test_doctor import doctor
from tests.conftest import free_port
from tests.plugins.faults import frame_banks

pytestmark = pytest.mark.serial


def _feed(pty, chunks: list[bytes], stop: threading.Event) -> threading.Thread:
    def run() -> None:
        i = 0
        while not stop.is_set():
            try:  # a short timeout: the test may close the pty while a write waits for a reader
                pty.write(chunks[i % len(chunks)], timeout=0.5)
            except (TimeoutError, OSError, AssertionError, TypeError):
                if stop.is_set():
                    return
            i += 1
            stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _config(home, pty, extra: str = "") -> str:
    db_dir = home / "db"
    db_dir.mkdir(exist_ok=True)
    cfg = home / "sitwell.toml"
    cfg.write_text(f'[serial]\nport = "{pty.path}"\n{extra}\n[store]\ndb = "{db_dir / "sitwell.db"}"\n'
                   f"[dashboard]\nport = {free_port()}\n")
    return str(cfg)


def test_doctor_warns_of_a_max_value_the_readings_exceed(home, pty_pair):
    _, seated = frame_banks()
    lines = [(",".join(str(int(v)) for v in f.reshape(-1)) + "\n").encode() for f in seated[:20]]
    cfg = _config(home, pty_pair, 'codec = "text"\nrows = 16\ncols = 16\nmax_value = 1023')
    stop = threading.Event()
    feeder = _feed(pty_pair, lines, stop)
    try:
        result, checks = doctor("--config", cfg)
    finally:
        stop.set()
        feeder.join(2)
    assert checks["set-up"][0] == "WARN", result.output
    assert "do not fit the full scale 1023" in result.output or "above the full scale 1023" in result.output
    assert "--max-value 4095" in result.output  # the fix, named


def test_doctor_warns_of_an_inverted_cushion(home, pty_pair):
    empty, _ = frame_banks()
    inverted = apply_fault(empty, Mounting(invert=True), 4095)
    info = DeviceInfo(device="inv", rows=16, cols=16, max_value=4095, rate_hz=20)
    chunks = [encode_hello(info, 0, 0)] + [encode_frame(f, i, 1000 + 50 * i, 16) for i, f in enumerate(inverted[:40])]
    cfg = _config(home, pty_pair, 'codec = "binary"')
    stop = threading.Event()
    feeder = _feed(pty_pair, [b"".join(chunks)], stop)
    try:
        result, checks = doctor("--config", cfg)
    finally:
        stop.set()
        feeder.join(2)
    assert checks["set-up"][0] == "WARN", result.output
    assert "inverted" in result.output and "invert = true" in result.output


def test_doctor_says_nothing_is_wrong_with_a_sound_cushion(home, pty_pair):
    empty, _ = frame_banks()
    info = DeviceInfo(device="ok", rows=16, cols=16, max_value=4095, rate_hz=20)
    chunks = [encode_hello(info, 0, 0)] + [encode_frame(f, i, 1000 + 50 * i, 16) for i, f in enumerate(empty[:40])]
    stop = threading.Event()
    feeder = _feed(pty_pair, [b"".join(chunks)], stop)
    try:
        result, checks = doctor("--config", _config(home, pty_pair, 'codec = "binary"'))
    finally:
        stop.set()
        feeder.join(2)
    assert checks["set-up"][0] == "OK", result.output
