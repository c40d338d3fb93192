"""Two cushions on an MQTT broker: the page offers a selector and follows the chosen one.

Real parts throughout: a mosquitto broker (tests/plugins/mqtt_broker.py), two `sitwell sim`
processes publishing as desk-a and desk-b, `sitwell run --mqtt`, and headless Chromium.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.plugins.browser import SitwellProcess, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.mqtt]

SITWELL = Path(sys.executable).parent / "sitwell"
CUSHIONS = ("desk-a", "desk-b")


@pytest.fixture
def two_cushions(mosquitto, tmp_path):
    broker = f"{mosquitto.host}:{mosquitto.port}"
    sims = []
    for seed, (name, scenario) in enumerate(zip(CUSHIONS, ("long-spell", "tour"), strict=True), start=1):
        with open(tmp_path / f"sim-{name}.log", "wb") as log:  # the child keeps its own copy of the handle
            sims.append(subprocess.Popen(
                [str(SITWELL), "sim", "--mqtt", broker, "--cushion", name, "--scenario", scenario, "--speed", "5",
                 "--seed", str(seed)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            ))
    (tmp_path / "run").mkdir()
    daemon = SitwellProcess(tmp_path / "run", ["--mqtt", broker])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            names = {s["cushion"] for s in httpx.get(daemon.url + "/api/status").json()}
            if set(CUSHIONS) <= names:
                break
            time.sleep(0.2)
        yield daemon
    finally:
        daemon.stop()
        for sim in sims:
            sim.terminate()
            try:
                sim.wait(timeout=5)
            except subprocess.TimeoutExpired:
                sim.kill()


def test_cushion_selector_switches_the_live_view(browser_page, two_cushions):
    page = browser_page
    page.goto(two_cushions.url + "/")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("#cushion-picker:not([hidden])")
    options = page.eval_on_selector_all("#cushion-select option", "els => els.map(e => e.value)")
    assert set(CUSHIONS) <= set(options)
    first = page.input_value("#cushion-select")
    other = next(c for c in CUSHIONS if c != first)

    page.select_option("#cushion-select", other)
    page.wait_for_function(f"() => window.sitwell.cushion === '{other}'")
    page.wait_for_function(f"() => window.sitwell.stream.url.includes('cushion={other}')")
    page.wait_for_selector(f"#posture[data-cushion='{other}']")
    # from now on every state drawn is the chosen cushion's
    seen = set()
    for _ in range(15):
        seen.add(page.get_attribute("#posture", "data-cushion"))
        time.sleep(0.1)
    assert seen == {other}
    page.wait_for_selector("#link-status[data-state='live']")
    page.wait_for_function("() => document.getElementById('health-connected').textContent === 'connected'")
    assert page.evaluate("() => localStorage.getItem('sitwell-cushion')") == other
    screenshot(page, "dashboard-two-cushions")

    page.reload()  # the choice is remembered
    page.wait_for_selector("body[data-ready='true']")
    assert page.input_value("#cushion-select") == other
    assert page.sitwell_errors == []
