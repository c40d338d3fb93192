"""Frame lines of a recording (CONTRACT section 4) -> frame times and cells, many lines at once.

`parse_frame_line` is the one per-line rule: what a line must be to be a frame, and which
drop reason it gets when it is not. `LineBatcher` gives exactly what that rule gives, line
by line, but takes the cells straight from the bytes for a whole chunk of lines: a 16x16 line
holds ~1,050 bytes of which ~1,000 are the cells, and turning them into 256 Python ints
(orjson) and then into an array cost more than the rest of reading together.

How a chunk is read fast: in each line the `"cells":[[ ... ]]` part is cut out and the rest,
with `0` in its place, goes to orjson (so `t`, the other keys and the line's JSON validity
are checked as before, for a tenth of the bytes). The cut-out parts of the chunk are then
checked all at once with numpy: only digits, commas and brackets, the exact skeleton of a
rows x cols grid (`[[d,d,..],[d,..],..]`), every number 1-5 digits without a leading zero.
Their digits are turned into numbers by position. A line any check does not clear (an
unusual but perhaps valid line: spaces, a nested "cells" key, escapes, a number above
65535...) is given to `parse_frame_line`, so the result never differs from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import chain
from math import isfinite
from types import ModuleType
from typing import Any

import numpy as np

_orjson: ModuleType | None
try:  # optional speed-up; the stdlib parser gives the same results
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

# Parse one JSON line (bytes or str). orjson rejects NaN/Infinity, json accepts them; the
# reader drops a non-finite `t` either way, and NaN cannot be a cell (not an integer).
loads: Callable[[bytes | str], Any] = _orjson.loads if _orjson is not None else json.loads
# what a line that is no frame raises: unparseable, or no "t"/"cells" of the right kind
LINE_ERRORS: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError, KeyError, TypeError) + (
    (_orjson.JSONDecodeError,) if _orjson is not None else ()
)


def parse_frame_line(line: bytes, rows: int, cols: int) -> tuple[float, np.ndarray] | str:
    """One line: (t, cells as a flat uint16 array) or the drop reason. Blank lines are the
    caller's to skip; the time order and the full scale are the caller's to check."""
    try:
        obj = loads(line)
        t = float(obj["t"])
        rows_ = obj["cells"]
    except LINE_ERRORS:
        return "bad_line"
    if type(rows_) is not list or len(rows_) != rows or any(type(r) is not list or len(r) != cols for r in rows_):
        return "bad_grid"
    try:
        # one pass from the parsed ints into the frame's array: no int64 detour
        return t, np.fromiter(chain.from_iterable(rows_), np.uint16, rows * cols)
    except OverflowError:  # negative or above 65535
        return "out_of_range"
    except (ValueError, TypeError):  # null, nested lists, non-numeric strings
        return "bad_line"


_CELLS_KEY = b'"cells":[['
_DIGIT = 48  # ord("0")
# digits -> "0", the grid's punctuation kept, anything else -> "x"
_CLASSES = bytes(
    _DIGIT if 48 <= c <= 57 else c if c in b",[]" else ord("x") for c in range(256)
)


class _Skeleton:
    """A grid's punctuation, `[[,,],[,,]]`, repeated for n cut-out parts joined by commas,
    and where a number must stand (after `[` or `,`, before `,` or `]`)."""

    def __init__(self, rows: int, cols: int):
        row = b"[" + b"," * (cols - 1) + b"]"
        one = b"[" + b",".join([row] * rows) + b"],"  # the joining comma included
        self.one = np.frombuffer(one, np.uint8)
        opens = np.isin(self.one, np.frombuffer(b"[,", np.uint8))
        closes = np.isin(self.one, np.frombuffer(b",]", np.uint8))
        self.slot = np.zeros(len(one), bool)
        self.slot[:-1] = opens[:-1] & closes[1:]
        self._made: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def for_parts(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        got = self._made.get(n)  # chunks hold about as many lines each: a few n recur
        if got is None:
            got = self._made[n] = (np.tile(self.one, n)[:-1], np.tile(self.slot, n)[:-2])  # one gap fewer
            if len(self._made) > 64:
                self._made.pop(next(iter(self._made)))
        return got


def grid_values(parts: list[bytes], rows: int, cols: int, skeleton: _Skeleton) -> np.ndarray | None:
    """The numbers of the cut-out `[[..]]` parts as an (n, rows*cols) int32 array, or None
    unless every part is a clean rows x cols grid of 1-5 digit numbers (see the module doc)."""
    raw = b",".join(parts)
    classes = raw.translate(_CLASSES)
    if b"x" in classes:
        return None
    a = np.frombuffer(classes, np.uint8)
    sep = np.flatnonzero(a != _DIGIT)
    seps, slots = skeleton.for_parts(len(parts))
    if len(sep) != len(seps) or not np.array_equal(a[sep], seps):
        return None
    gap = np.diff(sep)
    gap -= 1  # the digits between two separators
    if gap[~slots].any():
        return None
    length = gap[slots]
    if length.min() < 1 or length.max() > 5:  # empty, or above 65535 for sure
        return None
    start = sep[:-1][slots] + 1
    b = np.frombuffer(raw, np.uint8)
    if ((b[start] == _DIGIT) & (length > 1)).any():  # a leading zero is not JSON
        return None
    # Each number from the 8 bytes ending at its last digit, read as one little-endian
    # uint64 (a strided view, one gather): the bytes before the number masked to zero, so
    # it reads as an 8-digit number with leading zeros, combined pairwise (SWAR).
    padded = _PAD + raw
    end = start + length  # +len(_PAD) - 8: where the 8-byte word ending at the number's last byte starts
    if length.max() <= 4:  # up to 9999 (a 12-bit cushion): the same in 4-byte words, one step fewer
        words4 = np.ndarray((len(padded) - 3,), np.dtype("<u4"), padded, 0, (1,))
        end += 4
        v = words4[end]
        v &= _KEEP_HIGH4[length]
        v &= np.uint32(0x0F0F0F0F)
        v = (v * np.uint32(10) + (v >> np.uint32(8))) & np.uint32(0x00FF00FF)
        v = v * np.uint32(100) + (v >> np.uint32(16))
        return (v & np.uint32(0xFFFF)).astype(np.int32).reshape(len(parts), rows * cols)
    words = np.ndarray((len(padded) - 7,), np.dtype("<u8"), padded, 0, (1,))
    w = words[end]
    w &= _KEEP_HIGH[length]
    w &= np.uint64(0x0F0F0F0F0F0F0F0F)
    w = (w * np.uint64(10) + (w >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    w = (w * np.uint64(100) + (w >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    w = w * np.uint64(10000) + (w >> np.uint64(32))
    values = (w & np.uint64(0xFFFFFFFF)).astype(np.int32)
    return values.reshape(len(parts), rows * cols)


_PAD = b"\x00" * 8
# the top k bytes of a uint64, k = 0..8
_KEEP_HIGH = np.array([((1 << 64) - 1) ^ ((1 << (8 * (8 - k))) - 1) for k in range(9)], np.uint64)
_KEEP_HIGH4 = np.array([((1 << 32) - 1) ^ ((1 << (8 * (4 - k))) - 1) for k in range(5)], np.uint32)


class LineBatcher:
    """Frame lines -> (t float64 (n,), cells uint16 (n, rows, cols)) of the frames kept, in
    order; drops counted through `drop` exactly as `RecordingReader` iterating would."""

    def __init__(self, rows: int, cols: int, max_value: int, drop: Callable[[str], None]):
        self.rows, self.cols, self.max_value = rows, cols, max_value
        self.drop = drop
        self.last_t = float("-inf")
        self.skeleton = _Skeleton(rows, cols)

    def _cut(self, lines: list[bytes]) -> tuple[list[int], list[float], list[bytes]]:
        """The lines whose cells can be taken from the bytes: their indices, times, parts."""
        which: list[int] = []
        times: list[float] = []
        parts: list[bytes] = []
        for k, line in enumerate(lines):
            i = line.find(_CELLS_KEY)
            if i < 0:
                continue
            j = line.find(b"]]", i)
            if j < 0:
                continue
            rest = line[: i + 8] + b"0" + line[j + 2 :]
            # one top-level "cells" key, the one cut out (no escapes to spell it otherwise)
            if rest.count(b'"cells"') != 1 or b"\\" in rest:
                continue
            try:
                obj = loads(rest)
                t = float(obj["t"])
            except LINE_ERRORS:
                continue
            if type(obj) is not dict or type(obj["cells"]) is not int:
                continue
            which.append(k)
            times.append(t)
            parts.append(line[i + 8 : j + 2])
        return which, times, parts

    def parse(self, lines: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        rows, cols, n_cells = self.rows, self.cols, self.rows * self.cols
        which, times, parts = self._cut(lines)
        values = grid_values(parts, rows, cols, self.skeleton) if parts else None
        if values is None and parts:  # some part is unusual: find which, one by one
            one = [grid_values([p], rows, cols, self.skeleton) for p in parts]
            keep = [k for k, v in enumerate(one) if v is not None]
            which = [which[k] for k in keep]
            times = [times[k] for k in keep]
            vals = [v for v in one if v is not None]
            values = np.concatenate(vals) if vals else np.empty((0, n_cells), np.int32)
        if values is None:
            values = np.empty((0, n_cells), np.int32)
        peak = values.max(axis=1).tolist() if len(values) else []
        fast = dict(zip(which, range(len(which)), strict=True))
        max_value = self.max_value
        check_max = max_value < 65535
        drop = self.drop
        last_t = self.last_t
        take: list[int] = []  # rows of `values`, then of `extra`
        kept_t: list[float] = []
        extra: list[np.ndarray] = []
        base = len(values)
        for k, line in enumerate(lines):
            p = fast.get(k)
            if p is not None and peak[p] <= 65535:
                t, top = times[p], peak[p]
                row = p
            else:
                if not line.strip():
                    continue
                got = parse_frame_line(line, rows, cols)
                if isinstance(got, str):
                    drop(got)
                    continue
                t, cells = got
                top = -1  # checked below, only if needed
                row = -1
            if not (t >= last_t and isfinite(t)):
                drop("bad_time")
                continue
            if check_max:
                if row < 0:
                    top = int(cells.max())
                if top > max_value:
                    drop("out_of_range")
                    continue
            if row < 0:
                row = base + len(extra)
                extra.append(cells)
            last_t = t
            take.append(row)
            kept_t.append(t)
        self.last_t = last_t
        source = np.concatenate([values, np.stack(extra)]) if extra else values
        cells_out = source[take].astype(np.uint16).reshape(len(take), rows, cols)
        return np.array(kept_t, np.float64), cells_out
