"""Helpers for the fault tests (tests/faults/): the real `sitwell run` as a
subprocess, and a fake cushion on a real pty whose device clock the test controls.

Not a pytest plugin (conftest does not load it): the fault tests import from it.

- `SitwellProcess`: `sitwell run` on a free port with a temp database and a TOML config;
  `.get(path)`, `.healthz()`, `.status()`, `.wait_for(pred)`, `.signal()`, `.kill()`,
  `.log` (everything it wrote to stderr so far, collected by a thread).
- `Cushion`: frames of a simulated sitter (firmware_sim) encoded with the binary codec,
  written to a `PtyPair` with device times the test chooses (`sit(seconds)`,
  `away(seconds)`, `jump(seconds)`), so frame time - not the wall clock - drives the rules.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from monitor.codec.binary import encode_frame, encode_hello
from monitor.model import DeviceInfo

REPO = Path(__file__).resolve().parents[2]

# Short rules (the floors the config allows) so a spell reaches its limit in seconds of wall time.
FAST_RULES = {
    "min_break_s": 10,
    "sit_limit_min": 5,
    "repeat_every_min": 1,
    "occupied_after_s": 1,
    "empty_after_s": 1,
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, rules: dict[str, Any] | None = None, extra: str = "") -> Path:
    lines = ["[rules]"]
    for k, v in {**FAST_RULES, **(rules or {})}.items():
        lines.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def wait_until(pred: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            return value
        time.sleep(every)


# A daemon told to stop exits within this (it takes well under a second on an idle machine;
# the suite runs beside brokers, browsers and another worker on two cores).
EXIT_PROMPT_S = 5.0


class SitwellProcess:
    """`sitwell run ARGS` as a child process, stderr collected in `.log`."""

    def __init__(self, tmp_path: Path, *args: str, db: Path | None = None, config: Path | None = None,
                 port: int | None = None, env: dict[str, str] | None = None,
                 nofile: tuple[int, int] | None = None):
        self.port = port or free_port()
        self.db = db or tmp_path / "sitwell.db"
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "monitor.cli", "run", "--port", str(self.port), "--db", str(self.db)]
        if config is not None:
            cmd += ["--config", str(config)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SITWELL_")}
        environment.update(env or {})
        if nofile is not None:  # the (soft, hard) open-file limit the daemon starts with
            cmd = ["prlimit", f"--nofile={nofile[0]}:{nofile[1]}", "--", *cmd]
        self.proc = subprocess.Popen(cmd + list(args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=environment)
        self._log: list[str] = []
        self._readers = [threading.Thread(target=self._pump, args=(s,), daemon=True)
                         for s in (self.proc.stdout, self.proc.stderr)]
        for r in self._readers:
            r.start()
        self.client = httpx.Client(base_url=self.base, timeout=5.0)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"sitwell run exited with {self.proc.returncode}:\n{self.log}")
            try:
                if self.client.get("/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"sitwell run did not come up within 30 s:\n{self.log}")
            time.sleep(0.1)

    def _pump(self, stream) -> None:
        for line in stream:
            self._log.append(line)

    @property
    def log(self) -> str:
        return "".join(self._log)

    def wait_log(self, text: str, timeout: float = 10.0) -> bool:
        return bool(wait_until(lambda: text in self.log, timeout))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def get(self, path: str, **kw) -> Any:
        r = self.client.get(path, **kw)
        r.raise_for_status()
        return r.json()

    def healthz(self) -> dict[str, Any]:
        return self.get("/healthz")

    def status(self, cushion: str = "cushion-1") -> dict[str, Any] | None:
        for entry in self.get("/api/status"):
            if entry["cushion"] == cushion:
                return entry
        return None

    def reminders(self) -> list[dict[str, Any]]:
        return self.get("/api/reminders")

    def input_health(self, cushion: str = "cushion-1") -> dict[str, Any]:
        for h in self.healthz()["inputs"]:
            if h["cushion"] == cushion:
                return h
        raise AssertionError(f"no input health for {cushion}: {self.healthz()}")

    def signal(self, sig: int, timeout: float = 10.0) -> float:
        """Send `sig` and wait for the exit; returns the seconds it took."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"sitwell run did not exit within {timeout} s of signal {sig}:\n{self.log}") from None
        took = time.monotonic() - t0
        self._close()
        return took

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        self.client.close()
        for r in self._readers:
            r.join(timeout=2)

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def db_rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the daemon's database from outside, as another program would."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


_BANKS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def frame_banks(rows: int = 16, cols: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(empty, seated): 100 raw frames each of one simulated cushion (firmware_sim, fixed seed)."""
    key = (rows, cols)
    if key not in _BANKS:
        from firmware_sim.scenario import parse_scenario
        from firmware_sim.simulator import Simulator

        scenario = parse_scenario(
            {"person": {"weight_kg": 75, "offset_cm": [0.5, 0.0]},
             "segments": [{"kind": "away", "duration_s": 12}, {"posture": "upright", "duration_s": 16}]},
            "faults",
        )
        sim = Simulator(scenario, rows=rows, cols=cols, rate_hz=10, seed=7)
        frames = list(sim.frames())
        empty = np.stack([f.cells for f in frames[10:110]])  # settled, away
        seated = np.stack([f.cells for f in frames[150:250]])  # settled, upright
        _BANKS[key] = (empty, seated)
    return _BANKS[key]


class Cushion:
    """A cushion on a pty, speaking the binary codec, with a device clock the test drives."""

    def __init__(self, pty, rows: int = 16, cols: int = 16, rate_hz: float = 10.0, device_ms: int = 1_000,
                 name: str = "faults-cushion"):
        self.pty = pty
        self.rows, self.cols = rows, cols
        self.dt_ms = round(1000 / rate_hz)
        self.device_ms = device_ms
        self.seq = 0
        self.sent = 0
        self.empty, self.seated = frame_banks(rows, cols)
        self.info = DeviceInfo(device=name, rows=rows, cols=cols, max_value=4095, rate_hz=rate_hz, fw="test")

    @property
    def t(self) -> float:
        """Device time of the next frame, seconds."""
        return self.device_ms / 1000.0

    def hello(self) -> None:
        self.pty.write(encode_hello(self.info, self.seq, self.device_ms % (1 << 32)))

    def packets(self, seconds: float, seated: bool) -> bytes:
        bank = self.seated if seated else self.empty
        out = []
        for _ in range(round(seconds * 1000 / self.dt_ms)):
            cells = bank[self.seq % len(bank)]
            out.append(encode_frame(cells, self.seq & 0xFFFF, self.device_ms % (1 << 32), 16))
            self.seq += 1
            self.device_ms += self.dt_ms
        self.sent += len(out)
        return b"".join(out)

    def send(self, seconds: float, seated: bool, pace: float | None = None, chunk_s: float = 5.0) -> None:
        """`seconds` of frame time; `pace`: at most this many frame-time seconds per wall second."""
        left = seconds
        while left > 1e-9:
            step = min(chunk_s, left)
            t0 = time.monotonic()
            self.pty.write(self.packets(step, seated))
            left -= step
            if pace:
                wait = step / pace - (time.monotonic() - t0)
                if wait > 0:
                    time.sleep(wait)

    def sit(self, seconds: float, **kw) -> None:
        self.send(seconds, True, **kw)

    def away(self, seconds: float, **kw) -> None:
        self.send(seconds, False, **kw)

    def jump(self, seconds: float) -> None:
        """The device clock jumps (forward, or back when negative) with no frames between."""
        self.device_ms = max(0, self.device_ms + int(seconds * 1000))


def first_state_event(base: str, timeout: float = 10.0) -> dict[str, Any]:
    """The state event /api/stream sends on subscribing: the cushion's latest analysed state."""
    import json

    with httpx.stream("GET", base + "/api/stream", timeout=httpx.Timeout(5, read=timeout)) as r:
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "state":
                return json.loads(line[5:])
    raise AssertionError("no state event on /api/stream")


RATE_HZ = 1.0
PACE = 60.0  # frame-time seconds per wall second (60 frames/s): well below what analysis keeps up with


def sit_too_long(d: SitwellProcess) -> list[dict]:
    return [r for r in d.reminders() if r["kind"] == "sit_too_long"]
