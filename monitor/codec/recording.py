"""Recording files (CONTRACT section 4): JSON Lines, optionally gzipped.

Reading streams line by line, so memory stays flat on an 8-hour recording. Parsing a frame line
is the reader's whole cost (`sitwell analyze` on 8 hours reads 288,000 of them): lines are read
as bytes and parsed with orjson when it is installed (3x faster than json on a 16x16 line), and
the cells go straight from the parsed lists into a uint16 array (docs/performance.md).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from math import isfinite
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import numpy as np

from monitor.model import MAX_GRID, MIN_GRID, DeviceInfo, DropCounter, Frame

_orjson: ModuleType | None
try:  # optional speed-up; the stdlib parser gives the same results
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

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


# Parse one JSON line (bytes or str). orjson rejects NaN/Infinity, json accepts them; the
# reader drops a non-finite `t` either way, and NaN cannot be a cell (not an integer).
_loads: Callable[[bytes | str], Any] = _orjson.loads if _orjson is not None else json.loads
# what a line that is no frame raises: unparseable, or no "t"/"cells" of the right kind
_LINE_ERRORS: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError, KeyError, TypeError) + (
    (_orjson.JSONDecodeError,) if _orjson is not None else ()
)


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
            return raw.tell()
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[Frame]:
        h = self.header
        rows, cols, max_value = h.rows, h.cols, h.max_value
        n_cells = rows * cols
        check_max = max_value < 65535  # uint16 conversion itself refuses 0 > v > 65535
        drop = self.drops.drop
        cushion = self.cushion
        last_t = float("-inf")
        try:
            for line in self._fh:
                self.lines += 1
                if not line.strip():
                    continue
                try:
                    obj = _loads(line)
                    t = float(obj["t"])
                    rows_ = obj["cells"]
                except _LINE_ERRORS:
                    drop("bad_line")
                    continue
                if type(rows_) is not list or len(rows_) != rows or any(
                    type(r) is not list or len(r) != cols for r in rows_
                ):
                    drop("bad_grid")
                    continue
                try:
                    # one pass from the parsed ints into the frame's array: no int64 detour
                    cells = np.fromiter(chain.from_iterable(rows_), np.uint16, n_cells)
                except OverflowError:  # negative or above 65535
                    drop("out_of_range")
                    continue
                except (ValueError, TypeError):  # null, nested lists, non-numeric strings
                    drop("bad_line")
                    continue
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
