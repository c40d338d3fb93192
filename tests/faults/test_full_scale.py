"""A full scale that does not fit the readings, over a real pty and the real daemon: `sitwell run
--codec text --max-value 1023` on a cushion that prints 12-bit readings.

Before: every frame dropped as out_of_range, "Seat empty", nothing said. Now: a WARNING naming
the fix in the log, the same in /healthz, a handful of frames dropped and counted, then the
readings' scale (4095) is taken and the sitter is seen.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.plugins.faults import SitwellProcess, frame_banks, wait_until, write_config


def _text_lines(frames: np.ndarray) -> bytes:
    return b"".join((",".join(str(int(v)) for v in f.reshape(-1)) + "\r\n").encode() for f in frames)


@pytest.mark.serial
def test_max_value_too_small_is_loud_and_the_readings_scale_is_taken(tmp_path, pty_pair):
    _, seated = frame_banks()
    assert int(seated.max()) > 1023  # a 12-bit cushion
    cfg = write_config(tmp_path / "sitwell.toml")
    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "text", "--rows", "16", "--cols", "16",
                       "--max-value", "1023", config=cfg)
    try:
        assert wait_until(lambda: d.input_health()["connected"], 10)
        for _ in range(3):
            pty_pair.write(_text_lines(seated[:50]))
        assert wait_until(lambda: d.input_health()["frames"] >= 100, 15), d.healthz()
        h = d.input_health()
        fs = h["full_scale"]
        assert fs["configured"] == 1023 and fs["in_use"] == 4095 and fs["source"] == "readings"
        assert "--max-value 4095" in fs["fix"]
        assert 1 <= h["drops"].get("out_of_range", 0) <= 5
        assert d.wait_log("above the full scale 1023")
        assert "WARNING" in d.log and "--max-value 4095" in d.log
        # and the sitter is really seen at the right scale (text frames carry host time: paced)
        for i in range(60):
            pty_pair.write(_text_lines(seated[i % 100:i % 100 + 1]))
            time.sleep(0.05)
        assert wait_until(lambda: (d.status() or {}).get("occupied"), 20), d.status()
    finally:
        d.kill()
