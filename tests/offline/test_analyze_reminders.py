"""`sitwell analyze` shows the reminder features that change reminders (docs/reminders.md):
extra kinds only when switched on, the contract's four unchanged beside them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from click.testing import CliRunner

from monitor.cli.main import main


def analyze(sample, tmp_path, rules: str = "") -> list[dict]:
    args = ["analyze", str(sample), "--jsonl", "--no-progress", "--sit-limit", "5"]
    if rules:
        config = tmp_path / f"c{abs(hash(rules))}.toml"
        config.write_text("[rules]\n" + rules)
        args += ["--config", str(config)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    return [json.loads(x) for x in out.output.splitlines()]


def reminders(lines, kind=None):
    return [x for x in lines if x["type"] == "reminder" and (kind is None or x["kind"] == kind)]


def test_extra_kinds_only_when_on_and_the_contract_kinds_unchanged(samples_dir, tmp_path):
    sample = samples_dir / "small-8x8.jsonl.gz"
    plain = analyze(sample, tmp_path)
    assert {r["kind"] for r in reminders(plain)} <= {"sit_too_long", "uneven_load", "crossed_legs", "slouching"}
    extra = analyze(sample, tmp_path, "prewarn = true\nprewarn_s = 90\nsitstand = true\nsitstand_sit_min = 6\n")
    contract = lambda lines: [(r["kind"], r["t"]) for r in reminders(lines)  # noqa: E731
                              if r["kind"] not in ("sit_warning", "stand_up", "may_sit")]
    assert contract(extra) == contract(plain)
    sit = reminders(plain, "sit_too_long")
    warnings = reminders(extra, "sit_warning")
    assert sit and warnings
    # the heads-up comes 90 s (one frame at 5 Hz) before the first sit_too_long of its spell
    lead = datetime.fromisoformat(sit[0]["at"]) - datetime.fromisoformat(warnings[0]["at"])
    assert timedelta(seconds=89.7) <= lead <= timedelta(seconds=90.0)
    assert warnings[0]["message"].startswith("In 90 seconds you'll have been sitting for 5 minutes")
    assert reminders(extra, "stand_up"), "a spell of 6 minutes or more in the sample"
    summary = extra[-1]
    assert summary["type"] == "summary" and summary["reminders"]["sit_warning"] == len(warnings)
