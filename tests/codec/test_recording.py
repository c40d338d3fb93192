"""The fast recording reader (orjson, cells straight into uint16) against the stdlib parser.

The reader picks orjson when it is installed; both parsers must give the same frames and the
same drop counts, on good lines and on every kind of bad one.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import monitor.codec.recording_lines as recording_lines
from monitor.codec.recording import RecordingReader

REPO = Path(__file__).resolve().parents[2]

HEADER = {"type": "header", "format": "sitwell-recording", "version": 1, "cushion": "c", "rows": 4,
          "cols": 4, "max_value": 4095, "rate_hz": 10, "start": "2026-11-24T09:00:00Z"}


def _grid(v) -> list:
    return [[v] * 4 for _ in range(4)]


# (line, expected drop reason or None for a good frame)
LINES = [
    (json.dumps({"t": 0.0, "cells": _grid(1), "label": {"posture": "upright"}}), None),
    ("{not json", "bad_line"),
    (json.dumps({"cells": _grid(1)}), "bad_line"),  # no t
    (json.dumps({"t": "soon", "cells": _grid(1)}), "bad_line"),
    (json.dumps({"t": 0.1}), "bad_line"),  # no cells
    (json.dumps([1, 2, 3]), "bad_line"),  # not an object
    (json.dumps({"t": 0.2, "cells": [[1] * 3] * 4}), "bad_grid"),
    (json.dumps({"t": 0.2, "cells": [[1] * 4] * 3 + [[1] * 5]}), "bad_grid"),  # ragged
    (json.dumps({"t": 0.2, "cells": 7}), "bad_grid"),
    (json.dumps({"t": 0.2, "cells": [[1] * 4] * 3 + [5]}), "bad_grid"),
    (json.dumps({"t": 0.3, "cells": _grid(-1)}), "out_of_range"),
    (json.dumps({"t": 0.3, "cells": _grid(4096)}), "out_of_range"),  # above max_value
    (json.dumps({"t": 0.3, "cells": _grid(70000)}), "out_of_range"),  # above u16
    (json.dumps({"t": 0.3, "cells": [[None] * 4] * 4}), "bad_line"),
    (json.dumps({"t": 0.3, "cells": [[[1]] * 4] * 4}), "bad_line"),  # nested too deep
    ('{"t": NaN, "cells": [[1,1,1,1],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', "bad"),  # json: bad_time, orjson: bad_line
    ("", None),  # blank lines are skipped, not counted
    (json.dumps({"t": 0.5, "cells": [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 4095]]}), None),
    (json.dumps({"t": 0.4, "cells": _grid(1)}), "bad_time"),  # goes back
    (json.dumps({"t": 0.6, "cells": _grid(2), "future_key": {"x": 1}}), None),
]


@pytest.fixture
def messy(tmp_path) -> Path:
    path = tmp_path / "messy.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(HEADER) + "\n")
        for line, _ in LINES:
            fh.write(line + "\n")
    return path


def _read(path: Path):
    with RecordingReader(path) as reader:
        frames = list(reader)
        return frames, dict(reader.drops)


@pytest.mark.parametrize("parser", ["orjson", "json"])
def test_reader_counts_every_bad_line_by_reason(messy, monkeypatch, parser):
    if parser == "json":
        monkeypatch.setattr(recording_lines, "loads", json.loads)
        monkeypatch.setattr(recording_lines, "LINE_ERRORS", (ValueError, UnicodeDecodeError, KeyError, TypeError))
    elif recording_lines._orjson is None:
        pytest.skip("orjson is not installed")
    frames, drops = _read(messy)
    assert [f.t for f in frames] == [0.0, 0.5, 0.6]
    assert all(f.cells.dtype == np.uint16 and f.cells.shape == (4, 4) for f in frames)
    assert frames[1].cells[3, 3] == 4095 and frames[1].cells[0, 1] == 1 and frames[1].cells[2, 0] == 8
    expected: dict[str, int] = {}
    for _, reason in LINES:
        if reason and reason != "bad":
            expected[reason] = expected.get(reason, 0) + 1
    # the NaN line: the stdlib parser reads NaN (then the time is refused), orjson refuses the line
    expected["bad_time" if parser == "json" else "bad_line"] += 1
    assert drops == expected


def test_reader_reads_plain_files_and_reports_progress(tmp_path):
    path = tmp_path / "plain.jsonl"
    lines = [json.dumps(HEADER)] + [json.dumps({"t": i / 10, "cells": _grid(i)}) for i in range(50)]
    path.write_text("\n".join(lines) + "\n")
    with RecordingReader(path) as reader:
        frames = list(reader)
        assert reader.bytes_read() == path.stat().st_size
    assert len(frames) == 50 and int(frames[-1].cells[0, 0]) == 49


def test_throughput_bench_runs_and_reports_every_grid(tmp_path):
    out = tmp_path / "tp.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "throughput.py"), "--grids", "8,16", "--frames", "60", "--runs", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert [r["grid"] for r in res["results"]] == ["8x8", "16x16"]
    for r in res["results"]:
        assert r["frames"] == 60 and r["per_frame_fps"] > 0 and r["batch_fps"] > 0
        # bytes on the wire: 13 header + 2 per cell + 2 CRC, plus COBS overhead and the 0x00
        cells = r["cells"]
        assert (
            13 + 2 * cells + 2 + 1 < r["bytes_per_packet"] <= 13 + 2 * cells + 2 + 1 + (13 + 2 * cells + 2) // 254 + 1
        )
        assert r["wire_fps"]["921600"] == pytest.approx(92160 / r["bytes_per_packet"])
    assert "daemon÷wire 921600" in proc.stdout
