"""`RecordingReader.batches` (cells straight from the bytes) gives exactly what iterating gives.

Iterating is the plain rule, line by line (`parse_frame_line`); `batches` must keep the same
frames and count the same drops whatever the lines hold, so these tests feed both the same
files: clean compact lines, every kind of bad line, lines that look like frames to the fast
path but are not (or are, in an unusual spelling), random damage, and damaged gzip files.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from monitor.codec.recording import RecordingReader

HEADER = {"type": "header", "format": "sitwell-recording", "version": 1, "cushion": "c", "rows": 4,
          "cols": 5, "max_value": 4095, "rate_hz": 10, "start": "2026-11-24T09:00:00Z"}


def _line(t: float, cells: list, **extra) -> str:
    return json.dumps({"t": t, "cells": cells, **extra}, separators=(",", ":"))


def _grid(v: int) -> list:
    return [[v + 5 * r + c for c in range(5)] for r in range(4)]


def _write(path: Path, lines: list[str], header: dict = HEADER, gz: bool = True, end: str = "\n") -> Path:
    text = json.dumps(header) + "\n" + "\n".join(lines) + end
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_bytes(text.encode())
    return path


def _both(path: Path, size: int = 5, min_frames: int = 3) -> None:
    """Iterating and batches agree on every frame, every drop and the line count."""
    with RecordingReader(path) as r:
        frames = list(r)
        drops, lines = dict(r.drops), r.lines
    assert len(frames) >= min_frames  # a test of agreement on nothing would prove nothing
    with RecordingReader(path) as r:
        got = list(r.batches(size))
        drops_b, lines_b = dict(r.drops), r.lines
    assert all(len(t) == size for t, _ in got[:-1])
    t = np.concatenate([b[0] for b in got]) if got else np.empty(0)
    cells = np.concatenate([b[1] for b in got]) if got else np.empty((0, 3, 4), np.uint16)
    assert t.tolist() == [f.t for f in frames]
    assert cells.dtype == np.uint16
    assert np.array_equal(cells, np.stack([f.cells for f in frames]) if frames else cells)
    assert drops_b == drops
    assert lines_b == lines


G = "[[1,2,3,4,5],[6,7,8,9,10],[11,12,13,14,15],[16,17,18,19,20]]"  # a clean 4 x 5 grid
ONES = "[[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1]]"

TRICKY = [
    _line(0.0, _grid(0), label={"posture": "upright", "seg_t": 1.5}),
    _line(0.1, _grid(65535 - 19)),  # the largest numbers a cell can hold
    _line(0.2, _grid(65536 - 19)),  # just above: out_of_range
    _line(0.3, [[99999] * 5] * 4),
    _line(0.3, [[123456] * 5] * 4),  # six digits
    _line(0.3, [[10**20] * 5] * 4),  # too big for orjson: bad_line
    '{"t":0.4,"cells":' + G.replace("[[1,", "[[01,") + "}",  # a leading zero: not JSON
    '{"t":0.4,"cells":' + G.replace("20]]", "00]]") + "}",
    '{"t":0.4,"cells":' + G.replace("[[1,", "[[0,") + "}",  # a zero is fine
    '{"t":0.5,"cells":' + G + ',"cells":' + ONES + "}",  # the last key wins
    '{"t":0.6,"cells":' + G + ',"cells":0}',
    '{"t":0.7,"cells":' + G + ',"cel\\u006cs":7}',  # an escaped duplicate
    '{"t":0.8,"label":{"cells":[[1]]},"cells":' + G + "}",  # a nested "cells"
    '{"t":0.9,"cells":' + G.replace(",", ", ", 1) + "}",  # a space: valid, for the plain path
    '{"t":1.0,"cells":' + G + "}\r",  # CRLF
    '{"t":1.1,"cells":' + G.replace(",20]]", "]]") + "}",  # a short row
    '{"t":1.2,"cells":' + G.replace("20]]", "20,21]]") + "}",
    '{"t":1.3,"cells":' + G.replace(",[16,17,18,19,20]", "") + "}",
    '{"t":1.3,"cells":' + G.replace("]]", "],[1,2,3,4,5]]") + "}",
    '{"t":1.4,"cells":' + G.replace(",8,", ",,") + "}",
    '{"t":1.4,"cells":' + G,  # the object not closed
    '{"t":1.4,"cells":' + G + ",}",
    '{"t":1.5,"cells":' + G.replace("20]]", "-20]]") + "}",
    '{"t":1.5,"cells":' + G.replace("20]]", "2.0]]") + "}",
    '{"t":1.5,"cells":' + G.replace("20]]", "2e1]]") + "}",
    '{"t":1.5,"cells":' + G.replace("20]]", "[20]]]") + "}",
    '{"t":1.5,"cells":[' + G + "]}",
    '{"t":1.5,"cells":' + G.replace("20]]", "null]]") + "}",
    '{"t":"1.6","cells":' + G + "}",  # a time as a string: float() takes it
    '{"t":true,"cells":' + G + "}",
    '{"t":null,"cells":' + G + "}",
    '{"cells":' + G + "}",
    '{"t":1.7,"cells":' + G + ',"x":NaN}',
    '[{"t":1.8,"cells":' + G + "}]",
    json.dumps('{"t":1.8,"cells":' + G + "}"),  # a string holding a frame
    '{"t":1.0,"cells":' + G + "}",  # back in time
    "   ",
    "",
    '{"t":1e400,"cells":' + G + "}",
    _line(2.0, _grid(4080)),  # above max_value 4095 in the last cells
    '{"t":2.1,"cells":' + G + ',"label":"\xe9"}',
    _line(2.2, _grid(7)),
]


@pytest.mark.parametrize("size", [1, 3, 64])
def test_tricky_lines_give_what_iterating_gives(tmp_path, size):
    _both(_write(tmp_path / "t.jsonl.gz", TRICKY), size)


def test_invalid_utf8_and_plain_files_without_a_last_newline(tmp_path):
    body = TRICKY[:3]
    path = tmp_path / "p.jsonl"
    _write(path, body, gz=False, end="")
    _both(path, min_frames=1)
    raw = path.read_bytes() + b'\n{"t":3.0,"cells":' + G.encode() + b',"l":"\xff"}\n' + \
        _line(3.1, _grid(1)).encode()
    path.write_bytes(raw)
    _both(path, min_frames=2)


def test_full_scale_65535_checks_nothing_above(tmp_path):
    _both(_write(tmp_path / "f.jsonl.gz", TRICKY, header={**HEADER, "max_value": 65535}))
    _both(_write(tmp_path / "s.jsonl.gz", TRICKY, header={**HEADER, "max_value": 9}), min_frames=1)


def test_random_damage_to_frame_lines(tmp_path):
    rng = random.Random(5)
    alphabet = b'0123456789,[]{}":. -x\\eE'
    lines = []
    for i in range(600):
        line = bytearray(_line(i / 10, _grid(rng.randrange(0, 5000)), label={"k": i}).encode())
        for _ in range(rng.choice([0, 0, 1, 2])):
            at = rng.randrange(len(line))
            op = rng.randrange(3)
            if op == 0:
                line[at] = rng.choice(alphabet)
            elif op == 1:
                del line[at]
            else:
                line.insert(at, rng.choice(alphabet))
        lines.append(line.decode("latin-1"))
    for size in (7, 512):
        _both(_write(tmp_path / "r.jsonl.gz", lines), size)


def _members(lines: list[str]) -> bytes:
    text = (json.dumps(HEADER) + "\n" + "\n".join(lines) + "\n").encode()
    cut = len(text) // 3
    return gzip.compress(text[:cut]) + b"\x00\x00" + gzip.compress(text[cut:])


def test_gzip_members_padding_and_truncation(tmp_path):
    lines = [_line(i / 10, _grid(i)) for i in range(3000)]
    path = tmp_path / "m.jsonl.gz"
    whole = _members(lines)
    path.write_bytes(whole)
    _both(path, 100)
    for keep in (len(whole) - 5, len(whole) // 2, len(whole) // 3 + 40):
        path.write_bytes(whole[:keep])
        _both(path, 100)


def test_a_long_recording_reads_the_same(tmp_path):
    from firmware_sim import Simulator, load_scenario, write_recording

    path = tmp_path / "tour.jsonl.gz"
    write_recording(Simulator(load_scenario("tour"), rows=6, cols=8, rate_hz=20, seed=2, duration_s=120), path,
                    cushion="c", gz=True)
    _both(path, 512)


def test_clean_lines_never_take_the_plain_path(tmp_path, monkeypatch):
    """The point of `batches`: compact lines are read from the bytes, not parsed line by line."""
    import monitor.codec.recording_lines as recording_lines

    plain = recording_lines.parse_frame_line
    calls: list[bytes] = []

    def counted(line: bytes, rows: int, cols: int):
        calls.append(line)
        return plain(line, rows, cols)

    monkeypatch.setattr(recording_lines, "parse_frame_line", counted)
    path = _write(tmp_path / "c.jsonl.gz", [_line(i / 10, _grid(i * 37 % 4000), label={"n": i}) for i in range(500)])
    with RecordingReader(path) as r:
        assert sum(len(t) for t, _ in r.batches(64)) == 500
    assert calls == []
    with RecordingReader(_write(tmp_path / "t.jsonl.gz", TRICKY)) as r:
        list(r.batches(64))
    assert 0 < len(calls) < len(TRICKY) - 5  # the clean tricky lines were read from the bytes
