"""`sitwell service`: the systemd user unit, written into a temporary XDG_CONFIG_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.main import main
from monitor.cli.service import systemd_quote, unit_path

SITWELL = Path(sys.executable).parent / "sitwell"




def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SITWELL_")}
    env.update(HOME=str(home / "home"), XDG_CONFIG_HOME=str(home / "config"), **extra)
    return env


def _exec_start(unit: str) -> str:
    return next(line for line in unit.splitlines() if line.startswith("ExecStart=")).removeprefix("ExecStart=")


def test_dry_run_prints_the_unit_and_writes_nothing(home):
    cfg = home / "my config.toml"
    done = subprocess.run(
        [str(SITWELL), "service", "install", "--dry-run", "--serial", "/dev/ttyACM0", "--codec", "text",
         "--rows", "16", "--cols", "16", "--max-value", "1023", "--config", str(cfg), "--", "--log-level", "DEBUG"],
        capture_output=True, text=True, env=_env(home), timeout=60,
    )
    assert done.returncode == 0, done.stderr
    unit = done.stdout
    assert f"# {home / 'config' / 'systemd' / 'user' / 'sitwell.service'}" in unit
    # the absolute path of the very script that ran, then `run` and the flags passed through
    assert _exec_start(unit) == (
        f"{SITWELL} run --serial /dev/ttyACM0 --codec text --rows 16 --cols 16 --max-value 1023 "
        f'--config "{cfg}" --log-level DEBUG'
    )
    for line in ("Restart=on-failure", "StandardOutput=journal", "StandardError=journal", "WantedBy=default.target"):
        assert line in unit.splitlines()
    assert not (home / "config" / "systemd").exists()


def test_relative_paths_become_absolute(home, monkeypatch):
    monkeypatch.chdir(home)
    result = CliRunner().invoke(main, ["service", "install", "--dry-run", "--db", "x/s.db", "--config", "c.toml",
                                       "--mqtt", "broker.lan:1884"])
    assert result.exit_code == 0, result.output
    exec_start = _exec_start(result.output)
    assert f"--db {home / 'x' / 's.db'}" in exec_start
    assert f"--config {home / 'c.toml'}" in exec_start
    assert "--mqtt broker.lan:1884" in exec_start


def test_systemd_quoting():
    assert systemd_quote("/dev/ttyACM0") == "/dev/ttyACM0"
    assert systemd_quote("/home/a b/c.toml") == '"/home/a b/c.toml"'
    assert systemd_quote("50%") == "50%%"  # % starts a specifier
    assert systemd_quote("$HOME") == "$$HOME"  # $ starts a variable
    assert systemd_quote('say "hi"') == '"say \\"hi\\""'


def test_unit_passes_systemd_analyze_verify(home, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    result = CliRunner().invoke(
        main, ["service", "install", "--dry-run", "--port", "8123", "--config", "/etc/a b.toml"]
    )
    assert result.exit_code == 0
    unit_file = tmp_path / "sitwell.service"
    unit_file.write_text(result.output.split("\n", 1)[1])  # without the "# path" line
    done = subprocess.run([analyze, "verify", str(unit_file)], capture_output=True, text=True, timeout=60)
    complaints = [ln for ln in (done.stdout + done.stderr).splitlines() if "sitwell.service" in ln]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


def test_install_without_systemctl_writes_the_unit_and_says_what_to_run(home, monkeypatch):
    empty_bin = home / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))  # no systemctl anywhere
    result = CliRunner().invoke(main, ["service", "install", "--serial", "/dev/ttyUSB0"])
    assert result.exit_code == 0, result.output
    path = home / "config" / "systemd" / "user" / "sitwell.service"
    assert unit_path() == path and path.is_file()
    assert "--serial /dev/ttyUSB0" in _exec_start(path.read_text())
    assert "systemctl not found" in result.output
    assert "systemctl --user daemon-reload" in result.output
    assert "systemctl --user enable --now sitwell" in result.output

    status = CliRunner().invoke(main, ["service", "status"])
    assert "--serial /dev/ttyUSB0" in status.output
    assert "unknown" in status.output

    gone = CliRunner().invoke(main, ["service", "uninstall"])
    assert gone.exit_code == 0 and not path.exists()
    assert CliRunner().invoke(main, ["service", "status"]).exit_code == 1


def _fake_systemctl(bin_dir: Path, log: Path, fail_on: str | None = None) -> None:
    """A real executable standing in for systemctl: logs its arguments, optionally fails
    the way systemctl does without a user bus."""
    script = bin_dir / "systemctl"
    fail = (
        f'case "$*" in *"{fail_on}"*) echo "Failed to connect to bus: No medium found" >&2; exit 1;; esac\n'
        if fail_on else ""
    )
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n{fail}exit 0\n')
    script.chmod(0o755)


def test_install_runs_daemon_reload_then_enable_now(home, monkeypatch):
    bin_dir, log = home / "bin", home / "systemctl.log"
    bin_dir.mkdir()
    _fake_systemctl(bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(main, ["service", "install"])
    assert result.exit_code == 0, result.output
    assert log.read_text().splitlines() == ["--user daemon-reload", "--user enable --now sitwell"]
    assert "enabled and running" in result.output


def test_install_survives_an_unavailable_user_bus(home, monkeypatch):
    bin_dir, log = home / "bin", home / "systemctl.log"
    bin_dir.mkdir()
    _fake_systemctl(bin_dir, log, fail_on="daemon-reload")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(main, ["service", "install", "--no-start"])
    assert result.exit_code == 0, result.output
    assert (home / "config" / "systemd" / "user" / "sitwell.service").is_file()
    assert "Failed to connect to bus" in result.output
    assert "systemctl --user enable sitwell" in result.output  # what is left to do, by hand
    assert log.read_text().splitlines() == ["--user daemon-reload"]  # stopped at the first failure


def test_install_refuses_a_unit_that_could_not_start(home):
    open_no_token = CliRunner().invoke(main, ["service", "install", "--host", "0.0.0.0"])
    assert open_no_token.exit_code == 2 and "dashboard.token" in open_no_token.output
    bad_value = CliRunner().invoke(main, ["service", "install", "--rows", "2"])
    assert bad_value.exit_code == 2 and "serial.rows" in bad_value.output
    assert not unit_path().exists()
