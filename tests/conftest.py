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
    for p in ("tests.plugins.mqtt_broker", "tests.plugins.pty_pair", "tests.plugins.browser")
    if (Path(__file__).parent / "plugins" / (p.rsplit(".", 1)[1] + ".py")).exists()
]

SAMPLES = Path(os.environ.get("SITWELL_SAMPLES", Path(__file__).resolve().parents[2] / "shared" / "samples"))


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
