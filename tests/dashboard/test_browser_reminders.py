"""The pause card on the dashboard page, in the real headless Chromium against the real daemon."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.browser


def test_pause_from_the_page_shows_time_left_counts_down_and_resumes(browser_page, inprocess_daemon):
    from playwright.sync_api import expect

    d = inprocess_daemon({"sim.speed": 1.0})
    page = browser_page
    page.goto(d.url + "/")
    page.wait_for_selector("[data-testid=pause-card]")
    status = page.get_by_test_id("pause-status")
    assert status.inner_text() == "Reminders on"
    page.get_by_test_id("pause-1h").click()
    page.wait_for_selector("[data-testid=pause-status][data-state=paused]")
    first = status.inner_text()
    assert re.fullmatch(r"Paused for (60|59) more minutes \(until \d\d:\d\d\)", first), first
    assert httpx.get(d.url + "/api/pause").json()["paused"] is True
    left = int(status.get_attribute("data-remaining-s"))
    assert 3590 <= left <= 3600, left
    # it counts down by itself (the words change by the minute, the seconds underneath)
    page.wait_for_function("(s) => +document.querySelector('[data-testid=pause-status]').dataset.remainingS < s",
                           arg=left, timeout=5000)
    # the live view shows the cushion once it has sent frames
    page.wait_for_selector("[data-testid=dose-share]")
    assert page.get_by_test_id("snoozes-left").inner_text() == "unlimited"
    expect(page.get_by_test_id("breaks-today")).to_contain_text(
        "Today you got up 0 times when reminded · kept sitting 0 times · snoozed 0 times")
    page.get_by_test_id("pause-resume").click()
    page.wait_for_selector("[data-testid=pause-status][data-state=on]")
    assert httpx.get(d.url + "/api/pause").json()["paused"] is False
    assert page.sitwell_errors == []


def test_reminder_options_from_the_page_reach_the_daemon(browser_page, inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    page = browser_page
    page.goto(d.url + "/")
    page.locator("[data-testid=reminder-options] summary").click()
    assert page.get_by_test_id("opt-prewarn-s").input_value() == "60"
    assert page.get_by_test_id("opt-max-snoozes").input_value() == ""
    page.get_by_test_id("opt-prewarn").check()
    page.get_by_test_id("opt-max-snoozes").fill("2")
    page.get_by_test_id("opt-strict").check()
    page.get_by_test_id("opt-sitstand").check()
    page.get_by_test_id("opt-calendar").fill("file:///nonexistent/work.ics")
    page.get_by_test_id("options-save").click()
    page.wait_for_selector("[data-testid=options-status]:text('Saved')")
    rules = httpx.get(d.url + "/api/settings").json()["rules"]
    assert (rules["prewarn"], rules["max_snoozes"], rules["strict"], rules["sitstand"]) == (True, 2, True, True)
    assert rules["calendar"] == "file:///nonexistent/work.ics"
    # the live view follows: strict mode, the sit-stand phase, a calendar that cannot be read
    page.wait_for_selector("[data-testid=sitstand]")
    assert page.get_by_test_id("snoozes-left").inner_text() == "none (strict mode)"
    page.wait_for_selector("[data-testid=calendar]:text('not readable')")
    # a value out of range is refused with the daemon's message
    page.get_by_test_id("opt-prewarn-s").fill("1")
    page.get_by_test_id("options-save").click()
    page.wait_for_selector("[data-testid=options-status]:text('prewarn_s')")
    assert httpx.get(d.url + "/api/settings").json()["rules"]["prewarn_s"] == 60
    # the refused PUT is logged by the browser itself; nothing else may be
    assert [e for e in page.sitwell_errors if "status of 422" not in e] == []
