"""JSON frame objects (CONTRACT §4 frame line) arriving as MQTT payloads.

`{"t": 12.3, "cells": [[...cols ints...], ...rows lists...], "seq": 7}` — `seq` optional,
unknown keys (e.g. `label`) ignored. Untrusted input: size, nesting depth, grid size and
every value are bounded before anything is built from it.

orjson is used when installed (about 3x faster to parse a 32×32 frame: 44 µs vs 139 µs);
it is optional because the stdlib parser is fast enough for 64×64 at 50 frames/s.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from monitor.codec.errors import CodecError
from monitor.model import MAX_GRID, MIN_GRID

_orjson: ModuleType | None
try:  # optional speed-up
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

# 64×64 cells of up to 5 digits with ", " separators plus brackets and other keys
MAX_JSON_FRAME_BYTES = 64 * 1024
MAX_DEPTH = 8
MAX_T = 1e12  # seconds; larger is nonsense (and loses sub-ms precision anyway)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _depth(data: bytes) -> int:
    """Upper bound of the bracket nesting, counting brackets inside strings too.

    Vectorised so a hostile 64 KiB of '[' costs microseconds, and checked before parsing
    so neither parser recurses on it."""
    a = np.frombuffer(data, dtype=np.uint8)
    step = (a == 0x5B).astype(np.int8) + (a == 0x7B) - (a == 0x5D) - (a == 0x7D)
    if not step.any():
        return 0
    return int(np.cumsum(step, dtype=np.int32).max())


def loads_limited(data: bytes | bytearray | memoryview | str, max_bytes: int, max_depth: int) -> Any:
    """Parse JSON within limits; raises CodecError(oversize | too_deep | bad_json)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = bytes(data)
    if len(data) > max_bytes:
        raise CodecError("oversize", f"{len(data)} bytes, at most {max_bytes}")
    if _depth(data) > max_depth:
        raise CodecError("too_deep", f"nesting deeper than {max_depth}")
    try:
        if _orjson is not None:
            return _orjson.loads(data)  # rejects NaN/Infinity and out-of-range numbers itself
        return json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise CodecError("bad_json", str(exc)[:120]) from None


@dataclass(frozen=True, slots=True)
class JsonFrame:
    t: float | None  # None when the object had no "t" (the caller uses its own clock)
    cells: np.ndarray  # uint16 (rows, cols)
    seq: int | None = None


def decode_json_frame(
    payload: bytes | bytearray | memoryview | str,
    max_value: int = 65535,
    rows: int | None = None,
    cols: int | None = None,
    max_bytes: int = MAX_JSON_FRAME_BYTES,
) -> JsonFrame:
    """Decode one JSON frame object; raises CodecError with a `reason`.

    `rows`/`cols`, when given, must match (e.g. the grid a cushion announced before).
    Reasons: oversize, too_deep, bad_json, bad_frame, bad_grid, bad_value, out_of_range, bad_t.
    """
    obj = loads_limited(payload, max_bytes=max_bytes, max_depth=MAX_DEPTH)
    if not isinstance(obj, dict):
        raise CodecError("bad_frame", "not a JSON object")
    cells = obj.get("cells")
    if not isinstance(cells, list) or not cells or not isinstance(cells[0], list):
        raise CodecError("bad_frame", "cells must be a list of rows")
    n_rows, n_cols = len(cells), len(cells[0])
    if not (MIN_GRID <= n_rows <= MAX_GRID and MIN_GRID <= n_cols <= MAX_GRID):
        raise CodecError("bad_grid", f"{n_rows}x{n_cols}")
    if (rows is not None and n_rows != rows) or (cols is not None and n_cols != cols):
        raise CodecError("bad_grid", f"{n_rows}x{n_cols}, expected {rows}x{cols}")
    if any(not isinstance(r, list) or len(r) != n_cols for r in cells):
        raise CodecError("bad_grid", "rows of different lengths")
    try:
        arr = np.array(cells)
    except (ValueError, OverflowError, TypeError) as exc:
        raise CodecError("bad_value", str(exc)[:120]) from None
    # int64 only: floats, strings, None, nested lists and ints beyond int64 (object dtype)
    # all land elsewhere. (A bool mixed into ints is upcast to 0/1 and accepted.)
    if arr.dtype.kind not in "iu" or arr.shape != (n_rows, n_cols):
        raise CodecError("bad_value", f"cells must be integers (got {arr.dtype})")
    if arr.size and (arr.min() < 0 or arr.max() > max_value):
        raise CodecError("out_of_range", f"values {arr.min()}..{arr.max()}, allowed 0..{max_value}")
    t = obj.get("t")
    if t is not None:
        if type(t) not in (int, float):
            raise CodecError("bad_t", repr(t)[:40])
        try:
            t = float(t)
        except OverflowError:
            raise CodecError("bad_t", "too large") from None
        if not math.isfinite(t) or abs(t) > MAX_T:
            raise CodecError("bad_t", repr(t)[:40])
    seq = obj.get("seq")
    if type(seq) is not int or not 0 <= seq < 2**63:
        seq = None
    return JsonFrame(t=t, cells=arr.astype(np.uint16), seq=seq)
