"""The pain journal on the dashboard page, in the real headless Chromium against the real daemon:
log with one tap, edit, delete, log from the reminder banner, marks under the timeline, the
30-day view and "what seems to help" waiting for 14 days."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from monitor.journal import JournalBook

pytestmark = pytest.mark.browser


def test_log_edit_delete_and_from_the_banner(browser_page, inprocess_daemon):
    from playwright.sync_api import expect

    d = inprocess_daemon({"sim.speed": 60.0, "rules.sit_limit_min": 5, "rules.repeat_every_min": 60})
    page = browser_page
    page.goto(d.url + "/")
    page.wait_for_selector("[data-testid=pain-10]")
    page.locator("[data-testid=journal-more] summary").click()
    page.get_by_test_id("place-left-buttock").check()
    page.get_by_test_id("journal-note").fill("after the long meeting")
    page.get_by_test_id("pain-4").click()
    expect(page.get_by_test_id("journal-status")).to_contain_text("Logged pain 4")
    expect(page.get_by_test_id("journal-entry")).to_have_count(1)
    expect(page.get_by_test_id("journal-entry")).to_contain_text("pain 4")
    expect(page.get_by_test_id("journal-entry")).to_contain_text("Left buttock")
    [entry] = httpx.get(d.url + "/api/journal").json()
    assert (entry["pain"], entry["locations"], entry["note"], entry["source"]) == (
        4, ["left-buttock"], "after the long meeting", "dashboard")
    # the form is cleared for the next entry
    assert page.get_by_test_id("journal-note").input_value() == ""
    # the mark under today's timeline
    mark = page.get_by_test_id("pain-mark")
    expect(mark).to_have_count(1)
    assert mark.get_attribute("data-pain") == "4" and "pain 4/10" in mark.get_attribute("title")
    left = float(page.evaluate("() => parseFloat(document.querySelector('[data-testid=pain-mark]').style.left)"))
    assert 0 <= left <= 100

    # edit: Edit, then the new number
    page.get_by_test_id("journal-edit").click()
    expect(page.get_by_test_id("journal-editing")).to_be_visible()
    assert page.get_by_test_id("place-left-buttock").is_checked()
    page.get_by_test_id("pain-6").click()
    expect(page.get_by_test_id("journal-entry")).to_contain_text("pain 6")
    [entry] = httpx.get(d.url + "/api/journal").json()
    assert entry["pain"] == 6 and entry["edited_at"] and entry["note"] == "after the long meeting"

    # the 30-day view has today's pain beside the sitting rows
    page.reload()
    bar = page.locator(f"[data-testid=days-pain] rect[data-day='{date.today().isoformat()}']")
    expect(bar).to_have_count(1)
    assert bar.get_attribute("data-value") == "6"
    for row in ("minutes_seated", "longest_spell_min", "breaks", "uneven_share", "crossed_share", "slouched_share"):
        expect(page.get_by_test_id(f"days-{row}")).to_have_count(1)
    expect(page.get_by_test_id("helps-waiting")).to_contain_text("1 of 14 days")

    page.get_by_test_id("journal-delete").click()
    expect(page.get_by_test_id("journal-entry")).to_have_count(0)
    expect(page.get_by_test_id("pain-mark")).to_have_count(0)
    assert httpx.get(d.url + "/api/journal").json() == []

    # a reminder: "Log pain" in its banner, then one number
    banner = page.wait_for_selector("#reminder-banner:not([hidden])", timeout=40_000)
    rid = banner.get_attribute("data-id")
    page.get_by_test_id("reminder-log-pain").click()
    page.get_by_test_id("banner-pain-3").click()
    expect(page.get_by_test_id("banner-pain-done")).to_contain_text("Pain 3 logged")
    [entry] = httpx.get(d.url + "/api/journal").json()
    assert entry["pain"] == 3 and entry["reminder_id"] == rid
    expect(page.get_by_test_id("journal-entry")).to_have_count(1)
    assert page.sitwell_errors == []


def test_what_seems_to_help_after_fourteen_days(browser_page, inprocess_daemon):
    from playwright.sync_api import expect

    d = inprocess_daemon({"sim.speed": 1.0})
    with JournalBook(d.daemon.config.store.db) as book:
        for back in range(1, 16):
            book.add(2 + back % 5, at=f"{(date.today() - timedelta(days=back)).isoformat()}T18:00:00")
    page = browser_page
    page.goto(d.url + "/")
    # past days have no sitting recorded in this fresh database: nothing can be claimed
    expect(page.get_by_test_id("helps-none")).to_be_visible()
    expect(page.get_by_test_id("helps-caution")).to_contain_text("not causes")
    expect(page.locator("[data-testid=days-pain] rect")).to_have_count(15)
    assert page.sitwell_errors == []


def test_journal_off_hides_the_card(browser_page, inprocess_daemon):
    from playwright.sync_api import expect

    d = inprocess_daemon({"sim.speed": 1.0, "journal.enabled": False})
    page = browser_page
    page.goto(d.url + "/")
    expect(page.get_by_test_id("journal-card")).to_be_hidden()
    expect(page.get_by_test_id("reminder-log-pain")).to_be_hidden()
