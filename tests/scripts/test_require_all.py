"""SITWELL_REQUIRE_ALL=1, what .ci/run sets: a skipped test fails the run, and so does a run in
which no MQTT, serial or browser test passed, also when the tests run on pytest-xdist workers
(as ./scripts/test runs them). Checked on a small tree with the project's own conftest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MARKED = {
    "mqtt": "import pytest\n\n@pytest.mark.mqtt\ndef test_a():\n    assert True\n",
    "serial": "import pytest\n\n@pytest.mark.serial\ndef test_b():\n    assert True\n",
    "browser": "import pytest\n\n@pytest.mark.browser\ndef test_c():\n    assert True\n",
}


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    shutil.copy(REPO / "tests" / "conftest.py", tests / "conftest.py")
    for name, text in files.items():
        (tests / f"test_{name}.py").write_text(text)
    # the project's markers and test path, nothing else of its configuration
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ntestpaths = tests\nmarkers =\n    mqtt: m\n    serial: s\n    browser: b\n    slow: l\n")
    return tmp_path


def _run(root: Path, *workers: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SITWELL_REQUIRE_ALL": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *workers], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "two workers"])
def test_a_run_with_every_kind_passes(tmp_path, workers):
    result = _run(_tree(tmp_path, MARKED), *workers)
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "two workers"])
def test_a_run_without_a_browser_test_fails(tmp_path, workers):
    result = _run(_tree(tmp_path, {k: v for k, v in MARKED.items() if k != "browser"}), *workers)
    assert result.returncode != 0
    assert "no passing test marked browser" in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "two workers"])
def test_a_skipped_mqtt_test_fails_the_run(tmp_path, workers):
    skipping = "import pytest\n\n@pytest.mark.mqtt\ndef test_d():\n    pytest.skip('no mosquitto')\n"
    result = _run(_tree(tmp_path, {**MARKED, "skips": skipping}), *workers)
    assert result.returncode != 0
    assert "1 failed, 3 passed" in result.stdout
    assert "forbids skips" in result.stdout and "no mosquitto" in result.stdout, result.stdout[-2000:]
