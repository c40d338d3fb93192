"""Serial input: a cushion on a serial port, a pty or any pyserial URL (loop://, socket://).

One reader thread per port: open, read, decode (binary, text or detected), emit Frames.
A port that vanishes (USB unplugged, pty closed) marks the input disconnected, is logged
once, and is reopened with exponential backoff up to `reconnect_max_s`; reading resumes
without a restart. Bad bytes never stop the thread: decoders count them by reason.

Frame time `t`:
- binary: the device clock (u32 ms) through the one device-clock policy
  (`monitor/transport/device_clock.py`): unwrapped across its 49.7-day wrap, never
  backwards, a jump back (the board rebooted) or too far ahead taken as a reconnect.
- text: host monotonic seconds since the input started (text lines carry no time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any, Literal

import numpy as np
import serial

from monitor.codec.binary import BinaryDecoder, FramePacket, HelloPacket
from monitor.codec.detect import CodecDetector
from monitor.codec.fullscale import FullScale
from monitor.codec.text import TextDecoder
from monitor.model import DeviceInfo, Frame
from monitor.transport.base import Emit, FrameInput, InputHealth
from monitor.transport.device_clock import DeviceClock

log = logging.getLogger(__name__)

CodecName = Literal["binary", "text", "detect"]
# How long a read may block with nothing coming. stop() cancels a blocked read
# (cancel_read), so this only bounds stop() where a URL handler has no cancel_read; an idle
# reader woke ten times a second at 0.1 s.
READ_TIMEOUT_S = 1.0
TTY_BUFFER = 4096  # bytes the Linux tty layer buffers for a reader (N_TTY_BUF_SIZE)
READ_CHUNK = 65536
DIGIT_MAX = 9  # the full scale of a digit-per-cell text line
FIRST_RETRY_S = 0.25
STABLE_S = 2.0  # a connection that lasted this long resets the backoff


def missing_port_text(port: str) -> str | None:
    """For a device path that does not exist (a typo such as /dev/ttyACMO): that, and the
    serial ports that do exist, for the log and the dashboard. None for a port that exists
    and for URLs (socket://, loop://), whose failures say enough themselves."""
    if "://" in port or not port.startswith("/") or os.path.exists(port):
        return None
    try:
        from serial.tools import list_ports

        present = sorted(p.device for p in list_ports.comports())
    except Exception:  # noqa: BLE001 - the list is a hint; the main message stands without it
        present = []
    there = ", ".join(present) if present else "none found (is the cushion plugged in? `sitwell doctor` checks)"
    return f"serial port {port} does not exist; serial ports on this machine: {there} (fix --serial or serial.port)"


class SerialInput(FrameInput):
    kind = "serial"

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        codec: CodecName = "detect",
        rows: int = 16,
        cols: int = 16,
        max_value: int = 4095,
        cushion: str = "cushion-1",
        max_value_set: bool = False,
        reconnect_max_s: float = 10.0,
        gather_s: float = 0.0,
    ) -> None:
        if codec not in ("binary", "text", "detect"):
            raise ValueError(f"codec must be binary, text or detect, not {codec!r}")
        self.port = port
        self.baud = baud
        self.codec_setting: CodecName = codec
        self.rows, self.cols, self.max_value = rows, cols, max_value
        self.cushion = cushion
        self.reconnect_max_s = reconnect_max_s
        # After each read, let this long of bytes gather in the driver before the next one:
        # a thread woken for every frame cost ~1.5 % of a core at 50 Hz on its own. Bounded so
        # that half a 4 KiB tty buffer is never overrun at this baud rate.
        self.gather_s = max(0.0, min(gather_s, 0.5 * TTY_BUFFER * 10 / max(baud, 1)))
        self._health = InputHealth(input=f"serial:{port}", cushion=cushion)
        # max_value_set: the user named the full scale (not the default); see codec/fullscale.py
        self._health.full_scale = FullScale(max_value, explicit=max_value_set, cushion=cushion)
        # frames of another grid than the hello's: the hello does not speak for them
        self._unannounced = FullScale(max_value, explicit=max_value_set, cushion=cushion)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.SerialBase | None = None
        self._emit: Emit | None = None
        self._clock = DeviceClock(f"serial {port}")
        self._t0 = time.monotonic()
        self._hello: DeviceInfo | None = None
        self._codec: str | None = None  # the codec in use on this connection
        self._detector: CodecDetector | None = None
        self._binary: BinaryDecoder | None = None
        self._text: TextDecoder | None = None
        self._announce_recovery = False

    # --- FrameInput ---------------------------------------------------------------------

    def start(self, emit: Emit) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._emit = emit
        self._stop.clear()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"serial:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        ser = self._serial
        if ser is not None:
            with contextlib.suppress(Exception):  # not every URL handler implements it
                ser.cancel_read()  # type: ignore[attr-defined]  # on the port classes, not in SerialBase's stub
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            if self._thread.is_alive():
                log.warning("serial: reader for %s did not stop within 1 s", self.port)
            self._thread = None

    def health(self) -> list[dict[str, Any]]:
        d = self._health.as_dict()
        d["codec"] = self._codec or self.codec_setting
        return [d]

    # --- reader thread ------------------------------------------------------------------

    def _open_port(self) -> serial.SerialBase:
        """The port, opened with a read timeout of READ_TIMEOUT_S. The simulated cushion hands
        over a virtual one here (transport/simulated.py): everything after is the hardware path."""
        return serial.serial_for_url(self.port, baudrate=self.baud, timeout=READ_TIMEOUT_S)

    def _run(self) -> None:
        delay = FIRST_RETRY_S
        failing = False  # log an outage once, not on every retry
        said: str | None = None
        while not self._stop.is_set():
            try:
                ser = self._open_port()
            except (serial.SerialException, OSError, ValueError) as exc:
                missing = missing_port_text(self.port)
                self._health.set_connected(False, missing or f"cannot open {self.port}: {exc}")
                if not failing or (missing and missing != said):
                    # once per outage; again only when what it says changes (a port plugged in)
                    log.warning("serial: %s; retrying up to every %.0f s",
                                missing or f"cannot open {self.port} ({exc})", self.reconnect_max_s)
                    failing, said = True, missing
                self._stop.wait(delay)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            self._serial = ser
            self._on_connect()
            if failing:  # a flapping port would log every attempt; say so once frames flow
                log.debug("serial: %s reopened", self.port)
                self._announce_recovery = True
            else:
                log.info("serial: %s open (%s codec)", self.port, self.codec_setting)
            opened = time.monotonic()
            error = self._read_until_gone(ser)
            self._serial = None
            with contextlib.suppress(Exception):  # the device may already be gone
                ser.close()
            if error is None:
                break  # stopped
            self._health.set_connected(False, error)
            if time.monotonic() - opened >= STABLE_S:
                # a connection that worked for a while: a fresh outage, start over quickly
                failing, delay = False, FIRST_RETRY_S
            if not failing:
                log.warning("serial: %s lost (%s); reconnecting", self.port, error)
                failing = True
            # a port that opens but fails at once (a flapping adapter) backs off too
            self._stop.wait(delay)
            delay = min(delay * 2, self.reconnect_max_s)
        self._health.set_connected(False, "stopped")

    def _on_connect(self) -> None:
        # A partial packet or line from the last connection must not join the next one,
        # and a replugged device may speak another codec or have rebooted.
        self._codec = None if self.codec_setting == "detect" else self.codec_setting
        self._detector = CodecDetector() if self._codec is None else None
        self._binary = BinaryDecoder(self._health.drops)
        # any 16-bit reading is a frame: the full-scale policy, not the decoder, judges the scale
        self._text = TextDecoder(self.rows, self.cols, 65535, self._health.drops)
        self._health.set_connected(True)

    def _read_until_gone(self, ser: serial.SerialBase) -> str | None:
        """Read and decode until stop (None) or the device fails (its error text)."""
        while not self._stop.is_set():
            try:
                waiting = ser.in_waiting  # type: ignore[attr-defined]  # every port class has it; the stub's base not
                data = ser.read(min(waiting, READ_CHUNK) if waiting else 1)
            except (serial.SerialException, OSError) as exc:
                return str(exc) or type(exc).__name__
            except TypeError:  # pyserial raises it from read() when closed under it
                return "port closed"
            if data:
                try:
                    self._handle_bytes(data)
                except Exception:  # noqa: BLE001 - decoders do not raise; if one ever does,
                    # count and log it rather than lose the cushion until a restart
                    self._health.drop("decoder_error")
                    log.exception("serial: decoding failed on %d bytes", len(data))
                if self.gather_s and len(data) < TTY_BUFFER - 1:
                    # (a read of a full line discipline buffer, 4095 bytes, means bytes come
                    # faster than the baud rate says, as on a pty: read on at once so the
                    # sender is never held up)
                    self._stop.wait(self.gather_s)
        return None

    def _handle_bytes(self, data: bytes) -> None:
        if self._codec is None:
            assert self._detector is not None
            codec = self._detector.feed(data)
            if codec is None:
                return
            self._codec = codec
            log.info("serial: %s speaks the %s codec", self.port, codec)
            data = self._detector.buffered
            self._detector = None
        if self._codec == "binary":
            assert self._binary is not None
            for pkt in self._binary.feed(data):
                if isinstance(pkt, FramePacket):
                    t = self._clock.seconds(pkt.device_ms)
                    scale = self._scale(pkt.cells, 255 if pkt.bits == 8 else None)
                    if scale is not None:
                        self._emit_frame(t, pkt.cells, scale, pkt.seq)
                elif isinstance(pkt, HelloPacket):
                    self._on_hello(pkt)
        else:
            assert self._text is not None
            for tf in self._text.feed(data):
                if tf.max_value == DIGIT_MAX:  # a digit-per-cell line: 0-9 is its own scale
                    self._emit_frame(time.monotonic() - self._t0, tf.cells, DIGIT_MAX, None)
                    continue
                scale = self._scale(tf.cells, None)
                if scale is not None:
                    self._emit_frame(time.monotonic() - self._t0, tf.cells, scale, None)

    def _on_hello(self, pkt: HelloPacket) -> None:
        info = pkt.info
        if info != self._hello:
            log.info("serial: %s is %s fw %s, %dx%d, max %d", self.port, info.device, info.fw,
                     info.rows, info.cols, info.max_value)
        self._hello = info
        self._health.set_device(info)
        assert self._health.full_scale is not None
        self._health.full_scale.announce(info.max_value)

    def _scale(self, cells: np.ndarray, wire_max: int | None) -> int | None:
        """The full scale to read these cells at (codec/fullscale.py), or None: dropped and counted."""
        policy = self._health.full_scale
        hello = self._hello
        if hello is not None and (hello.rows, hello.cols) != cells.shape:
            policy = self._unannounced
        assert policy is not None
        scale = policy.check(int(cells.max()) if cells.size else 0, wire_max)
        if scale is None:
            self._health.drop("out_of_range")
        return scale

    def _emit_frame(self, t: float, cells: np.ndarray, max_value: int, seq: int | None) -> None:
        self._health.frame()
        if self._announce_recovery:
            self._announce_recovery = False
            log.info("serial: %s back, frames arriving again", self.port)
        emit = self._emit
        if emit is None:
            return
        try:
            emit(Frame(cushion=self.cushion, t=t, cells=cells, max_value=max_value, seq=seq))
        except Exception:  # noqa: BLE001 - a consumer bug must not kill the reader
            log.exception("serial: emit failed")
