"""`sitwell analyze RECORDING --jsonl` (CONTRACT section 7) and the recording format (section 4)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC

import numpy as np
import pytest

from monitor.codec.recording import RecordingError, RecordingReader, RecordingWriter
from monitor.config.settings import load_settings
from monitor.model import POSTURES, DeviceInfo, Frame
from monitor.offline.analyze import analyze_recording


def run_analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", *args], capture_output=True, text=True, timeout=300
    )


def test_analyze_a_sample_writes_a_state_per_second_spells_and_a_summary_last(samples_dir):
    proc = run_analyze(str(samples_dir / "tour-16x16.jsonl.gz"), "--jsonl")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    states = [o for o in lines if o["type"] == "state"]
    assert [s["t"] for s in states] == list(range(len(states)))  # every whole second, in order
    assert 595 <= len(states) <= 600  # 12 minutes at 10 Hz
    for s in states:
        assert set(s) == {"type", "t", "occupied", "posture", "left_share"}
        assert s["posture"] in POSTURES
        assert (s["left_share"] is None) == (not s["occupied"])
        assert s["occupied"] or s["posture"] == "empty"
    spells = [o for o in lines if o["type"] == "spell"]
    assert len(spells) == 1  # one sitting from 20 s to 510 s; the bag at the end is not a sitter
    assert abs(spells[0]["start"] - 20) <= 10 and abs(spells[0]["end"] - 510) <= 10
    assert lines[-1]["type"] == "summary"
    assert lines[-1]["frames"] == 6000 and lines[-1]["spells"] == 1


def test_analyze_reports_sit_too_long_on_the_long_spell_sample(samples_dir):
    proc = run_analyze(str(samples_dir / "long-spell-16x16.jsonl.gz"), "--jsonl")
    assert proc.returncode == 0, proc.stderr
    reminders = [json.loads(line) for line in proc.stdout.splitlines() if '"type":"reminder"' in line]
    sit = [r for r in reminders if r["kind"] == "sit_too_long"]
    assert sit, "the 26-minute spell must raise sit_too_long"
    assert sit[0]["spell_s"] == pytest.approx(25 * 60, abs=1)
    for r in reminders:
        assert set(r) >= {"id", "cushion", "kind", "t", "at", "message", "spell_s", "acknowledged"}


def test_analyze_matches_the_daemon_engine_frame_by_frame(tmp_path):
    """The batch path (analyze) and the per-frame path (daemon) give the same states."""
    from datetime import datetime

    from firmware_sim import Simulator, load_scenario, write_recording
    from monitor.runtime.engine import CushionEngine

    rec = tmp_path / "tour.jsonl"
    write_recording(Simulator(load_scenario("tour"), rows=12, cols=20, rate_hz=5, seed=3), rec, cushion="c1")
    settings = load_settings(overrides={"input": "sim"})
    batch = []
    analyze_recording(rec, settings, batch.append)
    per_frame = CushionEngine("c1", DeviceInfo(rows=12, cols=20), settings.rules, settings.analysis,
                              epoch=datetime.now(UTC))
    seen = {}
    with RecordingReader(rec) as reader:
        for frame in reader:
            step = per_frame.process(frame)
            seen[frame.t] = step.update.state
    states = [o for o in batch if o["type"] == "state"]
    times = sorted(seen)
    for s in states[:: max(1, len(states) // 50)]:
        last = max(t for t in times if t <= s["t"])
        st = seen[last]
        assert s["occupied"] == st.occupied
        assert s["posture"] == (st.posture if st.occupied else "empty")


def test_a_bad_recording_gets_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"frame"}\n')
    proc = run_analyze(str(bad), "--jsonl")
    assert proc.returncode == 2
    assert "not a recording header" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_reader_skips_and_counts_bad_lines(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    header = {"type": "header", "format": "sitwell-recording", "version": 1, "cushion": "c", "rows": 4,
              "cols": 4, "max_value": 255, "rate_hz": 1, "start": "2026-11-24T09:00:00Z"}
    good = {"t": 0.0, "cells": [[1] * 4] * 4, "label": {"posture": "empty"}, "future_key": 1}
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(header) + "\n" + json.dumps(good) + "\n")
        fh.write("{not json\n")
        fh.write(json.dumps({"t": 1.0, "cells": [[1] * 3] * 4}) + "\n")  # wrong grid
        fh.write(json.dumps({"t": 2.0, "cells": [[300] * 4] * 4}) + "\n")  # above max_value
        fh.write(json.dumps({"t": 3.0, "cells": [[2] * 4] * 4}) + "\n")
    with RecordingReader(path) as reader:
        frames = list(reader)
        assert [f.t for f in frames] == [0.0, 3.0]
        assert dict(reader.drops) == {"bad_line": 1, "bad_grid": 1, "out_of_range": 1}


def test_writer_output_reads_back(tmp_path):
    path = tmp_path / "out.jsonl.gz"
    w = RecordingWriter(path, DeviceInfo(rows=4, cols=5, max_value=4095, rate_hz=10), "desk-1")
    cells = np.arange(20, dtype=np.uint16).reshape(4, 5)
    for i in range(3):
        w.write(Frame("desk-1", 100.0 + i * 0.1, cells + i, 4095))
    w.close()
    with RecordingReader(path) as reader:
        assert reader.header.rows == 4 and reader.header.cols == 5 and reader.cushion == "desk-1"
        frames = list(reader)
    assert [round(f.t, 3) for f in frames] == [0.0, 0.1, 0.2]
    assert (frames[2].cells == cells + 2).all()


def test_header_errors_name_the_problem(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text(
        json.dumps({"type": "header", "format": "sitwell-recording", "version": 1, "rows": 2, "cols": 16}) + "\n"
    )
    with pytest.raises(RecordingError, match="grid 2x16"):
        RecordingReader(p)
