"""Shared test set-up.

With SITWELL_REQUIRE_ALL=1 (what .ci/run sets) a skipped test is a failure: the MQTT,
serial and browser tests must really run in CI, not quietly skip for a missing service.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest_plugins = [
    p
    for p in ("tests.plugins.mqtt_broker", "tests.plugins.pty_pair", "tests.plugins.browser",
              "tests.plugins.fleet_input")
    if (Path(__file__).parent / "plugins" / (p.rsplit(".", 1)[1] + ".py")).exists()
]

def _find_samples() -> Path:
    """$SITWELL_SAMPLES, else ../shared/samples beside the checkout, else the workplace's copy."""
    if os.environ.get("SITWELL_SAMPLES"):
        return Path(os.environ["SITWELL_SAMPLES"])
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "samples", Path("/work/shared/samples")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


SAMPLES = _find_samples()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample recordings not found at {SAMPLES} (set SITWELL_SAMPLES)")
    return SAMPLES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A user with no config file and no SITWELL_* variables from the developer's shell."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for var in [v for v in os.environ if v.upper().startswith("SITWELL_")]:
        monkeypatch.delenv(var)
    return tmp_path


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("SITWELL_REQUIRE_ALL") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but SITWELL_REQUIRE_ALL=1 forbids skips: {reason}"


REQUIRED_MARKERS = ("mqtt", "serial", "browser")
_ran_by_marker: dict[str, int] = {m: 0 for m in REQUIRED_MARKERS}


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        for m in REQUIRED_MARKERS:
            if m in report.keywords:
                _ran_by_marker[m] += 1


def pytest_sessionfinish(session, exitstatus):
    """In CI a run that skipped anything, or ran no MQTT, serial or browser test, fails."""
    if os.environ.get("SITWELL_REQUIRE_ALL") != "1" or session.config.option.collectonly:
        return
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller sees every worker's reports and judges
    if (
        session.config.getoption("keyword")
        or session.config.getoption("markexpr")
        or session.config.args != ["tests"]
        and session.config.args
    ):
        return  # a partial run chosen by hand
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(tr.stats.get("skipped", [])) if tr else 0
    missing = [m for m, n in _ran_by_marker.items() if n == 0]
    if skipped or missing:
        msg = []
        if skipped:
            msg.append(f"{skipped} test(s) skipped")
        if missing:
            msg.append("no passing test marked " + ", ".join(missing))
        if tr:
            tr.write_line("SITWELL_REQUIRE_ALL: " + "; ".join(msg), red=True)
        session.exitstatus = 1
