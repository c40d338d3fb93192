"""In headless Chromium against the real daemon (a cushion on a real pty): the set-up notice of
a cushion turned round with its one-click Apply, and "That's not what I'm doing" on the
posture card (pick, count, undo)."""

from __future__ import annotations

import pytest

from monitor.calibration.mounting import Mounting, apply_fault
from tests.plugins.browser import screenshot
from tests.plugins.faults import PACE, Cushion, SitwellProcess, wait_until, write_config
from tests.runtime.test_corrections import posture_banks

pytestmark = [pytest.mark.browser, pytest.mark.serial]


def test_apply_on_the_mounting_notice_fixes_a_turned_cushion(browser_page, tmp_path, pty_pair):
    from playwright.sync_api import expect

    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary",
                       config=write_config(tmp_path / "s.toml"))
    try:
        cushion = Cushion(pty_pair, rate_hz=10)
        turned = Mounting("rotate180")
        cushion.empty = apply_fault(cushion.empty, turned, 4095)
        cushion.seated = apply_fault(cushion.seated, turned, 4095)
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion.hello()
        cushion.away(6, pace=PACE)
        cushion.sit(40, pace=PACE)
        page = browser_page
        page.goto(d.base + "/")
        notice = page.locator("[data-testid=setup-notice][data-kind=mounting]")
        notice.wait_for(timeout=15000)
        assert "turned round" in notice.inner_text()
        screenshot(page, "setup-notice-turned")
        notice.locator("[data-testid=notice-apply]").click()
        expect(page.locator("[data-testid=setup-notice]").first).to_contain_text("Applied", timeout=10000)
        assert d.get("/api/notices") == []
        assert d.wait_log("mounting set to orientation rotate180")
        assert page.sitwell_errors == []
    finally:
        d.kill()


def test_thats_not_what_im_doing_picks_counts_and_undoes(browser_page, tmp_path, pty_pair):
    from playwright.sync_api import expect

    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary",
                       config=write_config(tmp_path / "s.toml"))
    try:
        cushion = Cushion(pty_pair, rate_hz=10)
        cushion.empty, cushion.seated = posture_banks("lean_left")
        assert wait_until(lambda: d.input_health()["connected"], 10)
        cushion.hello()
        cushion.away(6, pace=PACE)
        cushion.sit(20, pace=PACE)
        assert wait_until(lambda: (d.status() or {}).get("posture") == "lean_left", 15)
        page = browser_page
        page.goto(d.base + "/")
        page.wait_for_selector("[data-testid=posture][data-posture=lean_left]", timeout=15000)
        page.click("[data-testid=correct-open]")
        assert page.locator("[data-testid=correct-lean_left]").count() == 0  # not the one shown
        page.click("[data-testid=correct-upright]")
        status = page.locator("[data-testid=correct-status]")
        expect(status).to_contain_text("1 correction ", timeout=10000)
        assert "Sitting upright" in status.inner_text()
        cushion.sit(10, pace=PACE)
        page.wait_for_selector("[data-testid=posture][data-posture=upright]", timeout=15000)
        page.click("[data-testid=correct-undo]")
        expect(status).to_contain_text("0 corrections", timeout=10000)
        assert d.get("/api/cushions/cushion-1/corrections")["undone"] == 1
        screenshot(page, "corrections-undone")
        assert page.sitwell_errors == []
    finally:
        d.kill()
