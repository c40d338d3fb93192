"""Real parts for the daemon benchmarks (bench/latency.py, bench/resources.py).

* `Daemon`: `sitwell run` as a child process with its own SQLite file and config dir, on a
  free port, waited for on /healthz;
* `Pty`: a raw pseudo-terminal the daemon reads as its serial port;
* `Mosquitto`: a private broker on a free loopback port (never the machine's shared one);
* `SseClient`: a thread reading /api/stream and calling back for every event;
* `paced()`: a fixed-rate schedule that does not drift.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

from common import REPO, free_port

log = logging.getLogger("bench.harness")

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def sitwell_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("sitwell")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "monitor.cli"]


def _clean_env(home: Path) -> dict[str, str]:
    """No SITWELL_* settings and no user config file leak into a measured daemon."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITWELL_")}
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_DATA_HOME"] = str(home / "data")
    return env


class Daemon:
    """`sitwell run ARGS` on a free port, stopped with SIGTERM."""

    def __init__(self, args: list[str], workdir: Path, log_level: str = "WARNING", max_delay_ms: int | None = None,
                 env: dict[str, str] | None = None):
        """`env`: SITWELL_* settings for this daemon (nothing else of the caller's leaks in)."""
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / "daemon.log"
        cmd = [*sitwell_cmd(), "run", *args, "--port", str(self.port), "--db", str(workdir / "sitwell.db"),
               "--log-level", log_level]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (the handle outlives this method: closed by stop())
        extra_env = env
        env = _clean_env(workdir)
        if max_delay_ms is not None:  # analysis.max_delay_ms; None: sitwell's default
            env["SITWELL_ANALYSIS__MAX_DELAY_MS"] = str(max_delay_ms)
        if extra_env:
            env.update(extra_env)
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        self.pid = self.proc.pid

    def get_json(self, path: str, timeout: float = 5.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def wait_healthy(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sitwell run exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, body = self.get_json("/healthz", timeout=1.0)
                if status == 200:
                    return body
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"sitwell run did not serve /healthz in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Pty:
    """A raw pty pair: the daemon opens `path`, the bench writes into the master."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        # raw before anyone reads: no echo, no \r translation, no line buffering
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def close(self) -> None:
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class Mosquitto:
    """A private mosquitto on a free loopback port, no persistence."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path, max_queued_messages: int = 10000):
        """`max_queued_messages`: per client; a daemon taking 10,000 frames a second (1,000
        cushions at 10 Hz, bench/fleet.py) needs more than 10,000 when it reads in bursts."""
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        f"max_queued_messages {max_queued_messages}\n")
        self._log = open(workdir / "mosquitto.log", "wb")  # noqa: SIM115 (the handle outlives this method: closed by stop())
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class SseClient:
    """Reads /api/stream in a thread; `on_event(kind, data, recv_time)` for every event."""

    def __init__(self, port: int, on_event: Callable[[str, dict, float], None]):
        self.port = port
        self.on_event = on_event
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._conn: http.client.HTTPConnection | None = None
        self.thread = threading.Thread(target=self._run, name="sse", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self._conn = conn
        try:
            conn.request("GET", "/api/stream", headers={"Accept": "text/event-stream"})
            resp = conn.getresponse()
            if resp.status != 200:
                log.error("/api/stream answered %d", resp.status)
                return
            self.connected.set()
            kind, data = "message", []
            while not self._stop.is_set():
                line = resp.readline()
                if not line:
                    break
                now = time.perf_counter()
                line = line.rstrip(b"\r\n")
                if not line:  # blank line: end of one event
                    if data:
                        with contextlib.suppress(ValueError):
                            self.on_event(kind, json.loads(b"\n".join(data)), now)
                    kind, data = "message", []
                elif line.startswith(b"event:"):
                    kind = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data.append(line[5:].lstrip())
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        if self._conn is not None and self._conn.sock is not None:
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)


def paced(rate_hz: float, seconds: float) -> Iterator[int]:
    """Yields 0, 1, 2, ... at `rate_hz` for `seconds`, on an absolute schedule (no drift)."""
    period = 1.0 / rate_hz
    n = int(round(seconds * rate_hz))
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def cleanup(things, workdir, ok: bool) -> None:
    """Stop (or close) every harness part that was started; keep `workdir` after a failure,
    since daemon.log is in there. Cleanup never hides the result or the real error."""
    for thing in things:
        if thing is None:
            continue
        try:
            thing.stop() if hasattr(thing, "stop") else thing.close()
        except Exception:
            log.exception("cleanup")
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
