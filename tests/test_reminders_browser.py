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
    assert re.match(r"Paused — (59:[0-5]\d|1:00:00) left \(until \d\d:\d\d", first), first
    assert httpx.get(d.url + "/api/pause").json()["paused"] is True
    expect(status).not_to_have_text(first, timeout=5000)  # it counts down by itself
    # the live view shows the cushion once it has sent frames
    page.wait_for_selector("[data-testid=dose-share]")
    assert page.get_by_test_id("snoozes-left").inner_text() == "unlimited"
    expect(page.get_by_test_id("breaks-today")).to_contain_text("Today: breaks taken 0 · skipped 0 · snoozed 0")
    page.get_by_test_id("pause-resume").click()
    page.wait_for_selector("[data-testid=pause-status][data-state=on]")
    assert httpx.get(d.url + "/api/pause").json()["paused"] is False
    assert page.sitwell_errors == []
