"""The fast `sitwell analyze` (chunked reading, cells from the bytes, two more processes, no
SeatReading objects) gives exactly the plain path's output, line for line; reminder ids are
uuid4 and masked."""

from __future__ import annotations

import json
import re

import pytest

from monitor.config.settings import load_settings
from monitor.offline.analyze import analyze_recording

SAMPLES = ["day-16x16.jsonl.gz", "long-spell-16x16.jsonl.gz", "noisy-32x32.jsonl.gz",
           "real-physics-10x15-digits.jsonl.gz", "real-physics-12x20.jsonl.gz", "real-physics-16x16.jsonl.gz",
           "small-8x8.jsonl.gz", "tour-16x16.jsonl.gz"]


def _lines(path, **kw) -> list[str]:
    out: list[dict] = []
    analyze_recording(path, load_settings(overrides={"input": "sim"}), out.append, **kw)
    return [re.sub(r'"id":"[^"]*"', '"id":"X"', json.dumps(o, separators=(",", ":"))) for o in out]


@pytest.mark.parametrize("name", SAMPLES)
def test_fast_path_matches_the_plain_path_on_the_shared_samples(samples_dir, name):
    plain = _lines(samples_dir / name, fast=False)
    assert len(plain) > 100
    assert _lines(samples_dir / name, processes=3) == plain
    assert _lines(samples_dir / name, processes=2) == plain
    assert _lines(samples_dir / name, processes=1) == plain


def test_fast_path_matches_on_a_long_generated_recording(tmp_path):
    from firmware_sim import Simulator, load_scenario, write_recording

    rec = tmp_path / "workday.jsonl.gz"
    write_recording(Simulator(load_scenario("workday"), rows=16, cols=16, rate_hz=10, seed=4, duration_s=1800),
                    rec, cushion="c1", gz=True)
    plain = _lines(rec, fast=False)
    assert sum('"type":"state"' in x for x in plain) >= 1790
    assert _lines(rec, processes=3) == plain
    assert _lines(rec, processes=2) == plain
