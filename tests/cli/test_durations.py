"""Duration flags read by the one duration reader (monitor/config/parse.py): the same
analysis for `--sit-limit 5`, `"5 min"` and `300s`, and a refusal in words."""

from __future__ import annotations

import re
import subprocess
import sys


def _analyze(sample, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", "analyze", str(sample), "--jsonl", "--no-progress",
                           *args], capture_output=True, text=True, timeout=300)


def _masked(out: str) -> str:
    return re.sub(r'"id": ?"[0-9a-f-]+"', '"id":"*"', out)  # reminder ids are random


def test_sit_limit_in_minutes_or_words_is_the_same_analysis(samples_dir):
    sample = samples_dir / "small-8x8.jsonl.gz"
    runs = [_analyze(sample, "--sit-limit", value) for value in ("5", "5 min", "300s")]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert '"sit_too_long"' in runs[0].stdout
    assert _masked(runs[0].stdout) == _masked(runs[1].stdout) == _masked(runs[2].stdout)
    bad = _analyze(sample, "--sit-limit", "soon")
    assert bad.returncode == 2 and "needs a number" in bad.stderr and "1h30" in bad.stderr
