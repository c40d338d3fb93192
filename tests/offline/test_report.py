"""The therapist report: CSV equals the store's daily statistics; the HTML stands alone."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from monitor.config.settings import RulesConfig
from monitor.offline.report import report_command, write_report
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker
from tests.sinks.test_store import play

UTC = UTC


@pytest.fixture
def filled_db(tmp_path):
    """Two days of sitting on one cushion, recorded through tracker and store."""
    db = tmp_path / "sitwell.db"
    s = Store(db, tz=UTC)
    day1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    tr = CushionTracker("desk-1", RulesConfig(), day1)
    sent, _ = play(s, tr, [(1800, True, "upright", 0.5), (300, False, "empty", None),
                           (900, True, "slouch", 0.66), (120, False, "empty", None)])
    s.ack_reminder(sent[0].id)
    day2 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    tr = CushionTracker("desk-1", RulesConfig(), day2)
    play(s, tr, [(600, True, "cross_left", 0.4), (200, False, "empty", None)])
    s.close()
    return db


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_csv_matches_daily_stats_and_html_is_self_contained(filled_db, tmp_path):
    s = Store(filled_db, tz=UTC)
    stats = s.daily_stats(3, today="2026-11-25")
    csv_path, html_path = write_report(s, 3, tmp_path / "out", today="2026-11-25")
    s.close()
    with open(csv_path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["date"] for r in rows] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    for r, d in zip(rows, stats, strict=True):
        assert float(r["minutes_seated"]) == d["minutes_seated"]
        assert int(r["spells"]) == d["spells"] and int(r["breaks"]) == d["breaks"]
        assert int(r["reminders_acknowledged"]) == d["reminders_acknowledged"]
        for p, v in d["posture_share"].items():
            assert float(r[f"share_{p}"]) == v
        assert sum(int(r[f"reminders_{k}"]) for k in ("sit_too_long", "uneven_load", "crossed_legs", "slouching")) \
            == d["reminders_sent"]
    assert float(rows[0]["minutes_seated"]) == pytest.approx(45.0)
    assert float(rows[0]["share_slouch"]) == pytest.approx(900 / 2700, abs=1e-3)
    assert float(rows[1]["share_cross_left"]) == pytest.approx(1.0)
    assert rows[2]["mean_left_share"] == "" and float(rows[2]["minutes_seated"]) == 0

    page = html_path.read_text(encoding="utf-8")
    parser = Collect()
    parser.feed(page)
    parser.close()
    assert parser.stack == ["html"] or parser.stack == []  # every element closed
    assert parser.tags.count("svg") == 4
    assert not {"script", "link", "img", "iframe"} & set(parser.tags)
    urls = [v for k, v in parser.attrs if k in ("src", "href") and v]
    assert urls == [] and not re.search(r"url\(|https?://", page)
    text = " ".join(parser.text)
    first = stats[0]
    assert first["reminders_acknowledged"] == 1 and first["reminders_sent"] >= 3
    assert "Mon 23 Nov" in text and f"1 of {first['reminders_sent']}" in text
    assert "30 min" in text  # longest spell
    assert "Reminders by reason" in text and "legs crossed" in text


def test_report_command(filled_db, tmp_path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(report_command, ["--days", "2", "--out", str(out), "--db", str(filled_db),
                                                 "--cushion", "desk-1"])
    assert result.exit_code == 0, result.output
    written = sorted(p.suffix for p in out.iterdir())
    assert written == [".csv", ".html"]
    assert all(str(p) in result.output for p in out.iterdir())
    missing = CliRunner().invoke(report_command, ["--db", str(tmp_path / "none.db"), "--out", str(out)])
    assert missing.exit_code != 0 and "no sitwell database" in missing.output
