"""Desktop notifications: a real executable named notify-send on PATH (a shell script
that writes its arguments to a file), or none at all."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest

from monitor.model import Reminder
from monitor.sinks.desktop_notify import DesktopNotifier

SLEEP = shutil.which("sleep") or "/bin/sleep"  # looked up before the tests empty PATH


def reminder(
    kind: str = "sit_too_long", message: str = "You have been sitting for 25 minutes: stand up and move."
) -> Reminder:
    return Reminder(id="r-1", cushion="desk-1", kind=kind, t=1500.0, at="2026-11-24T09:25:00+00:00",
                    message=message, spell_s=1500.0)


def fake_notify_send(bin_dir: Path, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "notify-send"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", str(d))  # only what the test puts there
    return d


def test_notify_send_gets_title_and_message(bin_dir, tmp_path):
    out = tmp_path / "args.txt"
    fake_notify_send(bin_dir, f'for a in "$@"; do printf "%s\\n" "$a" >> "{out}"; done\n')
    n = DesktopNotifier(enabled=True)
    msg = 'Sit evenly: 62% on your left "side" for 2 min'
    n.notify(reminder("uneven_load", msg))
    assert wait_for(lambda: n.sent == 1)
    args = out.read_text().splitlines()
    assert args[0] == "--app-name=sitwell"
    assert "sitwell: Sit evenly on both sit bones" in args
    assert args[-1] == msg  # passed as one argument, quotes and all, no shell in between
    assert n.failed == 0


def test_disabled_runs_nothing(bin_dir, tmp_path):
    out = tmp_path / "args.txt"
    fake_notify_send(bin_dir, f'echo called >> "{out}"\n')
    n = DesktopNotifier(enabled=False)
    n.notify(reminder())
    time.sleep(0.3)
    assert not out.exists() and n.sent == 0


def test_absent_notify_send_logs_once_and_never_raises(bin_dir, caplog):
    n = DesktopNotifier(enabled=True)
    with caplog.at_level(logging.WARNING, logger="monitor.sinks.desktop_notify"):
        n.notify(reminder())
        n.notify(reminder("slouching", "Sit up"))
    warnings = [r for r in caplog.records if "desktop notifications unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "notify-send not found" in warnings[0].getMessage()
    assert not n.available()


def test_failing_notify_send_logs_once_and_keeps_trying(bin_dir, tmp_path, caplog):
    calls = tmp_path / "calls.txt"
    fake_notify_send(bin_dir, f'echo x >> "{calls}"\necho "Cannot connect to the session bus" >&2\nexit 1\n')
    n = DesktopNotifier(enabled=True)
    with caplog.at_level(logging.WARNING, logger="monitor.sinks.desktop_notify"):
        n.notify(reminder())
        assert wait_for(lambda: n.failed == 1)
        n.notify(reminder())
        assert wait_for(lambda: n.failed == 2)
    assert calls.read_text().count("x") == 2
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "Cannot connect to the session bus" in warnings[0]


def test_a_hanging_notify_send_does_not_block_and_is_timed_out(bin_dir, tmp_path, caplog):
    fake_notify_send(bin_dir, f"exec {SLEEP} 30\n")  # PATH holds only bin_dir
    n = DesktopNotifier(enabled=True, timeout_s=0.5)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="monitor.sinks.desktop_notify"):
        n.notify(reminder())
        assert time.monotonic() - start < 0.2  # the caller (the daemon's event loop) never waits
        assert wait_for(lambda: n.failed == 1, timeout=5)
    assert time.monotonic() - start >= 0.5
    assert any("did not return within 0.5 s" in r.getMessage() for r in caplog.records)


def test_notify_config_switch_defaults_off():
    from monitor.config.settings import Settings

    assert Settings().notify.desktop is False
    assert Settings(notify={"desktop": True}).notify.desktop is True
