"""`sitwell setup` over a real pty: a cushion (firmware_sim frames) that does what each prompt
asks, the CLI as a subprocess. It walks every step with "got it", stores the sitter's profile
per cushion (the daemon's classifier takes it), finds a cushion mirrored by numpy, and says
which postures it cannot tell apart when the sitter does not change."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from monitor.analysis.profile import SitterProfile
from monitor.analysis.setup_steps import STEPS
from monitor.calibration.mounting import Mounting, apply_fault
from monitor.codec.binary import encode_frame, encode_hello
from monitor.model import DeviceInfo
from monitor.sinks.store import Store
from tests.plugins.faults import REPO

pytestmark = pytest.mark.serial
POSTURES = [name for name, _ in STEPS[1:]]


def posture_banks(rows: int = 16, cols: int = 16, seed: int = 6) -> dict[str, np.ndarray]:
    from firmware_sim.scenario import parse_scenario
    from firmware_sim.simulator import Simulator

    segments = [{"kind": "away", "duration_s": 12}] + [{"posture": p, "duration_s": 12} for p in POSTURES]
    sim = Simulator(parse_scenario({"person": {"weight_kg": 72}, "segments": segments}, "setup-test"),
                    rows=rows, cols=cols, rate_hz=10, seed=seed)
    banks: dict[str, list] = {}
    for f in sim.frames():
        seg_t = (f.label or {}).get("seg_t", 0.0)
        if seg_t >= 3.0:  # settled
            banks.setdefault(f.label["posture"], []).append(np.asarray(f.cells))
    return {k: np.stack(v) for k, v in banks.items()}


class PromptedCushion:
    """Writes frames of whatever posture the CLI's last "Step k/N" line asked for."""

    def __init__(self, pty, banks: dict[str, np.ndarray], mounting: Mounting | None = None,
                 stubborn: set[str] | None = None) -> None:
        self.pty, self.banks = pty, banks
        self.mounting = mounting or Mounting()
        self.stubborn = stubborn or set()  # postures this sitter does not do (stays upright)
        self.posture = "empty"
        self.seq, self.ms = 0, 1000
        info = DeviceInfo(device="setup-test", rows=16, cols=16, max_value=4095, rate_hz=10)
        pty.write(encode_hello(info))

    def follow(self, line: str) -> None:
        m = re.match(r"Step (\d+)/\d+:", line)
        if m:
            self.posture = STEPS[int(m.group(1)) - 1][0]

    def send(self, seconds: float) -> None:
        posture = "upright" if self.posture in self.stubborn else self.posture
        bank = apply_fault(self.banks[posture], self.mounting, 4095)
        out = []
        for _ in range(round(seconds * 10)):
            out.append(encode_frame(bank[self.seq % len(bank)], self.seq & 0xFFFF, self.ms, 16))
            self.seq += 1
            self.ms += 100
        self.pty.write(b"".join(out))


def run_setup(tmp_path, pty, cushion: PromptedCushion, timeout: float = 150.0) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "monitor.cli", "setup", "--serial", str(pty.path), "--codec", "binary",
           "--db", str(tmp_path / "sitwell.db"), "--step-seconds", "3"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            cushion.follow(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    end = time.monotonic() + timeout
    try:
        # the CLI has opened the port once it says hello (a loaded machine takes a while to start it)
        while not any("sitwell set-up" in line for line in lines) and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(0.5)
        while proc.poll() is None and time.monotonic() < end:
            try:
                cushion.send(0.5)
            except TimeoutError:  # the CLI has finished reading: it is saving and will exit
                if not any("got it" in line for line in lines):
                    raise
            time.sleep(0.2)  # ~2.5x real time: the CLI keeps up on a loaded machine
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(2)
    return proc.returncode, "".join(lines)


@pytest.fixture(scope="module")
def banks():
    return posture_banks()


def test_setup_walks_every_step_and_stores_the_profile(tmp_path, pty_pair, banks):
    code, out = run_setup(tmp_path, pty_pair, PromptedCushion(pty_pair, banks))
    assert code == 0, out
    assert out.count("got it ✓") == len(STEPS)
    assert "I see: " in out
    assert "can tell all your postures apart" in out, out
    with Store(tmp_path / "sitwell.db") as store:
        saved = store.load_profile("cushion-1")
        assert saved["mirrored"] is False and saved["cannot_tell"] == []
        assert store.load_calibration("cushion-1")  # the empty seat's tare
    profile = SitterProfile.from_json(saved)
    assert profile.source == "setup" and profile.baseline and profile.lean and profile.cross


def test_setup_finds_a_mirrored_cushion(tmp_path, pty_pair, banks):
    code, out = run_setup(tmp_path, pty_pair, PromptedCushion(pty_pair, banks, Mounting(mirror=True)))
    assert code == 0, out
    assert "mirrored" in out
    with Store(tmp_path / "sitwell.db") as store:
        assert store.load_profile("cushion-1")["mirrored"] is True
        assert store.load_settings()["mounting"]["cushions"]["cushion-1"]["mirror"] is True


def test_setup_says_which_postures_it_cannot_tell_apart(tmp_path, pty_pair, banks):
    cushion = PromptedCushion(pty_pair, banks, stubborn={"slouch"})
    code, out = run_setup(tmp_path, pty_pair, cushion)
    assert code == 0, out
    assert "Cannot tell apart: slouching (read as sitting upright" in out, out
