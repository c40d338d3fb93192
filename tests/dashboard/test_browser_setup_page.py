"""The dashboard's guided set-up page in headless Chromium against the real daemon, a cushion on
a real pty that does what the current step asks (firmware_sim frames per posture): Start, live
steps with "Got it", the result on the page, the profile stored and in use, Redo offered."""

from __future__ import annotations

import time

import pytest

from monitor.analysis.setup_steps import STEPS
from monitor.calibration.mounting import Mounting
from tests.cli.test_setup import PromptedCushion, posture_banks
from tests.plugins.browser import screenshot
from tests.plugins.faults import SitwellProcess, wait_until, write_config

pytestmark = [pytest.mark.browser, pytest.mark.serial]


@pytest.mark.parametrize("mirror", [False, True], ids=["as-laid", "mirrored"])
def test_setup_page_walks_the_steps_and_stores_the_profile(browser_page, tmp_path, pty_pair, mirror):
    from playwright.sync_api import expect

    d = SitwellProcess(tmp_path, "--serial", str(pty_pair.path), "--codec", "binary",
                       config=write_config(tmp_path / "s.toml"))
    try:
        cushion = PromptedCushion(pty_pair, posture_banks(), Mounting(mirror=mirror))
        cushion.send(3)
        assert wait_until(lambda: d.status() is not None and d.status()["last_frame_age_s"] is not None, 10)
        page = browser_page
        page.goto(d.base + "/static/setup.html")
        page.wait_for_selector("body[data-ready='true']")
        page.click("[data-testid=setup-start]")
        seen_got_it = False
        end = time.monotonic() + 120
        while time.monotonic() < end:
            s = d.get("/api/cushions/cushion-1/setup")
            if s["result"]:
                break
            if s["status"]:
                cushion.posture = s["status"]["name"]
                seen_got_it |= s["status"]["phase"] == "got_it"
            cushion.send(0.5)
            time.sleep(0.1)
        assert s["result"], s
        assert seen_got_it
        summary = page.locator("[data-testid=setup-summary]")
        expect(summary.first).to_be_visible(timeout=10000)
        text = " ".join(summary.all_inner_texts())
        assert ("mirrored" in text) == mirror, text
        expect(page.locator("[data-testid=setup-start]")).to_have_text("Redo the set-up")
        screenshot(page, f"setup-page-{'mirrored' if mirror else 'done'}")
        assert s["result"]["mirrored"] is mirror
        assert len(s["result"]["per_step"]) == len(STEPS) - 1
        # stored and in use
        assert d.get("/api/cushions/cushion-1/corrections")["profile"]["source"] == "setup"
        if mirror:
            assert d.wait_log("mounting set to orientation normal, mirror True")
        assert page.sitwell_errors == []
    finally:
        d.kill()
