"""`sitwell report` with the pain journal: the journal CSVs, the HTML section with the planted
association found, and the section printing on at most two pages (real Chromium's PDF)."""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from monitor.config.settings import RulesConfig
from monitor.journal import JournalBook
from monitor.offline.report import report_command, write_report
from monitor.sinks.store import Store
from monitor.tracker.tracker import CushionTracker
from tests.sinks.test_store import play

DAYS = 20


@pytest.fixture
def journal_db(tmp_path):
    """20 days of sitting whose longest spell varies, and pain that follows it (planted)."""
    db = tmp_path / "sitwell.db"
    store = Store(db, tz=UTC, writer=False)
    rng = random.Random(18)
    today = datetime.now(UTC).date()
    book = JournalBook(db)
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        spell_min = rng.randint(15, 90)
        tracker = CushionTracker("desk-1", RulesConfig(), datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
        play(store, tracker, [(spell_min * 60, True, "upright", 0.5), (300, False, "empty", None)], dt=5.0)
        pain = min(10, round(1 + spell_min / 12 + rng.gauss(0, 0.6)))
        book.add(pain, at=f"{day.isoformat()}T18:00:00+00:00", where="left-buttock", note=f"spell {spell_min}")
    book.close()
    store.close()
    return db


def test_report_has_the_journal_and_the_association(journal_db, tmp_path):
    store = Store(journal_db, tz=UTC, writer=False)
    csv_path, html_path = write_report(store, 30, tmp_path / "out")
    store.close()
    entries = list(csv.DictReader(csv_path.with_name(csv_path.stem + "-journal.csv").read_text().splitlines()))
    assert len(entries) == DAYS and entries[0]["where"] == "left-buttock" and entries[0]["note"].startswith("spell")
    assoc = list(csv.DictReader(csv_path.with_name(csv_path.stem + "-associations.csv").read_text().splitlines()))
    longest = next(r for r in assoc if r["measure"] == "longest_spell_min" and r["lag"] == "same_day")
    assert longest["claim"] and float(longest["low"]) > 0 and longest["n"] == str(DAYS)
    page = html_path.read_text(encoding="utf-8")
    assert "Pain journal" in page and "What seems to help" in page and "not causes" in page
    assert "Days with more longest spell (min) went with more pain the same day." in page
    assert "<script" not in page and "http" not in page.split("</style>")[1]  # still self-contained


def test_report_without_entries_has_no_journal(tmp_path):
    db = tmp_path / "s.db"
    Store(db, writer=False).close()
    store = Store(db, writer=False)
    csv_path, html_path = write_report(store, 7, tmp_path / "out")
    store.close()
    assert "Pain journal" not in html_path.read_text()
    assert not csv_path.with_name(csv_path.stem + "-journal.csv").exists()


def test_report_command_names_the_journal_files(journal_db, tmp_path):
    out = CliRunner().invoke(report_command, ["--days", "30", "--out", str(tmp_path / "o"), "--db", str(journal_db)])
    assert out.exit_code == 0, out.output
    assert "-journal.csv" in out.output and "-associations.csv" in out.output


@pytest.mark.browser
def test_journal_section_prints_on_at_most_two_pages(journal_db, tmp_path, browser_page):
    store = Store(journal_db, tz=UTC, writer=False)
    _, html_path = write_report(store, 30, tmp_path / "out")
    store.close()
    page = browser_page
    page.goto(html_path.as_uri())

    def pages() -> int:
        return len(re.findall(rb"/Type\s*/Page[^s]", page.pdf(format="A4")))

    with_journal = pages()
    page.evaluate("() => document.querySelector('section.journal').remove()")
    assert 1 <= with_journal - pages() <= 2, with_journal
    assert date.today().isoformat()[:4] in html_path.read_text()
