"""Where the simulated cushion sends its frames, and the loop that paces them.

Outputs: a recording file or stdout (CONTRACT section 4, or raw wire bytes), a serial
port, a pseudo-terminal the simulator creates (its slave path is printed), or an MQTT
broker (section 3). `Player` plays a Simulator into one output in real time, X times
faster, or as fast as possible, with faults injected on the way.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import select
import socket
import sys
import termios
import threading
import time
import tty
from pathlib import Path
from typing import IO, Any

import numpy as np

from .faults import FaultInjector, FaultSpec
from .recording import header as recording_header
from .simulator import SimFrame, Simulator
from .wire import WireEncoder, cells_json

log = logging.getLogger(__name__)


class Output:
    """One destination. `send` gets each frame; `disconnect`/`reconnect` model a lost link."""

    name = "output"
    paced_by_default = True  # files go as fast as possible, devices in real time

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        self.sim, self.faults = sim, faults

    def send(self, frame: SimFrame, t_dev: float) -> None:
        raise NotImplementedError

    def disconnect(self) -> None:
        pass

    def reconnect(self) -> None:
        pass

    def close(self) -> None:
        pass


class RecordingOutput(Output):
    """CONTRACT section 4 JSON Lines (gzipped for *.gz) to a file, or to stdout for "-"."""

    name = "recording"

    def __init__(self, target: str, cushion: str, labels: bool = True):
        self.target, self.cushion, self.labels = target, cushion, labels
        self.paced_by_default = target == "-"
        self.fh: IO[str] | None = None
        self._enc = json.JSONEncoder(separators=(",", ":")).encode

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        super().open(sim, faults)
        if self.target == "-":
            self.fh = sys.stdout
        elif self.target.endswith(".gz"):
            self.fh = gzip.open(self.target, "wt", encoding="utf-8", compresslevel=4)  # noqa: SIM115 (the handle outlives this method: closed by close())
        else:
            self.fh = open(self.target, "w", encoding="utf-8")  # noqa: SIM115 (the handle outlives this method: closed by close())
        self.fh.write(self._enc(recording_header(sim, self.cushion)) + "\n")

    def send(self, frame: SimFrame, t_dev: float) -> None:
        assert self.fh is not None
        line = '{"t":' + repr(round(t_dev, 4)) + ',"cells":' + cells_json(frame.cells)
        if self.labels:
            line += ',"label":' + self._enc(frame.label)
        self.fh.write(line + "}\n")
        if self.paced_by_default:
            self.fh.flush()

    def close(self) -> None:
        if self.fh is not None and self.fh is not sys.stdout:
            self.fh.close()
        elif self.fh is not None:
            self.fh.flush()


class StreamOutput(Output):
    """Wire bytes (binary COBS packets, text lines or JSON lines) to a byte stream."""

    name = "stream"

    def __init__(self, codec: str, hello_every_s: float = 0.0):
        self.codec = codec
        self.enc: WireEncoder | None = None
        # binary only: repeat the hello so a reader that opens the port late learns the
        # device (max_value is only in the hello); 0 = at start and after reconnects only
        self.hello_every_s = hello_every_s if codec == "binary" else 0.0
        self._last_hello = 0.0

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        super().open(sim, faults)
        self.enc = WireEncoder(self.codec, sim.device_info())
        self.write(self.enc.hello())

    def encode(self, frame: SimFrame, t_dev: float) -> bytes:
        assert self.enc is not None
        binary = self.codec == "binary"
        payload = self.enc.payload(frame.cells, frame.seq, t_dev, frame.label if self.codec == "json" else None)
        payload = self.faults.corrupt_payload(payload, binary)
        return self.faults.stream(self.enc.frame(payload), binary)

    def send(self, frame: SimFrame, t_dev: float) -> None:
        if self.hello_every_s > 0 and frame.t - self._last_hello >= self.hello_every_s:
            assert self.enc is not None
            self._last_hello = frame.t
            self.write(self.enc.hello(frame.seq, int(round(t_dev * 1000))))
        self.write(self.encode(frame, t_dev))

    def write(self, data: bytes) -> None:
        raise NotImplementedError


class FileStreamOutput(StreamOutput):
    """Raw wire bytes to a file or stdout (for piping into other tools)."""

    name = "file"

    def __init__(self, target: str, codec: str):
        super().__init__(codec)
        self.target = target
        self.paced_by_default = target == "-"
        self.fh: Any = None

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        if self.target == "-":
            self.fh = sys.stdout.buffer
        elif self.target.endswith(".gz"):
            self.fh = gzip.open(self.target, "wb", compresslevel=4)  # noqa: SIM115 (the handle outlives this method: closed by close())
        else:
            self.fh = open(self.target, "wb")  # noqa: SIM115 (the handle outlives this method: closed by close())
        super().open(sim, faults)

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        if self.paced_by_default:
            self.fh.flush()

    def close(self) -> None:
        if self.fh is not None and self.target != "-":
            self.fh.close()
        elif self.fh is not None:
            self.fh.flush()


class PtyOutput(StreamOutput):
    """A pseudo-terminal the simulator owns: readers open its slave like a USB serial port.

    Like a UART with nobody listening, bytes nobody reads are lost (counted as
    `unread_bytes`), so a real-time run never stalls. A disconnect closes the pty (readers
    get an I/O error) and a reconnect makes a new one; `link`, when given, is a symlink
    kept pointing at the current slave so readers can find it again.
    """

    name = "pty"

    def __init__(self, codec: str, link: str | None = None, announce: Any = None, hello_every_s: float = 0.0):
        super().__init__(codec, hello_every_s)
        self.link = link
        self.announce = announce  # called with the slave path each time a pty is made
        self.master = self.slave = -1
        self.path = ""
        self.unread_bytes = 0
        self.block_s = 0.5  # how long a write may wait for a slow reader

    def _make(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)  # binary-clean: no echo, no newline mangling
        tty.setraw(self.master, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        if self.link:
            tmp = f"{self.link}.tmp{os.getpid()}"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.path, tmp)
            os.replace(tmp, self.link)
        log.info("pty ready: %s%s", self.path, f" (link {self.link})" if self.link else "")
        if self.announce:
            self.announce(self.path)

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        self._make()
        super().open(sim, faults)

    def write(self, data: bytes) -> None:
        if self.master < 0:
            return
        view = memoryview(data)
        deadline = time.monotonic() + self.block_s
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError:  # the other side is gone; a real UART would not notice either
                break
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.master], [], left)[1]:
                break
        if view:
            self.unread_bytes += len(view)
            # nobody reads: stop waiting until a reader drains the buffer again
            self.block_s = 0.0
        else:
            self.block_s = 0.5

    def _close_fds(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = -1

    def disconnect(self) -> None:
        log.info("fault: pty %s disconnected", self.path)
        self._close_fds()

    def reconnect(self) -> None:
        self._make()
        self.write(self.enc.hello() if self.enc else b"")

    def close(self) -> None:
        if self.unread_bytes:
            log.info("pty: %d bytes were written while nobody read them (lost)", self.unread_bytes)
        self._close_fds()
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)


class SerialOutput(StreamOutput):
    """A real serial port (or any pyserial URL), e.g. one end of a null-modem pair."""

    name = "serial"

    def __init__(self, port: str, baud: int, codec: str, hello_every_s: float = 0.0):
        super().__init__(codec, hello_every_s)
        self.port, self.baud = port, baud
        self.ser: Any = None
        self.failed_writes = 0

    def _open_port(self) -> None:
        import serial

        self.ser = serial.serial_for_url(self.port, baudrate=self.baud, write_timeout=2.0)

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        self._open_port()
        bytes_per_s = sim.rate_hz * (13 + 2 + sim.rows * sim.cols * (2 if sim.max_value > 255 else 1)) * 1.01
        if bytes_per_s * 10 > self.baud:
            log.warning(
                "%.0f bytes/s at %d baud: the link is too slow for %dx%d at %g Hz; frames will lag",
                bytes_per_s, self.baud, sim.rows, sim.cols, sim.rate_hz,
            )
        super().open(sim, faults)

    def write(self, data: bytes) -> None:
        if self.ser is None:
            return
        try:
            self.ser.write(data)
        except Exception as e:  # a write timeout or a vanished port: keep playing, lose the bytes
            self.failed_writes += 1
            if self.failed_writes in (1, 10, 100) or self.failed_writes % 1000 == 0:
                log.warning("serial write failed (%d so far): %s", self.failed_writes, e)

    def disconnect(self) -> None:
        if self.ser is not None:
            self.ser.close()
            self.ser = None

    def reconnect(self) -> None:
        try:
            self._open_port()
        except Exception as e:  # the port is gone for good: the rest of the run is lost
            log.warning("serial port %s did not come back: %s", self.port, e)
            self.ser = None
            return
        self.write(self.enc.hello() if self.enc else b"")

    def close(self) -> None:
        if self.ser is not None:
            try:
                self.ser.flush()
            finally:
                self.ser.close()


class MqttOutput(Output):
    """CONTRACT section 3: frames to <prefix>/<cushion>/frames, status online/offline (will)."""

    name = "mqtt"

    def __init__(
        self,
        host: str,
        port: int,
        cushion: str,
        codec: str = "binary",
        prefix: str = "sitwell",
        qos: int = 0,
        username: str | None = None,
        password: str | None = None,
    ):
        if codec not in ("binary", "json"):
            raise ValueError("MQTT frames are binary packets or JSON frame objects: --codec binary|json")
        self.host, self.port, self.cushion, self.codec = host, port, cushion, codec
        self.qos = qos
        self.username, self.password = username, password
        self.frames_topic = f"{prefix}/{cushion}/frames"
        self.status_topic = f"{prefix}/{cushion}/status"
        self.client: Any = None
        self.enc: WireEncoder | None = None

    def _connect(self, timeout: float = 10.0) -> None:
        """Connect, wait for the broker's answer, say `online` (again after every reconnect)."""
        import paho.mqtt.client as mqtt

        answered = threading.Event()
        result: dict[str, Any] = {}

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
            result["reason"] = reason
            if not reason.is_failure:
                # also after paho's own reconnects (e.g. a broker restart): status is retained
                client.publish(self.status_topic, "online", qos=1, retain=True)
                # a device that (re)connects says what it is first, as on a serial line: the
                # monitor learns the grid and full scale (max_value) before the first frame.
                # Retained, so a monitor that subscribes later learns it too.
                if self.enc is not None:
                    client.publish(self.frames_topic, self.enc.hello_payload(), qos=1, retain=True)
            answered.set()  # after the hello: no frame goes out before it

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sitwell-sim-{self.cushion}-{os.getpid()}")
        c.will_set(self.status_topic, "offline", qos=1, retain=True)
        if self.username is not None:
            c.username_pw_set(self.username, self.password)
        c.max_queued_messages_set(0)
        c.on_connect = on_connect
        c.on_disconnect = lambda client, userdata, flags, reason, props=None: (
            log.warning("mqtt: connection lost (%s); reconnecting", reason) if reason.is_failure else None
        )
        c.connect(self.host, self.port, keepalive=30)
        c.loop_start()
        if not answered.wait(timeout) or result["reason"].is_failure:
            c.loop_stop()
            c.disconnect()
            why = result.get("reason", "no answer")
            raise ConnectionError(f"MQTT broker {self.host}:{self.port} did not accept the connection: {why}")
        self.client = c
        log.info("mqtt: connected to %s:%d as %s", self.host, self.port, self.cushion)

    def open(self, sim: Simulator, faults: FaultInjector) -> None:
        super().open(sim, faults)
        self.enc = WireEncoder(self.codec, sim.device_info() | {"device": self.cushion})
        self._connect()

    def send(self, frame: SimFrame, t_dev: float) -> None:
        if self.client is None or self.enc is None:
            return
        payload = self.enc.payload(frame.cells, frame.seq, t_dev, frame.label if self.codec == "json" else None)
        payload = self.faults.corrupt_payload(payload, self.codec == "binary")
        for p in self.faults.message(payload):
            self.client.publish(self.frames_topic, p, qos=self.qos)

    def disconnect(self) -> None:
        """Lose the connection without a DISCONNECT packet, so the broker sends the will."""
        c, self.client = self.client, None
        if c is None:
            return
        c.loop_stop()
        sock = c.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        log.info("fault: mqtt connection dropped")

    def reconnect(self) -> None:
        self._connect()

    def close(self) -> None:
        c = self.client
        if c is None:
            return
        # a device switched off cleanly says so; the will covers unclean ends
        try:
            c.publish(self.status_topic, "offline", qos=1, retain=True).wait_for_publish(5.0)
        except (RuntimeError, ValueError) as e:  # not connected right now: the will says it later
            log.warning("mqtt: could not publish offline: %s", e)
        c.disconnect()
        c.loop_stop()


class Player:
    """Plays a Simulator into an Output: pacing, faults, disconnects; returns frames sent."""

    def __init__(self, sim: Simulator, output: Output, faults: FaultSpec | None = None, speed: float | None = 1.0,
                 seed: int | None = None):
        self.sim, self.output = sim, output
        self.speed = speed  # None: as fast as possible
        rng = np.random.default_rng(np.random.SeedSequence(sim.seed if seed is None else seed).spawn(5)[4])
        self.faults = FaultInjector(faults or FaultSpec(), rng, sim.max_value)
        self.sent = 0
        self.skipped = 0  # frames lost while disconnected
        self.last_t = 0.0

    def run(self, stop: Any = None) -> int:
        out = self.output
        out.open(self.sim, self.faults)
        wall0 = time.monotonic()
        down_until = -1.0
        down_wall = 0.0
        try:
            for frame in self.sim.frames():
                if stop is not None and stop.is_set():
                    break
                if self.speed is not None:
                    delay = wall0 + frame.t / self.speed - time.monotonic()
                    if delay > 0:
                        if stop is not None:
                            stop.wait(delay)  # Ctrl-C ends even a very slow run at once
                        else:
                            time.sleep(delay)
                d = self.faults.disconnect_due(frame.t)
                if d is not None:
                    out.disconnect()
                    down_until, down_wall = frame.t + d, time.monotonic()
                if frame.t < down_until:
                    self.skipped += 1
                    continue
                if down_until >= 0:
                    # as fast as possible still leaves readers a moment to notice the drop
                    rest = 0.5 - (time.monotonic() - down_wall)
                    if rest > 0:
                        time.sleep(rest)
                    out.reconnect()
                    down_until = -1.0
                t_dev = self.faults.device_time(frame.t)
                cells = self.faults.cells(frame.cells, frame.t)
                if cells is not frame.cells:
                    frame = SimFrame(frame.t, frame.seq, cells, frame.label)
                out.send(frame, t_dev)
                self.sent += 1
                self.last_t = frame.t
        finally:
            out.close()
        log.info(
            "played %d frames (to t=%.1f s of %.0f s of scenario %r) to %s; faults: %s",
            self.sent, self.last_t, self.sim.duration_s, self.sim.scenario.name, out.name, self.faults.summary(),
        )
        return self.sent


def parse_host_port(value: str, default_port: int = 1883) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return value.strip("[]"), default_port


def ensure_parent(path: str) -> None:
    if path != "-":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
