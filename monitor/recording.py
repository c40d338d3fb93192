"""Recording files (CONTRACT section 4): JSON Lines, optionally gzipped.

Reading streams line by line, so memory stays flat on an 8-hour recording.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from .model import MAX_GRID, MIN_GRID, DeviceInfo, DropCounter, Frame

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
        return DeviceInfo(device=self.cushion, rows=self.rows, cols=self.cols, max_value=self.max_value, rate_hz=self.rate_hz)


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse_start(value: object) -> datetime:
    if not isinstance(value, str):
        return datetime.now(timezone.utc)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(f"header 'start' is not an ISO-8601 time: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_header(line: str) -> RecordingHeader:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
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
    return RecordingHeader(cushion, rows, cols, max_value, float(rate) if rate else None, _parse_start(obj.get("start")))


class RecordingReader:
    """Iterate a recording's frames; bad lines are skipped and counted in `drops`."""

    def __init__(self, path: str | Path, cushion: str | None = None):
        self.path = Path(path)
        try:
            self._fh = _open_text(self.path)
            first = self._fh.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise RecordingError(f"cannot read {self.path}: {exc}") from None
        self.header = parse_header(first)
        self.cushion = cushion or self.header.cushion
        self.drops = DropCounter()
        self.lines = 1

    def __enter__(self) -> "RecordingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def __iter__(self) -> Iterator[Frame]:
        h = self.header
        shape = (h.rows, h.cols)
        last_t = float("-inf")
        try:
            for line in self._fh:
                self.lines += 1
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    t = float(obj["t"])
                    cells = np.asarray(obj["cells"], dtype=np.int64)
                except (ValueError, KeyError, TypeError):
                    self.drops.drop("bad_line")
                    continue
                if cells.shape != shape:
                    self.drops.drop("bad_grid")
                    continue
                if not np.isfinite(t) or t < last_t:
                    self.drops.drop("bad_time")
                    continue
                if cells.min(initial=0) < 0 or cells.max(initial=0) > h.max_value:
                    self.drops.drop("out_of_range")
                    continue
                last_t = t
                yield Frame(self.cushion, t, cells.astype(np.uint16, copy=False), h.max_value)
        except (OSError, EOFError) as exc:  # truncated gzip: keep what was read
            log.warning("%s: stopped reading at line %d: %s", self.path, self.lines, exc)
            self.drops.drop("truncated_file")


class RecordingWriter:
    """Write frames as a recording (`--record FILE`); gzipped when the name ends in .gz."""

    def __init__(self, path: str | Path, device: DeviceInfo, cushion: str, start: datetime | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = gzip.open(self.path, "wt", encoding="utf-8") if self.path.suffix == ".gz" else open(self.path, "w", encoding="utf-8")
        self._fh: IO[str] = raw
        self._lock = threading.Lock()
        start = start or datetime.now(timezone.utc)
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
        self._fh.write(json.dumps(header) + "\n")
        self._t0: float | None = None

    def write(self, frame: Frame) -> None:
        if self._t0 is None:
            self._t0 = frame.t
        line = json.dumps({"t": round(frame.t - self._t0, 4), "cells": frame.cells.tolist()}, separators=(",", ":"))
        with self._lock:
            self._fh.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._fh.close()
