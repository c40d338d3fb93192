"""Recording files (CONTRACT section 4): JSON Lines, optionally gzipped.

Reading streams, so memory stays flat on an 8-hour recording. Iterating gives one Frame a line
(lines parsed with orjson when it is installed, the cells straight from the parsed lists into a
uint16 array); `batches(n)` gives the same frames as arrays of n, read in large chunks with the
cells taken straight from the bytes (recording_lines.py; `sitwell analyze`, docs/performance.md).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from pathlib import Path
from typing import IO

import numpy as np

from monitor.codec.recording_lines import LineBatcher, parse_frame_line
from monitor.model import MAX_GRID, MIN_GRID, DeviceInfo, DropCounter, Frame

log = logging.getLogger(__name__)

FORMAT = "sitwell-recording"


class RecordingError(Exception):
    """The file is not a recording sitwell can read; str() says why."""


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    cushion: str
    rows: int
    cols: int
    max_value: int
    rate_hz: float | None
    start: datetime

    @property
    def device(self) -> DeviceInfo:
        return DeviceInfo(
            device=self.cushion, rows=self.rows, cols=self.cols, max_value=self.max_value, rate_hz=self.rate_hz
        )


CHUNK_BYTES = 1 << 17  # what `batches` reads and gunzips at a time: ~120 16x16 lines

def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped if it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _parse_start(value: object) -> datetime:
    if not isinstance(value, str):
        return datetime.now(UTC)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(f"header 'start' is not an ISO-8601 time: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_header(line: str | bytes) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordingError(f"line 1 is not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("type") != "header":
        raise RecordingError("line 1 is not a recording header ({\"type\":\"header\",…})")
    if obj.get("format") != FORMAT:
        raise RecordingError(f"format is {obj.get('format')!r}, expected {FORMAT!r}")
    if obj.get("version") != 1:
        raise RecordingError(f"recording version {obj.get('version')!r} is not supported (1 is)")
    try:
        rows, cols = int(obj["rows"]), int(obj["cols"])
        max_value = int(obj.get("max_value", 4095))
    except (KeyError, TypeError, ValueError):
        raise RecordingError("header needs integer 'rows' and 'cols'") from None
    if not (MIN_GRID <= rows <= MAX_GRID and MIN_GRID <= cols <= MAX_GRID):
        raise RecordingError(f"grid {rows}x{cols} is outside {MIN_GRID}..{MAX_GRID}")
    if not 1 <= max_value <= 65535:
        raise RecordingError(f"max_value {max_value} is outside 1..65535")
    rate = obj.get("rate_hz")
    cushion = str(obj.get("cushion") or "recording")
    return RecordingHeader(
        cushion, rows, cols, max_value, float(rate) if rate else None, _parse_start(obj.get("start"))
    )


class RecordingReader:
    """Iterate a recording's frames; bad lines are skipped and counted in `drops`."""

    def __init__(self, path: str | Path, cushion: str | None = None):
        self.path = Path(path)
        try:
            self._fh = _open_binary(self.path)
            first = self._fh.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise RecordingError(f"cannot read {self.path}: {exc}") from None
        self.header = parse_header(first)
        self.cushion = cushion or self.header.cushion
        self.drops = DropCounter()
        self.lines = 1
        self._pos: Callable[[], int] | None = None  # where `batches` has got to in the file

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def bytes_read(self) -> int:
        """How far into the file (its bytes on disk, compressed or not) reading has got."""
        raw = getattr(self._fh, "fileobj", None) or self._fh  # GzipFile reads from .fileobj
        try:
            return self._pos() if self._pos is not None else raw.tell()
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[Frame]:
        h = self.header
        rows, cols, max_value = h.rows, h.cols, h.max_value
        check_max = max_value < 65535  # uint16 conversion itself refuses 0 > v > 65535
        drop = self.drops.drop
        cushion = self.cushion
        last_t = float("-inf")
        try:
            for line in self._fh:
                self.lines += 1
                if not line.strip():
                    continue
                got = parse_frame_line(line, rows, cols)
                if isinstance(got, str):
                    drop(got)
                    continue
                t, cells = got
                if not (t >= last_t and isfinite(t)):
                    drop("bad_time")
                    continue
                if check_max and int(cells.max()) > max_value:
                    drop("out_of_range")
                    continue
                last_t = t
                yield Frame(cushion, t, cells.reshape(rows, cols), max_value)
        except (OSError, EOFError) as exc:  # truncated gzip: keep what was read
            log.warning("%s: stopped reading at line %d: %s", self.path, self.lines, exc)
            self.drops.drop("truncated_file")

    def batches(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The frames iterating gives, as (t float64 (n,), cells uint16 (n, rows, cols)) of
        `size` frames each (the last one fewer), with the same drops counted. Reads the file
        afresh in large chunks (not through the line-by-line handle)."""
        h = self.header
        batcher = LineBatcher(h.rows, h.cols, h.max_value, self.drops.drop)
        pending_t: list[np.ndarray] = []
        pending_c: list[np.ndarray] = []
        have = 0
        tail = b""
        first = True
        try:
            for chunk in self._chunks():
                data = tail + chunk if tail else chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    tail = data
                    continue
                lines = data[:cut].split(b"\n")
                tail = data[cut + 1 :]
                if first:  # the header, read already
                    lines, first = lines[1:], False
                self.lines += len(lines)
                have += self._parse_into(batcher, lines, pending_t, pending_c)
                while have >= size:
                    all_t, all_c = np.concatenate(pending_t), np.concatenate(pending_c)
                    yield all_t[:size], all_c[:size]
                    pending_t, pending_c, have = [all_t[size:]], [all_c[size:]], have - size
            if tail and not first:  # a last line without a newline
                self.lines += 1
                have += self._parse_into(batcher, [tail], pending_t, pending_c)
        except (OSError, EOFError, zlib.error) as exc:  # truncated or damaged gzip: keep what was read
            log.warning("%s: stopped reading at line %d: %s", self.path, self.lines, exc)
            self.drops.drop("truncated_file")
        while have:
            all_t, all_c = np.concatenate(pending_t), np.concatenate(pending_c)
            yield all_t[:size], all_c[:size]
            pending_t, pending_c, have = [all_t[size:]], [all_c[size:]], max(0, have - size)

    @staticmethod
    def _parse_into(batcher: LineBatcher, lines: list[bytes], ts: list[np.ndarray], cs: list[np.ndarray]) -> int:
        t, cells = batcher.parse(lines)
        if len(t):
            ts.append(t)
            cs.append(cells)
        return len(t)

    def _chunks(self) -> Iterator[bytes]:
        """The file's bytes from the start, gunzipped (every member, as gzip.open reads them;
        zero padding between members skipped) in chunks of up to a few MB."""
        with open(self.path, "rb") as raw:
            self._pos = raw.tell
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if not gz:
                while chunk := raw.read(CHUNK_BYTES):
                    yield chunk
                return
            d, begun = zlib.decompressobj(31), False  # begun: a member's bytes fed, its end not yet seen
            while True:
                data = raw.read(CHUNK_BYTES)
                if not data:
                    if begun:
                        raise EOFError("compressed file ended before the end-of-stream marker was reached")
                    return
                while data:
                    begun = True
                    out = d.decompress(data, CHUNK_BYTES)  # output bounded: chunks stay in cache
                    if out:
                        yield out
                    if not d.eof:
                        data = d.unconsumed_tail
                        continue
                    data = d.unused_data.lstrip(b"\x00")
                    d, begun = zlib.decompressobj(31), False
                    if data and data[:2] != b"\x1f\x8b"[: len(data)]:
                        raise OSError(f"not a gzipped file (after a member): {data[:8]!r}")


class RecordingWriter:
    """Write frames as a recording (`--record FILE`); gzipped when the name ends in .gz.

    Whole lines are buffered and written in chunks (a gzip member per chunk for .gz, which
    gzip readers join). A chunk the disk cannot take is cut off again and its frames are
    counted in `lost_frames`, so a full disk loses frames whole and the file stays readable.
    """

    FLUSH_BYTES = 64 * 1024
    FLUSH_S = 1.0

    def __init__(self, path: str | Path, device: DeviceInfo, cushion: str, start: datetime | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._gz = self.path.suffix == ".gz"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._lock = threading.Lock()
        self._size = 0  # bytes of whole chunks on disk
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._last_flush = time.monotonic()
        self.lost_frames = 0
        self.last_error: str | None = None
        start = start or datetime.now(UTC)
        header = {
            "type": "header",
            "format": FORMAT,
            "version": 1,
            "cushion": cushion,
            "rows": device.rows,
            "cols": device.cols,
            "max_value": device.max_value,
            "rate_hz": device.rate_hz,
            "start": start.isoformat().replace("+00:00", "Z"),
        }
        self._header = (json.dumps(header) + "\n").encode()
        self._t0: float | None = None
        with self._lock:
            self._flush()

    def write(self, frame: Frame) -> None:
        """Never raises for a full disk: the frames that could not be kept are counted."""
        if self._t0 is None:
            self._t0 = frame.t
        line = json.dumps({"t": round(frame.t - self._t0, 4), "cells": frame.cells.tolist()}, separators=(",", ":"))
        data = (line + "\n").encode()
        with self._lock:
            self._pending.append(data)
            self._pending_bytes += len(data)
            if self._pending_bytes >= self.FLUSH_BYTES or time.monotonic() - self._last_flush >= self.FLUSH_S:
                self._flush()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        lines = self._pending
        chunk = b"".join(lines)
        if self._size == 0:
            chunk = self._header + chunk  # until the header is on disk, it leads every attempt
        if not chunk:
            return
        if self._gz:
            chunk = gzip.compress(chunk, compresslevel=6)
        self._pending, self._pending_bytes = [], 0
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view):]
            self._size += len(chunk)
        except OSError as exc:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
            self.lost_frames += len(lines)
            self.last_error = str(exc)

    def flush(self) -> None:
        """Write what is buffered (the daemon calls this every few seconds)."""
        with self._lock:
            if self._fd >= 0 and (self._pending or self._size == 0):
                self._flush()

    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            self._flush()
            os.close(self._fd)
            self._fd = -1
