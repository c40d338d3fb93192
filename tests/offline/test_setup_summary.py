"""`sitwell analyze` says in its summary when a recording's cushion lies or is wired wrong, and
when frames were dropped for readings above the header's full scale; with the mounting set
(a config file), the same recording reads rightly.

Recordings: firmware_sim frames (the tour scenario) turned round / a quarter / inverted by
this test with numpy (calibration/mounting.py `apply_fault`).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from firmware_sim import Simulator
from monitor.calibration.mounting import Mounting, apply_fault
from monitor.codec.recording import RecordingWriter
from monitor.model import DeviceInfo, Frame


def _recording(path, mounting: Mounting, rows: int = 16, cols: int = 12, minutes: float = 2.5, seed: int = 11):
    sim = Simulator("tour", rows=rows, cols=cols, rate_hz=5, seed=seed, max_value=4095)
    wr, wc = mounting.wire_shape(rows, cols)
    writer = RecordingWriter(path, DeviceInfo(device="desk", rows=wr, cols=wc, max_value=4095, rate_hz=5), "desk")
    for f in sim.frames():
        if f.t > minutes * 60:
            break
        writer.write(Frame("desk", f.t, apply_fault(np.asarray(f.cells), mounting, 4095), 4095))
    writer.close()
    return path


def _summary(path, *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "monitor.cli", "analyze", str(path), "--jsonl", *extra],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("fault", [Mounting("rotate180"), Mounting("rotate270"), Mounting(invert=True)],
                         ids=["turned-round", "quarter-turn", "inverted"])
def test_analyze_summary_says_the_mounting_fault_and_the_fix(tmp_path, fault):
    path = _recording(tmp_path / "r.jsonl.gz", fault)
    summary = _summary(path)
    assert summary["mounting"]["apply"] == fault.as_json()
    assert summary["warnings"] and summary["mounting"]["message"] in summary["warnings"][0]
    assert "Apply" in summary["mounting"]["fix"]
    # with the fix in a config file: read rightly, nothing more to say
    cfg = tmp_path / "fix.toml"
    lines = [f'orientation = "{fault.orientation}"', f"invert = {'true' if fault.invert else 'false'}"]
    cfg.write_text("[mounting]\n" + "\n".join(lines) + "\n")
    fixed = _summary(path, "--config", str(cfg))
    assert "mounting" not in fixed and "warnings" not in fixed
    assert fixed["seconds_occupied"] > 60


def test_a_sound_recording_has_no_set_up_keys(tmp_path):
    summary = _summary(_recording(tmp_path / "ok.jsonl.gz", Mounting()))
    assert "mounting" not in summary and "warnings" not in summary


def test_readings_above_the_header_full_scale_are_said(tmp_path):
    path = tmp_path / "loud.jsonl"
    with open(path, "w") as fh:
        fh.write(json.dumps({"type": "header", "format": "sitwell-recording", "version": 1, "cushion": "x",
                             "rows": 4, "cols": 4, "max_value": 255, "rate_hz": 1}) + "\n")
        fh.writelines(json.dumps({"t": float(t), "cells": [[300 + t] * 4] * 4}) + "\n" for t in range(5))
        fh.write(json.dumps({"t": 6.0, "cells": [[3] * 4] * 4}) + "\n")
    summary = _summary(path)
    assert summary["dropped"] == {"out_of_range": 5}
    assert "max_value 255" in summary["warnings"][0]
