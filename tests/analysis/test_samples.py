"""Accuracy floors on the shared labelled sample recordings, scored as bench/accuracy.py does.

The floors sit below what the analysis measures (docs/accuracy.md) with a margin, so a
regression fails here while ordinary noise does not.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from monitor.config.settings import AnalysisConfig

BENCH = Path(__file__).resolve().parents[2] / "bench" / "accuracy.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_accuracy", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the file runs
    spec.loader.exec_module(mod)
    return mod


# (file, occupancy accuracy floor, macro-F1 floor, left_share MAE ceiling)
FLOORS = [
    ("tour-16x16.jsonl.gz", 0.99, 0.93, 0.015),
    ("small-8x8.jsonl.gz", 0.99, 0.93, 0.02),
    ("noisy-32x32.jsonl.gz", 0.99, 0.93, 0.02),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,occ,f1,mae", FLOORS)
def test_sample_accuracy_floors(bench, samples_dir, name, occ, f1, mae):
    path = samples_dir / name
    if not path.exists():
        pytest.skip(f"{name} not in {samples_dir}")
    (src,) = [s for s in bench.file_sources([path])]
    run = bench.analyse_stream(*src, AnalysisConfig())
    score = bench.score(run)
    assert score.seconds > 300
    assert score.occ_acc >= occ
    assert score.macro_f1 >= f1, score.per_class()
    assert score.ls_mae <= mae
    # Spells: as many as in the truth, each start and end within 10 s.
    assert all(a == b for a, b in score.spell_counts)
    assert score.spell_max_err <= 10.0


def test_scoring_leaves_out_seconds_after_a_truth_change(bench):
    import numpy as np

    t = np.arange(0, 20, 0.5)
    key = ["a"] * 20 + ["b"] * 20  # the truth changes at t = 10
    idx = bench.second_index(t, key)
    kept = sorted(set(np.floor(t[idx]).astype(int)))
    assert 9 in kept and 15 in kept
    assert not any(
        10 <= s < 14 for s in kept
    )  # last frame at S+0.5 is < 5 s after the change
    occ = bench.debounce(
        np.arange(0, 10, 0.1), np.r_[np.zeros(20, bool), np.ones(80, bool)]
    )
    assert not occ[49] and occ[51]  # 3 s after the level rose at t = 2
