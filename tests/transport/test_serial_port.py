"""SerialInput on real pseudo-terminals: decoding, detection, unplug/replug, stop."""

from __future__ import annotations

import logging
import os
import threading
import time
from itertools import pairwise

import numpy as np
import pytest

from monitor.codec.binary import encode_frame, encode_hello
from monitor.model import DeviceInfo, Frame
from monitor.transport.base import FrameInput
from monitor.transport.device_clock import DeviceClock
from monitor.transport.serial_port import SerialInput

pytestmark = pytest.mark.serial


class Sink:
    """Collects emitted frames from the reader thread."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._cond = threading.Condition()

    def __call__(self, frame: Frame) -> None:
        with self._cond:
            self.frames.append(frame)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Frame]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.frames) >= n, timeout)
            return list(self.frames)


def wait_until(pred, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.fixture
def started():
    inputs: list[SerialInput] = []

    def start(**kwargs) -> tuple[SerialInput, Sink]:
        inp = SerialInput(**kwargs)
        sink = Sink()
        inp.start(sink)
        inputs.append(inp)
        return inp, sink

    yield start
    for inp in inputs:
        inp.stop()


def grid(seq: int, rows: int = 16, cols: int = 16) -> np.ndarray:
    return (np.arange(rows * cols).reshape(rows, cols) * 7 + seq) % 4096


def test_is_a_frame_input():
    assert issubclass(SerialInput, FrameInput)


def test_binary_frames_arrive_with_device_time(pty_pair, started):
    inp, sink = started(port=str(pty_pair.path), codec="binary", cushion="desk-1")
    assert wait_until(lambda: inp.health()[0]["connected"])
    info = DeviceInfo(device="dev-9", rows=16, cols=16, max_value=4095, rate_hz=20, fw="1.2")
    data = encode_hello(info) + b"".join(encode_frame(grid(i), i, 5000 + 50 * i, 16) for i in range(40))
    pty_pair.write(data)
    frames = sink.wait_for(40)
    assert len(frames) == 40
    assert [f.seq for f in frames] == list(range(40))
    assert [f.t for f in frames] == pytest.approx([5.0 + 0.05 * i for i in range(40)])
    assert all(f.cushion == "desk-1" and f.max_value == 4095 for f in frames)
    assert np.array_equal(frames[7].cells, grid(7))
    h = inp.health()[0]
    assert h["frames"] == 40 and h["drops"] == {} and h["connected"] is True
    assert h["device"]["device"] == "dev-9" and h["device"]["rows"] == 16
    assert set(h) >= {"input", "cushion", "connected", "frames", "drops", "last_frame_age_s", "error", "device"}


def test_shared_binary_vector_over_a_pty(pty_pair, started, samples_dir):
    data = (samples_dir / "wire" / "binary-12x16.bin").read_bytes()
    inp, sink = started(port=str(pty_pair.path), codec="binary")
    assert wait_until(lambda: inp.health()[0]["connected"])
    pty_pair.write(data)
    frames = sink.wait_for(200)
    assert [f.seq for f in frames] == list(range(200))
    assert frames[0].cells.shape == (12, 16)
    assert wait_until(lambda: sum(inp.health()[0]["drops"].values()) == 6)


def test_text_frames_with_host_time(pty_pair, started):
    inp, sink = started(port=str(pty_pair.path), codec="text", rows=4, cols=4, max_value=1023)
    assert wait_until(lambda: inp.health()[0]["connected"])
    pty_pair.write(b"# booting\n" + b"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\r\n" + b"1,2,3\n")
    time.sleep(0.2)
    pty_pair.write(b"0123456789012345\n")
    frames = sink.wait_for(2)
    assert len(frames) == 2
    assert frames[0].cells.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    assert frames[0].max_value == 1023 and frames[1].max_value == 9
    assert 0 <= frames[0].t < frames[1].t and frames[1].t - frames[0].t >= 0.15
    assert inp.health()[0]["drops"] == {"wrong_count": 1}


@pytest.mark.parametrize("kind", ["binary", "text"])
def test_codec_detection(pty_pair, started, kind):
    inp, sink = started(port=str(pty_pair.path), codec="detect", rows=4, cols=4)
    assert wait_until(lambda: inp.health()[0]["connected"])
    if kind == "binary":
        data = b"".join(encode_frame(grid(i, 4, 4), i, i * 10, 16) for i in range(5))
    else:
        data = b"".join(b" ".join(str(v + i).encode() for v in range(16)) + b"\n" for i in range(5))
    pty_pair.write(data)
    frames = sink.wait_for(5)
    # nothing seen while detecting is lost: the buffered bytes are replayed
    assert len(frames) == 5
    assert int(frames[0].cells.sum()) == (int(grid(0, 4, 4).sum()) if kind == "binary" else sum(range(16)))
    assert inp.health()[0]["codec"] == kind


def test_unplug_and_replug_resumes(pty_pair, started, caplog):
    caplog.set_level(logging.INFO, logger="monitor.transport.serial_port")
    inp, sink = started(port=str(pty_pair.path), codec="binary", reconnect_max_s=0.5)
    assert wait_until(lambda: inp.health()[0]["connected"])
    pty_pair.write(b"".join(encode_frame(grid(i), i, 1000 + i * 100, 16) for i in range(3)))
    assert len(sink.wait_for(3)) == 3

    pty_pair.unplug()
    assert wait_until(lambda: not inp.health()[0]["connected"])
    h = inp.health()[0]
    assert h["error"]
    time.sleep(1.5)  # several retries against the missing path ...
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    cannot = [r for r in caplog.records if "cannot open" in r.getMessage()]
    assert len(lost) == 1 and len(cannot) <= 1  # ... logged once, not once per retry

    pty_pair.replug()
    assert wait_until(lambda: inp.health()[0]["connected"], timeout=5)
    pty_pair.write(b"".join(encode_frame(grid(i), i, 1000 + i * 100, 16) for i in range(3, 6)))
    frames = sink.wait_for(6)
    assert [f.seq for f in frames] == list(range(6))
    assert all(b.t >= a.t for a, b in pairwise(frames))
    assert inp.health()[0]["error"] is None
    assert any("frames arriving again" in r.getMessage() for r in caplog.records)


def test_missing_port_at_start_then_appears(tmp_path, started):
    from tests.plugins.pty_pair import PtyPair

    path = tmp_path / "later"
    inp, sink = started(port=str(path), codec="binary", reconnect_max_s=0.3)
    assert wait_until(lambda: inp.health()[0]["error"] is not None)
    assert inp.health()[0]["connected"] is False
    pair = PtyPair(path)
    try:
        assert wait_until(lambda: inp.health()[0]["connected"], timeout=5)
        pair.write(encode_frame(grid(1), 1, 1, 16))
        assert len(sink.wait_for(1)) == 1
    finally:
        pair.close()


def test_stop_returns_quickly_while_reading_and_while_retrying(pty_pair, tmp_path):
    for port in (str(pty_pair.path), str(tmp_path / "absent")):
        inp = SerialInput(port=port, codec="binary", reconnect_max_s=30)
        inp.start(lambda f: None)
        time.sleep(0.3)
        t0 = time.monotonic()
        inp.stop()
        assert time.monotonic() - t0 < 1.0
        assert inp.health()[0]["connected"] is False
        inp.stop()  # idempotent


def test_emit_errors_do_not_kill_the_reader(pty_pair):
    got: list[Frame] = []

    def emit(frame: Frame) -> None:
        if frame.seq == 0:
            raise RuntimeError("consumer bug")
        got.append(frame)

    inp = SerialInput(port=str(pty_pair.path), codec="binary")
    inp.start(emit)
    try:
        assert wait_until(lambda: inp.health()[0]["connected"])
        pty_pair.write(b"".join(encode_frame(grid(i), i, i, 16) for i in range(3)))
        assert wait_until(lambda: len(got) == 2)
    finally:
        inp.stop()


def test_pyserial_loop_url(started):
    """Any serial_for_url URL works; loop:// echoes what is written to it."""
    inp, sink = started(port="loop://", codec="binary")
    assert wait_until(lambda: inp._serial is not None)
    inp._serial.write(encode_frame(grid(3), 3, 30, 16))
    assert len(sink.wait_for(1)) == 1


def test_bad_port_url_is_an_error_not_an_exception(started):
    inp, _ = started(port="nosuchscheme://x", codec="binary", reconnect_max_s=0.2)
    assert wait_until(lambda: inp.health()[0]["error"] is not None)
    assert inp.health()[0]["connected"] is False


def test_device_clock_unwraps_and_stays_monotonic():
    wall = [0.0]
    clock = DeviceClock(wall=lambda: wall[0])
    assert clock.seconds(2**32 - 100) == pytest.approx((2**32 - 100) / 1000)
    assert clock.seconds(50) == pytest.approx((2**32 + 50) / 1000)  # wrapped
    before = clock.seconds(1000)
    assert clock.seconds(10) == before  # rebooted device: time does not go back
    assert clock.seconds(110) == pytest.approx(before + 0.1)


def test_a_rebooted_device_after_an_outage_moves_frame_time_on_by_the_host_gap():
    wall = [100.0]
    clock = DeviceClock(wall=lambda: wall[0])
    clock.seconds(5_000_000)
    wall[0] += 300.0  # five minutes without frames, then the board boots again
    assert clock.seconds(200) == pytest.approx(5_000 + 300)
    wall[0] += 0.1
    assert clock.seconds(300) == pytest.approx(5_300.1)


def test_flapping_port_backs_off_and_logs_once(started, caplog):
    """A device that accepts the open and fails at once (socket:// to a server that
    hangs up): retries back off instead of spinning, and the outage is logged once."""
    import socket

    caplog.set_level(logging.INFO, logger="monitor.transport.serial_port")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepts: list[float] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepts.append(time.monotonic())
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        port = server.getsockname()[1]
        inp, _ = started(port=f"socket://127.0.0.1:{port}", codec="binary", reconnect_max_s=1.0)
        time.sleep(3.0)
        inp.stop()
    finally:
        done.set()
        t.join(2)
        server.close()
    # backoff 0.25, 0.5, 1, 1, ... gives ~5 attempts in 3 s; a fixed 0.25 s retry gives 12
    assert 2 <= len(accepts) <= 7, accepts
    gaps = [b - a for a, b in pairwise(accepts)]
    assert gaps[-1] > 0.7
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1
    assert inp.health()[0]["connected"] is False


def test_max_value_from_hello_else_bits_else_config(pty_pair, started):
    inp, sink = started(port=str(pty_pair.path), codec="binary", max_value=1023)
    assert wait_until(lambda: inp.health()[0]["connected"])
    small = np.full((8, 8), 200)
    pty_pair.write(encode_frame(small, 0, 0, 8) + encode_frame(small, 1, 10, 16))
    pty_pair.write(encode_hello(DeviceInfo(rows=8, cols=8, max_value=65535)) + encode_frame(small, 2, 20, 16))
    # a hello for another grid does not apply to these frames
    pty_pair.write(encode_hello(DeviceInfo(rows=16, cols=16, max_value=4095)) + encode_frame(small, 3, 30, 16))
    frames = sink.wait_for(4)
    assert [f.max_value for f in frames] == [255, 1023, 65535, 1023]


def test_gathering_between_reads_never_risks_the_tty_buffer():
    # The daemon lets bytes gather in the driver between reads (fewer wake-ups), at most
    # half of the 4 KiB tty buffer's worth at the port's baud rate.
    from monitor.transport.serial_port import TTY_BUFFER

    assert SerialInput("/dev/null", baud=115200, gather_s=0.05).gather_s == 0.05
    fast = SerialInput("/dev/null", baud=921600, gather_s=0.05)
    assert fast.gather_s * 921600 / 10 <= TTY_BUFFER / 2
    assert SerialInput("/dev/null", gather_s=0.0).gather_s == 0.0


def test_a_mistyped_port_is_named_with_the_ports_that_exist(tmp_path):
    """Issue 17.6: `sitwell run --serial /dev/ttyACMO` (letter O) says, in the log once and in
    /healthz (which the dashboard shows), that the port does not exist and which ones do."""
    import subprocess
    import sys

    import httpx
    from serial.tools import list_ports

    typo = "/dev/ttyACMO"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    run = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--serial", typo, "--port", "0",
                            "--db", str(tmp_path / "s.db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
    try:
        line = run.stdout.readline()
        assert line.startswith("sitwell dashboard: "), line
        url = line.split(": ", 1)[1].strip().rstrip("/")
        present = sorted(p.device for p in list_ports.comports())
        deadline = time.monotonic() + 10
        error = None
        while time.monotonic() < deadline and not error:
            inputs = httpx.get(url + "/healthz", timeout=5).json()["inputs"]
            error = inputs[0].get("error") if inputs else None
            time.sleep(0.1)
        assert error and f"{typo} does not exist" in error, error
        assert (", ".join(present) if present else "none found") in error
        time.sleep(4.0)  # several retries (0.25, 0.5, 1, 2 s apart)
    finally:
        run.terminate()
        _, log = run.communicate(timeout=15)
    said = [line for line in log.splitlines() if f"{typo} does not exist" in line]
    assert len(said) == 1, log  # once, not on every retry
    assert "serial ports on this machine" in said[0]
